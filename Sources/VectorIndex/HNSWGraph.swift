import LMDB

/// A vector space as one transaction sees it: its header and the address of every vector chunk.
final class VectorSpace: @unchecked Sendable {
    // Sendable: a read view is immutable once built and shared by readers of one snapshot; a write
    // view never leaves its write transaction's thread.
    let id: SpaceID
    var header: SpaceHeader
    let vectors: ChunkStore
    /// Bytes of one vector.
    let vectorBytes: Int
    /// Changed in this write transaction: header and chunks must be written back.
    var isDirty = false
    /// Live-vector counts of chunks changed in this write transaction.
    var chunkLive: [Int: Int] = [:]

    init<Mode>(id: SpaceID, databases: IndexDatabases, transaction: borrowing Transaction<Mode>) throws {
        self.id = id
        let header = try storage {
            try transaction.withValue(for: Key(id.rawValue), in: databases.spaces) { bytes in
                guard let bytes else { throw IndexError.unknownSpace(id) }
                return try SpaceHeader(decoding: bytes, id: id)
            }
        }
        self.header = header
        vectorBytes = header.dimension * MemoryLayout<Float>.size
        vectors = try ChunkStore(layout: header.layout, owner: id.rawValue, database: databases.vectors,
                                 prefix: Key(id.rawValue), transaction: transaction)
    }

    /// The unit vector `id`, in the map or in this transaction's copy.
    @inline(__always)
    func vector(_ id: UInt32) -> UnsafeRawPointer { vectors.existingElement(id) }

    /// The vector `id`, or nil when the space has no such vector.
    func vectorIfPresent(_ id: VectorID) -> UnsafeRawPointer? {
        guard Int(id.rawValue) < header.count else { return nil }
        return vectors.element(id.rawValue)
    }
}

/// An HNSW graph as one transaction sees it: header, node table, level-0 slots and upper levels.
///
/// Read views are shared by every reader of the same snapshot and never change. A write view
/// belongs to one write transaction; what it changes is copied into owned memory and written back
/// by ``IndexWriter``'s flush before commit.
final class HNSWGraph: @unchecked Sendable {
    // Sendable: as for VectorSpace.
    let id: GraphID
    var header: GraphHeader
    let space: VectorSpace
    /// Node id → vector id, with ``IndexFormat/tombstoneBit`` for deleted nodes.
    let nodes: ChunkStore
    /// Node id → level-0 slot.
    let slots: ChunkStore
    /// Per level from 1: node id → slot address.
    var upper: [[UInt32: UnsafeRawPointer]]
    /// Upper slots created or changed in this write transaction, by (level, node).
    var ownedUpper: [UpperSlotKey: UnsafeMutableRawPointer] = [:]
    /// Members added in this write transaction: vector id → node.
    var isDirty = false

    struct UpperSlotKey: Hashable {
        var level: Int
        var node: UInt32
    }

    init<Mode>(id: GraphID, space: VectorSpace, header: GraphHeader, databases: IndexDatabases,
               transaction: borrowing Transaction<Mode>) throws {
        self.id = id
        self.header = header
        self.space = space
        guard header.walkCodeBytes == header.parameters.walk.codeBytes(dimension: space.header.dimension) else {
            throw IndexError.corrupt("header of \(id) gives \(header.walkCodeBytes) bytes per compressed vector, not those of \(header.parameters.walk) at \(space.header.dimension) dimensions")
        }
        nodes = try ChunkStore(layout: header.nodeLayout, owner: id.rawValue, database: databases.nodes,
                               prefix: Key(id.rawValue), transaction: transaction)
        slots = try ChunkStore(layout: header.slotLayout, owner: id.rawValue, database: databases.links,
                               prefix: Key(id.rawValue), transaction: transaction)
        upper = Array(repeating: [:], count: max(0, header.maxLevel))
        var failure: IndexError?
        let upperSlotBytes = header.upperSlotBytes
        try storage {
            try transaction.forEach(in: databases.upperLinks, prefix: Key(id.rawValue)) { key, value in
                var reader = KeyReader(key)
                _ = reader.readUInt32()
                guard let level = reader.readByte().map(Int.init), let node = reader.readUInt32(), level >= 1,
                      value.count == upperSlotBytes else {
                    failure = .corrupt("upper-level slot of \(id) has a bad key or size")
                    return false
                }
                while upper.count < level { upper.append([:]) }
                upper[level - 1][node] = UnsafeRawPointer(value.baseAddress!)
                return true
            }
        }
        if let failure { throw failure }
    }

