import Foundation
import Lexical
import TestSupport
import Testing
import TradingMemory
import VectorIndex

/// Lexical (BM25) and hybrid recall: the tokenizer, scores equal to a reference BM25 written here
/// from its definition, fusion equal to a brute-force fusion, and a point in time that never sees
/// (or counts) what became known later.
@Suite struct LexicalRecallTests {
    static let situations: [(ticker: String, text: String)] = [
        ("NVDA", "# Market\nRSI 71, MACD crossing down; price above the 50-day SMA.\n\n# News\nExport restrictions on AI chips tighten; guidance cut."),
        ("NVDA", "# Market\nRSI 55, higher highs.\n\n# News\nRecord datacenter orders; new accelerator launch beats expectations."),
        ("AMD", "# Market\nRSI 40.\n\n# News\nExport restrictions tighten again; data center demand slows; guidance cut."),
        ("600519.SH", "# 市场\n贵州茅台 RSI 68，放量上涨。\n\n# 新闻\n白酒消费税改革传闻，监管收紧，股价承压。"),
        ("600519.SH", "# 市场\n贵州茅台缩量整理。\n\n# 新闻\n中秋旺季备货强劲，批价上涨，渠道库存下降。"),
        ("000858.SZ", "# 新闻\n五粮液 监管收紧 消费税 传闻，白酒板块下跌。"),
        ("BRK.B", "# News\nBerkshire pauses buybacks; insurance float grows; cash pile at record 3.5% yield."),
        ("BRK.B", "Berkshire Hathaway BRK.B buybacks resume after the annual meeting."),
    ]

    private func vector(_ seed: UInt64, dimension: Int = 16) -> [Float] {
        var random = SplitMix64(seed: seed)
        return (0..<dimension).map { _ in Float(Double(random.next() % 2_000) / 1_000 - 1) }
    }

    private func lexicalCollection(_ store: TradingMemoryStore, _ name: String = "c", settings: LexicalSettings = .standard) throws {
        _ = try store.createCollection(name, configuration: CollectionConfiguration(dimension: 16, embeddingModel: "test", lexical: settings))
    }

    private func add(_ store: TradingMemoryStore, _ indices: [Int], to name: String = "c", knownAt: (Int) -> Date? = { _ in nil }) throws {
        let memories = indices.map { i in
            NewMemory(callerID: "m\(i)", ticker: Self.situations[i].ticker, time: epoch2022.addingTimeInterval(Double(i) * day),
                      knownAt: knownAt(i), situation: Self.situations[i].text, reflection: "lesson \(i)", vector: vector(UInt64(i + 1)))
        }
        try store.add(memories, to: name)
    }

    // MARK: A reference BM25, from the definition

    private struct Reference {
        let documents: [(id: String, counts: [String: Int], length: Int)]

        init(_ texts: [(String, String)]) {
            documents = texts.map { id, text in
                var counts: [String: Int] = [:]
                let terms = LexicalTokenizer.terms(of: text)
                for term in terms { counts[term, default: 0] += 1 }
                return (id, counts, terms.count)
            }
        }

