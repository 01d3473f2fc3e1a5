public import LMDB
internal import Distance

/// Facts about a vector space.
public struct SpaceInfo: Sendable, Hashable {
    public var id: SpaceID
    /// The dimension of every vector in the space.
    public var dimension: Int
    /// Vectors ever added (the next id).
    public var count: Int
    /// Vectors not released.
    public var live: Int
    /// Vectors per stored chunk.
    public var vectorsPerChunk: Int
}

/// Facts about a graph.
public struct GraphInfo: Sendable, Hashable {
    public var id: GraphID
    public var space: SpaceID
    public var parameters: GraphParameters
    /// Nodes ever added.
    public var nodeCount: Int
    /// Nodes not deleted.
    public var live: Int
    /// Deleted nodes (tombstones) still in the graph.
    public var tombstones: Int { nodeCount - live }
    /// The entry point's vector, or nil for an empty graph.
    public var entryPoint: VectorID?
    /// The entry point's level (the number of layers minus one), or -1 when empty.
    public var maxLevel: Int
    /// Nodes below this number hold the vector of the same id, which a search reads without the
    /// node table: a graph given its space's vectors in order has them all.
    public var identityPrefix: Int
}

/// Read access to the index inside one read transaction, alive only inside ``IndexStore/read(_:)``.
public struct IndexReader: ~Copyable {
    /// The LMDB transaction, for reading other databases in the same snapshot.
    public let transaction: ReadTransaction
    let store: IndexStore
    let views: SnapshotViews

    init(store: IndexStore, transaction: borrowing ReadTransaction, views: SnapshotViews) {
        self.store = store
        self.transaction = ReadTransaction(aliasing: transaction)
        self.views = views
    }

    func spaceView(_ id: SpaceID) throws -> VectorSpace {
        try views.space(id) { try VectorSpace(id: id, databases: store.databases, transaction: transaction) }
    }

    func graphView(_ id: GraphID) throws -> HNSWGraph {
        try views.graph(id) {
            let header = try HNSWGraph.loadHeader(id, databases: store.databases, transaction: transaction)
            let space = try spaceView(header.space)
            return try HNSWGraph(id: id, space: space, header: header, databases: store.databases, transaction: transaction)
        }
    }

    /// Facts about space `id`.
    public func space(_ id: SpaceID) throws -> SpaceInfo { try spaceView(id).info }

    /// Facts about graph `id`.
    public func graph(_ id: GraphID) throws -> GraphInfo { try graphView(id).info }

    /// Every space, in id order.
    public func spaces() throws -> [SpaceID] { try ids(in: store.databases.spaces).map(SpaceID.init(rawValue:)) }

    /// Every graph, in id order.
    public func graphs() throws -> [GraphID] { try ids(in: store.databases.graphs).map(GraphID.init(rawValue:)) }

    private func ids(in database: Database) throws -> [UInt32] {
        var ids: [UInt32] = []
        try storage {
            try transaction.forEach(in: database) { key, _ in
                var reader = KeyReader(key)
                if let id = reader.readUInt32() { ids.append(id) }
                return true
            }
        }
        return ids
    }

