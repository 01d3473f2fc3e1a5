import Synchronization

/// A candidate during search: a node and its distance (`1 - cosine`) to the query.
struct Candidate: Comparable {
    var distance: Float
    var node: UInt32

    /// Nearest first; ties by node, so that sorting is reproducible.
    static func < (a: Candidate, b: Candidate) -> Bool { a.distance < b.distance || (a.distance == b.distance && a.node < b.node) }
}

/// The order of a ``CandidateHeap``: which candidate sits on top.
protocol HeapOrder {
    static func isAbove(_ a: Float, _ b: Float) -> Bool
}
/// The nearest candidate on top.
enum NearestFirst: HeapOrder {
    @inline(__always) static func isAbove(_ a: Float, _ b: Float) -> Bool { a < b }
}
/// The farthest candidate on top.
enum FarthestFirst: HeapOrder {
    @inline(__always) static func isAbove(_ a: Float, _ b: Float) -> Bool { a > b }
}

/// A binary heap of candidates over storage it owns, reused from query to query: no allocation
/// once it has grown to the largest `ef` seen.
struct CandidateHeap<Order: HeapOrder> {
    private(set) var storage: UnsafeMutablePointer<Candidate>
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    func deallocate() { storage.deallocate() }

    var isEmpty: Bool { count == 0 }
    @inline(__always) var top: Candidate { storage[0] }

    mutating func removeAll() { count = 0 }

    @inline(__always)
    mutating func push(_ candidate: Candidate) {
        if count == capacity { grow() }
        var index = count
        count += 1
        while index > 0 {
            let parent = (index - 1) >> 1
            guard Order.isAbove(candidate.distance, storage[parent].distance) else { break }
            storage[index] = storage[parent]
            index = parent
        }
        storage[index] = candidate
    }

    @inline(__always) @discardableResult
    mutating func pop() -> Candidate {
        let result = storage[0]
        count -= 1
        if count > 0 { siftDown(storage[count]) }
        return result
    }

    /// Replaces the top with `candidate` (one sift instead of a pop and a push).
    @inline(__always)
    mutating func replaceTop(_ candidate: Candidate) { siftDown(candidate) }

    @inline(__always)
    private mutating func siftDown(_ candidate: Candidate) {
        var index = 0
        while true {
            let left = 2 * index + 1
            guard left < count else { break }
            var child = left
            let right = left + 1
            if right < count && Order.isAbove(storage[right].distance, storage[left].distance) { child = right }
            guard Order.isAbove(storage[child].distance, candidate.distance) else { break }
            storage[index] = storage[child]
            index = child
        }
        storage[index] = candidate
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<Candidate>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity *= 2
    }

    /// The candidates, nearest first; empties the heap.
    mutating func drainSortedNearestFirst() -> [Candidate] {
        var result = [Candidate](repeating: Candidate(distance: 0, node: 0), count: count)
        for index in stride(from: count - 1, through: 0, by: -1) where Order.self == FarthestFirst.self {
            result[index] = pop()
        }
        if Order.self == NearestFirst.self { for index in 0..<result.count { result[index] = pop() } }
        return result
    }
}

/// Scratch memory for one search at a time: the visited marks, both heaps, the query and the
/// neighbour batch. Pooled, so a search allocates nothing in the steady state.
final class SearchContext {
    /// Visit marks by node: a node is visited when its mark equals `tag` (no clearing per query).
    private(set) var visited: UnsafeMutablePointer<UInt16>
    private(set) var visitedCapacity: Int
    private(set) var tag: UInt16 = 0
    var candidates = CandidateHeap<NearestFirst>(capacity: 256)
    var results = CandidateHeap<FarthestFirst>(capacity: 256)
    /// Nodes an estimated walk displaced from `results`, kept for re-ranking.
    var spill = CandidateHeap<FarthestFirst>(capacity: 64)
    /// The normalised query, 64-byte aligned.
    private(set) var query: UnsafeMutableRawPointer
    private var queryCapacity: Int
    /// The query's compressed codes (for a compressed walk), 64-byte aligned.
    private var codes: UnsafeMutableRawPointer
    private var codesCapacity: Int
    /// Unvisited neighbours of the node being expanded and their vectors.
    let batchNodes: UnsafeMutablePointer<UInt32>
    let batchVectors: UnsafeMutablePointer<UnsafeRawPointer>
    static let batchCapacity = 512

    init() {
        visitedCapacity = 1024
        visited = .allocate(capacity: visitedCapacity)
        visited.initialize(repeating: 0, count: visitedCapacity)
        queryCapacity = 1536 * 4
        query = .allocate(byteCount: queryCapacity, alignment: 64)
        codesCapacity = 1536
        codes = .allocate(byteCount: codesCapacity, alignment: 64)
        batchNodes = .allocate(capacity: SearchContext.batchCapacity)
        batchVectors = .allocate(capacity: SearchContext.batchCapacity)
    }

    deinit {
        visited.deallocate()
        query.deallocate()
        codes.deallocate()
        batchNodes.deallocate()
        batchVectors.deallocate()
        candidates.deallocate()
        results.deallocate()
        spill.deallocate()
    }

    /// Starts a new search over a graph of `nodeCount` nodes: every node unvisited.
    func beginSearch(nodeCount: Int) {
        if nodeCount > visitedCapacity {
            visited.deallocate()
            visitedCapacity = max(nodeCount, visitedCapacity * 2)
            visited = .allocate(capacity: visitedCapacity)
            visited.initialize(repeating: 0, count: visitedCapacity)
            tag = 0
        }
        if tag == UInt16.max {
            visited.update(repeating: 0, count: visitedCapacity)
            tag = 0
        }
        tag += 1
        candidates.removeAll()
        results.removeAll()
        spill.removeAll()
    }

    /// Scratch memory for `dimension` bytes of query codes.
    func queryCodes(dimension: Int) -> UnsafeMutableRawPointer {
        if dimension > codesCapacity {
            codes.deallocate()
            codesCapacity = dimension
            codes = .allocate(byteCount: codesCapacity, alignment: 64)
        }
        return codes
    }

    /// Copies the query (already a unit vector) into aligned scratch memory.
    func setQuery(_ vector: UnsafeRawBufferPointer) -> UnsafeRawPointer {
        if vector.count > queryCapacity {
            query.deallocate()
            queryCapacity = vector.count
            query = .allocate(byteCount: queryCapacity, alignment: 64)
        }
        query.copyMemory(from: vector.baseAddress!, byteCount: vector.count)
        return UnsafeRawPointer(query)
    }
}

/// A pool of search contexts shared by every thread of the process.
final class SearchContextPool: @unchecked Sendable {
    // Sendable: contexts move in and out under the mutex; one thread uses a context at a time.
    private let free = Mutex<[UncheckedSendable<SearchContext>]>([])  // a pooled context belongs to no thread
    static let shared = SearchContextPool()

    func withContext<R>(_ body: (SearchContext) throws -> R) rethrows -> R {
        let context = free.withLock { $0.popLast() }?.value ?? SearchContext()
        defer { free.withLock { if $0.count < 64 { $0.append(UncheckedSendable(context)) } } }
        return try body(context)
    }
}
