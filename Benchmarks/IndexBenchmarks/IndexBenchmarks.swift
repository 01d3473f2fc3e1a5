import Benchmark
import Foundation
import LMDB
import VectorIndex

/// Seeded unit vectors around 32 centres.
private func vectors(_ count: Int, dimension: Int, seed: UInt64) -> [[Float]] {
    var state = seed
    func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
    }
    let centres = (0..<32).map { _ in (0..<dimension).map { _ in next() } }
    return (0..<count).map { index in centres[index % 32].map { $0 + 0.4 * next() } }
}

private func temporaryDirectory() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("hindsight-bench-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(5))
    let dimension = 384
    let base = vectors(20_000, dimension: dimension, seed: 1)
    let queries = vectors(200, dimension: dimension, seed: 2)

    // One batch of 1,000 vectors into a graph of 10,000, committed durably.
    Benchmark("insert batch of 1000 into 10k (d=384)", configuration: .init(maxIterations: 5)) { benchmark in
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try IndexStore(path: path)
        defer { store.close() }
        let (space, graph) = try store.write { writer in
            let space = try writer.createSpace(dimension: dimension)
            let graph = try writer.createGraph(in: space, parameters: GraphParameters(m: 16, efConstruction: 200))
            try writer.insert(try writer.addVectors(Array(base.prefix(10_000)), to: space), into: graph)
            return (space, graph)
        }
        benchmark.startMeasurement()
        try store.write { writer in
            try writer.insert(try writer.addVectors(Array(base[10_000..<11_000]), to: space), into: graph)
        }
    }

    // Searches of a 20,000-vector graph, one read transaction per query.
    let path = temporaryDirectory()
    let store = try! IndexStore(path: path, options: EnvironmentOptions(durability: .none))
    let graph = try! store.write { writer in
        let space = try writer.createSpace(dimension: dimension)
        let graph = try writer.createGraph(in: space, parameters: GraphParameters(m: 16, efConstruction: 100))
        try writer.insert(try writer.addVectors(base, to: space), into: graph)
        return graph
    }
    for ef in [16, 64] {
        Benchmark("search k=10 ef=\(ef) in 20k (d=384)", configuration: .init(scalingFactor: .kilo)) { benchmark in
            var index = 0
            for _ in benchmark.scaledIterations {
                let query = queries[index % queries.count]
                index += 1
                blackHole(try store.read { reader in try reader.search(graph, query: query, k: 10, options: SearchOptions(ef: ef, strategy: .graph)) })
            }
        }
    }
    Benchmark("exact scan k=10 of 2000 (d=384)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            let query = queries[index % queries.count]
            index += 1
            blackHole(try store.read { reader in
                try reader.search(graph, query: query, k: 10, options: SearchOptions(strategy: .exact),
                                  filter: PredicateFilter(estimatedEligibleCount: 2_000) { $0.rawValue < 2_000 })
            })
        }
    }
}
