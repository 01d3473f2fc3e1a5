public import LMDB
internal import Distance

/// Write access to the index inside one write transaction, alive only inside
/// ``IndexStore/write(_:)``. Searches through the writer see its own changes.
public struct IndexWriter: ~Copyable {
    /// The LMDB transaction, for writing other databases in the same commit.
    public let transaction: WriteTransaction
    let store: IndexStore
    private let state = WriterState()

    init(store: IndexStore, transaction: borrowing WriteTransaction) {
        self.store = store
        self.transaction = WriteTransaction(aliasing: transaction)
    }

    private var databases: IndexDatabases { store.databases }

    // MARK: Spaces and graphs

    /// Creates an empty space of `dimension`-dimensional vectors.
    public func createSpace(dimension: Int) throws -> SpaceID {
        guard (1...65_536).contains(dimension) else {
            throw IndexError.invalidParameter("dimension must be between 1 and 65536, got \(dimension)")
        }
        let id = SpaceID(rawValue: try nextID("next-space-id"))
        let layout = ChunkLayout(elementBytes: dimension * 4, headerBytes: IndexFormat.vectorChunkHeaderBytes,
                                 pages: max(IndexFormat.vectorChunkPages, (dimension * 4 * 8) / store.pageSize + 1), pageSize: store.pageSize)
        let header = SpaceHeader(dimension: dimension, vectorsPerChunk: layout.elementsPerChunk, count: 0, live: 0)
        try storage { try transaction.put(header.encoded(), for: Key(id.rawValue), in: databases.spaces, noOverwrite: true) }
        return id
    }

    /// Creates an empty graph over the vectors of `space`.
    public func createGraph(in space: SpaceID, parameters: GraphParameters = GraphParameters()) throws -> GraphID {
        try parameters.validate()
        let spaceView = try spaceView(space)
        let id = GraphID(rawValue: try nextID("next-graph-id"))
        let header = GraphHeader(space: space, dimension: spaceView.header.dimension, parameters: parameters, pageSize: store.pageSize)
        try storage { try transaction.put(header.encoded(), for: Key(id.rawValue), in: databases.graphs, noOverwrite: true) }
        if parameters.walk != .f32 { try markFormatVersion2() }
        return id
    }

    /// Marks a version-1 database as version 2 (its first graph with a compressed walk), so that
    /// builds that cannot read such graphs refuse the database instead of misreading it.
    private func markFormatVersion2() throws {
        let stored = try storage { try transaction.integer(UInt32.self, for: "format-version", in: databases.meta) } ?? 1
        if stored < 2 { try storage { try transaction.put(integer: UInt32(2), for: "format-version", in: databases.meta) } }
    }

    /// Deletes graph `id` with its nodes and links (the vectors stay in their space).
    public func dropGraph(_ id: GraphID) throws {
        let existed = try storage { try transaction.delete(Key(id.rawValue), in: databases.graphs) }
        guard existed else { throw IndexError.unknownGraph(id) }
        try storage {
            for database in [databases.nodes, databases.links, databases.upperLinks, databases.members] {
                try transaction.deleteAll(in: database, prefix: Key(id.rawValue))
            }
        }
        state.graphs[id] = nil
    }

    /// Deletes space `id` with its vectors. Graphs over it must be dropped first.
    public func dropSpace(_ id: SpaceID) throws {
        let existed = try storage { try transaction.delete(Key(id.rawValue), in: databases.spaces) }
        guard existed else { throw IndexError.unknownSpace(id) }
        try storage {
            try transaction.deleteAll(in: databases.vectors, prefix: Key(id.rawValue))
            try transaction.deleteAll(in: databases.vectorChunkLive, prefix: Key(id.rawValue))
        }
        state.spaces[id] = nil
    }

    /// Replaces the parameters of an empty graph (for rebuilds into a fresh graph).
    public func setParameters(_ parameters: GraphParameters, of graph: GraphID) throws {
        try parameters.validate()
        let view = try graphView(graph)
        guard view.header.nodeCount == 0 else { throw IndexError.invalidParameter("parameters of a non-empty graph cannot change") }
        let header = GraphHeader(space: view.header.space, dimension: view.space.header.dimension, parameters: parameters,
                                 pageSize: store.pageSize)
        try storage { try transaction.put(header.encoded(), for: Key(graph.rawValue), in: databases.graphs) }
        if parameters.walk != .f32 { try markFormatVersion2() }
        // The slots' layout may have changed: the next use loads a fresh view.
        state.graphs[graph] = nil
    }

