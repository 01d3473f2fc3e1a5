import Foundation
import TestSupport
import Testing
import TradingMemory
import VectorIndex

/// Provenance (what each decision was shown) and credit (what its outcome did to those memories'
/// scores), as of every point in time.
@Suite struct ProvenanceTests {
    /// A back-test: each day a recall for that day's decision, as of that day; the decision's outcome
    /// is known five days later and is recorded at once (as a back-test does), half of them by
    /// resolving a pending decision, half credited directly. Every recall equals a brute force that
    /// counts only credit known by its as_of; replayed afterwards, every recall answers bit for bit
    /// what it answered during the run; and credit really reorders some rankings.
    @Test func creditedRecallMatchesBruteForceAndReplaysBitForBit() throws {
        try withTemporaryMemoryStore { store, _ throws in
            let credit = CreditSettings(beta: 0.5, scale: 0.02)
            let decay = DecayFunction.halfLife(180 * day)
            // Above the exact-scan threshold, so rankings walk the graph first.
            try store.createCollection("lessons", configuration: CollectionConfiguration(
                dimension: 16, decay: decay, index: GraphParameters(m: 12, efConstruction: 80), credit: credit))
            try store.createCollection("decisions", configuration: CollectionConfiguration(dimension: 16))
            let count = 2_300
            let vectors = clusteredVectors(count: count + 60, dimension: 16, clusters: 5, noise: 0.5, seed: 41)
            var rng = SplitMix64(seed: 5)
            let batch = (0..<count).map { i in
                memory(i, vector: vectors[i], time: epoch2022.addingTimeInterval(Double.random(in: 0..<365, using: &rng) * day))
            }
            let ids = try store.add(batch, to: "lessons")
            let start = epoch2022.addingTimeInterval(400 * day)
            var events: [(memory: MemoryID, credit: Double, knownAt: Date)] = []
            var asked: [(query: RecallQuery, answer: [RecallResult])] = []
            var reordered = 0
            for d in 0..<60 {
                let asOf = start.addingTimeInterval(Double(d) * day)
                let decision = "NVDA@\(d)"
                var query = RecallQuery(vector: vectors[count + d], k: 6, mode: .global, asOf: asOf, ef: 400)
                query.decisionID = decision
                let answer = try store.recall(query, in: "lessons")
                query.decisionID = nil
                asked.append((query, answer))

                // The brute force: cosine × decay × (1 + β·tanh(Σ credit known by asOf / scale)).
                var expected: [(id: MemoryID, score: Double)] = zip(ids, batch).map { id, memory in
                    let total = events.filter { $0.memory == id && $0.knownAt <= asOf }.reduce(0) { $0 + $1.credit }
                    return (id, referenceCosine(query.vector, memory.vector) * decay.factor(age: asOf.timeIntervalSince(memory.time))
                        * credit.factor(credit: total))
                }
                expected.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
                #expect(answer.map(\.memory.id) == expected.prefix(6).map(\.id), "day \(d)")
                for (result, truth) in zip(answer, expected) { #expect(abs(result.score - truth.score) < 1e-5, "day \(d)") }
                var plain = query
                plain.useCredit = false
                if try store.recall(plain, in: "lessons").map(\.memory.id) != answer.map(\.memory.id) { reordered += 1 }

                // The outcome, known five days on, recorded now.
                let outcome = Double.random(in: -0.05...0.05, using: &rng)
                let action = ["BUY", "SELL", "HOLD", "OVERWEIGHT"][d % 4]
                let knownAt = asOf.addingTimeInterval(5 * day)
                if d % 2 == 0 {
                    let pending = try store.recordDecision(NewMemory(callerID: decision, time: asOf, situation: "day \(d)", reflection: "",
                                                                     action: action, vector: vectors[count + d]), in: "decisions")
                    try store.resolve(pending, in: "decisions", outcome: outcome, reflection: "day \(d) lesson", knownAt: knownAt)
                } else {
                    try store.creditDecision(decision, outcome: outcome, action: action, knownAt: knownAt)
                }
                let side = ["BUY": 1.0, "SELL": -1.0, "HOLD": 0.0, "OVERWEIGHT": 1.0][action]!
                events += answer.map { ($0.memory.id, side * outcome, knownAt) }
            }
            #expect(reordered > 0, "credit never changed a ranking: the test would not see it ignored")
            for (query, answer) in asked {
                let replay = try store.recall(query, in: "lessons")
                #expect(replay.map(\.memory.id) == answer.map(\.memory.id))
                #expect(replay.map(\.score) == answer.map(\.score))
            }
            #expect(try store.verify().clean)
        }
    }

    @Test func provenanceShowsWhatADecisionSawAndHowItsCreditStands() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("bull", configuration: CollectionConfiguration(dimension: 8, credit: CreditSettings()))
            try store.createCollection("log", configuration: CollectionConfiguration(dimension: 8))
            _ = try store.add((0..<6).map { memory($0, vector: axis($0, tilt: 0.3), time: epoch2022) }, to: "bull")
            let decision = "600519.SH|2024-05-10"
            let asOf = Date(timeIntervalSince1970: 1_715_299_200)  // 2024-05-10
            var query = RecallQuery(vector: axis(1), k: 2, mode: .global, asOf: asOf)
            #expect(try store.provenance(decisionID: decision) == nil)
            _ = try store.recall(query, in: "bull")
            #expect(try store.provenance(decisionID: decision) == nil, "a recall without a decision id writes nothing")
            query.decisionID = decision
            let shown = try store.recall(query, in: "bull")
            _ = try store.recall(query, in: "bull")  // shown again: recorded once
            let seen = try #require(try store.provenance(decisionID: decision))
            #expect(seen.shown.map(\.memoryID) == shown.map(\.memory.id) && seen.shown.map(\.rank) == [0, 1])
            #expect(seen.shown.allSatisfy { $0.asOf == asOf && $0.collection == "bull" && $0.credits.isEmpty && $0.factor == 1 })
            #expect(seen.resolution == nil)

            // Resolving the pending decision with that caller id credits what it was shown: SELL before a fall earns.
            let pending = try store.recordDecision(NewMemory(callerID: decision, time: asOf, situation: "s", reflection: "", action: "SELL",
                                                             vector: axis(1)), in: "log")
            let knownAt = asOf.addingTimeInterval(7 * day)
            try store.resolve(pending, in: "log", outcome: -0.04, reflection: "the fall came", knownAt: knownAt)
            let before = try #require(try store.provenance(decisionID: decision, asOf: knownAt.addingTimeInterval(-1)))
            #expect(before.shown.allSatisfy { $0.credits.isEmpty }, "credit is not known before the outcome is")
            let after = try #require(try store.provenance(decisionID: decision, asOf: knownAt))
            let resolution = try #require(after.resolution)
            #expect(resolution.credit == 0.04 && resolution.outcome == -0.04 && resolution.action == "SELL" && resolution.collection == "log")
            #expect(resolution.memoriesCredited == 2 && resolution.knownAt == knownAt)
            for entry in after.shown {
                #expect(entry.credits.map(\.decisionID) == [decision] && entry.totalCredit == 0.04)
                #expect(abs(entry.factor! - (1 + 0.2 * tanh(0.04 / 0.05))) < 1e-12)
            }
            // The score moves by that factor from the outcome's known time on, not before.
            var later = RecallQuery(vector: axis(1), k: 2, mode: .global, asOf: knownAt)
            let credited = try store.recall(later, in: "bull")
            later.useCredit = false
            let plain = try store.recall(later, in: "bull")
            #expect(abs(credited[0].score / plain[0].score - after.shown[0].factor!) < 1e-9)
            later.asOf = knownAt.addingTimeInterval(-1)
            later.useCredit = true
            #expect(try store.recall(later, in: "bull").map(\.score) == plain.map(\.score))

            // Closed: more recalls or credit for it are refused, nothing changed.
            #expect(throws: TradingMemoryError.decisionResolved(decision)) { try store.recall(query, in: "bull") }
            #expect(throws: TradingMemoryError.decisionResolved(decision)) { try store.creditDecision(decision, outcome: 0.1) }
            #expect(try store.provenance(decisionID: decision, asOf: knownAt)?.shown.map(\.totalCredit) == [0.04, 0.04])

            // HOLD takes no position: no credit. A decision kept elsewhere is credited directly.
            var hold = RecallQuery(vector: axis(3), k: 1, mode: .global, decisionID: "hold-1")
            _ = try store.recall(hold, in: "bull")
            #expect(try store.creditDecision("hold-1", outcome: 0.09, action: "Hold").credit == 0)
            hold.decisionID = "given"
            _ = try store.recall(hold, in: "bull")
            #expect(try store.creditDecision("given", outcome: 0.09, action: "SELL", credit: 0.5).credit == 0.5)

            // Bad ids and values are typed errors and change nothing.
            for bad in ["", "a\u{0}b", "tab\tin", String(repeating: "x", count: 257)] {
                query.decisionID = bad
                #expect(throws: TradingMemoryError.self) { try store.recall(query, in: "bull") }
                #expect(throws: TradingMemoryError.self) { try store.creditDecision(bad, outcome: 0.1) }
                #expect(throws: TradingMemoryError.self) { try store.provenance(decisionID: bad) }
            }
            // The longest id (256 bytes, longer than any fixed key) and one in Chinese.
            for long in [String(repeating: "x", count: 256), "贵州茅台 600519.SH 2024-05-10 买入"] {
                query.decisionID = long
                _ = try store.recall(query, in: "bull")
                #expect(try store.creditDecision(long, outcome: 0.01, knownAt: asOf).memoriesCredited == 2)
                let entries = try #require(try store.provenance(decisionID: long)).shown
                #expect(entries.count == 2 && entries.allSatisfy { $0.credits.contains { $0.decisionID == long && $0.credit == 0.01 } })
            }
            #expect(throws: TradingMemoryError.self) { try store.creditDecision("nan", outcome: .nan) }
            // Huge outcomes either way cannot sum to an infinite or NaN factor.
            for (index, huge) in [Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude, 1e300].enumerated() {
                query.decisionID = "huge-\(index)"
                _ = try store.recall(query, in: "bull")
                #expect(abs(try store.creditDecision("huge-\(index)", outcome: huge, knownAt: asOf).credit) == 1e6)
            }
            let sane = try store.recall(RecallQuery(vector: axis(1), k: 2, mode: .global), in: "bull")
            #expect(sane.allSatisfy { $0.score.isFinite })
            #expect(try store.provenance(decisionID: "nan") == nil)
            for bad in [CreditSettings(beta: 1), CreditSettings(beta: -0.1), CreditSettings(scale: 0), CreditSettings(beta: .nan)] {
                #expect(throws: TradingMemoryError.self) {
                    try store.createCollection("bad", configuration: CollectionConfiguration(dimension: 8, credit: bad))
                }
            }

