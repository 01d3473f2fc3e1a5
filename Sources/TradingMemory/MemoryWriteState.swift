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
        if let entry = collections[name] { return entry }
        let entry = try writer.transaction.withValue(for: name, in: databases.collections) { bytes in
            try bytes.map { try Coding.decode(CatalogEntry.self, from: $0, what: "collection '\(name)'") }
        }
        if let entry { collections[name] = entry }
        return entry
    }

    func collection(_ name: String, _ writer: borrowing IndexWriter) throws -> CatalogEntry {
        guard let entry = try collectionIfPresent(name, writer) else { throw TradingMemoryError.unknownCollection(name) }
        return entry
    }

    func save(_ entry: CatalogEntry) {
        collections[entry.name] = entry
        dirtyCollections.insert(entry.name)
    }

    private static let nextIDKey: [UInt8] = [0] + Array("next-collection-id".utf8)

    func createCollection(_ name: String, configuration: CollectionConfiguration, created: Date? = nil,
                          _ writer: borrowing IndexWriter) throws -> CatalogEntry {
        let id = try writer.transaction.integer(UInt32.self, for: Self.nextIDKey, in: databases.collections) ?? 1
        try writer.transaction.put(integer: id + 1, for: Self.nextIDKey, in: databases.collections)
        let space = try writer.createSpace(dimension: configuration.dimension)
        let graph = try writer.createGraph(in: space, parameters: configuration.index)
        let entry = CatalogEntry(name: name, id: id, configuration: configuration, created: Date(milliseconds: (created ?? Date()).milliseconds), space: space.rawValue,
                                      globalGraph: graph.rawValue, tickers: [:], actions: CatalogEntry.standardActions,
                                      live: 0, pending: 0)
        save(entry)
        return entry
    }

    func dropCollection(_ name: String, _ writer: borrowing IndexWriter) throws {
        let entry = try collection(name, writer)
        for layer in entry.tickers.values { try writer.dropGraph(GraphID(rawValue: layer.graph)) }
        try writer.dropGraph(entry.globalGraphID)
        try writer.dropSpace(entry.spaceID)
        for database in [databases.memories, databases.attributes, databases.time, databases.callerIDs, databases.pending] {
            try writer.transaction.deleteAll(in: database, prefix: Key(entry.id))
        }
        try dropLexical(entry.id, writer)
        try removeCredit(entry.id, nil, writer)
        try writer.transaction.delete(name, in: databases.collections)
        collections[name] = nil
        dirtyCollections.remove(name)
        attributeTables[entry.id] = nil
        droppedCollections.insert(entry.id)
    }

    /// Drops collection `name` and gives `replacement` its name, in the caller's transaction.
    func replaceCollection(_ name: String, with replacement: String, _ writer: borrowing IndexWriter) throws {
        var entry = try collection(replacement, writer)
        try dropCollection(name, writer)
        try writer.transaction.delete(replacement, in: databases.collections)
        collections[replacement] = nil
        dirtyCollections.remove(replacement)
        entry.name = name
        save(entry)
    }

    // MARK: Attributes

    func attributes(_ entry: CatalogEntry, _ writer: borrowing IndexWriter) throws -> ChunkStore {
        if let table = attributeTables[entry.id] { return table }
        let table = try ChunkStore(layout: MemoryAttributes.layout, owner: entry.id, database: databases.attributes,
                                   prefix: Key(entry.id), transaction: writer.transaction)
        attributeTables[entry.id] = table
        return table
    }

    func attributes(of id: MemoryID, _ entry: CatalogEntry, _ writer: borrowing IndexWriter) throws -> MemoryAttributes? {
        try attributes(entry, writer).element(id.rawValue).map(MemoryAttributes.init)
    }

    func setAttributes(_ row: MemoryAttributes, of id: MemoryID, _ entry: CatalogEntry, _ writer: borrowing IndexWriter) throws {
        row.write(to: try attributes(entry, writer).mutableElement(id.rawValue))
    }

    // MARK: Flush

    func flush(_ writer: borrowing IndexWriter) throws {
        for name in dirtyCollections.sorted() {
            guard let entry = collections[name] else { continue }
            try writer.transaction.put(try Coding.encode(entry), for: name, in: databases.collections)
            if let table = attributeTables[entry.id], table.hasChanges {
                try table.flush(elementCount: try writer.space(entry.spaceID).count, in: writer.transaction)
            }
        }
    }

    // MARK: Records

    func storedMemory(_ id: MemoryID, _ entry: CatalogEntry, _ writer: borrowing IndexWriter) throws -> StoredMemory? {
        try writer.transaction.withValue(for: Keys.memory(entry.id, id), in: databases.memories) { bytes in
            try bytes.map { try Coding.decodeMemory(from: $0, what: "memory \(id)") }
        }
    }

    func putStored(_ stored: StoredMemory, _ id: MemoryID, _ entry: CatalogEntry, _ writer: borrowing IndexWriter) throws {
        try writer.transaction.put(try Coding.encodeMemory(stored), for: Keys.memory(entry.id, id), in: databases.memories)
    }

    func memories(of entry: CatalogEntry, _ writer: borrowing IndexWriter) throws -> [Memory] {
        try MemoryLookup.all(collection: entry.id, databases: databases, writer.transaction)
    }
}
