import Foundation
import LMDB

/// The on-disk format of the index (see docs/on-disk-format.md).
public enum IndexFormat {
    /// The format version this build writes, and the newest it reads.
    /// Version 2 added compressed walks (``WalkPrecision``): a graph header may name one, and its
    /// node records then carry each node's compressed vector after the slot number. Version 1
    /// databases are read as they are; a database is marked version 2 when its first graph with a
    /// compressed walk is created (so that an older build refuses it rather than misreading it).
    public static let version: UInt32 = 2
    /// The value of the `magic` key of the `meta` database.
    static let magic = Array("hindsight".utf8)
    /// Pages per vector chunk (about 128 KiB).
    static let vectorChunkPages = 32
    /// Pages per chunk of level-0 link slots.
    static let slotChunkPages = 4
    /// Pages per chunk of the node table.
    static let nodeChunkPages = 4
    /// Bytes before the first vector of a chunk: the chunk header, padded so that vectors in
    /// overflow pages start on a 64-byte boundary.
    static let vectorChunkHeaderBytes = 48
    /// The top bit of a node-table entry marks a deleted node (a tombstone).
    static let tombstoneBit: UInt32 = 1 << 31
    /// No node: an empty graph's entry point.
    static let noNode = UInt32.max
}

/// The named databases of the index, opened once per store.
struct IndexDatabases: Sendable {
    /// `meta`: string key → value. `magic`, `format-version`, id counters.
    let meta: Database
    /// `spaces`: space id (u32 BE) → ``SpaceHeader``.
    let spaces: Database
    /// `vectors`: (space u32 BE, chunk u32 BE) → chunk of unit vectors (Float32 LE).
    let vectors: Database
    /// `vector-chunks`: (space u32 BE, chunk u32 BE) → live vectors in the chunk (u32 LE).
    let vectorChunkLive: Database
    /// `graphs`: graph id (u32 BE) → ``GraphHeader``.
    let graphs: Database
    /// `nodes`: (graph u32 BE, chunk u32 BE) → chunk of node entries: vector id | tombstone bit (u32 LE).
    let nodes: Database
    /// `links`: (graph u32 BE, chunk u32 BE) → chunk of level-0 slots (see ``LinkSlot``).
    let links: Database
    /// `upper-links`: (graph u32 BE, level u8, node u32 BE) → upper-level slot.
    let upperLinks: Database
    /// `members`: (graph u32 BE, vector u32 BE) → node id (u32 LE).
    let members: Database

    static let names = ["meta", "spaces", "vectors", "vector-chunks", "graphs", "nodes", "links", "upper-links", "members"]

    init(environment: Environment, create: Bool) throws {
        try self.init { name in try storage { try environment.openDatabase(named: name, create: create) } }
    }

    init(handles: [String: Database]) throws {
        try self.init { name in
            guard let handle = handles[name] else { throw IndexError.corrupt("database \(name) is missing") }
            return handle
        }
    }

    private init(_ open: (String) throws -> Database) throws {
        meta = try open("meta")
        spaces = try open("spaces")
        vectors = try open("vectors")
        vectorChunkLive = try open("vector-chunks")
        graphs = try open("graphs")
        nodes = try open("nodes")
        links = try open("links")
        upperLinks = try open("upper-links")
        members = try open("members")
    }
}

/// A vector space's header, in the `spaces` database.
struct SpaceHeader: Equatable, Sendable {
    var dimension: Int
    var vectorsPerChunk: Int
    /// Vectors ever added: the next vector id.
    var count: Int
    /// Vectors not released.
    var live: Int

    var layout: ChunkLayout {
        ChunkLayout(elementBytes: dimension * MemoryLayout<Float>.size, headerBytes: IndexFormat.vectorChunkHeaderBytes,
                    elementsPerChunk: vectorsPerChunk)
    }

    func encoded() -> [UInt8] {
        var writer = ByteWriter()
        writer.write(UInt16(1))
        writer.write(UInt32(dimension))
        writer.write(UInt32(vectorsPerChunk))
        writer.write(UInt32(count))
        writer.write(UInt32(live))
        return writer.bytes
    }

    init(dimension: Int, vectorsPerChunk: Int, count: Int, live: Int) {
        self.dimension = dimension
        self.vectorsPerChunk = vectorsPerChunk
        self.count = count
        self.live = live
    }

    init(decoding bytes: UnsafeRawBufferPointer, id: SpaceID) throws {
        var reader = ByteReader(bytes, what: "header of \(id)")
        guard try reader.read(UInt16.self) == 1 else { throw IndexError.corrupt("header of \(id) has an unknown layout") }
        dimension = Int(try reader.read(UInt32.self))
        vectorsPerChunk = Int(try reader.read(UInt32.self))
        count = Int(try reader.read(UInt32.self))
        live = Int(try reader.read(UInt32.self))
        guard dimension > 0, vectorsPerChunk > 0, live <= count else { throw IndexError.corrupt("header of \(id) is inconsistent") }
    }
}

