import Foundation
import LMDB
import TestSupport
import TradingMemory

/// A trading-memory store in a fresh temporary directory.
func withTemporaryMemoryStore<R>(_ body: (TradingMemoryStore, String) throws -> R) throws -> R {
    try withTemporaryDirectory { path in
        let store = try TradingMemoryStore(path: path + "/db", options: EnvironmentOptions(durability: .none))
        defer { store.close() }
        return try body(store, path + "/db")
    }
}

let day: Double = 86_400
let epoch2022 = Date(timeIntervalSince1970: 1_640_995_200)  // 2022-01-01

/// A memory with generated texts.
func memory(_ index: Int, vector: [Float], ticker: String? = nil, time: Date, knownAt: Date? = nil, id: String? = nil,
            action: String? = "BUY", outcome: Double? = nil, quality: Double? = nil,
            metadata: [String: MetadataValue] = [:]) -> NewMemory {
    NewMemory(callerID: id, ticker: ticker, time: time, knownAt: knownAt, situation: "situation \(index)", reflection: "lesson \(index)",
              action: action, outcome: outcome, quality: quality, metadata: metadata, vector: vector)
}

/// A 1 in the given axis of a `dimension`-vector, plus a little of the next axis.
func axis(_ index: Int, dimension: Int = 8, tilt: Float = 0) -> [Float] {
    var vector = [Float](repeating: 0, count: dimension)
    vector[index % dimension] = 1
    vector[(index + 1) % dimension] = tilt
    return vector
}
