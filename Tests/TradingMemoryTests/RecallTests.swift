import Foundation
import TestSupport
import Testing
@testable import TradingMemory
import WireFormat
import VectorIndex

/// The brute-force oracle: every eligible memory scored in Double, best first.
private func oracle(_ memories: [(id: MemoryID, memory: NewMemory)], query: [Float], k: Int, ticker: String?, asOf: Date,
                    decay: DecayFunction) -> [(id: MemoryID, score: Double)] {
    var scored: [(id: MemoryID, score: Double)] = []
    for entry in memories {
        let knownAt = entry.memory.knownAt ?? entry.memory.time
        guard knownAt <= asOf, ticker == nil || entry.memory.ticker == ticker else { continue }
        let age = max(0, asOf.timeIntervalSince(entry.memory.time))
        scored.append((entry.id, referenceCosine(query, entry.memory.vector) * decay.factor(age: age)))
    }
    scored.sort { (a, b) -> Bool in a.score > b.score || (a.score == b.score && a.id < b.id) }
    return Array(scored.prefix(k))
}

@Suite struct RecallTests {
    /// 2,400 memories over 50 tickers and 3 years; 200 queries at random `asOf` dates.
    /// For every walk precision: the graph path of a compressed walk re-ranks exactly, so its scores
    /// are the brute-force scores and `as_of` holds on every path.
    @Test(arguments: WalkPrecision.allCases)
    func backTestReplayNeverSeesTheFutureAndMatchesBruteForce(walk: WalkPrecision) throws {
        try withTemporaryMemoryStore { store, _ throws in
            let decay = DecayFunction.halfLife(180 * day)
            try store.createCollection("judge", configuration: CollectionConfiguration(dimension: 32, decay: decay,
                                                                                       index: GraphParameters(walk: walk), searchEf: 64))
            #expect(try store.collection("judge").configuration.index.walk == walk)
            var rng = SplitMix64(seed: 2024)
            let vectors = clusteredVectors(count: 2_400 + 200, dimension: 32, clusters: 30, noise: 0.5, seed: 11)
            let tickers = (0..<50).map { "T\($0)" }
            var stored: [(id: MemoryID, memory: NewMemory)] = []
            for start in stride(from: 0, to: 2_400, by: 400) {
                let batch = (start..<start + 400).map { i -> NewMemory in
                    let time = epoch2022.addingTimeInterval(Double.random(in: 0..<(3 * 365), using: &rng) * day)
                    let knownAt = time.addingTimeInterval(Double.random(in: 1..<30, using: &rng) * day)
                    return memory(i, vector: vectors[i], ticker: tickers[Int.random(in: 0..<50, using: &rng)], time: time, knownAt: knownAt)
                }
                let ids = try store.add(batch, to: "judge")
                stored += zip(ids, batch).map { ($0, $1) }
            }
            var agreement = 0.0, exactQueries = 0, graphQueries = 0
            for q in 0..<200 {
                let query = vectors[2_400 + q]
                let asOf = epoch2022.addingTimeInterval(Double.random(in: 30..<(3 * 365 + 30), using: &rng) * day)
                let ticker = tickers[q % 50]
                let tickerMode = q % 2 == 0
                let results = try store.recall(RecallQuery(vector: query, k: 10, ticker: ticker, mode: tickerMode ? .ticker : .global,
                                                           asOf: asOf, ef: 200), in: "judge")
                #expect(results.allSatisfy { $0.memory.knownAt <= asOf }, "a result from the future")
                if tickerMode { #expect(results.allSatisfy { $0.memory.ticker == ticker && $0.layer == .ticker }) }
                let expected = oracle(stored, query: query, k: 10, ticker: tickerMode ? ticker : nil, asOf: asOf, decay: decay)
                #expect(results.count == expected.count)
                for (result, truth) in zip(results, expected) {
                    #expect(abs(result.score - truth.score) < 1e-4 || result.memory.id != truth.id)
                }
                if tickerMode {
                    // Ticker layers hold ~48 memories: the planner scans them exactly. Order may differ only on ties.
                    exactQueries += 1
                    for (result, truth) in zip(results, expected) where result.memory.id != truth.id {
                        #expect(abs(result.score - truth.score) < 1e-5, "exact path disagrees: \(result.score) vs \(truth.score)")
                    }
                } else {
                    graphQueries += 1
                    agreement += recall(results.map { Int($0.memory.id.rawValue) }, expected.map { Int($0.id.rawValue) })
                }
            }
            #expect(exactQueries == 100 && graphQueries == 100)
            #expect(agreement / Double(graphQueries) >= 0.99, "global agreement \(agreement / Double(graphQueries))")
        }
    }

    @Test func scoresFollowTheDecayFormula() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8))
            let asOf = epoch2022.addingTimeInterval(400 * day)
            // Same direction, different ages: 0, 30, 90 days before asOf.
            try store.add([memory(0, vector: axis(0), time: asOf, id: "new"),
                           memory(1, vector: axis(0), time: asOf.addingTimeInterval(-30 * day), id: "month"),
                           memory(2, vector: axis(0), time: asOf.addingTimeInterval(-90 * day), id: "quarter")], to: "c")
            let cases: [(DecayFunction, [Double])] = [
                (.halfLife(30 * day), [1, 0.5, 0.125]),
                (DecayFunction(shape: .gauss, scale: 30 * day, midpoint: 0.5), [1, 0.5, pow(0.5, 9)]),
                (DecayFunction(shape: .linear, scale: 60 * day, midpoint: 0.5), [1, 0.75, 0.25]),
                (DecayFunction(shape: .exp, scale: 30 * day, midpoint: 0.5, offset: 30 * day), [1, 1, 0.25]),
                (.none, [1, 1, 1]),
            ]
            for (decay, expected) in cases {
                let results = try store.recall(RecallQuery(vector: axis(0), k: 3, asOf: asOf, decay: decay), in: "c")
                let byID = Dictionary(uniqueKeysWithValues: results.map { ($0.memory.callerID!, $0.score) })
                for (id, value) in zip(["new", "month", "quarter"], expected) {
                    #expect(abs(byID[id]! - value) < 1e-6, "\(decay.shape) \(id): \(byID[id]!) vs \(value)")
                }
            }
            // Age is clamped at zero: a memory "from the future" of the clock is not boosted.
            #expect(DecayFunction.halfLife(day).factor(age: -5 * day) == 1)
        }
    }

    @Test func decayReordersButNeverHidesBetterOldMatches() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8, decay: .halfLife(30 * day)))
            let now = epoch2022.addingTimeInterval(365 * day)
            try store.add([memory(0, vector: axis(0), time: now.addingTimeInterval(-300 * day), id: "old-exact"),
                           memory(1, vector: axis(0, tilt: 0.6), time: now, id: "fresh-close")], to: "c")
            let decayed = try store.recall(RecallQuery(vector: axis(0), k: 2, asOf: now), in: "c")
            #expect(decayed.map { $0.memory.callerID! } == ["fresh-close", "old-exact"])
            let plain = try store.recall(RecallQuery(vector: axis(0), k: 2, asOf: now, decay: DecayFunction.none), in: "c")
            #expect(plain.map { $0.memory.callerID! } == ["old-exact", "fresh-close"])
            #expect(plain[0].similarity > 0.999)
        }
    }

    @Test func modesSeparateTickersAndNeverRepeatAMemory() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8))
            var batch: [NewMemory] = []
            for i in 0..<40 {
                batch.append(memory(i, vector: axis(i % 4, tilt: Float(i) / 40), ticker: i % 2 == 0 ? "AAPL" : "MSFT",
                                    time: epoch2022, id: "m\(i)"))
            }
            batch.append(memory(99, vector: axis(0), time: epoch2022, id: "macro"))  // no ticker: global layer only
            try store.add(batch, to: "c")
            let tickerOnly = try store.recall(RecallQuery(vector: axis(0), k: 50, ticker: "AAPL", mode: .ticker), in: "c")
            #expect(tickerOnly.count == 20 && tickerOnly.allSatisfy { $0.memory.ticker == "AAPL" })
            let both = try store.recall(RecallQuery(vector: axis(0), k: 0, ticker: "AAPL", mode: .tickerThenGlobal(kTicker: 5, kGlobal: 5)), in: "c")
            #expect(both.count == 10 && Set(both.map(\.memory.id)).count == 10)
            #expect(both.prefix(5).allSatisfy { $0.layer == .ticker && $0.memory.ticker == "AAPL" })
            #expect(both.suffix(5).allSatisfy { $0.layer == .global })
            let plain = try store.recall(RecallQuery(vector: axis(1), k: 10, ticker: "AAPL", mode: .merged(tickerBoost: 1)), in: "c")
            let boosted = try store.recall(RecallQuery(vector: axis(1), k: 10, ticker: "AAPL", mode: .merged(tickerBoost: 3)), in: "c")
            #expect(boosted.filter { $0.memory.ticker == "AAPL" }.count > plain.filter { $0.memory.ticker == "AAPL" }.count)
            #expect(try store.recall(RecallQuery(vector: axis(0), k: 5, ticker: "ZZZ", mode: .ticker), in: "c").isEmpty)
            #expect(throws: TradingMemoryError.self) { try store.recall(RecallQuery(vector: axis(0), k: 5, mode: .ticker), in: "c") }
        }
    }

    @Test func minSimilarityQualityAndFilters() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8))
            try store.add([memory(0, vector: axis(0), time: epoch2022, id: "a", action: "BUY", outcome: 0.1, quality: 0.2),
                           memory(1, vector: axis(0, tilt: 0.2), time: epoch2022.addingTimeInterval(day), id: "b", action: "SELL", outcome: -0.05, quality: 1),
                           memory(2, vector: axis(3), time: epoch2022.addingTimeInterval(2 * day), id: "c", action: "HOLD", outcome: 0.0)], to: "c")
            let close = try store.recall(RecallQuery(vector: axis(0), k: 10, minSimilarity: 0.5), in: "c")
            #expect(close.map { $0.memory.callerID! } == ["a", "b"])
            let weighted = try store.recall(RecallQuery(vector: axis(0), k: 2, weightByQuality: true), in: "c")
            #expect(weighted.map { $0.memory.callerID! } == ["b", "a"])
            let sells = try store.recall(RecallQuery(vector: axis(0), k: 10, filter: MemoryFilter(actions: ["SELL"])), in: "c")
            #expect(sells.map { $0.memory.callerID! } == ["b"])
            let gains = try store.recall(RecallQuery(vector: axis(0), k: 10, filter: MemoryFilter(outcomeMin: 0)), in: "c")
            #expect(Set(gains.map { $0.memory.callerID! }) == ["a", "c"])
            let late = try store.recall(RecallQuery(vector: axis(0), k: 10, filter: MemoryFilter(timeFrom: epoch2022.addingTimeInterval(day))), in: "c")
            #expect(Set(late.map { $0.memory.callerID! }) == ["b", "c"])
            #expect(try store.recall(RecallQuery(vector: axis(0), k: 10, filter: MemoryFilter(actions: ["SHORT"])), in: "c").isEmpty)
        }
    }

    @Test func largeCollectionTakesTheGraphPathWithAsOf() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("big", configuration: CollectionConfiguration(dimension: 16, index: .init(m: 8, efConstruction: 64)))
            let vectors = clusteredVectors(count: 3_000, dimension: 16, clusters: 10, seed: 5)
            try store.add(vectors.enumerated().map { memory($0.offset, vector: $0.element, time: epoch2022.addingTimeInterval(Double($0.offset) * 3_600)) }, to: "big")
            let asOf = epoch2022.addingTimeInterval(2_000 * 3_600)
            for q in 0..<20 {
                let results = try store.recall(RecallQuery(vector: vectors[q * 7], k: 10, asOf: asOf, decay: DecayFunction.none, ef: 128), in: "big")
                #expect(results.count == 10)
                #expect(results.allSatisfy { $0.memory.knownAt <= asOf })
            }
        }
    }
}

