import Foundation
import LMDB
import VectorIndex

extension TradingMemoryStore {
    /// A collection's credit events name memories it has, each an 8-byte finite credit within the
    /// clamp, under a key that parses.
    func verifyCredit(_ entry: CatalogEntry, existing: Set<UInt32>, _ reader: borrowing IndexReader,
                      report: (String?, String, String) -> Void) throws {
        guard let credit = databases.memoryCredit else { return }
        try reader.transaction.forEach(in: credit, prefix: Key(entry.id)) { key, value in
            var keyReader = KeyReader(key)
            _ = keyReader.readUInt32()
            guard let memory = keyReader.readUInt32(), keyReader.readOrderedSigned() != nil, !keyReader.rest.isEmpty else {
                report(entry.name, "credit", "a credit key of \(key.count) bytes does not parse")
                return true
            }
            if !existing.contains(memory) { report(entry.name, "credit", "a credit event names memory \(memory), which does not exist") }
            let amount = value.count == 8 ? Double(bitPattern: UInt64(littleEndian: value.loadUnaligned(as: UInt64.self))) : .nan
            if !(amount.isFinite && abs(amount) <= MemoryWriteState.maxCredit) {
                report(entry.name, "credit", "memory \(memory) has a credit event that is not a finite number within ±\(MemoryWriteState.maxCredit)")
            }
            return true
        }
    }

    /// Every showing and every decision outcome decodes, and no credit event belongs to a collection
    /// that is gone.
    func verifyProvenance(collectionIDs: Set<UInt32>, _ reader: borrowing IndexReader, report: (String?, String, String) -> Void) throws {
        guard let shown = databases.decisionShown, let outcomes = databases.decisionOutcomes, let credit = databases.memoryCredit else { return }
        try reader.transaction.forEach(in: shown) { _, value in
            if (try? Coding.decode(ShownRecord.self, from: value, what: "a showing")) == nil { report(nil, "provenance", "a showing does not decode") }
            return true
        }
        try reader.transaction.forEach(in: outcomes) { _, value in
            if (try? Coding.decode(DecisionOutcomeRecord.self, from: value, what: "an outcome")) == nil {
                report(nil, "provenance", "a decision's outcome does not decode")
            }
            return true
        }
        try reader.transaction.forEach(in: credit) { key, _ in
            var keyReader = KeyReader(key)
            if let collection = keyReader.readUInt32(), !collectionIDs.contains(collection) {
                report(nil, "orphan", "a credit event belongs to collection id \(collection), which does not exist")
            }
            return true
        }
    }
}