    private func nextID(_ name: String) throws -> UInt32 {
        let current = try storage { try transaction.integer(UInt32.self, for: name, in: databases.meta) ?? 1 }
        try storage { try transaction.put(integer: current + 1, for: name, in: databases.meta) }
        return current
    }

    // MARK: Vectors

    /// Validates, normalises and appends `vectors` to `space`; returns their ids, in order.
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)`` or ``IndexError/invalidVector(_:)``
    ///   before anything is written.
    public func addVectors(_ vectors: [[Float]], to space: SpaceID) throws -> [VectorID] {
        let view = try spaceView(space)
        for vector in vectors where vector.count != view.header.dimension {
            throw IndexError.dimensionMismatch(expected: view.header.dimension, actual: vector.count)
        }
        var units: [[Float]] = []
        units.reserveCapacity(vectors.count)
        for vector in vectors {
            do { units.append(try normalized(vector)) } catch { throw IndexError.invalidVector(error) }
        }
        guard view.header.count + units.count <= Int(VectorID.maximum.rawValue) else {
            throw IndexError.invalidParameter("the space is full")
        }
        var ids: [VectorID] = []
        ids.reserveCapacity(units.count)
        for unit in units {
            let id = UInt32(view.header.count)
            let destination = view.vectors.mutableElement(id)
            unit.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            view.header.count += 1
            view.header.live += 1
            let chunk = view.vectors.layout.locate(id).chunk
            if view.chunkLive[chunk] == nil { view.chunkLive[chunk] = try liveCount(space: space, chunk: chunk) }
            view.chunkLive[chunk]! += 1
            ids.append(VectorID(rawValue: id))
        }
        view.isDirty = true
        return ids
    }

    /// Releases vector `id` of `space`: it must no longer be a live node of any graph. When every
    /// vector of a full chunk is released, the chunk's pages are freed.
    public func releaseVector(_ id: VectorID, in space: SpaceID) throws {
        let view = try spaceView(space)
        guard Int(id.rawValue) < view.header.count else { throw IndexError.unknownVector(id, space) }
        let chunk = view.vectors.layout.locate(id.rawValue).chunk
        let live = try view.chunkLive[chunk] ?? liveCount(space: space, chunk: chunk)
        guard live > 0 else { return }
        view.chunkLive[chunk] = live - 1
        view.header.live -= 1
        view.isDirty = true
    }

    private func liveCount(space: SpaceID, chunk: Int) throws -> Int {
        try storage {
            Int(try transaction.integer(UInt32.self, for: Key(space.rawValue, UInt32(chunk)), in: databases.vectorChunkLive) ?? 0)
        }
    }

    // MARK: Graph changes

    /// Inserts the vectors `ids` of the graph's space into `graph`, in order; `progress` hears the
    /// number inserted so far every 256 vectors and at the end.
    ///
    /// With `threads` above 1 the vectors go in by batches of ``parallelBatchSize`` whose candidate
    /// searches run on that many threads inside this write transaction, the linking staying on this
    /// one (see `HNSWGraph.insertBatch`): a different graph from the serial insert's, of the same
    /// quality, and the same graph for any number of threads above 1. Progress is then reported
    /// after each batch.
    /// - Throws: ``IndexError/duplicateNode(_:_:)`` when a vector is already in the graph.
    public func insert(_ ids: [VectorID], into graph: GraphID, threads: Int = 1, progress: ((Int) -> Void)? = nil) throws {
        let view = try graphView(graph)
        for id in ids where Int(id.rawValue) >= view.space.header.count {
            throw IndexError.unknownVector(id, view.header.space)
        }
        if threads > 1 {
            try SearchContextPool.shared.withContext { context in
                var done = 0
                while done < ids.count {
                    let batch = ids[done..<min(done + Self.parallelBatchSize, ids.count)]
                    // The members first (they refuse duplicates), then the batch, whose nodes follow on.
                    let first = UInt32(view.header.nodeCount)
                    for (position, id) in batch.enumerated() {
                        try addMember(id, node: first + UInt32(position), graph: graph)
                    }
                    let nodes = view.insertBatch(vectorIDs: batch.map(\.rawValue), threads: threads, context: context)
                    assert(nodes.first.map { $0 == first } ?? true)
                    done += batch.count
                    progress?(done)
                }
                if !ids.isEmpty { view.repairReachability(context: context) }
            }
            return
        }
        try SearchContextPool.shared.withContext { context in
            for (position, id) in ids.enumerated() {
                let node = UInt32(view.header.nodeCount)
                try addMember(id, node: node, graph: graph)
                let inserted = view.insert(vectorID: id.rawValue, context: context)
                assert(inserted == node)
                if let progress, (position + 1) % 256 == 0 { progress(position + 1) }
            }
            progress?(ids.count)
            if !ids.isEmpty { view.repairReachability(context: context) }
        }
    }

    /// Vectors per batch of a multi-threaded insert: each new node of a batch is compared exactly
    /// with the batch's earlier ones (the graph cannot show them yet), so the cost grows with its square.
    public static let parallelBatchSize = 1_000

    /// Records that vector `id` is `node` of `graph`; a vector already in the graph is refused.
    private func addMember(_ id: VectorID, node: UInt32, graph: GraphID) throws {
        do {
            try withUnsafeBytes(of: node.littleEndian) {
                try transaction.put($0, for: Key(graph.rawValue, id.rawValue), in: databases.members, noOverwrite: true)
            }
        } catch let error as LMDBError where error == .keyExists {
            throw IndexError.duplicateNode(id, graph)
        } catch let error as LMDBError {
            throw IndexError.storage(error)
        }
    }

    /// Deletes vector `id` from `graph` (a tombstone); returns whether it was a live node.
    @discardableResult
    public func delete(_ id: VectorID, from graph: GraphID) throws -> Bool {
        let view = try graphView(graph)
        let node = try storage {
            try transaction.integer(UInt32.self, for: Key(graph.rawValue, id.rawValue), in: databases.members)
        }
        guard let node, !view.isDeleted(node) else { return false }
        view.delete(node: node)
        return true
    }

    // MARK: Maintenance

    /// Builds a new graph from the live vectors of `graph` (in vector order, with `parameters`, or
    /// the old ones), drops the old graph and returns the new one. Callers that refer to graphs by
    /// id must switch to the new id in the same transaction. `threads` as for ``insert(_:into:threads:progress:)``.
    public func rebuildGraph(_ graph: GraphID, parameters: GraphParameters? = nil, threads: Int = 1,
                             progress: ((Int) -> Void)? = nil) throws -> GraphID {
        let old = try graphView(graph)
        let live = old.liveVectorIDs().sorted().map(VectorID.init(rawValue:))
        let rebuilt = try createGraph(in: old.header.space, parameters: parameters ?? old.header.parameters)
        try insert(live, into: rebuilt, threads: threads, progress: progress)
        try dropGraph(graph)
        return rebuilt
    }

    /// Repairs the links around the tombstones of `graph` (FreshDiskANN-style): every live node
    /// that links to a deleted one re-selects its neighbours, with the heuristic, among its live
    /// links and the deleted node's live links; deleted nodes lose their links, so searches no
    /// longer pass through them; a deleted entry point is replaced. Returns the nodes re-linked.
    @discardableResult
    public func repairTombstones(in graph: GraphID) throws -> Int {
        let view = try graphView(graph)
        guard view.header.deleted > 0 else { return 0 }
        return SearchContextPool.shared.withContext { context in view.repairTombstones(context: context) }
    }

    /// Rewrites the full vector chunks of `space` keeping only the vectors `keep` accepts: a chunk
    /// with dead vectors is stored sparse (only live vectors, behind a bitmap), a chunk with none
    /// left is deleted. Vector ids do not change. Returns the vectors kept.
    @discardableResult
    public func compactVectors(of space: SpaceID, keep: (VectorID) -> Bool) throws -> Int {
        let view = try spaceView(space)
        precondition(!view.vectors.hasChanges, "compact a space in a transaction of its own")
        let perChunk = view.header.vectorsPerChunk
        var kept = 0
        for chunk in 0..<view.vectors.chunkCount where (chunk + 1) * perChunk <= view.header.count {
            let live = try view.vectors.rewriteSparse(chunk, keep: { keep(VectorID(rawValue: UInt32(chunk * perChunk + $0))) }, in: transaction)
            kept += live
            let key = Key(space.rawValue, UInt32(chunk))
            if live == 0 {
                try storage { _ = try transaction.delete(key, in: databases.vectorChunkLive) }
            } else {
                try storage { try transaction.put(integer: UInt32(live), for: key, in: databases.vectorChunkLive) }
            }
        }
        // The tail chunk is only counted: it is still being appended to.
        let tailStart = view.header.count / perChunk * perChunk
        for id in tailStart..<view.header.count where view.vectors.element(UInt32(id)) != nil && keep(VectorID(id)) { kept += 1 }
        state.spaces[space] = nil  // the table's addresses are stale now
        return kept
    }

    // MARK: Reading inside the write

    /// Facts about space `id`, with this transaction's changes.
    public func space(_ id: SpaceID) throws -> SpaceInfo { try spaceView(id).info }

    /// Facts about graph `id`, with this transaction's changes.
    public func graph(_ id: GraphID) throws -> GraphInfo { try graphView(id).info }

    /// Searches `graph` with this transaction's changes. See ``IndexReader/search(_:query:k:options:filter:)``.
    public func search<Filter: VectorFilter>(_ graph: GraphID, query: [Float], k: Int, options: SearchOptions = SearchOptions(),
                                             filter: Filter = AllowAll()) throws -> [Neighbor] {
        try runSearch(try graphView(graph), query: query, k: k, options: options, filter: filter).neighbors
    }

    /// A copy of vector `id` of `space`, with this transaction's changes.
    public func vector(_ id: VectorID, in space: SpaceID) throws -> [Float]? {
        let view = try spaceView(space)
        guard let pointer = view.vectorIfPresent(id) else { return nil }
        return (0..<view.header.dimension).map { pointer.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
    }

    // MARK: Views and flush

    func spaceView(_ id: SpaceID) throws -> VectorSpace {
        if let view = state.spaces[id] { return view }
        let view = try VectorSpace(id: id, databases: databases, transaction: transaction)
        state.spaces[id] = view
        return view
    }

    func graphView(_ id: GraphID) throws -> HNSWGraph {
        if let view = state.graphs[id] { return view }
        let header = try HNSWGraph.loadHeader(id, databases: databases, transaction: transaction)
        let view = try HNSWGraph(id: id, space: try spaceView(header.space), header: header, databases: databases,
                                 transaction: transaction)
        state.graphs[id] = view
        return view
    }

    /// Writes every changed chunk, slot and header back into the transaction.
    func flush() throws {
        for (id, view) in state.spaces.sorted(by: { $0.key < $1.key }) where view.isDirty {
            try view.vectors.flush(elementCount: view.header.count, in: transaction)
            for (chunk, live) in view.chunkLive.sorted(by: { $0.key < $1.key }) {
                let key = Key(id.rawValue, UInt32(chunk))
                let chunkIsFull = (chunk + 1) * view.header.vectorsPerChunk <= view.header.count
                if live == 0 && chunkIsFull {
                    try view.vectors.removeChunk(chunk, in: transaction)
                    try storage { _ = try transaction.delete(key, in: databases.vectorChunkLive) }
                } else {
                    try storage { try transaction.put(integer: UInt32(live), for: key, in: databases.vectorChunkLive) }
                }
            }
            try storage { try transaction.put(view.header.encoded(), for: Key(id.rawValue), in: databases.spaces) }
        }
        for (id, view) in state.graphs.sorted(by: { $0.key < $1.key }) where view.isDirty {
            try view.nodes.flush(elementCount: view.header.nodeCount, in: transaction)
            try view.slots.flush(elementCount: view.header.nodeCount, in: transaction)
            for (key, buffer) in view.ownedUpper.sorted(by: { ($0.key.level, $0.key.node) < ($1.key.level, $1.key.node) }) {
                var lmdbKey = Key(id.rawValue)
                lmdbKey.append(UInt8(key.level))
                lmdbKey.append(bigEndian: key.node)
                try storage {
                    try transaction.put(UnsafeRawBufferPointer(start: buffer, count: view.header.upperSlotBytes), for: lmdbKey,
                                        in: databases.upperLinks)
                }
            }
            try storage { try transaction.put(view.header.encoded(), for: Key(id.rawValue), in: databases.graphs) }
        }
    }
}

/// What a writer has touched in its transaction.
final class WriterState {
    var spaces: [SpaceID: VectorSpace] = [:]
    var graphs: [GraphID: HNSWGraph] = [:]
}