            // A deleted memory keeps its place in the provenance, without its record or credit.
            #expect(try store.delete([shown[0].memory.id], from: "bull") == 1)
            let gone = try #require(try store.provenance(decisionID: decision))
            #expect(gone.shown[0].memory == nil && gone.shown[0].credits.isEmpty && gone.shown[1].memory != nil && gone.shown[1].credits.contains { $0.decisionID == decision })
            #expect(try store.verify().clean)
            try store.dropCollection("bull")
            let dropped = try #require(try store.provenance(decisionID: decision))
            #expect(dropped.shown.allSatisfy { $0.memory == nil && $0.credits.isEmpty && $0.factor == nil })
        }
    }

    /// Lexical recall with credit: the best k of the BM25 ranking re-scored by each memory's factor.
    @Test func lexicalRecallCountsCreditToo() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8, embeddingModel: "test", lexical: .standard,
                                                                                   credit: CreditSettings(beta: 0.6, scale: 0.01)))
            let words = ["rally", "selloff", "earnings", "guidance", "dividend", "buyback", "tariff", "downgrade"]
            var rng = SplitMix64(seed: 2)
            let batch = (0..<120).map { i -> NewMemory in
                var m = memory(i, vector: axis(i, tilt: Float(i % 7) / 7), time: epoch2022)
                m.situation = (0..<12).map { _ in words[Int.random(in: 0..<words.count, using: &rng)] }.joined(separator: " ")
                return m
            }
            _ = try store.add(batch, to: "c")
            var query = RecallQuery(vector: axis(2), k: 40, mode: .global, text: "earnings guidance buyback", retrieval: .lexical)
            for d in 0..<6 {
                query.decisionID = "d\(d)"
                query.k = 3 + d
                _ = try store.recall(query, in: "c")
                try store.creditDecision("d\(d)", outcome: d % 2 == 0 ? 0.02 : -0.03, knownAt: epoch2022)
            }
            query.decisionID = nil
            query.k = 10
            let credited = try store.recall(query, in: "c")
            var plain = query
            plain.useCredit = false
            plain.k = 120
            let all = try store.recall(plain, in: "c")
            var factors: [MemoryID: Double] = [:]
            for d in 0..<6 {
                for entry in try store.provenance(decisionID: "d\(d)")!.shown { factors[entry.memoryID] = entry.factor }
            }
            // The engine's order: score, then similarity, then id.
            struct Expected { var id: MemoryID; var score: Double; var similarity: Float }
            func before(_ a: Expected, _ b: Expected) -> Bool {
                if a.score != b.score { return a.score > b.score }
                if a.similarity != b.similarity { return a.similarity > b.similarity }
                return a.id < b.id
            }
            let rescored = all.map { Expected(id: $0.memory.id, score: $0.score * (factors[$0.memory.id] ?? 1), similarity: $0.similarity) }
            let expected = rescored.sorted(by: before).prefix(10)
            #expect(credited.map(\.memory.id) == expected.map(\.id))
            for (result, truth) in zip(credited, expected) { #expect(abs(result.score - truth.score) < 1e-9) }
            #expect(credited.map(\.memory.id) != Array(all.prefix(10).map(\.memory.id)), "credit reorders this ranking")
        }
    }
}