        func scores(_ query: String, k1: Double = 1.2, b: Double = 0.75) -> [String: Double] {
            let n = Double(documents.count)
            let average = documents.reduce(0.0) { $0 + Double($1.length) } / n
            var scores: [String: Double] = [:]
            for term in Set(LexicalTokenizer.terms(of: query)) {
                let df = Double(documents.filter { $0.counts[term] != nil }.count)
                guard df > 0 else { continue }
                let idf = Foundation.log(1 + (n - df + 0.5) / (df + 0.5))
                for document in documents {
                    guard let tf = document.counts[term].map(Double.init) else { continue }
                    scores[document.id, default: 0] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * Double(document.length) / average))
                }
            }
            return scores
        }
    }

    @Test func theTokenizerKeepsTickersAndNumbersAndSplitsCJKIntoCharactersAndBigrams() {
        #expect(LexicalTokenizer.terms(of: "**RSI** 71.5, BRK.B and 600519.SH; U.S. data-center.") ==
                ["rsi", "71.5", "brk.b", "and", "600519.sh", "u.s", "data", "center"])
        #expect(LexicalTokenizer.terms(of: "贵州茅台600519.SH涨停") ==
                ["贵", "州", "贵州", "茅", "州茅", "台", "茅台", "600519.sh", "涨", "停", "涨停"])
        #expect(LexicalTokenizer.terms(of: "监管，收紧") == ["监", "管", "监管", "收", "紧", "收紧"], "punctuation breaks bigrams")
        #expect(LexicalTokenizer.terms(of: "Ünïcode ÉTÉ") == ["ünïcode", "été"])
        #expect(LexicalTokenizer.terms(of: String(repeating: "x", count: 65) + " ok") == ["ok"], "over-long terms are dropped")
        #expect(LexicalTokenizer.terms(of: "").isEmpty && LexicalTokenizer.terms(of: " .,;# ").isEmpty)
    }

    @Test func lexicalScoresEqualAReferenceBM25InEnglishAndChinese() throws {
        try withTemporaryMemoryStore { store, _ in
            try lexicalCollection(store, settings: LexicalSettings(k1: 1.5, b: 0.6))
            try add(store, Array(Self.situations.indices))
            let reference = Reference(Self.situations.enumerated().map { ("m\($0.offset)", $0.element.text) })
            for text in ["export restrictions tighten, guidance cut", "茅台 监管收紧 消费税", "BRK.B buybacks 3.5%", "nothing matches zzz"] {
                let expected = reference.scores(text, k1: 1.5, b: 0.6)
                let results = try store.recall(RecallQuery(vector: vector(99), k: 20, text: text, retrieval: .lexical), in: "c")
                #expect(results.count == expected.count, "\(text)")
                for result in results {
                    let want = try #require(expected[result.memory.callerID!])
                    #expect(abs(result.lexicalScore! - want) <= 1e-12 * max(1, want), "\(text): \(result.memory.callerID!)")
                    #expect(result.score == result.lexicalScore!, "no decay: the score is BM25's")
                }
                let order = expected.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
                #expect(results.map { $0.memory.callerID! } == order, "\(text)")
            }
            // Chinese queries find the Chinese situations; the matched terms say why.
            let zh = try store.recall(RecallQuery(vector: vector(99), k: 2, text: "白酒 监管收紧", retrieval: .lexical), in: "c")
            #expect(Set(zh.map { $0.memory.callerID! }) == ["m3", "m5"])
            #expect(zh[0].matchedTerms.contains("监管"))
            #expect(try store.verify().findings.isEmpty)
        }
    }

    @Test func hybridRankingEqualsABruteForceFusionWithDecayAndTickers() throws {
        try withTemporaryMemoryStore { store, _ in
            let settings = LexicalSettings(rrfK: 60, denseWeight: 0.5, window: 4)
            try lexicalCollection(store, settings: settings)
            try add(store, Array(Self.situations.indices))
            let reference = Reference(Self.situations.enumerated().map { ("m\($0.offset)", $0.element.text) })
            let decay = DecayFunction.halfLife(3 * day)
            let now = epoch2022.addingTimeInterval(10 * day)
            let query = vector(7)
            let unit = query.map { $0 / query.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            func factor(_ i: Int) -> Double { decay.factor(age: now.timeIntervalSince(epoch2022.addingTimeInterval(Double(i) * day))) }
            func cosine(_ i: Int) -> Double {
                let v = vector(UInt64(i + 1))
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return zip(unit, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1 / norm) }
            }
            for text in ["export restrictions tighten, guidance cut", "茅台 监管收紧"] {
                let lexicalScores = reference.scores(text)
                let all = Array(Self.situations.indices)
                let denseRanks = all.sorted { cosine($0) * factor($0) > cosine($1) * factor($1) }.prefix(settings.window)
                let lexicalRanks = all.filter { lexicalScores["m\($0)"] != nil }
                    .sorted { lexicalScores["m\($0)"]! * factor($0) > lexicalScores["m\($1)"]! * factor($1) }.prefix(settings.window)
                var fused: [Int: Double] = [:]
                for (rank, i) in denseRanks.enumerated() { fused[i, default: 0] += 0.5 / (60 + Double(rank + 1)) }
                for (rank, i) in lexicalRanks.enumerated() { fused[i, default: 0] += 1 / (60 + Double(rank + 1)) }
                let expected = fused.sorted { $0.value != $1.value ? $0.value > $1.value : cosine($0.key) > cosine($1.key) }.prefix(3).map { "m\($0.key)" }
                let results = try store.recall(RecallQuery(vector: query, k: 3, asOf: now, decay: decay, text: text), in: "c")  // hybrid: the collection's default
                #expect(results.map { $0.memory.callerID! } == expected, "\(text)")
                for result in results {
                    let i = Int(result.memory.callerID!.dropFirst())!
                    #expect(abs(Double(result.similarity) - cosine(i)) < 1e-5, "similarities are exact cosines")
                    #expect(abs(result.score - fused[i]!) < 1e-12)
                }
            }
            // Ticker layers and modes apply: only the ticker's memories in ticker mode.
            let ticker = try store.recall(RecallQuery(vector: query, k: 5, ticker: "600519.SH", mode: .ticker, text: "白酒 监管收紧"), in: "c")
            #expect(Set(ticker.map { $0.memory.ticker }) == ["600519.SH"] && ticker.count == 2)
        }
    }

    @Test func aPointInTimeNeitherSeesNorCountsWhatBecameKnownLater() throws {
        try withTemporaryDirectory { path in
            let everything = try TradingMemoryStore(path: path + "/a")
            let known = try TradingMemoryStore(path: path + "/b")
            defer { everything.close(); known.close() }
            try lexicalCollection(everything)
            try lexicalCollection(known)
            let asOf = epoch2022.addingTimeInterval(5.5 * day)
            // In `everything`, memories 6 and 7 were added too, and memory 2 became known only after asOf.
            let knownAt: (Int) -> Date? = { $0 == 2 ? epoch2022.addingTimeInterval(9 * day) : nil }
            try add(everything, Array(Self.situations.indices), knownAt: knownAt)
            try add(known, [0, 1, 3, 4, 5])
            // A pending decision is not in the corpus either.
            try everything.recordDecision(NewMemory(callerID: "pending", ticker: "NVDA", time: epoch2022, situation: "export restrictions guidance",
                                                    reflection: "", vector: vector(50)), in: "c")
            for text in ["export restrictions tighten, guidance cut", "茅台 监管收紧 消费税", "buybacks"] {
                let seen = try everything.recall(RecallQuery(vector: vector(3), k: 20, asOf: asOf, text: text, retrieval: .lexical), in: "c")
                let alone = try known.recall(RecallQuery(vector: vector(3), k: 20, asOf: asOf, text: text, retrieval: .lexical), in: "c")
                #expect(seen.map { $0.memory.callerID } == alone.map { $0.memory.callerID }, "\(text)")
                #expect(seen.map(\.lexicalScore) == alone.map(\.lexicalScore), "bit for bit: \(text)")
            }
            // Resolving the decision puts it in the index from its known time on.
            let decision = try #require(try everything.memories(in: "c").first { $0.callerID == "pending" })
            try everything.resolve(decision.id, in: "c", outcome: 0.01, reflection: "r", knownAt: epoch2022.addingTimeInterval(20 * day))
            let later = try everything.recall(RecallQuery(vector: vector(3), k: 20, text: "export restrictions guidance", retrieval: .lexical), in: "c")
            #expect(later.contains { $0.memory.callerID == "pending" })
            let before = try everything.recall(RecallQuery(vector: vector(3), k: 20, asOf: asOf, text: "export restrictions guidance", retrieval: .lexical), in: "c")
            #expect(!before.contains { $0.memory.callerID == "pending" })
            #expect(try everything.verify().findings.isEmpty)
        }
    }

    @Test func deletesUpsertsAndEvictionsKeepTheIndexEqualToAFreshOne() throws {
        try withTemporaryDirectory { path in
            let changed = try TradingMemoryStore(path: path + "/a")
            let fresh = try TradingMemoryStore(path: path + "/b")
            defer { changed.close(); fresh.close() }
            try lexicalCollection(changed)
            try lexicalCollection(fresh)
            try add(changed, Array(Self.situations.indices))
            _ = try changed.delete(callerIDs: ["m0", "m4"], from: "c")
            // An upsert replaces m6's situation with m2's text.
            try changed.add([NewMemory(callerID: "m6", ticker: "BRK.B", time: epoch2022.addingTimeInterval(6 * day), situation: Self.situations[2].text,
                                       reflection: "lesson 6", vector: vector(7))], to: "c", upsert: true)
            try add(fresh, [1, 2, 3, 5, 7])
            try fresh.add([NewMemory(callerID: "m6", ticker: "BRK.B", time: epoch2022.addingTimeInterval(6 * day), situation: Self.situations[2].text,
                                     reflection: "lesson 6", vector: vector(7))], to: "c")
            for text in ["export restrictions tighten, guidance cut", "茅台 监管收紧", "buybacks BRK.B"] {
                let a = try changed.recall(RecallQuery(vector: vector(3), k: 20, text: text, retrieval: .lexical), in: "c")
                let b = try fresh.recall(RecallQuery(vector: vector(3), k: 20, text: text, retrieval: .lexical), in: "c")
                #expect(a.map { $0.memory.callerID } == b.map { $0.memory.callerID } && a.map(\.lexicalScore) == b.map(\.lexicalScore), "\(text)")
            }
            #expect(try changed.verify().findings.isEmpty)
            _ = try changed.removeAllMemories(from: "c")
            #expect(try changed.recall(RecallQuery(vector: vector(3), k: 5, text: "buybacks", retrieval: .lexical), in: "c").isEmpty)
            #expect(try changed.verify().findings.isEmpty)
            try changed.dropCollection("c")
            try lexicalCollection(changed)
            #expect(try changed.recall(RecallQuery(vector: vector(3), k: 5, text: "buybacks", retrieval: .lexical), in: "c").isEmpty,
                    "a dropped collection leaves no postings behind")
        }
    }

    /// 600 memories of generated words (English and Chinese) over 20 tickers and two years, known 1
    /// to 30 days after their time; 60 queries at random points in time, lexical and hybrid, in ticker
    /// and global mode: nothing from the future, the ticker's layer only, and lexical scores equal to
    /// BM25 over the memories known at that time.
    @Test func backTestReplayWithWordsNeverSeesTheFuture() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try lexicalCollection(store)
            var rng = SplitMix64(seed: 77)
            let words = ["rsi", "macd", "breakout", "guidance", "cut", "beat", "export", "probe", "buyback", "600519.sh", "brk.b",
                         "茅台", "监管", "收紧", "白酒", "上涨", "下跌", "3.5", "margin", "demand"]
            func text() -> String { (0..<Int(rng.next() % 12 + 3)).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ") }
            let tickers = (0..<20).map { "T\($0)" }
            var stored: [(callerID: String, ticker: String, time: Date, knownAt: Date, text: String)] = []
            var batch: [NewMemory] = []
            for i in 0..<600 {
                let time = epoch2022.addingTimeInterval(Double(rng.next() % 730) * day)
                let knownAt = time.addingTimeInterval(Double(rng.next() % 30 + 1) * day)
                let entry = (callerID: "m\(i)", ticker: tickers[Int(rng.next() % 20)], time: time, knownAt: knownAt, text: text())
                stored.append(entry)
                batch.append(NewMemory(callerID: entry.callerID, ticker: entry.ticker, time: time, knownAt: knownAt, situation: entry.text,
                                       reflection: "", vector: vector(UInt64(i + 1000))))
            }
            try store.add(batch, to: "c")
            for q in 0..<60 {
                let asOf = epoch2022.addingTimeInterval(Double(rng.next() % 760) * day)
                let ticker = tickers[q % 20]
                let query = text()
                let tickerMode = q % 2 == 0
                let visible = stored.filter { $0.knownAt <= asOf }
                let expected = Reference(visible.map { ($0.callerID, $0.text) }).scores(query)
                let lexical = try store.recall(RecallQuery(vector: vector(UInt64(q)), k: 10, ticker: ticker, mode: tickerMode ? .ticker : .global,
                                                           asOf: asOf, text: query, retrieval: .lexical), in: "c")
                let hybrid = try store.recall(RecallQuery(vector: vector(UInt64(q)), k: 10, ticker: ticker, mode: tickerMode ? .ticker : .global,
                                                          asOf: asOf, text: query, retrieval: .hybrid), in: "c")
                for result in lexical + hybrid {
                    #expect(result.memory.knownAt <= asOf, "a result from the future")
                    if tickerMode { #expect(result.memory.ticker == ticker && result.layer == .ticker) }
                }
                for result in lexical {
                    // No decay: the score is BM25's, over what was known at asOf.
                    let want = try #require(expected[result.memory.callerID!])
                    #expect(abs(result.lexicalScore! - want) <= 1e-9 * max(1, want))
                }
                let eligible = visible.filter { !tickerMode || $0.ticker == ticker }.filter { expected[$0.callerID] != nil }
                #expect(lexical.count == min(10, eligible.count))
            }
        }
    }

    @Test func turningLexicalRecallOnIndexesTheLiveMemoriesAndOffRemovesTheIndex() throws {
        try withTemporaryDirectory { path in
            let converted = try TradingMemoryStore(path: path + "/a")
            let fresh = try TradingMemoryStore(path: path + "/b")
            defer { converted.close(); fresh.close() }
            _ = try converted.createCollection("c", configuration: CollectionConfiguration(dimension: 16, embeddingModel: "test"))
            try add(converted, Array(Self.situations.indices))
            try converted.recordDecision(NewMemory(callerID: "pending", time: epoch2022, situation: "buybacks buybacks", reflection: "",
                                                   vector: vector(60)), in: "c")
            #expect(try converted.setLexical(.standard, for: "c") == Self.situations.count, "live memories only")
            try lexicalCollection(fresh)
            try add(fresh, Array(Self.situations.indices))
            for text in ["export restrictions tighten", "茅台 监管收紧", "buybacks"] {
                let a = try converted.recall(RecallQuery(vector: vector(3), k: 20, text: text, retrieval: .lexical), in: "c")
                let b = try fresh.recall(RecallQuery(vector: vector(3), k: 20, text: text, retrieval: .lexical), in: "c")
                #expect(a.map { $0.memory.callerID } == b.map { $0.memory.callerID } && a.map(\.lexicalScore) == b.map(\.lexicalScore))
            }
            #expect(try converted.verify().findings.isEmpty)
            try converted.setLexical(nil, for: "c")
            #expect(try converted.collection("c").configuration.lexical == nil)
            #expect(throws: TradingMemoryError.self) {
                try converted.recall(RecallQuery(vector: vector(3), k: 5, text: "buybacks", retrieval: .lexical), in: "c")
            }
            #expect(try converted.verify().findings.isEmpty)
        }
    }

    @Test func compactionKeepsTheLexicalIndex() throws {
        try withTemporaryDirectory { path in
            let db = path + "/db"
            var before: [[Double?]] = []
            let texts = ["export restrictions tighten, guidance cut", "茅台 监管收紧", "buybacks BRK.B"]
            do {
                let store = try TradingMemoryStore(path: db)
                try lexicalCollection(store)
                try add(store, Array(Self.situations.indices))
                _ = try store.delete(callerIDs: ["m1", "m3"], from: "c")
                before = try texts.map { text in
                    try store.recall(RecallQuery(vector: vector(3), k: 20, text: text, retrieval: .lexical), in: "c").map(\.lexicalScore)
                }
                store.close()
            }
            _ = try TradingMemoryStore.compact(path: db)
            let store = try TradingMemoryStore(path: db)
            defer { store.close() }
            #expect(try store.verify().findings.isEmpty)
            let after = try texts.map { text in
                try store.recall(RecallQuery(vector: vector(3), k: 20, text: text, retrieval: .lexical), in: "c").map(\.lexicalScore)
            }
            #expect(after == before)
        }
    }

    @Test func collectionsWithoutALexicalIndexStayDenseAndSaySo() throws {
        try withTemporaryMemoryStore { store, _ in
            _ = try store.createCollection("v", configuration: CollectionConfiguration(dimension: 16))
            try add(store, [0, 1], to: "v")
            let dense = try store.recall(RecallQuery(vector: vector(1), k: 1, text: "export"), in: "v")
            #expect(dense.first?.memory.callerID == "m0" && dense.first?.lexicalScore == nil, "a text alone does not change a dense collection")
            #expect(throws: TradingMemoryError.self) {
                try store.recall(RecallQuery(vector: vector(1), k: 1, text: "export", retrieval: .hybrid), in: "v")
            }
            try lexicalCollection(store)
            #expect(throws: TradingMemoryError.self) { try store.recall(RecallQuery(vector: vector(1), k: 1, retrieval: .lexical), in: "c") }
        }
    }
}
