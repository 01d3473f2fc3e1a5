internal import CDistance
internal import Distance

/// Cache lines of each neighbour's vector requested before distances are computed; the hardware
/// prefetcher streams the rest. Four lines (256 bytes) for up to 32 neighbours: perf puts most of
/// the search loop's own samples on these prefetches (waiting, we believe, for free line-fill
/// buffers), and interleaved A/B runs on debian-minilm (384-d) found 2 and 4 lines equal, both
/// ~3–5% ahead of 8.
let prefetchLinesPerVector = 4

/// Decides which vectors a search may return. Vectors it rejects still route the graph walk.
public protocol VectorFilter {
    /// Whether `id` may be returned.
    func allows(_ id: VectorID) -> Bool
    /// How many vectors of the graph pass, when the caller knows or can estimate it; the planner
    /// scans exactly when this is small, and falls back to a scan when a walk visits more nodes.
    var estimatedEligibleCount: Int? { get }
}

extension VectorFilter {
    public var estimatedEligibleCount: Int? { nil }
}

/// Allows every vector.
public struct AllowAll: VectorFilter {
    public init() {}
    @inline(__always) public func allows(_ id: VectorID) -> Bool { true }
    public var estimatedEligibleCount: Int? { nil }
}

/// Allows the vectors a closure accepts.
public struct PredicateFilter: VectorFilter {
    private let predicate: (VectorID) -> Bool
    public let estimatedEligibleCount: Int?
    public init(estimatedEligibleCount: Int? = nil, _ predicate: @escaping (VectorID) -> Bool) {
        self.predicate = predicate
        self.estimatedEligibleCount = estimatedEligibleCount
    }
    @inline(__always) public func allows(_ id: VectorID) -> Bool { predicate(id) }
}

/// Allows the vectors of a set.
public struct SetFilter: VectorFilter {
    public let ids: Set<VectorID>
    public init(_ ids: Set<VectorID>) { self.ids = ids }
    @inline(__always) public func allows(_ id: VectorID) -> Bool { ids.contains(id) }
    public var estimatedEligibleCount: Int? { ids.count }
}

/// How a search finds its neighbours.
public enum SearchStrategy: String, Sendable, Hashable, Codable {
    /// Let the planner choose: an exact scan for small graphs and small eligible sets, the graph
    /// walk otherwise, falling back to the scan when the walk visits more than the eligible set.
    case automatic
    /// Walk the HNSW graph (approximate).
    case graph
    /// Compare the query with every eligible vector (exact, recall 1).
    case exact
}

/// Options of a search.
public struct SearchOptions: Sendable, Hashable {
    /// The size of the candidate list on level 0 (`ef`); raised to `k` when smaller.
    public var ef: Int
    /// How to search.
    public var strategy: SearchStrategy
    /// Graphs with at most this many live nodes, and filters passing at most this many vectors,
    /// are scanned exactly by the automatic strategy.
    public var exactScanThreshold: Int

    public init(ef: Int = 64, strategy: SearchStrategy = .automatic, exactScanThreshold: Int = SearchOptions.defaultExactScanThreshold) {
        self.ef = ef
        self.strategy = strategy
        self.exactScanThreshold = exactScanThreshold
    }

    /// Below this many live nodes an exact SIMD scan costs about as much as a graph walk at
    /// ef 64 (measured in Benchmarks/IndexBenchmarks), and has recall 1.
    public static let defaultExactScanThreshold = 2_000
}

/// What a search did: its neighbours and how it found them.
public struct SearchReport: Sendable, Hashable {
    /// The neighbours, most similar first.
    public var neighbors: [Neighbor]
    /// The strategy that produced them (``SearchStrategy/exact`` after a fallback).
    public var strategy: SearchStrategy
    /// Distances computed.
    public var distanceCount: Int
    /// Whether a graph walk gave up for an exact scan.
    public var fellBack: Bool
}

/// Which nodes may enter the results of a search of one level.
protocol NodeEligibility {
    func isEligible(node: UInt32, entry: UInt32) -> Bool
}

/// Every node not deleted.
struct LiveNodes: NodeEligibility {
    @inline(__always) func isEligible(node: UInt32, entry: UInt32) -> Bool { entry & IndexFormat.tombstoneBit == 0 }
}

/// Every node, deleted or not (for connecting a node when only deleted ones are near).
struct AnyNode: NodeEligibility {
    let excluded: UInt32
    @inline(__always) func isEligible(node: UInt32, entry: UInt32) -> Bool { node != excluded }
}

