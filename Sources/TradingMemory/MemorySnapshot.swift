import Foundation
import LMDB
import Synchronization
import VectorIndex

/// What the readers of one snapshot share: decoded catalog entries and the addresses of each
/// collection's attribute chunks. Built lazily; valid only inside read transactions of the
/// snapshot (see ``IndexStore``'s views, which follow the same rule).
final class MemorySnapshot: @unchecked Sendable {
    // Sendable: the caches sit behind the mutex; a cached value never changes once built.
    let transactionID: Int
    let mapGeneration: Int
    let databases: MemoryDatabases
    private struct Cache: @unchecked Sendable {
        // Sendable: a cached ChunkStore is a read view that no thread changes once it is built.
        var collections: [String: CatalogEntry] = [:]
        var attributes: [UInt32: ChunkStore] = [:]
    }
    private let cache = Mutex<Cache>(Cache())

    init(transactionID: Int, mapGeneration: Int, databases: MemoryDatabases) {
        self.transactionID = transactionID
        self.mapGeneration = mapGeneration
        self.databases = databases
    }

    func collection(_ name: String, _ reader: borrowing IndexReader) throws -> CatalogEntry {
        guard let entry = try collectionIfPresent(name, reader) else { throw TradingMemoryError.unknownCollection(name) }
        return entry
    }

    func collectionIfPresent(_ name: String, _ reader: borrowing IndexReader) throws -> CatalogEntry? {
        if let entry = cache.withLock({ $0.collections[name] }) { return entry }
        let entry = try reader.transaction.withValue(for: name, in: databases.collections) { bytes in
            try bytes.map { try Coding.decode(CatalogEntry.self, from: $0, what: "collection '\(name)'") }
        }
        if let entry { cache.withLock { $0.collections[name] = entry } }
        return entry
    }

    func allCollections(_ reader: borrowing IndexReader) throws -> [CatalogEntry] {
        var entries: [CatalogEntry] = []
        var failure: (any Error)?
        try reader.transaction.forEach(in: databases.collections) { key, value in
            guard key.first != 0 else { return true }  // reserved keys
            do { entries.append(try Coding.decode(CatalogEntry.self, from: value, what: "a collection")) } catch {
                failure = error
                return false
            }
            return true
        }
        if let failure { throw failure }
        return entries
    }

    func attributes(_ entry: CatalogEntry, _ reader: borrowing IndexReader) throws -> ChunkStore {
        if let table = cache.withLock({ $0.attributes[entry.id] }) { return table }
        let table = try ChunkStore(layout: MemoryAttributes.layout, owner: entry.id, database: databases.attributes,
                                   prefix: Key(entry.id), transaction: reader.transaction)
        cache.withLock { $0.attributes[entry.id] = table }
        return table
    }
}
