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
        if let record = cache.withLock({ $0.collections[name] }) { return record }
        let record = try reader.transaction.withValue(for: name, in: databases.collections) { bytes in
            guard let bytes else { throw TradingMemoryError.unknownCollection(name) }
            return try Coding.decode(CatalogEntry.self, from: bytes, what: "collection '\(name)'")
        }
        cache.withLock { $0.collections[name] = record }
        return record
    }

    func allCollections(_ reader: borrowing IndexReader) throws -> [CatalogEntry] {
        var records: [CatalogEntry] = []
        var failure: (any Error)?
        try reader.transaction.forEach(in: databases.collections) { key, value in
            guard key.first != 0 else { return true }  // reserved keys
            do { records.append(try Coding.decode(CatalogEntry.self, from: value, what: "a collection")) } catch {
                failure = error
                return false
            }
            return true
        }
        if let failure { throw failure }
        return records
    }

    func attributes(_ record: CatalogEntry, _ reader: borrowing IndexReader) throws -> ChunkStore {
        if let table = cache.withLock({ $0.attributes[record.id] }) { return table }
        let table = try ChunkStore(layout: MemoryAttributes.layout, owner: record.id, database: databases.attributes,
                                   prefix: Key(record.id), transaction: reader.transaction)
        cache.withLock { $0.attributes[record.id] = table }
        return table
    }
}