/// HNSW parameters of a graph.
public struct GraphParameters: Hashable, Sendable, Codable {
    /// Links per node on the upper levels (`M`); level 0 holds `2 * m`.
    public var m: Int
    /// The candidate list size while inserting (`efConstruction`).
    public var efConstruction: Int
    /// The seed of the level generator: the same seed and inserts give the same graph.
    public var seed: UInt64

    /// What the search's walk compares (``WalkPrecision``); construction always uses float32.
    /// New graphs walk int8 copies (the fastest walk whose recall@10 at the same `ef` stays within
    /// 0.002 of float32 on both benchmark sets, docs/benchmarks.md); settings stored before walks
    /// existed decode as ``WalkPrecision/f32``.
    public var walk: WalkPrecision

    public init(m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 0x5EED_4D5F_1DE5_0001, walk: WalkPrecision = .int8) {
        self.m = m
        self.efConstruction = efConstruction
        self.seed = seed
        self.walk = walk
    }

    enum CodingKeys: String, CodingKey { case m, efConstruction, seed, walk }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        m = try container.decode(Int.self, forKey: .m)
        efConstruction = try container.decode(Int.self, forKey: .efConstruction)
        seed = try container.decode(UInt64.self, forKey: .seed)
        // Settings stored before compressed walks existed walk the float32 vectors.
        walk = try container.decodeIfPresent(WalkPrecision.self, forKey: .walk) ?? .f32
    }

    /// Links per node on level 0 (`M0 = 2M`).
    public var m0: Int { 2 * m }
    /// The level multiplier `mL = 1 / ln M`.
    public var levelMultiplier: Double { 1 / Foundation.log(Double(m)) }

    func validate() throws {
        guard (2...200).contains(m) else { throw IndexError.invalidParameter("m must be between 2 and 200, got \(m)") }
        guard (1...10_000).contains(efConstruction) else {
            throw IndexError.invalidParameter("efConstruction must be between 1 and 10000, got \(efConstruction)")
        }
    }
}


/// A graph's header, in the `graphs` database.
struct GraphHeader: Equatable, Sendable {
    var space: SpaceID
    var parameters: GraphParameters
    /// The level generator's state after the last insert.
    var randomState: UInt64
    /// The entry point's node, or ``IndexFormat/noNode``.
    var entryPoint: UInt32
    /// The entry point's level, or -1 when the graph is empty.
    var maxLevel: Int
    /// Nodes ever added: the next node id.
    var nodeCount: Int
    /// Nodes not deleted.
    var live: Int
    var slotsPerChunk: Int
    var nodesPerChunk: Int
    /// Nodes below this number hold the vector of the same id (node n is vector n), so a search
    /// finds their vectors without reading the node table. True of a graph that was given the
    /// vectors of its space in order (a collection's global layer, a benchmark's index); 0 in
    /// headers written before the field existed, which is always safe.
    var identityPrefix: Int
    /// Bytes of each node's compressed vector after its entry in the node table (0 for a float32
    /// walk; absent from version-1 headers).
    var walkCodeBytes: Int

    var deleted: Int { nodeCount - live }
    var slotBytes: Int { LinkSlot.headerBytes + 4 * parameters.m0 }
    /// Bytes of a node-table record: the entry, then the compressed vector.
    var nodeBytes: Int { 4 + walkCodeBytes }
    var upperSlotBytes: Int { LinkSlot.headerBytes + 4 * parameters.m }
    var slotLayout: ChunkLayout { ChunkLayout(elementBytes: slotBytes, headerBytes: ChunkHeader.bytes, elementsPerChunk: slotsPerChunk) }
    var nodeLayout: ChunkLayout { ChunkLayout(elementBytes: nodeBytes, headerBytes: ChunkHeader.bytes, elementsPerChunk: nodesPerChunk) }

    func encoded() -> [UInt8] {
        var writer = ByteWriter()
        writer.write(UInt16(1))
        writer.write(space.rawValue)
        writer.write(UInt16(parameters.m))
        writer.write(UInt32(parameters.efConstruction))
        writer.write(parameters.seed)
        writer.write(randomState)
        writer.write(entryPoint)
        writer.write(Int32(maxLevel))
        writer.write(UInt32(nodeCount))
        writer.write(UInt32(live))
        writer.write(UInt32(slotsPerChunk))
        writer.write(UInt32(nodesPerChunk))
        writer.write(UInt32(identityPrefix))
        if parameters.walk != .f32 {
            writer.write(parameters.walk.code)
            writer.write(UInt32(walkCodeBytes))
        }
        return writer.bytes
    }