/// Nodes not deleted whose vector the filter allows.
struct FilteredLiveNodes<Filter: VectorFilter>: NodeEligibility {
    let filter: Filter
    @inline(__always) func isEligible(node: UInt32, entry: UInt32) -> Bool {
        entry & IndexFormat.tombstoneBit == 0 && filter.allows(VectorID(rawValue: entry))
    }
}

extension HNSWGraph {
    /// `1 - cosine` of two unit vectors.
    @inline(__always)
    func distance(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Float {
        1 - DotProductKernel.best(a, b, count: space.header.dimension)
    }

    /// Greedy descent with a single candidate from `level` down to `stopLevel + 1`, by float32 distances.
    func greedyDescent(query: UnsafeRawPointer, from start: Candidate, level: Int, stopLevel: Int) -> (Candidate, Int) {
        greedyDescent(metric: FloatWalk(graph: self, query: query), from: start, level: level, stopLevel: stopLevel)
    }

    /// Greedy descent with a single candidate from `level` down to `stopLevel + 1`.
    func greedyDescent<Metric: WalkMetric>(metric: Metric, from start: Candidate, level: Int, stopLevel: Int) -> (Candidate, Int) {
        var current = start
        var computed = 0
        var level = level
        // Links past the node count (a damaged slot) are never followed, here and in searchLevel.
        let nodeLimit = UInt32(header.nodeCount)
        let linkCapacity = header.parameters.m0
        let locationBytes = metric.locationBytes
        while level > stopLevel {
            var changed = true
            while changed {
                changed = false
                guard let slot = slot(current.node, level: level) else { break }
                let count = min(LinkSlot.count(slot), linkCapacity)
                for index in 0..<count where LinkSlot.link(slot, index) < nodeLimit {
                    hs_prefetch(metric.location(of: LinkSlot.link(slot, index)), locationBytes, prefetchLinesPerVector)
                }
                for index in 0..<count {
                    let neighbor = LinkSlot.link(slot, index)
                    guard neighbor < nodeLimit else { continue }
                    let d = metric.distance(at: metric.location(of: neighbor))
                    computed += 1
                    if d < current.distance {
                        current = Candidate(distance: d, node: neighbor)
                        changed = true
                    }
                }
            }
            level -= 1
        }
        return (current, computed)
    }

    /// ``searchLevel(metric:entry:ef:level:context:eligibility:stopsEarly:visitBudget:)`` by float32 distances.
    func searchLevel<Eligibility: NodeEligibility>(query: UnsafeRawPointer, entry: Candidate, ef: Int, level: Int,
                                                   context: SearchContext, eligibility: Eligibility,
                                                   stopsEarly: Bool, visitBudget: Int = .max) -> Int? {
        searchLevel(metric: FloatWalk(graph: self, query: query), entry: entry, ef: ef, level: level, context: context,
                    eligibility: eligibility, stopsEarly: stopsEarly, visitBudget: visitBudget)
    }

    /// Beam search of one layer from `entry` (hnswlib's `searchBaseLayerST`): leaves at most `ef`
    /// eligible nodes in `context.results`, with the metric's distances. Returns the number of
    /// distances computed, or nil when more than `visitBudget` nodes were visited.
    /// With `spill` above 0, the best `spill` eligible nodes that the list displaced are kept in
    /// `context.spill` (for re-ranking an estimated walk).
    func searchLevel<Metric: WalkMetric, Eligibility: NodeEligibility>(metric: Metric, entry: Candidate, ef: Int, level: Int,
                                                                       context: SearchContext, eligibility: Eligibility,
                                                                       stopsEarly: Bool, visitBudget: Int = .max,
                                                                       spill spillCapacity: Int = 0) -> Int? {
        context.beginSearch(nodeCount: header.nodeCount)
        let visited = context.visited
        let tag = context.tag
        var candidates = context.candidates
        var results = context.results
        var spill = context.spill
        defer {
            context.candidates = candidates
            context.results = results
            context.spill = spill
        }
        let batchNodes = context.batchNodes, batchVectors = context.batchVectors
        let locationBytes = metric.locationBytes
        let slotBytes = header.slotBytes
        let nodeLimit = UInt32(header.nodeCount)

        visited[Int(entry.node)] = tag
        var lowerBound = Float.infinity
        if eligibility.isEligible(node: entry.node, entry: nodeEntry(entry.node)) {
            results.push(entry)
            lowerBound = entry.distance
        }
        candidates.push(entry)
        var visitedCount = 1
        var computed = 0

        while !candidates.isEmpty {
            let current = candidates.top
            if current.distance > lowerBound && (results.count == ef || stopsEarly) { break }
            candidates.pop()
            // The next node to expand is most likely the new top: start loading its links now.
            if level == 0 && !candidates.isEmpty {
                hs_prefetch(slots.existingElement(candidates.top.node), slotBytes, 3)
            }
            guard let slot = slot(current.node, level: level) else { continue }
            let linkCount = min(LinkSlot.count(slot), SearchContext.batchCapacity)
            // Pass 1: mark unvisited neighbours and start loading what their distances read.
            var batch = 0
            for index in 0..<linkCount {
                let neighbor = LinkSlot.link(slot, index)
                if neighbor >= nodeLimit || visited[Int(neighbor)] == tag { continue }
                visited[Int(neighbor)] = tag
                let location = metric.location(of: neighbor)
                hs_prefetch(location, locationBytes, prefetchLinesPerVector)
                batchNodes[batch] = neighbor
                batchVectors[batch] = location
                batch += 1
            }
            visitedCount += batch
            if visitedCount > visitBudget { return nil }
            // Pass 2: distances, in the order the loads were started.
            for index in 0..<batch {
                let d = metric.distance(at: batchVectors[index])
                guard results.count < ef || d < lowerBound else { continue }
                let neighbor = batchNodes[index]
                candidates.push(Candidate(distance: d, node: neighbor))
                if eligibility.isEligible(node: neighbor, entry: nodeEntry(neighbor)) {
                    if results.count < ef {
                        results.push(Candidate(distance: d, node: neighbor))
                    } else {
                        if spillCapacity > 0 {
                            let displaced = results.top
                            if spill.count < spillCapacity {
                                spill.push(displaced)
                            } else if displaced.distance < spill.top.distance {
                                spill.replaceTop(displaced)
                            }
                        }
                        results.replaceTop(Candidate(distance: d, node: neighbor))
                    }
                    lowerBound = results.top.distance
                }
            }
            computed += batch
        }
        return computed
    }

    /// The `k` eligible nodes nearest to `query` by walking the graph. Returns nil when the walk
    /// visited more than `visitBudget` nodes.
    func graphSearch<Filter: VectorFilter>(query: UnsafeRawPointer, k: Int, ef: Int, filter: Filter,
                                           context: SearchContext, visitBudget: Int) -> (neighbors: [Neighbor], computed: Int)? {
        guard header.entryPoint != IndexFormat.noNode, k > 0 else { return ([], 0) }
        let hasFilter = !(filter is AllowAll)
        // Each branch names concrete metric and eligibility types, so that the walk is specialised
        // for them (the unfiltered walk fully; a filter's type stays generic).
        switch header.parameters.walk {
        case .f32:
            let metric = FloatWalk(graph: self, query: query)
            if hasFilter {
                return walk(metric: metric, eligibility: FilteredLiveNodes(filter: filter), stopsEarly: false, k: k, ef: ef,
                            context: context, visitBudget: visitBudget, reranksWith: nil)
            }
            return walk(metric: metric, eligibility: LiveNodes(), stopsEarly: header.deleted == 0, k: k, ef: ef, context: context,
                        visitBudget: visitBudget, reranksWith: nil)
        case .int8:
            let codes = context.queryCodes(dimension: space.header.dimension)
            let (scale, codeSum) = query.withMemoryRebound(to: Float.self, capacity: space.header.dimension) {
                Int8Codes.encodeQuery($0, count: space.header.dimension, into: codes.assumingMemoryBound(to: Int8.self))
            }
            let metric = Int8Walk(graph: self, queryCodes: UnsafeRawPointer(codes), queryScale: scale, codeSum: codeSum)
            let exact = FloatWalk(graph: self, query: query)
            if hasFilter {
                return walk(metric: metric, eligibility: FilteredLiveNodes(filter: filter), stopsEarly: false, k: k, ef: ef,
                            context: context, visitBudget: visitBudget, reranksWith: exact)
            }
            return walk(metric: metric, eligibility: LiveNodes(), stopsEarly: header.deleted == 0, k: k, ef: ef, context: context,
                        visitBudget: visitBudget, reranksWith: exact)
        case .bf16:
            let metric = BF16Walk(graph: self, query: query, scratch: context.queryCodes(dimension: 2 * space.header.dimension))
            let exact = FloatWalk(graph: self, query: query)
            if hasFilter {
                return walk(metric: metric, eligibility: FilteredLiveNodes(filter: filter), stopsEarly: false, k: k, ef: ef,
                            context: context, visitBudget: visitBudget, reranksWith: exact)
            }
            return walk(metric: metric, eligibility: LiveNodes(), stopsEarly: header.deleted == 0, k: k, ef: ef, context: context,
                        visitBudget: visitBudget, reranksWith: exact)
        }
    }

    /// The walk of ``graphSearch(query:k:ef:filter:context:visitBudget:)`` with `metric`; when the
    /// metric is an estimate, every node of the final candidate list (`ef` of them, plus the nearest
    /// displaced ones up to `rerankFactor × k`) is re-ranked with `exact` and the `k` nearest by
    /// exact distance are returned.
    private func walk<Metric: WalkMetric, Eligibility: NodeEligibility>(metric: Metric, eligibility: Eligibility, stopsEarly: Bool,
                                                                        k: Int, ef: Int, context: SearchContext, visitBudget: Int,
                                                                        reranksWith exact: FloatWalk?)
        -> (neighbors: [Neighbor], computed: Int)? {
        let entryNode = header.entryPoint
        let start = Candidate(distance: metric.distance(at: metric.location(of: entryNode)), node: entryNode)
        let (closest, upperComputed) = greedyDescent(metric: metric, from: start, level: header.maxLevel, stopLevel: 0)
        let ef = max(ef, k)
        // An estimated walk re-ranks at least 2k nodes: the ef list, and when ef < 2k the nearest
        // nodes it displaced (where the estimate most often misorders the k-th neighbour).
        let spill = exact == nil ? 0 : max(0, Self.rerankFactor * k - ef)
        guard var computed = searchLevel(metric: metric, entry: closest, ef: ef, level: 0, context: context, eligibility: eligibility,
                                         stopsEarly: stopsEarly, visitBudget: visitBudget, spill: spill) else { return nil }
        computed += upperComputed + 1
        var results = context.results
        defer { context.results = results }
        if let exact {
            computed += rerank(&results, with: exact, keeping: k, context: context)
        }
        while results.count > k { results.pop() }
        var neighbors = [Neighbor](repeating: Neighbor(id: VectorID(rawValue: 0), similarity: 0), count: results.count)
        for index in stride(from: results.count - 1, through: 0, by: -1) {
            let candidate = results.pop()
            neighbors[index] = Neighbor(id: VectorID(rawValue: vectorID(of: candidate.node)), similarity: 1 - candidate.distance)
        }
        return (neighbors, computed)
    }

    /// An estimated walk re-ranks at least this many times `k` candidates.
    static let rerankFactor = 2

    /// Replaces the estimated distances of `results` (and of the displaced nodes in `context.spill`) with exact ones and keeps the `k` nearest by
    /// exact distance (farthest on top, as before). Returns the distances computed.
    private func rerank(_ results: inout CandidateHeap<FarthestFirst>, with exact: FloatWalk, keeping k: Int,
                        context: SearchContext) -> Int {
        var spill = context.spill
        defer { context.spill = spill }
        let count = results.count + spill.count
        let batchNodes = context.batchNodes, batchVectors = context.batchVectors
        var reranked = context.candidates  // free once the walk is done
        defer { context.candidates = reranked }
        reranked.removeAll()
        while !results.isEmpty || !spill.isEmpty {
            // A batch at a time: start loading every vector of the batch, then compare.
            var batch = 0
            while batch < SearchContext.batchCapacity && (!results.isEmpty || !spill.isEmpty) {
                let node = results.isEmpty ? spill.pop().node : results.pop().node
                let location = exact.location(of: node)
                hs_prefetch(location, exact.locationBytes, 8)
                batchNodes[batch] = node
                batchVectors[batch] = location
                batch += 1
            }
            for index in 0..<batch {
                reranked.push(Candidate(distance: exact.distance(at: batchVectors[index]), node: batchNodes[index]))
            }
        }
        for _ in 0..<min(k, reranked.count) {
            let nearest = reranked.pop()
            results.push(nearest)
        }
        return count
    }

    /// Calls `visit` with every live node the filter allows, its vector id and its distance to
    /// `query`, in node order; returns the number of distances computed. Four vectors at a time.
    func scanEligible<Filter: VectorFilter>(query: UnsafeRawPointer, filter: Filter,
                                            _ visit: (_ node: UInt32, _ vector: UInt32, _ distance: Float) -> Void) -> Int {
        let dimension = space.header.dimension
        let checksFilter = !(filter is AllowAll)
        var pendingNodes: (UInt32, UInt32, UInt32) = (0, 0, 0)
        var pendingEntries: (UInt32, UInt32, UInt32) = (0, 0, 0)
        var pendingVectors: (UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?) = (nil, nil, nil)
        var pending = 0
        var computed = 0
        for node in 0..<UInt32(header.nodeCount) {
            let entry = nodeEntry(node)
            guard entry & IndexFormat.tombstoneBit == 0 else { continue }
            if checksFilter && !filter.allows(VectorID(rawValue: entry)) { continue }
            let vector = space.vector(entry)
            switch pending {
            case 0: pendingNodes.0 = node; pendingEntries.0 = entry; pendingVectors.0 = vector
            case 1: pendingNodes.1 = node; pendingEntries.1 = entry; pendingVectors.1 = vector
            case 2: pendingNodes.2 = node; pendingEntries.2 = entry; pendingVectors.2 = vector
            default:
                let d = dotProducts4(query: query, pendingVectors.0!, pendingVectors.1!, pendingVectors.2!, vector, count: dimension)
                visit(pendingNodes.0, pendingEntries.0, 1 - d[0])
                visit(pendingNodes.1, pendingEntries.1, 1 - d[1])
                visit(pendingNodes.2, pendingEntries.2, 1 - d[2])
                visit(node, entry, 1 - d[3])
                computed += 4
                pending = 0
                continue
            }
            pending += 1
        }
        if pending > 0 { visit(pendingNodes.0, pendingEntries.0, distance(query, pendingVectors.0!)) }
        if pending > 1 { visit(pendingNodes.1, pendingEntries.1, distance(query, pendingVectors.1!)) }
        if pending > 2 { visit(pendingNodes.2, pendingEntries.2, distance(query, pendingVectors.2!)) }
        return computed + pending
    }

    /// The `k` eligible nodes nearest to `query`, comparing it with every live node (recall 1).
    func exactSearch<Filter: VectorFilter>(query: UnsafeRawPointer, k: Int, filter: Filter,
                                           context: SearchContext) -> (neighbors: [Neighbor], computed: Int) {
        guard k > 0 else { return ([], 0) }
        var results = context.results
        results.removeAll()
        defer { context.results = results }
        let computed = scanEligible(query: query, filter: filter) { node, _, d in
            if results.count < k {
                results.push(Candidate(distance: d, node: node))
            } else if d < results.top.distance {
                results.replaceTop(Candidate(distance: d, node: node))
            }
        }
        var neighbors = [Neighbor](repeating: Neighbor(id: VectorID(rawValue: 0), similarity: 0), count: results.count)
        for index in stride(from: results.count - 1, through: 0, by: -1) {
            let candidate = results.pop()
            neighbors[index] = Neighbor(id: VectorID(rawValue: vectorID(of: candidate.node)), similarity: 1 - candidate.distance)
        }
        return (neighbors, computed)
    }

    /// Plans and runs a search for the `k` nearest eligible vectors of a unit `query`.
    func search<Filter: VectorFilter>(query: UnsafeRawPointer, k: Int, filter: Filter, options: SearchOptions,
                                      context: SearchContext) -> SearchReport {
        let eligible = filter.estimatedEligibleCount.map { min($0, header.live) } ?? header.live
        var strategy = options.strategy
        if strategy == .automatic {
            strategy = header.live <= options.exactScanThreshold || eligible <= options.exactScanThreshold ? .exact : .graph
        }
        if strategy == .graph {
            let budget = options.strategy == .graph ? Int.max : max(eligible, options.exactScanThreshold)
            if let (neighbors, computed) = graphSearch(query: query, k: k, ef: options.ef, filter: filter, context: context,
                                                       visitBudget: budget) {
                return SearchReport(neighbors: neighbors, strategy: .graph, distanceCount: computed, fellBack: false)
            }
            let (neighbors, computed) = exactSearch(query: query, k: k, filter: filter, context: context)
            return SearchReport(neighbors: neighbors, strategy: .exact, distanceCount: computed, fellBack: true)
        }
        let (neighbors, computed) = exactSearch(query: query, k: k, filter: filter, context: context)
        return SearchReport(neighbors: neighbors, strategy: .exact, distanceCount: computed, fellBack: false)
    }
}