    /// A copy of vector `id` of `space` (unit length), or nil when there is none.
    public func vector(_ id: VectorID, in space: SpaceID) throws -> [Float]? {
        let view = try spaceView(space)
        guard let pointer = view.vectorIfPresent(id) else { return nil }
        return (0..<view.header.dimension).map { pointer.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
    }

    /// Chunks of vectors, node tables and links whose checksum or header does not hold (bit rot,
    /// a torn write outside LMDB's control, tampering), in words.
    public func damagedChunks(limit: Int = 100) throws -> [String] {
        try ChunkHeader.damagedChunks(in: store.databases.vectors, name: "vector", transaction, limit: limit)
            + ChunkHeader.damagedChunks(in: store.databases.nodes, name: "node", transaction, limit: limit)
            + ChunkHeader.damagedChunks(in: store.databases.links, name: "link", transaction, limit: limit)
    }

    /// The live (not deleted) vectors of `graph`, in node order.
    public func liveVectors(of graph: GraphID) throws -> [VectorID] {
        try graphView(graph).liveVectorIDs().map(VectorID.init(rawValue:))
    }

    /// Whether vector `id` is a live (not deleted) node of `graph`.
    public func contains(_ id: VectorID, in graph: GraphID) throws -> Bool {
        let view = try graphView(graph)
        guard let node = try node(of: id, in: graph) else { return false }
        return !view.isDeleted(node)
    }

    func node(of id: VectorID, in graph: GraphID) throws -> UInt32? {
        try storage {
            try transaction.integer(UInt32.self, for: Key(graph.rawValue, id.rawValue), in: store.databases.members)
        }
    }

    /// The `k` vectors of `graph` most similar to `query`, most similar first.
    ///
    /// The query need not be normalised. Vectors the filter rejects and deleted vectors are never
    /// returned; see ``SearchOptions`` for the planner.
    public func search<Filter: VectorFilter>(_ graph: GraphID, query: [Float], k: Int, options: SearchOptions = SearchOptions(),
                                             filter: Filter = AllowAll()) throws -> [Neighbor] {
        try searchReport(graph, query: query, k: k, options: options, filter: filter).neighbors
    }

    /// Calls `visit` with every live vector of `graph` that the filter allows and its cosine
    /// similarity to `query` (exact, unordered): for rankings that are not by similarity alone.
    /// - Returns: the number of vectors visited.
    @discardableResult
    public func forEachSimilarity<Filter: VectorFilter>(_ graph: GraphID, query: [Float], filter: Filter = AllowAll(),
                                                        _ visit: (VectorID, Float) -> Void) throws -> Int {
        let view = try graphView(graph)
        guard query.count == view.space.header.dimension else {
            throw IndexError.dimensionMismatch(expected: view.space.header.dimension, actual: query.count)
        }
        let unit: [Float]
        do { unit = try normalized(query) } catch { throw IndexError.invalidVector(error) }
        return unit.withUnsafeBytes { bytes in
            view.scanEligible(query: bytes.baseAddress!, filter: filter) { _, vector, distance in
                visit(VectorID(rawValue: vector), 1 - distance)
            }
        }
    }

    /// Like ``search(_:query:k:options:filter:)``, with how the search ran.
    public func searchReport<Filter: VectorFilter>(_ graph: GraphID, query: [Float], k: Int, options: SearchOptions = SearchOptions(),
                                                   filter: Filter = AllowAll()) throws -> SearchReport {
        let view = try graphView(graph)
        return try runSearch(view, query: query, k: k, options: options, filter: filter)
    }
}

/// Validates and normalises a query, then runs the planner with a pooled context.
func runSearch<Filter: VectorFilter>(_ view: HNSWGraph, query: [Float], k: Int, options: SearchOptions,
                                     filter: Filter) throws -> SearchReport {
    guard query.count == view.space.header.dimension else {
        throw IndexError.dimensionMismatch(expected: view.space.header.dimension, actual: query.count)
    }
    guard k >= 0 else { throw IndexError.invalidParameter("k must not be negative, got \(k)") }
    guard options.ef >= 1 else { throw IndexError.invalidParameter("ef must be at least 1, got \(options.ef)") }
    let unit: [Float]
    do { unit = try normalized(query) } catch { throw IndexError.invalidVector(error) }
    return SearchContextPool.shared.withContext { context in
        unit.withUnsafeBytes { bytes in
            let pointer = context.setQuery(bytes)
            return view.search(query: pointer, k: k, filter: filter, options: options, context: context)
        }
    }
}

extension VectorSpace {
    var info: SpaceInfo {
        SpaceInfo(id: id, dimension: header.dimension, count: header.count, live: header.live, vectorsPerChunk: header.vectorsPerChunk)
    }
}

extension HNSWGraph {
    var info: GraphInfo {
        GraphInfo(id: id, space: header.space, parameters: header.parameters, nodeCount: header.nodeCount, live: header.live,
                  entryPoint: header.entryPoint == IndexFormat.noNode ? nil : VectorID(rawValue: vectorID(of: header.entryPoint)),
                  maxLevel: header.maxLevel, identityPrefix: header.identityPrefix)
    }
}
