import VectorIndex
import Distance
import Foundation
import LMDB
import TestSupport
import Testing
@testable import VectorIndex

@Suite struct HNSWTests {
    /// 5,000 base vectors and 100 queries drawn from the same 40 clusters.
    static let data = clusteredVectors(count: 5_100, dimension: 64, clusters: 40, seed: 42)
    static let base = Array(data.prefix(5_000))
    static let queries = Array(data.suffix(100))

    @Test(arguments: WalkPrecision.allCases)
    func recallAtTenIsHighAndSurvivesReopen(walk: WalkPrecision) throws {
        try withTemporaryDirectory { path in
            let dbPath = path + "/db"
            var before: [[Neighbor]] = []
            let graph: GraphID
            do {
                let store = try IndexStore(path: dbPath, options: EnvironmentOptions(durability: .none))
                (_, graph) = try buildGraph(store, vectors: Self.base, parameters: GraphParameters(m: 16, efConstruction: 100, walk: walk))
                let recallAt10 = try meanRecall(store, graph: graph, base: Self.base, queries: Self.queries, k: 10, ef: 64)
                #expect(recallAt10 >= 0.95, "recall@10 at ef 64 was \(recallAt10)")
                before = try store.read { reader throws in
                    try Self.queries.map { try reader.search(graph, query: $0, k: 10, options: SearchOptions(ef: 64, strategy: .graph)) }
                }
                let violations = try store.read { try $0.invariantViolations(of: graph) }
                #expect(violations == [], "\(violations)")
                store.close()
            }
            let reopened = try IndexStore(path: dbPath)
            defer { reopened.close() }
            let after = try reopened.read { reader throws in
                try Self.queries.map { try reader.search(graph, query: $0, k: 10, options: SearchOptions(ef: 64, strategy: .graph)) }
            }
            #expect(after == before)
            let info = try reopened.read { try $0.graph(graph) }
            #expect(info.nodeCount == 5_000 && info.live == 5_000 && info.maxLevel >= 1)
        }
    }

    @Test func batchParallelBuildKeepsRecallAndDoesNotDependOnTheThreadCount() throws {
        func build(threads: Int) throws -> (recall: Double, results: [[Neighbor]], violations: [String], info: GraphInfo) {
            try withTemporaryStore { store, _ in
                // Batches of 700: the first lands in an empty graph, later ones link to earlier batches.
                let (_, graph) = try buildGraph(store, vectors: Self.base, parameters: GraphParameters(m: 16, efConstruction: 100),
                                                batch: 700, threads: threads)
                let recall = try meanRecall(store, graph: graph, base: Self.base, queries: Self.queries, k: 10, ef: 64)
                return try store.read { reader throws in
                    (recall,
                     try Self.queries.map { try reader.search(graph, query: $0, k: 10, options: SearchOptions(ef: 64, strategy: .graph)) },
                     try reader.invariantViolations(of: graph), try reader.graph(graph))
                }
            }
        }
        let serial = try build(threads: 1)
        let two = try build(threads: 2)
        let four = try build(threads: 4)
        #expect(two.recall >= 0.95, "recall@10 at ef 64 was \(two.recall)")
        #expect(abs(two.recall - serial.recall) <= 0.02, "parallel \(two.recall), serial \(serial.recall)")
        #expect(two.violations == [], "\(two.violations)")
        #expect(two.info.nodeCount == 5_000 && two.info.live == 5_000 && two.info.identityPrefix == 5_000)
        #expect(two.results == four.results, "the graph depends on the seed and batches, not on the threads")
    }

