import Foundation
import Dispatch

/// Building the graph: insertion with hnswlib's neighbour-selection heuristic, and tombstones.
extension HNSWGraph {
    /// Draws a level from the graph's seeded generator: floor(-ln(U) * mL), U uniform in (0, 1].
    func drawLevel() -> Int {
        var generator = SplitMix64(seed: header.randomState)
        let z = generator.next()
        header.randomState = generator.state
        let uniform = 1 - Double(z >> 11) * 0x1p-53  // (0, 1]
        return min(Int(-Foundation.log(uniform) * header.parameters.levelMultiplier), 30)
    }

    /// hnswlib's `getNeighborsByHeuristic2`: walking `candidates` nearest first, keeps a candidate
    /// unless it is closer to an already kept one than to the base; at most `m` are kept.
    func selectNeighbors(_ candidates: [Candidate], m: Int) -> [Candidate] {
        guard candidates.count >= m else { return candidates }
        var selected: [Candidate] = []
        selected.reserveCapacity(m)
        for candidate in candidates {
            if selected.count >= m { break }
            let vector = vector(of: candidate.node)
            var keep = true
            for kept in selected where distance(vector, self.vector(of: kept.node)) < candidate.distance {
                keep = false
                break
            }
            if keep { selected.append(candidate) }
        }
        return selected
    }

    /// Adds `newNode` to the links of `node` on `level`; when the slot is full, re-selects among the
    /// old links and the new one with the heuristic (hnswlib's `mutuallyConnectNewElement`).
    func connect(_ node: UInt32, to newNode: UInt32, level: Int, newDistance: Float) {
        let capacity = level == 0 ? header.parameters.m0 : header.parameters.m
        guard let slot = slot(node, level: level) else { return }
        let count = LinkSlot.count(slot)
        for index in 0..<count where LinkSlot.link(slot, index) == newNode { return }
        if count < capacity {
            let writable = mutableSlot(node, level: level)
            writable.storeBytes(of: newNode.littleEndian, toByteOffset: LinkSlot.headerBytes + 4 * count, as: UInt32.self)
            writable.storeBytes(of: UInt16(count + 1).littleEndian, as: UInt16.self)
            return
        }
        let base = vector(of: node)
        var candidates = [Candidate(distance: newDistance, node: newNode)]
        candidates.reserveCapacity(count + 1)
        for index in 0..<count {
            let other = LinkSlot.link(slot, index)
            candidates.append(Candidate(distance: distance(base, vector(of: other)), node: other))
        }
        candidates.sort()
        let kept = selectNeighbors(candidates, m: capacity)
        LinkSlot.setLinks(mutableSlot(node, level: level), kept.map(\.node))
    }

    /// Adds a node for the vector `vectorID` with empty slots up to a freshly drawn level, not yet
    /// linked; returns the node and its level.
    func addUnlinkedNode(vectorID: UInt32) -> (node: UInt32, level: Int) {
        let node = UInt32(header.nodeCount)
        header.nodeCount += 1
        header.live += 1
        isDirty = true
        setNodeEntry(node, vectorID)
        if Int(node) == header.identityPrefix && vectorID == node { header.identityPrefix += 1 }
        let level = drawLevel()
        let slot0 = mutableSlot(node, level: 0)
        LinkSlot.setLinks(slot0, [])
        LinkSlot.setLevel(slot0, level)
        if header.walkCodeBytes > 0 {
            WalkCodes.write(space.vector(vectorID), dimension: space.header.dimension, precision: header.parameters.walk,
                            to: nodes.mutableElement(node) + 4)
        }
        if level > 0 { for upperLevel in 1...level { LinkSlot.setLinks(mutableSlot(node, level: upperLevel), []) } }
        return (node, level)
    }

    /// The efConstruction nearest live nodes to `query` on `level`, nearest first, found from
    /// `entry` (only deleted ones when no live node is near: better linked to them than unreachable).
    func constructionCandidates(of node: UInt32, query: UnsafeRawPointer, from entry: Candidate, level: Int,
                                context: SearchContext) -> [Candidate] {
        let ef = header.parameters.efConstruction
        _ = searchLevel(query: query, entry: entry, ef: ef, level: level, context: context, eligibility: LiveNodes(), stopsEarly: false)
        let found = context.results.drainSortedNearestFirst().filter { $0.node != node }
        guard found.isEmpty else { return found }
        _ = searchLevel(query: query, entry: entry, ef: ef, level: level, context: context, eligibility: AnyNode(excluded: node),
                        stopsEarly: false)
        return context.results.drainSortedNearestFirst().filter { $0.node != node }
    }