    init(space: SpaceID, dimension: Int, parameters: GraphParameters, pageSize: Int) {
        self.space = space
        self.parameters = parameters
        randomState = parameters.seed
        entryPoint = IndexFormat.noNode
        maxLevel = -1
        nodeCount = 0
        live = 0
        identityPrefix = 0
        walkCodeBytes = parameters.walk.codeBytes(dimension: dimension)
        let slotBytes = LinkSlot.headerBytes + 4 * parameters.m0
        slotsPerChunk = ChunkLayout(elementBytes: slotBytes, headerBytes: ChunkHeader.bytes, pages: IndexFormat.slotChunkPages,
                                    pageSize: pageSize).elementsPerChunk
        nodesPerChunk = ChunkLayout(elementBytes: 4 + walkCodeBytes, headerBytes: ChunkHeader.bytes, pages: IndexFormat.nodeChunkPages,
                                    pageSize: pageSize).elementsPerChunk
    }

    init(decoding bytes: UnsafeRawBufferPointer, id: GraphID) throws {
        var reader = ByteReader(bytes, what: "header of \(id)")
        guard try reader.read(UInt16.self) == 1 else { throw IndexError.corrupt("header of \(id) has an unknown layout") }
        space = SpaceID(rawValue: try reader.read())
        let m = Int(try reader.read(UInt16.self))
        let efConstruction = Int(try reader.read(UInt32.self))
        let seed: UInt64 = try reader.read()
        randomState = try reader.read()
        entryPoint = try reader.read()
        maxLevel = Int(try reader.read(Int32.self))
        nodeCount = Int(try reader.read(UInt32.self))
        live = Int(try reader.read(UInt32.self))
        slotsPerChunk = Int(try reader.read(UInt32.self))
        nodesPerChunk = Int(try reader.read(UInt32.self))
        identityPrefix = reader.remaining >= 4 ? Int(try reader.read(UInt32.self)) : 0
        var walk = WalkPrecision.f32
        walkCodeBytes = 0
        if reader.remaining > 0 {
            guard let stored = WalkPrecision(code: try reader.read(UInt8.self)) else {
                throw IndexError.corrupt("header of \(id) names an unknown walk precision")
            }
            walk = stored
            walkCodeBytes = Int(try reader.read(UInt32.self))
        }
        parameters = GraphParameters(m: m, efConstruction: efConstruction, seed: seed, walk: walk)
        guard m >= 2, identityPrefix <= nodeCount, (walk == .f32) == (walkCodeBytes == 0), slotsPerChunk > 0, nodesPerChunk > 0, live <= nodeCount, maxLevel >= -1, maxLevel < 64,
              (entryPoint == IndexFormat.noNode) == (maxLevel < 0),
              entryPoint == IndexFormat.noNode || Int(entryPoint) < nodeCount else {
            throw IndexError.corrupt("header of \(id) is inconsistent")
        }
    }
}

/// A slot of links: `[u16 count][u8 level][u8 flags][count × u32 node]`, little-endian, with room
/// for `M0` links on level 0 and `M` above. The level byte is the node's top level (in level-0 slots).
enum LinkSlot {
    static let headerBytes = 4

    @inline(__always) static func count(_ slot: UnsafeRawPointer) -> Int {
        Int(UInt16(littleEndian: slot.loadUnaligned(as: UInt16.self)))
    }
    @inline(__always) static func level(_ slot: UnsafeRawPointer) -> Int { Int(slot.load(fromByteOffset: 2, as: UInt8.self)) }
    @inline(__always) static func link(_ slot: UnsafeRawPointer, _ index: Int) -> UInt32 {
        UInt32(littleEndian: slot.loadUnaligned(fromByteOffset: headerBytes + 4 * index, as: UInt32.self))
    }
    static func links(_ slot: UnsafeRawPointer) -> [UInt32] { (0..<count(slot)).map { link(slot, $0) } }

    static func setLevel(_ slot: UnsafeMutableRawPointer, _ level: Int) {
        slot.storeBytes(of: UInt8(level), toByteOffset: 2, as: UInt8.self)
    }
    static func setLinks(_ slot: UnsafeMutableRawPointer, _ links: some Collection<UInt32>) {
        slot.storeBytes(of: UInt16(links.count).littleEndian, as: UInt16.self)
        for (index, link) in links.enumerated() {
            slot.storeBytes(of: link.littleEndian, toByteOffset: headerBytes + 4 * index, as: UInt32.self)
        }
    }
}