    @Test func batchParallelInsertRefusesDuplicatesAndWritesNothing() throws {
        try withTemporaryStore { store, _ in
            let vectors = Array(Self.base.prefix(600))
            let (space, graph) = try buildGraph(store, vectors: Array(vectors.prefix(500)), threads: 2)
            let more = try store.write { writer in try writer.addVectors(Array(vectors.suffix(100)), to: space) }
            #expect(throws: IndexError.duplicateNode(VectorID(3), graph)) {
                try store.write { writer in try writer.insert(more + [VectorID(3)], into: graph, threads: 2) }
            }
            #expect(try store.read { try $0.graph(graph).nodeCount } == 500)
            try store.write { writer in try writer.insert(more, into: graph, threads: 2) }
            try store.read { reader throws in
                #expect(try reader.graph(graph).nodeCount == 600)
                #expect(try reader.invariantViolations(of: graph) == [])
                for index in stride(from: 500, to: 600, by: 9) {
                    let found = try reader.search(graph, query: vectors[index], k: 1, options: SearchOptions(ef: 64, strategy: .graph))
                    #expect(found.first?.id == VectorID(index))
                }
            }
        }
    }

    @Test func exactScanEqualsBruteForce() throws {
        try withTemporaryStore { store, _ in
            let base = Array(Self.base.prefix(1_500))
            let (_, graph) = try buildGraph(store, vectors: base)
            try store.read { reader throws in
                for query in Self.queries.prefix(20) {
                    let report = try reader.searchReport(graph, query: query, k: 10, options: SearchOptions(strategy: .exact))
                    #expect(report.strategy == .exact)
                    #expect(report.neighbors.map { Int($0.id.rawValue) } == bruteForceNearest(query, in: base, k: 10))
                    for neighbor in report.neighbors {
                        #expect(abs(Double(neighbor.similarity) - referenceCosine(query, base[Int(neighbor.id.rawValue)])) < 1e-5)
                    }
                }
            }
        }
    }

    @Test(arguments: WalkPrecision.allCases)
    func filterIsRespectedOnEveryPath(walk: WalkPrecision) throws {
        try withTemporaryStore { store, _ in
            let (_, graph) = try buildGraph(store, vectors: Self.base, parameters: GraphParameters(efConstruction: 100, walk: walk))
            let even = PredicateFilter { $0.rawValue % 2 == 0 }
            try store.read { reader throws in
                for strategy in [SearchStrategy.graph, .exact, .automatic] {
                    for query in Self.queries.prefix(20) {
                        let found = try reader.search(graph, query: query, k: 10, options: SearchOptions(ef: 64, strategy: strategy), filter: even)
                        #expect(found.count == 10)
                        #expect(found.allSatisfy { $0.id.rawValue % 2 == 0 }, "\(strategy)")
                    }
                }
            }
            let filteredRecall = try meanRecall(store, graph: graph, base: Self.base, queries: Self.queries, k: 10, ef: 64) { $0 % 2 == 0 }
            #expect(filteredRecall >= 0.95, "filtered recall \(filteredRecall)")
        }
    }

    @Test(arguments: WalkPrecision.allCases)
    func deletedVectorsAreNeverReturnedAndRecallHolds(walk: WalkPrecision) throws {
        try withTemporaryStore { store, _ in
            let (_, graph) = try buildGraph(store, vectors: Self.base, parameters: GraphParameters(efConstruction: 100, walk: walk))
            var rng = SplitMix64(seed: 7)
            let deleted = Set((0..<Self.base.count).shuffled(using: &rng).prefix(Self.base.count / 5))
            let entryBefore = try store.read { try $0.graph(graph).entryPoint }!
            try store.write { writer throws in
                for id in deleted.sorted() { #expect(try writer.delete(VectorID(id), from: graph)) }
                try writer.delete(entryBefore, from: graph)
                #expect(try writer.delete(entryBefore, from: graph) == false)
            }
            let gone = deleted.union([Int(entryBefore.rawValue)])
            let info = try store.read { try $0.graph(graph) }
            #expect(info.live == Self.base.count - gone.count && info.tombstones == gone.count)
            #expect(info.entryPoint != nil && !gone.contains(Int(info.entryPoint!.rawValue)), "a deleted entry point is replaced")
            try store.read { reader throws in
                for strategy in [SearchStrategy.graph, .exact] {
                    for query in Self.queries {
                        let found = try reader.search(graph, query: query, k: 10, options: SearchOptions(ef: 64, strategy: strategy))
                        #expect(found.allSatisfy { !gone.contains(Int($0.id.rawValue)) })
                    }
                }
                #expect(try reader.invariantViolations(of: graph) == [])
                #expect(try reader.contains(entryBefore, in: graph) == false)
            }
            let remainingRecall = try meanRecall(store, graph: graph, base: Self.base, queries: Self.queries, k: 10, ef: 64) { !gone.contains($0) }
            #expect(remainingRecall >= 0.90, "recall after deleting 20%: \(remainingRecall)")
        }
    }

    @Test func buildsAreReproducibleFromTheSeed() throws {
        let base = Array(Self.base.prefix(800))
        func build() throws -> ([[Neighbor]], GraphInfo) {
            try withTemporaryStore { store, _ in
                let (_, graph) = try buildGraph(store, vectors: base, parameters: GraphParameters(m: 8, efConstruction: 40, seed: 99), batch: 300)
                return try store.read { reader throws in
                    (try Self.queries.prefix(10).map { try reader.search(graph, query: $0, k: 5, options: SearchOptions(ef: 10, strategy: .graph)) },
                     try reader.graph(graph))
                }
            }
        }
        let first = try build(), second = try build()
        #expect(first.0 == second.0)
        #expect(first.1 == second.1)
    }

    @Test func graphsShareTheVectorsOfTheirSpace() throws {
        try withTemporaryStore { store, _ in
            let vectors = Array(Self.base.prefix(300))
            let (space, all, odd) = try store.write { writer throws in
                let space = try writer.createSpace(dimension: 64)
                let all = try writer.createGraph(in: space)
                let odd = try writer.createGraph(in: space)
                let ids = try writer.addVectors(vectors, to: space)
                try writer.insert(ids, into: all)
                try writer.insert(ids.filter { $0.rawValue % 2 == 1 }, into: odd)
                return (space, all, odd)
            }
            try store.read { reader throws in
                #expect(try reader.space(space).count == 300)
                #expect(try reader.graph(all).nodeCount == 300)
                #expect(try reader.graph(odd).nodeCount == 150)
                let found = try reader.search(odd, query: vectors[10], k: 5)
                #expect(found.allSatisfy { $0.id.rawValue % 2 == 1 })
                #expect(try reader.search(all, query: vectors[10], k: 1).first?.id == VectorID(10))
                let stored = try #require(try reader.vector(VectorID(10), in: space))
                #expect(zip(stored, vectors[10]).allSatisfy { abs($0 - $1) < 1e-6 })
            }
            #expect(throws: IndexError.duplicateNode(VectorID(1), odd)) {
                try store.write { writer in try writer.insert([VectorID(1)], into: odd) }
            }
        }
    }

    @Test func nodesHoldingTheirOwnVectorAreReadWithoutTheNodeTable() throws {
        try withTemporaryStore { store, _ in
            let vectors = Array(Self.base.prefix(400))
            let (all, odd, partial) = try store.write { writer throws in
                let space = try writer.createSpace(dimension: 64)
                let all = try writer.createGraph(in: space)
                let odd = try writer.createGraph(in: space)
                let partial = try writer.createGraph(in: space)
                let ids = try writer.addVectors(vectors, to: space)
                try writer.insert(ids, into: all)
                try writer.insert(ids.filter { $0.rawValue % 2 == 1 }, into: odd)
                // In order up to 99, then out of order: the prefix stops at 100 for good.
                try writer.insert(Array(ids[0..<100]) + Array(ids[101..<400]), into: partial)
                try writer.insert([ids[100]], into: partial)
                return (all, odd, partial)
            }
            try store.read { reader throws in
                #expect(try reader.graph(all).identityPrefix == 400)
                #expect(try reader.graph(odd).identityPrefix == 0)
                #expect(try reader.graph(partial).identityPrefix == 100)
                for graph in [all, odd, partial] { #expect(try reader.invariantViolations(of: graph).isEmpty) }
                // Every vector is found as its own nearest neighbour, on both sides of the prefix.
                for index in stride(from: 0, to: 400, by: 7) {
                    let found = try reader.search(partial, query: vectors[index], k: 1, options: SearchOptions(ef: 64, strategy: .graph))
                    #expect(found.first?.id == VectorID(index))
                    if index % 2 == 1 {
                        let inOdd = try reader.search(odd, query: vectors[index], k: 1, options: SearchOptions(ef: 64, strategy: .graph))
                        #expect(inOdd.first?.id == VectorID(index))
                    }
                }
            }
        }
    }

    @Test func badVectorsAreRefusedAndNothingIsWritten() throws {
        try withTemporaryStore { store, _ in
            let (space, graph) = try buildGraph(store, vectors: Array(Self.base.prefix(50)))
            #expect(throws: IndexError.dimensionMismatch(expected: 64, actual: 65)) {
                try store.write { writer in _ = try writer.addVectors([[Float](repeating: 1, count: 64), [Float](repeating: 1, count: 65)], to: space) }
            }
            var bad = [Float](repeating: 1, count: 64)
            bad[3] = .nan
            #expect(throws: IndexError.invalidVector(.nonFinite(index: 3))) {
                try store.write { writer in _ = try writer.addVectors([bad], to: space) }
            }
            #expect(throws: IndexError.invalidVector(.zeroVector)) {
                try store.write { writer in _ = try writer.addVectors([[Float](repeating: 0, count: 64)], to: space) }
            }
            #expect(throws: IndexError.dimensionMismatch(expected: 64, actual: 3)) {
                try store.read { reader in _ = try reader.search(graph, query: [1, 2, 3], k: 1) }
            }
            #expect(throws: IndexError.unknownGraph(GraphID(rawValue: 999))) {
                try store.read { reader in _ = try reader.search(GraphID(rawValue: 999), query: Self.base[0], k: 1) }
            }
            #expect(try store.read { try $0.space(space).count } == 50)
        }
    }

    @Test func plannerScansSmallGraphsAndSmallEligibleSets() throws {
        try withTemporaryStore { store, _ in
            let (space, big) = try buildGraph(store, vectors: Self.base)
            let small = try store.write { writer throws in
                let graph = try writer.createGraph(in: space)
                try writer.insert((0..<100).map { VectorID($0) }, into: graph)
                return graph
            }
            try store.read { reader throws in
                let query = Self.queries[0]
                #expect(try reader.searchReport(small, query: query, k: 10).strategy == .exact)
                #expect(try reader.searchReport(big, query: query, k: 10).strategy == .graph)
                let few = SetFilter(Set((0..<50).map { VectorID($0 * 7) }))
                let report = try reader.searchReport(big, query: query, k: 10, filter: few)
                #expect(report.strategy == .exact && !report.fellBack)
                #expect(report.neighbors.map { Int($0.id.rawValue) } == bruteForceNearest(query, in: Self.base, k: 10) { $0 % 7 == 0 && $0 < 350 })
                // An estimate that is far too high makes the walk exceed its budget: it falls back to the scan.
                let misleading = PredicateFilter(estimatedEligibleCount: 2_500) { $0.rawValue == 4_999 }
                let fallback = try reader.searchReport(big, query: query, k: 10, filter: misleading)
                #expect(fallback.fellBack && fallback.strategy == .exact)
                #expect(fallback.neighbors.map(\.id) == [VectorID(4_999)])
            }
        }
    }

    @Test func writerSearchSeesItsOwnInserts() throws {
        try withTemporaryStore { store, _ in
            let (space, graph) = try buildGraph(store, vectors: Array(Self.base.prefix(100)))
            try store.write { writer throws in
                let ids = try writer.addVectors([Self.queries[0]], to: space)
                try writer.insert(ids, into: graph)
                #expect(try writer.search(graph, query: Self.queries[0], k: 1).first?.id == ids[0])
            }
        }
    }

    @Test func emptyGraphAndZeroKReturnNothing() throws {
        try withTemporaryStore { store, _ in
            let graph = try store.write { writer in try writer.createGraph(in: try writer.createSpace(dimension: 4)) }
            try store.read { reader throws in
                #expect(try reader.search(graph, query: [1, 0, 0, 0], k: 5).isEmpty)
                #expect(try reader.search(graph, query: [1, 0, 0, 0], k: 0, options: SearchOptions(strategy: .graph)).isEmpty)
            }
        }
    }

    @Test func droppingAGraphRemovesItsNodes() throws {
        try withTemporaryStore { store, _ in
            let (space, graph) = try buildGraph(store, vectors: Array(Self.base.prefix(200)))
            try store.write { writer in try writer.dropGraph(graph) }
            #expect(throws: IndexError.unknownGraph(graph)) { try store.read { try $0.graph(graph) } }
            #expect(try store.read { try $0.graphs() } == [])
            #expect(try store.read { try $0.space(space).count } == 200)
        }
    }
}