@Suite struct RecordFormatTests {
    @Test func formatsDatesLikeISO8601() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        var rng = SplitMix64(seed: 3)
        for _ in 0..<2_000 {
            let milliseconds = Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &rng)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let expected = milliseconds % 1000 == 0 ? plain.string(from: date) : formatter.string(from: date)
            #expect(WireTime.format(date) == expected)
            #expect(WireTime.parse(WireTime.format(date)).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } == milliseconds)
        }
        #expect(WireTime.format(Date(timeIntervalSince1970: 1_704_153_600)) == "2024-01-02T00:00:00Z")
        #expect(WireDuration.parse("90d") == 90 * 86_400 && WireDuration.parse("1y") == 31_536_000)
        #expect(WireDuration.parse("-3d") == nil && WireDuration.parse("soon") == nil)
    }
}

@Suite struct DateParsingTests {
    @Test func fastParserAgreesWithTheFormatters() {
        let cases = ["2024-01-02", "2024-02-29", "1999-12-31T23:59:59Z", "2024-03-01T14:30:00.123Z", "2024-03-01T09:30:00-05:00",
                     "2024-03-01T09:30:00+05:30", "1969-07-20T20:17:40Z", "2024-03-01T14:30:00.5Z"]
        let formatter = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let dateOnly = ISO8601DateFormatter()
        dateOnly.formatOptions = [.withFullDate]
        for text in cases {
            let expected = formatter.date(from: text) ?? fractional.date(from: text) ?? dateOnly.date(from: text)
            #expect(WireTime.parse(text) == expected, "\(text)")
            #expect(expected != nil)
        }
        for bad in ["2023-02-29", "2024-13-01", "2024-01-02T25:00:00Z", "2024-01-02T10:00:00", "yesterday", "2024-1-2"] {
            #expect(WireTime.parse(bad) == nil, "\(bad)")
        }
        #expect(WireTime.parse("1704153600") == Date(timeIntervalSince1970: 1_704_153_600))
    }
}