    /// Inserts the vector `vectorID` as a new node; returns the node.
    func insert(vectorID: UInt32, context: SearchContext) -> UInt32 {
        // A graph whose every node is deleted (its entry point is a tombstone only then: a delete
        // hands the entry point to a live node when there is one) starts again from the new node.
        let startsAfresh = header.entryPoint == IndexFormat.noNode || isDeleted(header.entryPoint)
        let (node, level) = addUnlinkedNode(vectorID: vectorID)
        guard !startsAfresh else {
            header.entryPoint = node
            header.maxLevel = level
            return node
        }
        let query = space.vector(vectorID)
        let entryNode = header.entryPoint
        var current = Candidate(distance: distance(query, vector(of: entryNode)), node: entryNode)
        if level < header.maxLevel {
            current = greedyDescent(query: query, from: current, level: header.maxLevel, stopLevel: level).0
        }
        let m = header.parameters.m
        for level in stride(from: min(level, header.maxLevel), through: 0, by: -1) {
            let found = constructionCandidates(of: node, query: query, from: current, level: level, context: context)
            let selected = selectNeighbors(found, m: m)
            LinkSlot.setLinks(mutableSlot(node, level: level), selected.map(\.node))
            for neighbor in selected {
                connect(neighbor.node, to: node, level: level, newDistance: neighbor.distance)
            }
            if let nearest = found.first { current = nearest }
        }
        if level > header.maxLevel {
            header.entryPoint = node
            header.maxLevel = level
        }
        return node
    }

