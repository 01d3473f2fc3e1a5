public import Foundation
import LMDB
public import VectorIndex

/// What `hindsight stats` reports: the whole database, each named database, each collection and layer.
public struct DatabaseStatistics: Sendable {
    public struct Storage: Sendable {
        public var name: String
        public var entries: Int
        public var bytes: Int
        public var overflowPages: Int
    }

    public struct LayerStatistics: Sendable {
        /// `global`, or the ticker.
        public var layer: String
        public var graph: UInt32
        public var nodes: Int
        public var live: Int
        public var tombstones: Int
        /// Layers of the HNSW graph (top level + 1).
        public var levels: Int
        /// The entry point's memory id.
        public var entryPoint: UInt32?
        public var m: Int
        public var efConstruction: Int
        /// What the graph's search walks (f32, int8 or bf16).
        public var walk: WalkPrecision
    }

    public struct CollectionStatistics: Sendable {
        public var name: String
        public var dimension: Int
        public var embeddingModel: String?
        public var memories: Int
        public var pending: Int
        /// Vectors ever stored (memory ids handed out).
        public var vectorsAllocated: Int
        public var vectorsLive: Int
        public var layers: [LayerStatistics]
    }

    public var path: String
    public var formatVersion: UInt32
    /// Size of the data file.
    public var fileBytes: Int
    public var mapSizeBytes: Int
    /// Pages in use up to the last one written (the rest of the map is unused).
    public var mapUsedBytes: Int
    public var pageSize: Int
    public var lastTransaction: Int
    public var readers: Int
    /// File bytes per live memory, over every collection.
    public var bytesPerMemory: Double?
    public var databases: [Storage]
    public var collections: [CollectionStatistics]
}

extension TradingMemoryStore {
    static func layerStatistics(_ name: String, _ graph: GraphInfo) -> DatabaseStatistics.LayerStatistics {
        .init(layer: name, graph: graph.id.rawValue, nodes: graph.nodeCount, live: graph.live, tombstones: graph.tombstones,
              levels: graph.maxLevel + 1, entryPoint: graph.entryPoint?.rawValue, m: graph.parameters.m,
              efConstruction: graph.parameters.efConstruction, walk: graph.parameters.walk)
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
                storages.append(.init(name: name, entries: pages.entries, bytes: pages.bytes, overflowPages: pages.overflow))
            }
            var collections: [DatabaseStatistics.CollectionStatistics] = []
            var liveMemories = 0
            for entry in try snapshot.allCollections(reader).sorted(by: { $0.name < $1.name }) {
                var layers = [Self.layerStatistics("global", try reader.graph(entry.globalGraphID))]
                for (ticker, tickerLayer) in entry.tickers.sorted(by: { $0.key < $1.key }) {
                    layers.append(Self.layerStatistics(ticker, try reader.graph(GraphID(rawValue: tickerLayer.graph))))
                }
                let space = try reader.space(entry.spaceID)
                liveMemories += entry.live
                collections.append(.init(name: entry.name, dimension: entry.configuration.dimension,
                                         embeddingModel: entry.configuration.embeddingModel, memories: entry.live,
                                         pending: entry.pending, vectorsAllocated: space.count, vectorsLive: space.live,
                                         layers: layers))
            }
            return DatabaseStatistics(path: environment.path, formatVersion: version, fileBytes: fileBytes,
                                      mapSizeBytes: info.mapSizeBytes, mapUsedBytes: info.usedBytes, pageSize: info.pageSizeBytes,
                                      lastTransaction: info.lastTransactionID, readers: info.readers,
                                      bytesPerMemory: liveMemories > 0 ? Double(fileBytes) / Double(liveMemories) : nil,
                                      databases: storages, collections: collections)
        }
    }
}
