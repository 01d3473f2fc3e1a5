internal import CDistance
internal import Distance

/// How a graph walk measures the distance from its query to a node: where the numbers it compares
/// live (so that the walk can prefetch them a batch ahead) and how two of them are compared.
protocol WalkMetric {
    /// The address of what ``distance(at:)`` reads for `node`.
    func location(of node: UInt32) -> UnsafeRawPointer
    /// Bytes at a location.
    var locationBytes: Int { get }
    /// The distance (`1 - cosine`, estimated for a compressed walk) from the query to the node at `location`.
    func distance(at location: UnsafeRawPointer) -> Float
}

/// The float32 vectors: exact distances (construction, and the search of a float32 walk).
struct FloatWalk: WalkMetric {
    let graph: HNSWGraph
    let query: UnsafeRawPointer
    let dimension: Int
    let identityPrefix: UInt32
    let kernel = DotProductKernel.best
    let locationBytes: Int

    init(graph: HNSWGraph, query: UnsafeRawPointer) {
        self.graph = graph
        self.query = query
        dimension = graph.space.header.dimension
        identityPrefix = UInt32(graph.header.identityPrefix)
        locationBytes = graph.space.vectorBytes
    }

    @inline(__always) func location(of node: UInt32) -> UnsafeRawPointer { graph.vector(of: node, identityPrefix: identityPrefix) }
    @inline(__always) func distance(at location: UnsafeRawPointer) -> Float { 1 - kernel(query, location, count: dimension) }
}

/// The int8 copies in the node table: `1 − scaleₓ · scale_q · (Σ uₓ·c_q − 128 · Σ c_q)`.
struct Int8Walk: WalkMetric {
    let nodes: ChunkStore
    let dimension: Int
    /// The query's s8 codes.
    let queryCodes: UnsafeRawPointer
    let queryScale: Float
    /// 128 × the sum of the query's codes: what the +128 of the stored codes adds to each sum.
    let correction: Int32
    let kernel = Int8DotKernel.best
    let locationBytes: Int

    init(graph: HNSWGraph, queryCodes: UnsafeRawPointer, queryScale: Float, codeSum: Int32) {
        nodes = graph.nodes
        dimension = graph.space.header.dimension
        self.queryCodes = queryCodes
        self.queryScale = queryScale
        correction = 128 &* codeSum
        locationBytes = graph.header.walkCodeBytes
    }

    @inline(__always) func location(of node: UInt32) -> UnsafeRawPointer { nodes.existingElement(node) + 4 }
    @inline(__always) func distance(at location: UnsafeRawPointer) -> Float {
        let sum = kernel(location, queryCodes, count: dimension) &- correction
        return 1 - WalkCodes.int8Scale(location, dimension: dimension) * queryScale * Float(sum)
    }
}

/// The bf16 copies in the node table against the query: `1 − Σ q·bf16(x)`, with the query in
/// float32, or rounded to bf16 for a kernel that multiplies bf16 pairs (``BF16DotKernel/takesBF16Query``).
struct BF16Walk: WalkMetric {
    let nodes: ChunkStore
    let dimension: Int
    /// What the kernel takes: the float32 query, or its bf16 codes.
    let query: UnsafeRawPointer
    let kernel = BF16DotKernel.best
    let locationBytes: Int

    /// `query` is the float32 query; `scratch` holds 2 × dimension bytes for its bf16 codes.
    init(graph: HNSWGraph, query: UnsafeRawPointer, scratch: UnsafeMutableRawPointer) {
        nodes = graph.nodes
        dimension = graph.space.header.dimension
        if kernel.takesBF16Query {
            BF16Codes.encode(query, count: dimension, into: scratch)
            self.query = UnsafeRawPointer(scratch)
        } else {
            self.query = query
        }
        locationBytes = graph.header.walkCodeBytes
    }

    @inline(__always) func location(of node: UInt32) -> UnsafeRawPointer { nodes.existingElement(node) + 4 }
    @inline(__always) func distance(at location: UnsafeRawPointer) -> Float { 1 - kernel(query, location, count: dimension) }
}