    /// Inserts the vectors `vectorIDs` as new nodes using `threads` threads; returns the nodes.
    ///
    /// The batch is linked in two phases. First, on every thread, each new node finds its
    /// candidates: by searching the graph as it stood before the batch (exactly as a serial insert
    /// searches it, efConstruction per level), and by exact distances to the batch's earlier nodes,
    /// which the graph cannot show it yet; it keeps the efConstruction nearest per level and selects
    /// its links from them with the heuristic. Then, on one thread and in batch order, each node
    /// gets its links and is linked back (re-selecting a full neighbour's links), as in a serial
    /// insert. The first phase only reads, so the threads share the view without locks, and the
    /// graph depends on the seed and the batches but not on the number of threads or their timing. It differs from the
    /// graph a serial insert builds, with the same recall per ef (docs/benchmarks.md).
    func insertBatch(vectorIDs: [UInt32], threads: Int, context: SearchContext) -> [UInt32] {
        var remaining = vectorIDs[...]
        var nodes: [UInt32] = []
        nodes.reserveCapacity(vectorIDs.count)
        if header.entryPoint == IndexFormat.noNode || isDeleted(header.entryPoint), let first = remaining.first {
            nodes.append(insert(vectorID: first, context: context))
            remaining = remaining.dropFirst()
        }
        guard !remaining.isEmpty else { return nodes }
        let entry = header.entryPoint, topLevel = header.maxLevel
        var batch: [(node: UInt32, level: Int)] = []
        batch.reserveCapacity(remaining.count)
        for vectorID in remaining { batch.append(addUnlinkedNode(vectorID: vectorID)) }
        nodes += batch.map(\.node)

        // Phase 1, read-only and parallel: each node's links per level, selected from its candidates.
        let links = UnsafeMutableBufferPointer<[[Candidate]]>.allocate(capacity: batch.count)
        links.initialize(repeating: [])
        defer {
            _ = links.deinitialize()
            links.deallocate()
        }
        // Shared: no thread changes the view in this phase, and each writes only its own positions of `links`.
        let shared = UncheckedSendable((view: self, links: links, batch: batch))
        let workers = max(1, min(threads, batch.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let (view, links, batch) = shared.value
            SearchContextPool.shared.withContext { context in
                for position in stride(from: worker, to: batch.count, by: workers) {
                    links[position] = view.batchLinks(position: position, batch: batch, entry: entry, topLevel: topLevel,
                                                      context: context)
                }
            }
        }

        // Phase 2, serial: link in batch order.
        for (position, (node, level)) in batch.enumerated() {
            for level in stride(from: level, through: 0, by: -1) {
                let selected = links[position][level]
                guard !selected.isEmpty else { continue }
                LinkSlot.setLinks(mutableSlot(node, level: level), selected.map(\.node))
                for neighbor in selected {
                    connect(neighbor.node, to: node, level: level, newDistance: neighbor.distance)
                }
            }
            if level > header.maxLevel {
                header.entryPoint = node
                header.maxLevel = level
            }
        }
        return nodes
    }

    /// The links of the batch's node at `position` on each of its levels (index = level), selected
    /// by the heuristic from the `efConstruction` nearest candidates: those of a search of the graph
    /// as it stood before the batch (`entry`, `topLevel`) and the batch's earlier nodes. Reads only.
    private func batchLinks(position: Int, batch: [(node: UInt32, level: Int)], entry: UInt32, topLevel: Int,
                            context: SearchContext) -> [[Candidate]] {
        let efConstruction = header.parameters.efConstruction
        let (node, level) = batch[position]
        let query = vector(of: node)
        var levels = [[Candidate]](repeating: [], count: level + 1)
        var current = Candidate(distance: distance(query, vector(of: entry)), node: entry)
        if level < topLevel {
            current = greedyDescent(query: query, from: current, level: topLevel, stopLevel: level).0
        }
        for level in stride(from: min(level, topLevel), through: 0, by: -1) {
            let found = constructionCandidates(of: node, query: query, from: current, level: level, context: context)
            levels[level] = found
            if let nearest = found.first { current = nearest }
        }
        for earlier in batch[..<position] {
            let shared = min(earlier.level, level)
            let d = distance(query, vector(of: earlier.node))
            for level in 0...shared { levels[level].append(Candidate(distance: d, node: earlier.node)) }
        }
        for level in levels.indices where levels[level].count > 1 {
            levels[level].sort()
            if levels[level].count > efConstruction { levels[level].removeLast(levels[level].count - efConstruction) }
        }
        return levels.map { selectNeighbors($0, m: header.parameters.m) }
    }

    /// Marks `node` deleted: it keeps routing searches but is never returned. A deleted entry point
    /// is replaced by a live node of the highest level that has one.
    func delete(node: UInt32) {
        let entry = nodeEntry(node)
        guard entry & IndexFormat.tombstoneBit == 0 else { return }
        setNodeEntry(node, entry | IndexFormat.tombstoneBit)
        header.live -= 1
        if header.entryPoint == node { replaceEntryPoint() }
    }

    /// Points the graph at a live node of the highest level holding one (the lowest id among them,
    /// so that the choice is reproducible). Keeps the old entry when no node is live.
    func replaceEntryPoint() {
        isDirty = true
        var level = min(header.maxLevel, upper.count)
        while level >= 1 {
            if let node = upper[level - 1].keys.filter({ !isDeleted($0) }).min() {
                header.entryPoint = node
                header.maxLevel = level
                return
            }
            level -= 1
        }
        for node in 0..<UInt32(header.nodeCount) where !isDeleted(node) {
            header.entryPoint = node
            header.maxLevel = 0
            return
        }
    }
}

extension HNSWGraph {
    /// The live nodes that a walk of level 0 from the entry point cannot reach, and the number of
    /// links from reachable nodes into each node. The one reachability search (insert repair,
    /// compaction and verify use it); links past the node count or the slot's capacity are ignored,
    /// so a damaged graph is reported, not followed.
    func reachability() -> (unreachable: [UInt32], inDegree: [UInt16]) {
        let nodeCount = header.nodeCount
        guard nodeCount > 0, header.entryPoint < nodeCount else { return ([], []) }
        let m0 = header.parameters.m0
        var seen = [Bool](repeating: false, count: nodeCount)
        var inDegree = [UInt16](repeating: 0, count: nodeCount)
        var stack = [header.entryPoint]
        seen[Int(header.entryPoint)] = true
        while let node = stack.popLast() {
            let slot = slots.existingElement(node)
            for index in 0..<min(LinkSlot.count(slot), m0) {
                let target = LinkSlot.link(slot, index)
                guard target < nodeCount else { continue }
                inDegree[Int(target)] &+= 1
                if !seen[Int(target)] {
                    seen[Int(target)] = true
                    stack.append(target)
                }
            }
        }
        return ((0..<UInt32(nodeCount)).filter { !seen[Int($0)] && !isDeleted($0) }, inDegree)
    }

