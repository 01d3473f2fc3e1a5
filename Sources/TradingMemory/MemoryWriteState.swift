import Foundation
import LMDB
import VectorIndex

/// What one write transaction of the trading memory has touched: catalog entries to write back and
/// the attribute chunks it changed (copied into owned memory, written back by ``flush(_:)``).
final class MemoryWriteState {
    let databases: MemoryDatabases
    private var collections: [String: CatalogEntry] = [:]
    private var dirtyCollections: Set<String> = []
    private var attributeTables: [UInt32: ChunkStore] = [:]
    private var droppedCollections: Set<UInt32> = []

    init(databases: MemoryDatabases) { self.databases = databases }

    // MARK: Catalog

    func collectionIfPresent(_ name: String, _ writer: borrowing IndexWriter) throws -> CatalogEntry? {
        if let record = collections[name] { return record }
        let record = try writer.transaction.withValue(for: name, in: databases.collections) { bytes in
            try bytes.map { try Coding.decode(CatalogEntry.self, from: $0, what: "collection '\(name)'") }
        }
        if let record { collections[name] = record }
        return record
    }

    func collection(_ name: String, _ writer: borrowing IndexWriter) throws -> CatalogEntry {
        guard let record = try collectionIfPresent(name, writer) else { throw TradingMemoryError.unknownCollection(name) }
        return record
    }

    func save(_ record: CatalogEntry) {
        collections[record.name] = record
        dirtyCollections.insert(record.name)
    }

    private static let nextIDKey: [UInt8] = [0] + Array("next-collection-id".utf8)

    func createCollection(_ name: String, configuration: CollectionConfiguration, created: Date? = nil,
                          _ writer: borrowing IndexWriter) throws -> CatalogEntry {
        let id = try writer.transaction.integer(UInt32.self, for: Self.nextIDKey, in: databases.collections) ?? 1
        try writer.transaction.put(integer: id + 1, for: Self.nextIDKey, in: databases.collections)
        let space = try writer.createSpace(dimension: configuration.dimension)
        let graph = try writer.createGraph(in: space, parameters: configuration.index)
        let record = CatalogEntry(name: name, id: id, configuration: configuration, created: Date(milliseconds: (created ?? Date()).milliseconds), space: space.rawValue,
                                      globalGraph: graph.rawValue, tickers: [:], actions: CatalogEntry.standardActions,
                                      live: 0, pending: 0)
        save(record)
        return record
    }

    func dropCollection(_ name: String, _ writer: borrowing IndexWriter) throws {
        let record = try collection(name, writer)
        for layer in record.tickers.values { try writer.dropGraph(GraphID(rawValue: layer.graph)) }
        try writer.dropGraph(record.globalGraphID)
        try writer.dropSpace(record.spaceID)
        for database in [databases.records, databases.attributes, databases.time, databases.callerIDs, databases.pending] {
            try writer.transaction.deleteAll(in: database, prefix: Key(record.id))
        }
        try writer.transaction.delete(name, in: databases.collections)
        collections[name] = nil
        dirtyCollections.remove(name)
        attributeTables[record.id] = nil
        droppedCollections.insert(record.id)
    }

    // MARK: Attributes

    func attributes(_ record: CatalogEntry, _ writer: borrowing IndexWriter) throws -> ChunkStore {
        if let table = attributeTables[record.id] { return table }
        let table = try ChunkStore(layout: MemoryAttributes.layout, owner: record.id, database: databases.attributes,
                                   prefix: Key(record.id), transaction: writer.transaction)
        attributeTables[record.id] = table
        return table
    }

    func attributes(of id: MemoryID, _ record: CatalogEntry, _ writer: borrowing IndexWriter) throws -> MemoryAttributes? {
        try attributes(record, writer).element(id.rawValue).map(MemoryAttributes.init)
    }

    func setAttributes(_ row: MemoryAttributes, of id: MemoryID, _ record: CatalogEntry, _ writer: borrowing IndexWriter) throws {
        row.write(to: try attributes(record, writer).mutableElement(id.rawValue))
    }

    // MARK: Flush

    func flush(_ writer: borrowing IndexWriter) throws {
        for name in dirtyCollections.sorted() {
            guard let record = collections[name] else { continue }
            try writer.transaction.put(try Coding.encode(record), for: name, in: databases.collections)
            if let table = attributeTables[record.id], table.hasChanges {
                try table.flush(elementCount: try writer.space(record.spaceID).count, in: writer.transaction)
            }
        }
    }

    // MARK: Records

    func storedMemory(_ id: MemoryID, _ record: CatalogEntry, _ writer: borrowing IndexWriter) throws -> StoredMemory? {
        try writer.transaction.withValue(for: Keys.record(record.id, id), in: databases.records) { bytes in
            try bytes.map { try Coding.decodeMemory(from: $0, what: "memory \(id)") }
        }
    }

    func putStored(_ stored: StoredMemory, _ id: MemoryID, _ record: CatalogEntry, _ writer: borrowing IndexWriter) throws {
        try writer.transaction.put(try Coding.encodeMemory(stored), for: Keys.record(record.id, id), in: databases.records)
    }

    func memories(of record: CatalogEntry, _ writer: borrowing IndexWriter) throws -> [Memory] {
        try MemoryLookup.all(collection: record.id, databases: databases, writer.transaction)
    }
}
