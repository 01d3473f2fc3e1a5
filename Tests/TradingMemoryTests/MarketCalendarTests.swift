import Foundation
import TestSupport
import Testing
import TradingMemory
import VectorIndex
import WireFormat

private func ms(_ iso: String) -> Int64 {
    let formatter = ISO8601DateFormatter()
    return Int64(formatter.date(from: iso.count == 10 ? iso + "T12:00:00Z" : iso)!.timeIntervalSince1970 * 1000)
}

/// Sessions counted one day at a time, the obvious way (the reference for the calendar's arithmetic).
private func countedSessions(_ calendar: MarketCalendar, from: String, to: String) -> Int {
    let first = Int(ms(from) / 86_400_000), last = Int(ms(to) / 86_400_000)
    return last <= first ? 0 : ((first + 1)...last).filter { calendar.isSession(day: $0) }.count
}

@Suite struct MarketCalendarTests {
    @Test func builtInCalendarsKnowTheHolidays() throws {
        let nyse = try #require(MarketCalendar.named("XNYS"))
        let china = try #require(MarketCalendar.named("XSHG"))
        func session(_ calendar: MarketCalendar, _ day: String) -> Bool { calendar.isSession(day: Int(ms(day) / 86_400_000)) }
        // NYSE: Independence Day 2024, Good Friday 2024, the Carter day of mourning 2025, Sandy 2012, 9/11.
        for closed in ["2024-07-04", "2024-03-29", "2025-01-09", "2012-10-29", "2012-10-30", "2001-09-11", "2001-09-14", "2024-12-25"] {
            #expect(!session(nyse, closed), "\(closed)")
        }
        for open in ["2024-07-05", "2024-03-28", "2024-02-12", "2024-10-01"] { #expect(session(nyse, open), "\(open)") }
        // Shanghai: the Spring Festival weeks of 2024 (Feb 9-17) and 2025 (Jan 28-Feb 4), National Day 2024 (Oct 1-7).
        for closed in ["2024-02-09", "2024-02-12", "2024-02-16", "2025-01-28", "2025-02-04", "2024-10-01", "2024-10-07"] {
            #expect(!session(china, closed), "\(closed)")
        }
        for open in ["2024-02-19", "2025-02-05", "2024-10-08", "2024-07-04"] { #expect(session(china, open), "\(open)") }
        // Whole years: 252 NYSE sessions in 2024, 242 in Shanghai.
        #expect(nyse.sessions(fromMs: ms("2023-12-31"), toMs: ms("2024-12-31")) == 252)
        #expect(china.sessions(fromMs: ms("2023-12-31"), toMs: ms("2024-12-31")) == 242)
        #expect(MarketCalendar.named("SZSE") == china && MarketCalendar.named("nyse") == nyse)
        #expect(MarketCalendar.forTicker("600519.SH") == china && MarketCalendar.forTicker("000001.SZ") == china)
        #expect(MarketCalendar.forTicker("BRK.B") == nyse && MarketCalendar.forTicker("NVDA") == nyse && MarketCalendar.forTicker(nil) == nyse)
    }

    @Test func ageInSessionsMatchesCountingDayByDay() throws {
        let nyse = try #require(MarketCalendar.named("XNYS"))
        // A Friday lesson is one session old on Monday, none on the weekend; the July 4th week.
        #expect(nyse.sessions(fromMs: ms("2024-06-28"), toMs: ms("2024-07-01")) == 1)
        #expect(nyse.sessions(fromMs: ms("2024-06-28"), toMs: ms("2024-06-30")) == 0)
        #expect(nyse.sessions(fromMs: ms("2024-07-03"), toMs: ms("2024-07-05")) == 1)
        #expect(nyse.sessions(fromMs: ms("2024-07-05"), toMs: ms("2024-07-03")) == 0)
        #expect(nyse.sessions(fromMs: ms("2024-07-05T01:00:00Z"), toMs: ms("2024-07-05T23:00:00Z")) == 0)
        var rng = SplitMix64(seed: 17)
        let china = try #require(MarketCalendar.named("XSHG"))
        for _ in 0..<300 {
            // Random spans 1995-2034: before, inside and past the data (past it, weekdays are sessions).
            let start = Date(timeIntervalSince1970: 788_918_400 + Double.random(in: 0..<(40 * 365), using: &rng) * 86_400)
            let end = start.addingTimeInterval(Double.random(in: -30..<800, using: &rng) * 86_400)
            let (from, to) = (ISO8601DateFormatter().string(from: start), ISO8601DateFormatter().string(from: end))
            for calendar in [nyse, china] {
                #expect(calendar.sessions(fromMs: ms(from), toMs: ms(to)) == countedSessions(calendar, from: from, to: to), "\(from) \(to)")
            }
        }
    }

    @Test func calendarFilesLoadAndBadOnesSayWhy() throws {
        try withTemporaryDirectory { path in
            let file = path + "/xlon.json"
            try Data(#"{"name": "XLON", "closed": ["2025-12-25", "2025-12-26", "2025-12-27"], "covered_through": "2025-12-31"}"#.utf8)
                .write(to: URL(fileURLWithPath: file))
            let london = try MarketCalendar.load(file: file)
            #expect(london.sessions(fromMs: ms("2025-12-24"), toMs: ms("2025-12-29")) == 1)  // Thu, Fri closed; Sat, Sun; Mon
            for bad in [#"{"name": "X", "closed": ["2025-02-30"], "covered_through": "2025-12-31"}"#,
                        #"{"name": "../x", "closed": [], "covered_through": "2025-12-31"}"#, #"{"closed": []}"#, "[1, 2"] {
                try Data(bad.utf8).write(to: URL(fileURLWithPath: file))
                #expect(throws: TradingMemoryError.self) { try MarketCalendar.load(file: file) }
            }
            #expect(throws: TradingMemoryError.self) { try MarketCalendar.load(file: path + "/missing.json") }
        }
    }

    /// Decay counted in sessions: recall equals a brute-force ranking that counts sessions day by
    /// day, for queries as of random dates (never seeing the future), in both calendars and `auto`.
    @Test func sessionDecayRecallMatchesBruteForce() throws {
        try withTemporaryMemoryStore { store, _ throws in
            var rng = SplitMix64(seed: 99)
            let vectors = clusteredVectors(count: 430, dimension: 16, clusters: 8, noise: 0.6, seed: 3)
            let tickers = ["600519.SH", "000001.SZ", "BRK.B", "NVDA"]
            var stored: [(id: MemoryID, memory: NewMemory)] = []
            for (name, calendar) in [("us", "XNYS"), ("cn", "XSHG"), ("auto", "auto")] {
                let decay = DecayFunction(shape: .exp, scale: 5 * day, midpoint: 0.5, offset: 1 * day, calendar: calendar)
                try store.createCollection(name, configuration: CollectionConfiguration(dimension: 16, decay: decay))
                let batch = (0..<400).map { i -> NewMemory in
                    let time = epoch2022.addingTimeInterval(Double.random(in: 0..<(3 * 365), using: &rng) * day)
                    return memory(i, vector: vectors[i], ticker: tickers[i % 4], time: time, knownAt: time.addingTimeInterval(day))
                }
                let ids = try store.add(batch, to: name)
                stored = zip(ids, batch).map { ($0, $1) }
                for q in 0..<30 {
                    let asOf = epoch2022.addingTimeInterval(Double.random(in: 20..<(3 * 365 + 20), using: &rng) * day)
                    let ticker = tickers[q % 4]
                    let sessions = calendar == "auto" ? MarketCalendar.forTicker(ticker) : MarketCalendar.named(calendar)!
                    let results = try store.recall(RecallQuery(vector: vectors[400 + q], k: 8, ticker: ticker, mode: .global, asOf: asOf,
                                                               ef: 400), in: name)
                    var expected: [(id: MemoryID, score: Double)] = stored.compactMap { entry in
                        guard (entry.memory.knownAt ?? entry.memory.time) <= asOf else { return nil }
                        let age = Double(sessions.sessions(fromMs: Int64(entry.memory.time.timeIntervalSince1970 * 1000),
                                                           toMs: Int64(asOf.timeIntervalSince1970 * 1000))) * day
                        return (entry.id, referenceCosine(vectors[400 + q], entry.memory.vector) * decay.factor(age: age))
                    }
                    expected.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
                    #expect(results.allSatisfy { $0.memory.knownAt <= asOf }, "a result from the future")
                    #expect(results.count == min(8, expected.count))
                    for (result, truth) in zip(results, expected.prefix(8)) {
                        #expect(abs(result.score - truth.score) < 1e-4, "\(name) q\(q): \(result.score) vs \(truth.score)")
                    }
                }
            }
        }
    }

    @Test func theWireCarriesTheCalendarAndRefusesAnUnknownOne() throws {
        let decay = try WireDecay(shape: nil, halfLife: 5 * day, calendar: "XSHG").decayFunction()
        #expect(decay.calendar == "XSHG" && WireDecay(decay).calendar == "XSHG")
        #expect(throws: TradingMemoryError.self) { try WireDecay(halfLife: 5 * day, calendar: "XMARS").decayFunction() }
        try withTemporaryMemoryStore { store, _ throws in
            var bad = DecayFunction.halfLife(5 * day)
            bad.calendar = "XMARS"
            #expect(throws: TradingMemoryError.self) {
                try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8, decay: bad))
            }
            #expect(try store.collections().isEmpty)
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8, decay: decay))
            #expect(try store.collection("c").configuration.decay.calendar == "XSHG")  // kept in the catalog
        }
    }
}