    /// The live nodes that a walk of level 0 from the entry point cannot reach.
    func unreachableLiveNodes() -> [UInt32] { reachability().unreachable }

    /// Makes every live node reachable on level 0 again. Pruning a full link list can drop a
    /// node's last incoming link (a known weakness of HNSW); such a node is offered to its nearest
    /// reachable nodes with the usual heuristic, and when every one prunes it, it takes the place of
    /// the nearest node's farthest link whose target other nodes also link to (so that nobody else
    /// is orphaned). Returns the number of nodes repaired.
    @discardableResult
    func repairReachability(context: SearchContext) -> Int {
        var repaired = 0
        for _ in 0..<8 {
            let (orphans, inDegree) = reachability()
            if orphans.isEmpty { break }
            var degree = inDegree
            for orphan in orphans {
                let query = vector(of: orphan)
                let entryNode = header.entryPoint
                let start = Candidate(distance: distance(query, vector(of: entryNode)), node: entryNode)
                let (closest, _) = greedyDescent(query: query, from: start, level: header.maxLevel, stopLevel: 0)
                _ = searchLevel(query: query, entry: closest, ef: header.parameters.efConstruction, level: 0,
                                context: context, eligibility: AnyNode(excluded: orphan), stopsEarly: false)
                let found = context.results.drainSortedNearestFirst().filter { $0.node != orphan && !isDeleted($0.node) }
                guard let nearest = found.first else { continue }
                var linked = false
                for candidate in found.prefix(4) {
                    connect(candidate.node, to: orphan, level: 0, newDistance: candidate.distance)
                    if LinkSlot.links(slots.existingElement(candidate.node)).contains(orphan) {
                        linked = true
                        break
                    }
                }
                if !linked {
                    let links = LinkSlot.links(slots.existingElement(nearest.node))
                    let base = vector(of: nearest.node)
                    let replaceable = links.indices.filter { degree[Int(links[$0])] >= 2 || isDeleted(links[$0]) }
                    let pool = replaceable.isEmpty ? Array(links.indices) : replaceable
                    let farthest = pool.max { distance(base, vector(of: links[$0])) < distance(base, vector(of: links[$1])) }!
                    degree[Int(links[farthest])] &-= 1
                    var replaced = links
                    replaced[farthest] = orphan
                    LinkSlot.setLinks(mutableSlot(nearest.node, level: 0), replaced)
                }
                degree[Int(orphan)] &+= 1
                repaired += 1
            }
        }
        return repaired
    }
}

extension HNSWGraph {
    /// See ``IndexWriter/repairTombstones(in:)``.
    func repairTombstones(context: SearchContext) -> Int {
        var repaired = 0
        let nodeCount = UInt32(header.nodeCount)
        let topLevel = max(header.maxLevel, upper.count)
        for level in 0...max(0, topLevel) {
            let capacity = level == 0 ? header.parameters.m0 : header.parameters.m
            let members: [UInt32] = level == 0 ? Array(0..<nodeCount) : upper.indices.contains(level - 1) ? upper[level - 1].keys.sorted() : []
            for node in members where !isDeleted(node) {
                guard let slot = slot(node, level: level) else { continue }
                let links = LinkSlot.links(slot)
                guard links.contains(where: { isDeleted($0) }) else { continue }
                var pool = Set(links.filter { !isDeleted($0) })
                for dead in links where isDeleted(dead) {
                    if let deadSlot = self.slot(dead, level: level) {
                        for candidate in LinkSlot.links(deadSlot) where candidate != node && !isDeleted(candidate) { pool.insert(candidate) }
                    }
                }
                let base = vector(of: node)
                let candidates = pool.map { Candidate(distance: distance(base, vector(of: $0)), node: $0) }
                    .sorted()
                LinkSlot.setLinks(mutableSlot(node, level: level), selectNeighbors(candidates, m: capacity).map(\.node))
                repaired += 1
            }
        }
        // Deleted nodes keep their node ids but no links: no search passes through them any more.
        for node in 0..<nodeCount where isDeleted(node) {
            for level in 0...level(of: node) where (slot(node, level: level).map(LinkSlot.count) ?? 0) > 0 {
                LinkSlot.setLinks(mutableSlot(node, level: level), [])
            }
        }
        if isDeleted(header.entryPoint) { replaceEntryPoint() }
        if header.live > 0 { repairReachability(context: context) }
        return repaired
    }
}
