internal import Glibc

/// Structural checks of a graph, for tests and for `hindsight verify`.
extension HNSWGraph {
    /// Every violated invariant, in words; empty when the graph is sound.
    ///
    /// Checks: the node table and slots cover every node; each live node's vector exists; link counts
    /// are within capacity; links point to existing nodes other than the node itself, on levels
    /// the target has; upper slots exist exactly for levels 1...level; a live entry point sits on
    /// the top level whenever a live node exists; nodes below the header's identity prefix hold
    /// the vector of their own id; and every live node is reachable on level 0 from the entry point.
    func invariantViolations(limit: Int = 100) -> [String] {
        var findings: [String] = []
        func report(_ message: String) { if findings.count < limit { findings.append(message) } }
        let nodeCount = UInt32(header.nodeCount)
        let m0 = header.parameters.m0, m = header.parameters.m
        var live = 0
        var levels = [Int](repeating: 0, count: Int(nodeCount))
        for node in 0..<nodeCount {
            guard nodes.element(node) != nil else { report("node \(node) has no entry in the node table"); continue }
            guard let slot0 = slots.element(node) else { report("node \(node) has no level-0 slot"); continue }
            let entry = nodeEntry(node)
            let vectorID = entry & ~IndexFormat.tombstoneBit
            if Int(node) < header.identityPrefix && vectorID != node {
                report("node \(node) holds vector \(vectorID), but the header says nodes below \(header.identityPrefix) hold their own id")
            }
            if entry & IndexFormat.tombstoneBit == 0 {
                live += 1
                // A deleted node may have lost its vector to compaction; a live one never does.
                if Int(vectorID) >= space.header.count || space.vectors.element(vectorID) == nil {
                    report("node \(node) points to vector \(vectorID), which \(space.id) does not hold")
                } else if header.walkCodeBytes > 0 && !walkCodesMatchVector(node: node, vectorID: vectorID) {
                    report("the compressed copy of node \(node) is not the encoding of vector \(vectorID)")
                }
            }
            levels[Int(node)] = LinkSlot.level(slot0)
            if LinkSlot.count(slot0) > m0 { report("node \(node) has \(LinkSlot.count(slot0)) links on level 0, more than \(m0)") }
        }
        if live != header.live { report("the header counts \(header.live) live nodes, the node table \(live)") }
        for node in 0..<nodeCount where Int(node) < levels.count {
            let top = levels[Int(node)]
            for level in 0...max(0, top) {
                guard let slot = slot(node, level: level) else {
                    report("node \(node) of top level \(top) has no slot on level \(level)")
                    continue
                }
                let count = LinkSlot.count(slot)
                if count > (level == 0 ? m0 : m) { report("node \(node) has \(count) links on level \(level)") }
                for index in 0..<min(count, m0) {
                    let target = LinkSlot.link(slot, index)
                    if target >= nodeCount { report("node \(node) links to missing node \(target) on level \(level)"); continue }
                    if target == node { report("node \(node) links to itself on level \(level)") }
                    if levels[Int(target)] < level { report("node \(node) links to node \(target) on level \(level), above its top level") }
                    let targetEntry = nodeEntry(target)
                    if targetEntry & IndexFormat.tombstoneBit != 0 && space.vectors.element(targetEntry & ~IndexFormat.tombstoneBit) == nil {
                        report("node \(node) links to deleted node \(target), whose vector is gone")
                    }
                }
            }
        }
        for (index, slots) in upper.enumerated() {
            for node in slots.keys where node >= nodeCount || levels[Int(node)] < index + 1 {
                report("an upper slot on level \(index + 1) belongs to node \(node), which is not on that level")
            }
        }
        guard nodeCount > 0 else {
            if header.entryPoint != IndexFormat.noNode { report("an empty graph has an entry point") }
            return findings
        }
        guard header.entryPoint < nodeCount else { report("the entry point \(header.entryPoint) is not a node"); return findings }
        if live > 0 && isDeleted(header.entryPoint) { report("the entry point \(header.entryPoint) is deleted") }
        if levels[Int(header.entryPoint)] < header.maxLevel {
            report("the entry point's level \(levels[Int(header.entryPoint)]) is below the graph's top level \(header.maxLevel)")
        }
        let unreachable = reachability().unreachable.count
        if unreachable > 0 { report("\(unreachable) live nodes are unreachable from the entry point on level 0") }
        return findings
    }
}

extension HNSWGraph {
    /// Whether the compressed copy of `node` is the encoding of its vector (the encoding is
    /// deterministic, so it must be equal byte for byte).
    func walkCodesMatchVector(node: UInt32, vectorID: UInt32) -> Bool {
        let bytes = header.walkCodeBytes
        return withUnsafeTemporaryAllocation(byteCount: bytes, alignment: 16) { expected in
            WalkCodes.write(space.vector(vectorID), dimension: space.header.dimension, precision: header.parameters.walk,
                            to: expected.baseAddress!)
            return memcmp(expected.baseAddress!, walkCodes(of: node), bytes) == 0
        }
    }
}

extension IndexReader {
    /// The invariants `graph` violates, in words; empty when it is sound.
    public func invariantViolations(of graph: GraphID) throws -> [String] {
        try graphView(graph).invariantViolations()
    }
}

extension IndexWriter {
    /// The invariants `graph` violates with this transaction's changes; empty when it is sound.
    public func invariantViolations(of graph: GraphID) throws -> [String] {
        try graphView(graph).invariantViolations()
    }
}
