import Foundation
import TestSupport
import Testing
import TradingMemory
import VectorIndex

/// Analogue statistics: over the n most similar resolved memories a query may see, equal to a
/// brute-force computation, and never counting an outcome known after the point in time.
@Suite struct AnalogueTests {
    @Test func percentilesInterpolateLikeNumpy() {
        let four = AnalogueStatistics([1.0, 2, 3, 4].enumerated().map { index, value in
            (Memory(id: MemoryID(rawValue: UInt32(index)), callerID: nil, ticker: nil, time: epoch2022, knownAt: epoch2022, situation: "", reflection: "",
                    action: index < 2 ? "BUY" : "SELL", outcome: value - 2.5, quality: nil, metadata: ["alpha_return": .number(value)],
                    status: .live, reinforcements: 0), Float(1))
        }, weighted: false)
        let all = four.all!
        #expect(all.outcome.count == 4 && all.outcome.median == 0 && abs(all.outcome.p10 - (-1.2)) < 1e-12 && abs(all.outcome.p90 - 1.2) < 1e-12)
        #expect(all.outcome.hitRate == 0.5 && all.outcome.mean == 0)
        #expect(all.alpha?.mean == 2.5)
        #expect(four.byAction.map(\.action) == ["BUY", "SELL"] && four.byAction[0].outcome.hitRate == 0 && four.byAction[1].outcome.hitRate == 1)
    }

    @Test func analoguesEqualABruteForceAsOfAndWeighted() throws {
        try withTemporaryMemoryStore { store, _ in
            _ = try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8, decay: .halfLife(10 * day)))
            var rng = SplitMix64(seed: 5)
            var stored: [NewMemory] = []
            for i in 0..<300 {
                let vector = (0..<8).map { _ in Float(Double(rng.next() % 2_000) / 1_000 - 1) }
                let time = epoch2022.addingTimeInterval(Double(rng.next() % 300) * day)
                let hasOutcome = rng.next() % 5 != 0
                stored.append(NewMemory(callerID: "m\(i)", ticker: i % 2 == 0 ? "NVDA" : "600519.SH", time: time,
                                        knownAt: time.addingTimeInterval(Double(rng.next() % 20 + 1) * day), situation: "s", reflection: "r",
                                        action: ["BUY", "SELL", "HOLD"][i % 3], outcome: hasOutcome ? Double(Int(rng.next() % 200) - 100) / 1_000 : nil,
                                        metadata: i % 4 == 0 ? ["alpha_return": .number(Double(i) / 10_000)] : [:], vector: vector))
            }
            try store.add(stored, to: "c")
            try store.recordDecision(NewMemory(callerID: "pending", time: epoch2022, situation: "p", reflection: "", outcome: 0.5,
                                               vector: stored[0].vector), in: "c")
            let query = stored[0].vector.map { $0 + 0.1 }
            for (asOf, mode, weighted) in [(epoch2022.addingTimeInterval(150 * day), RecallMode.global, false),
                                           (epoch2022.addingTimeInterval(400 * day), .ticker, true)] {
                let answer = try store.recall([RecallQuery(vector: query, k: 3, ticker: "NVDA", mode: mode, asOf: asOf)], analogues: 40,
                                              weighted: weighted, in: "c")[0]
                // Brute force: resolved with an outcome, known by asOf, in the layer; by cosine, then id.
                func cosine(_ v: [Float]) -> Double {
                    let dot = zip(query, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                    let norms = (query.reduce(0.0) { $0 + Double($1 * $1) } * v.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
                    return dot / norms
                }
                let eligible = stored.enumerated().filter { _, m in
                    m.outcome != nil && (m.knownAt ?? m.time) <= asOf && (mode == .global || m.ticker == "NVDA")
                }.sorted { cosine($0.element.vector) > cosine($1.element.vector) }.prefix(40)
                let statistics = try #require(answer.analogues)
                #expect(statistics.count == eligible.count && statistics.weighted == weighted)
                let outcomes = eligible.map { $0.element.outcome! }
                let weights = eligible.map { weighted ? max(0, cosine($0.element.vector)) : 1 }
                let mean = zip(outcomes, weights).reduce(0) { $0 + $1.0 * $1.1 } / weights.reduce(0, +)
                let all = try #require(statistics.all)
                #expect(abs(all.outcome.mean - mean) < 1e-6)
                let sorted = outcomes.sorted()
                let position = 0.5 * Double(sorted.count - 1)
                let median = sorted[Int(position)] + (sorted[Int(position.rounded(.up))] - sorted[Int(position)]) * (position - position.rounded(.down))
                #expect(abs(all.outcome.median - median) < 1e-12)
                #expect(statistics.byAction.reduce(0) { $0 + $1.outcome.count } == eligible.count)
                #expect(all.alpha?.count == eligible.filter { $0.element.metadata["alpha_return"] != nil }.count)
                // The top k is the query's own ranking, untouched by the analogues.
                let plain = try store.recall(RecallQuery(vector: query, k: 3, ticker: "NVDA", mode: mode, asOf: asOf), in: "c")
                #expect(answer.results.map(\.memory.id) == plain.map(\.memory.id))
            }
            #expect(throws: TradingMemoryError.self) { try store.recall([RecallQuery(vector: query, k: 1)], analogues: 10_001, in: "c") }
        }
    }
}
