public import Foundation
import LMDB
import VectorIndex

/// What `hindsight stats` reports: the whole database, each named database, each collection and layer.
public struct DatabaseStatistics: Codable, Sendable {
    public struct Storage: Codable, Sendable {
        public var name: String
        public var entries: Int
        public var bytes: Int
        public var overflow_pages: Int
    }

    public struct LayerStatistics: Codable, Sendable {
        /// `global`, or the ticker.
        public var layer: String
        public var graph: UInt32
        public var nodes: Int
        public var live: Int
        public var tombstones: Int
        /// Layers of the HNSW graph (top level + 1).
        public var levels: Int
        /// The entry point's memory id.
        public var entry_point: UInt32?
        public var m: Int
        public var ef_construction: Int
    }

    public struct CollectionStatistics: Codable, Sendable {
        public var name: String
        public var dimension: Int
        public var embedding_model: String?
        public var memories: Int
        public var pending: Int
        /// Vectors ever stored (memory ids handed out).
        public var vectors_allocated: Int
        public var vectors_live: Int
        public var layers: [LayerStatistics]
    }

    public var path: String
    public var format_version: UInt32
    /// Size of the data file.
    public var file_bytes: Int
    public var map_size_bytes: Int
    /// Pages in use up to the last one written (the rest of the map is unused).
    public var map_used_bytes: Int
    public var page_size: Int
    public var last_transaction: Int
    public var readers: Int
    /// File bytes per live memory, over every collection.
    public var bytes_per_memory: Double?
    public var databases: [Storage]
    public var collections: [CollectionStatistics]
}

extension TradingMemoryStore {
    static func layerStatistics(_ name: String, _ graph: GraphInfo) -> DatabaseStatistics.LayerStatistics {
        .init(layer: name, graph: graph.id.rawValue, nodes: graph.nodeCount, live: graph.live, tombstones: graph.tombstones,
              levels: graph.maxLevel + 1, entry_point: graph.entryPoint?.rawValue, m: graph.parameters.m,
              ef_construction: graph.parameters.efConstruction)
    }

    /// Facts about the database, its collections and their layers, from one snapshot.
    public func statistics() throws -> DatabaseStatistics {
        let environment = index.environment
        let info = environment.info
        let fileBytes = DatabaseDirectory(path: environment.path).dataFileBytes
        let names = try environment.databaseNames().sorted()
        let handles = try names.map { try environment.openDatabase(named: $0, create: false) }
        let version = try index.formatVersion()
        return try read { reader, snapshot in
            var storages: [DatabaseStatistics.Storage] = []
            for (name, handle) in zip(names, handles) {
                let pages = try reader.transaction.pageCounts(of: handle)
                storages.append(.init(name: name, entries: pages.entries, bytes: pages.bytes, overflow_pages: pages.overflow))
            }
            var collections: [DatabaseStatistics.CollectionStatistics] = []
            var liveMemories = 0
            for record in try snapshot.allCollections(reader).sorted(by: { $0.name < $1.name }) {
                var layers = [Self.layerStatistics("global", try reader.graph(record.globalGraphID))]
                for (ticker, tickerLayer) in record.tickers.sorted(by: { $0.key < $1.key }) {
                    layers.append(Self.layerStatistics(ticker, try reader.graph(GraphID(rawValue: tickerLayer.graph))))
                }
                let space = try reader.space(record.spaceID)
                liveMemories += record.live
                collections.append(.init(name: record.name, dimension: record.configuration.dimension,
                                         embedding_model: record.configuration.embeddingModel, memories: record.live,
                                         pending: record.pending, vectors_allocated: space.count, vectors_live: space.live,
                                         layers: layers))
            }
            return DatabaseStatistics(path: environment.path, format_version: version, file_bytes: fileBytes,
                                      map_size_bytes: info.mapSizeBytes, map_used_bytes: info.usedBytes, page_size: info.pageSizeBytes,
                                      last_transaction: info.lastTransactionID, readers: info.readers,
                                      bytes_per_memory: liveMemories > 0 ? Double(fileBytes) / Double(liveMemories) : nil,
                                      databases: storages, collections: collections)
        }
    }
}
