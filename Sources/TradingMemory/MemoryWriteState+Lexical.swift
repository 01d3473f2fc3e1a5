import Foundation
import Lexical
import LMDB
import VectorIndex

/// The lexical index's writes: a live memory of a collection with lexical recall has one posting
/// per distinct term of its situation and one length row, written in the transaction that makes it
/// live (add or resolve) and removed in the one that deletes it. Pending decisions are not indexed.
extension MemoryWriteState {
    func indexLexically(_ id: MemoryID, situation: String, knownAtMs: Int64, in entry: inout CatalogEntry,
                        _ writer: borrowing IndexWriter) throws {
        guard entry.configuration.lexical != nil else { return }
        let (postings, lengths) = try lexicalDatabases()
        let (counts, length) = LexicalTokenizer.termCounts(of: situation)
        for (term, count) in counts {
            try writer.transaction.put(Self.postingValue(termFrequency: count, length: length, knownAtMs: knownAtMs),
                                       for: Keys.posting(entry.id, term: term, memory: id), in: postings)
        }
        try writer.transaction.put(Self.lengthValue(length: length, knownAtMs: knownAtMs), for: Key(entry.id, id.rawValue), in: lengths)
        entry.lexicalDocuments = (entry.lexicalDocuments ?? 0) + 1
        entry.lexicalLengthSum = (entry.lexicalLengthSum ?? 0) + length
    }

    func unindexLexically(_ id: MemoryID, situation: String, in entry: inout CatalogEntry, _ writer: borrowing IndexWriter) throws {
        guard entry.configuration.lexical != nil else { return }
        let (postings, lengths) = try lexicalDatabases()
        guard try writer.transaction.withValue(for: Key(entry.id, id.rawValue), in: lengths, { $0 != nil }) else { return }
        let (counts, length) = LexicalTokenizer.termCounts(of: situation)
        for term in counts.keys { try writer.transaction.delete(Keys.posting(entry.id, term: term, memory: id), in: postings) }
        try writer.transaction.delete(Key(entry.id, id.rawValue), in: lengths)
        entry.lexicalDocuments = (entry.lexicalDocuments ?? 1) - 1
        entry.lexicalLengthSum = (entry.lexicalLengthSum ?? length) - length
    }

    /// Removes a dropped collection's postings and lengths.
    func dropLexical(_ collection: UInt32, _ writer: borrowing IndexWriter) throws {
        for database in [databases.lexicalPostings, databases.lexicalLengths].compactMap({ $0 }) {
            try writer.transaction.deleteAll(in: database, prefix: Key(collection))
        }
    }

    private func lexicalDatabases() throws -> (Database, Database) {
        guard let postings = databases.lexicalPostings, let lengths = databases.lexicalLengths else {
            throw TradingMemoryError.storage("the lexical index's databases are missing (opened read-only?)")
        }
        return (postings, lengths)
    }

    static func postingValue(termFrequency: Int, length: Int, knownAtMs: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        withUnsafeBytes(of: UInt32(clamping: termFrequency).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(clamping: length).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: knownAtMs.littleEndian) { bytes += $0 }
        return bytes
    }

    static func lengthValue(length: Int, knownAtMs: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12)
        withUnsafeBytes(of: UInt32(clamping: length).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: knownAtMs.littleEndian) { bytes += $0 }
        return bytes
    }
}

extension TradingMemoryStore {
    /// Turns a collection's lexical recall on (indexing every live memory), changes its settings, or
    /// turns it off (removing the index) — in one write transaction: readers see the old state until
    /// it commits, and an interrupted call changes nothing. Returns the memories indexed.
    @discardableResult
    public func setLexical(_ settings: LexicalSettings?, for collection: String) throws -> Int {
        try settings?.validate()
        return try write { writer, state in
            var entry = try state.collection(collection, writer)
            let wasOn = entry.configuration.lexical != nil
            guard let settings else {
                if wasOn { try state.dropLexical(entry.id, writer) }
                entry.configuration.lexical = nil
                entry.lexicalDocuments = nil
                entry.lexicalLengthSum = nil
                state.save(entry)
                return 0
            }
            entry.configuration.lexical = settings
            var indexed = 0
            if !wasOn {
                entry.lexicalDocuments = 0
                entry.lexicalLengthSum = 0
                for memory in try state.memories(of: entry, writer) where memory.status == .live {
                    try state.indexLexically(memory.id, situation: memory.situation, knownAtMs: memory.knownAt.milliseconds, in: &entry, writer)
                    indexed += 1
                }
            }
            state.save(entry)
            return indexed
        }
    }
}
