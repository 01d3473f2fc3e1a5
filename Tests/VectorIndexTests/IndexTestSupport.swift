import LMDB
import TestSupport
import VectorIndex

/// A store in a fresh temporary directory, with relaxed durability (tests do not cut the power).
func withTemporaryStore<R>(_ body: (IndexStore, String) throws -> R) throws -> R {
    try withTemporaryDirectory { path in
        let store = try IndexStore(path: path + "/db", options: EnvironmentOptions(durability: .none))
        defer { store.close() }
        return try body(store, path + "/db")
    }
}

/// A space and a graph holding `vectors`, inserted in batches (with `threads` searching each batch).
func buildGraph(_ store: IndexStore, vectors: [[Float]], parameters: GraphParameters = GraphParameters(efConstruction: 100),
                batch: Int = 1000, threads: Int = 1) throws -> (SpaceID, GraphID) {
    let (space, graph) = try store.write { writer in
        let space = try writer.createSpace(dimension: vectors[0].count)
        return (space, try writer.createGraph(in: space, parameters: parameters))
    }
    for start in stride(from: 0, to: vectors.count, by: batch) {
        try store.write { writer in
            let ids = try writer.addVectors(Array(vectors[start..<min(start + batch, vectors.count)]), to: space)
            try writer.insert(ids, into: graph, threads: threads)
        }
    }
    return (space, graph)
}

/// Mean recall@k of graph searches against brute force over the vectors `eligible` accepts.
func meanRecall(_ store: IndexStore, graph: GraphID, base: [[Float]], queries: [[Float]], k: Int, ef: Int,
                eligible: @escaping (Int) -> Bool = { _ in true }) throws -> Double {
    var total = 0.0
    try store.read { reader in
        for query in queries {
            let found = try reader.search(graph, query: query, k: k, options: SearchOptions(ef: ef, strategy: .graph),
                                          filter: PredicateFilter { eligible(Int($0.rawValue)) }).map { Int($0.id.rawValue) }
            total += recall(found, bruteForceNearest(query, in: base, k: k, eligible: eligible))
        }
    }
    return total / Double(queries.count)
}