    deinit {
        for buffer in ownedUpper.values { buffer.deallocate() }
    }

    static func loadHeader<Mode>(_ id: GraphID, databases: IndexDatabases, transaction: borrowing Transaction<Mode>) throws -> GraphHeader {
        try storage {
            try transaction.withValue(for: Key(id.rawValue), in: databases.graphs) { bytes in
                guard let bytes else { throw IndexError.unknownGraph(id) }
                return try GraphHeader(decoding: bytes, id: id)
            }
        }
    }

    // MARK: Hot-path accessors

    /// The raw node entry: vector id, with the tombstone bit for a deleted node.
    @inline(__always)
    func nodeEntry(_ node: UInt32) -> UInt32 {
        UInt32(littleEndian: nodes.existingElement(node).loadUnaligned(as: UInt32.self))
    }

    @inline(__always)
    func isDeleted(_ node: UInt32) -> Bool { nodeEntry(node) & IndexFormat.tombstoneBit != 0 }

    @inline(__always)
    func vectorID(of node: UInt32) -> UInt32 { nodeEntry(node) & ~IndexFormat.tombstoneBit }

    /// The vectors of the live (not deleted) nodes, in node order.
    func liveVectorIDs() -> [UInt32] {
        var vectors: [UInt32] = []
        vectors.reserveCapacity(header.live)
        for node in 0..<UInt32(header.nodeCount) {
            let entry = nodeEntry(node)
            if entry & IndexFormat.tombstoneBit == 0 { vectors.append(entry) }
        }
        return vectors
    }

    /// The vector of `node`.
    @inline(__always)
    func vector(of node: UInt32) -> UnsafeRawPointer { vector(of: node, identityPrefix: UInt32(header.identityPrefix)) }

    /// The vector of `node`, read without the node table when the node is below `identityPrefix`
    /// (the header's ``GraphHeader/identityPrefix``, hoisted out of a hot loop by the caller).
    @inline(__always)
    func vector(of node: UInt32, identityPrefix: UInt32) -> UnsafeRawPointer {
        space.vector(node < identityPrefix ? node : vectorID(of: node))
    }

    /// The slot of `node` on `level` (level 0 or above), or nil when the node has no slot there.
    @inline(__always)
    func slot(_ node: UInt32, level: Int) -> UnsafeRawPointer? {
        if level == 0 { return slots.existingElement(node) }
        guard level <= upper.count else { return nil }
        return upper[level - 1][node]
    }

    /// The compressed copy of `node`'s vector, after its entry in the node table (a graph with a
    /// compressed walk).
    @inline(__always)
    func walkCodes(of node: UInt32) -> UnsafeRawPointer { nodes.existingElement(node) + 4 }

    /// The node's top level, from its level-0 slot.
    func level(of node: UInt32) -> Int { LinkSlot.level(slots.existingElement(node)) }

    // MARK: Write-side changes (write transactions only)

    /// A writable slot of `node` on `level`, created empty when missing.
    func mutableSlot(_ node: UInt32, level: Int) -> UnsafeMutableRawPointer {
        isDirty = true
        if level == 0 { return slots.mutableElement(node) }
        let key = UpperSlotKey(level: level, node: node)
        if let owned = ownedUpper[key] { return owned }
        let bytes = header.upperSlotBytes
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        while upper.count < level { upper.append([:]) }
        if let old = upper[level - 1][node] { buffer.copyMemory(from: old, byteCount: bytes) }
        ownedUpper[key] = buffer
        upper[level - 1][node] = UnsafeRawPointer(buffer)
        return buffer
    }

    func setNodeEntry(_ node: UInt32, _ entry: UInt32) {
        isDirty = true
        nodes.mutableElement(node).storeBytes(of: entry.littleEndian, as: UInt32.self)
    }
}
