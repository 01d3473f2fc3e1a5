import AgentMemory
import Embedding
import RemoteEmbedding
import Foundation
import LMDB
import TestSupport
import Synchronization
import Testing
import TradingMemory

/// A deterministic bag-of-words embedder: similar texts get similar vectors.
struct WordHashEmbedder: Embedder {
    let model = "word-hash-64"
    func embed(_ texts: [String]) async throws -> [[Float]] { texts.map(Self.vector) }
}

/// Records which model variant embedded each text.
final class VariantLog: Sendable {
    private let entries = Mutex<[String]>([])
    func add(_ model: String, count: Int) { entries.withLock { $0 += Array(repeating: model, count: count) } }
    var models: [String] { entries.withLock { $0 } }
}

/// An embedder with variants "base", "base+…" (like a local model's long-text policies).
struct VariantEmbedder: Embedder {
    let suffix: String
    let log: VariantLog
    var model: String { "base" + suffix }
    func embed(_ texts: [String]) async throws -> [[Float]] {
        log.add(model, count: texts.count)
        return texts.map(WordHashEmbedder.vector)
    }
    func embedder(forModel model: String) -> (any Embedder)? {
        model.hasPrefix("base") ? VariantEmbedder(suffix: String(model.dropFirst(4)), log: log) : nil
    }
}

func withLocalEngine<R>(_ body: (LocalMemoryEngine) async throws -> R) async throws -> R {
    try await withTemporaryDirectory { path in
        let engine = LocalMemoryEngine(store: try TradingMemoryStore(path: path, options: EnvironmentOptions(durability: .none)))
        defer { engine.store.close() }
        return try await body(engine)
    }
}

@Suite struct AgentMemoryTests {
    @Test func situationsAndRecommendationsRoundTrip() async throws {
        try await withLocalEngine { engine in
            let memory = AgentMemory(collection: "bull_memory", engine: engine, embedder: WordHashEmbedder())
            #expect(try await memory.count() == 0)
            #expect(try await memory.getMemories("anything", nMatches: 2).isEmpty)
            try await memory.addSituations([
                (situation: "High inflation rising interest rates declining consumer spending", recommendation: "Favor defensive sectors."),
                (situation: "Tech sector volatility institutional selling pressure", recommendation: "Reduce high-growth tech exposure."),
                (situation: "Strong dollar affecting emerging markets currency volatility", recommendation: "Hedge currency exposure."),
            ])
            #expect(try await memory.count() == 3)
            let matches = try await memory.getMemories("Market volatility in tech with selling pressure from institutions", nMatches: 2)
            #expect(matches.count == 2)
            #expect(matches[0].recommendation == "Reduce high-growth tech exposure.")
            #expect(matches[0].similarity >= matches[1].similarity)
            #expect(try await memory.clear() == 3)
            #expect(try await memory.count() == 0)
        }
    }

    @Test func tickerMemoriesComeFirstAndBackTestsSeeNoFuture() async throws {
        try await withLocalEngine { engine in
            let memory = AgentMemory(collection: "trader_memory", engine: engine, embedder: WordHashEmbedder())
            let jan = Date(timeIntervalSince1970: 1_704_067_200)  // 2024-01-01
            try await memory.addSituations([(situation: "earnings beat guidance raised momentum", recommendation: "NVDA lesson")],
                                           ticker: "NVDA", date: jan)
            try await memory.addSituations([(situation: "earnings beat guidance raised momentum strong", recommendation: "AAPL lesson")],
                                           ticker: "AAPL", date: jan.addingTimeInterval(86_400 * 40))
            let forNVDA = try await memory.getMemories("earnings beat guidance raised momentum strong", nMatches: 2, ticker: "NVDA")
            #expect(forNVDA.map(\.recommendation) == ["NVDA lesson", "AAPL lesson"])
            let early = try await memory.getMemories("earnings beat", nMatches: 5, asOf: jan.addingTimeInterval(86_400 * 10))
            #expect(early.map(\.recommendation) == ["NVDA lesson"])
        }
    }

    /// The researcher's recall for a decision is credited when the trader's decision is resolved.
    @Test func lessonsShownToADecisionAreCreditedWhenItResolves() async throws {
        try await withLocalEngine { engine in
            let bull = AgentMemory(collection: "bull_memory", engine: engine, embedder: WordHashEmbedder())
            let trader = AgentMemory(collection: "trader_memory", engine: engine, embedder: WordHashEmbedder())
            let date = Date(timeIntervalSince1970: 1_704_067_200)
            try await bull.addSituations([("price war margins compressing", "Sell into price wars."), ("cloud growth", "Buy cloud leaders.")])
            let decision = AgentMemory.decisionID(ticker: "TSLA", date: date)
            let shown = try await bull.getMemories("price war margins", nMatches: 1, decisionID: decision)
            try await trader.storeDecision(ticker: "TSLA", date: date, decision: "SELL: margins compressing")
            try await trader.updateWithOutcome(ticker: "TSLA", date: date, rawReturn: -0.08, holdingDays: 5, reflection: "Right call.")
            let record = try #require(try engine.store.provenance(decisionID: decision))
            #expect(record.shown.map(\.memoryID) == shown.map(\.id) && record.shown.first?.totalCredit == 0.08)
            #expect(record.resolution?.collection == "trader_memory" && record.resolution?.action == "SELL")
        }
    }

    @Test func decisionLogLoop() async throws {
        try await withLocalEngine { engine in
            let memory = AgentMemory(collection: "invest_judge_memory", engine: engine, embedder: WordHashEmbedder())
            let day = 86_400.0
            let start = Date(timeIntervalSince1970: 1_704_067_200)
            try await memory.storeDecision(ticker: "TSLA", date: start, decision: "SELL: margins compressing",
                                           situation: "price war margins compressing deliveries slowing")
            try await memory.storeDecision(ticker: "MSFT", date: start.addingTimeInterval(day), decision: "Final: BUY on cloud growth")
            #expect(try await memory.pendingDecisions().map(\.ticker) == ["TSLA", "MSFT"])
            #expect(try await memory.getMemories("price war margins", nMatches: 3).isEmpty, "pending decisions are invisible")
            let resolved = try await memory.updateWithOutcome(ticker: "TSLA", date: start, rawReturn: -0.08, alphaReturn: -0.05,
                                                              holdingDays: 5, reflection: "Correct call: the price war hit margins.")
            #expect(resolved.status == .live && resolved.action == "SELL" && resolved.outcome == -0.08)
            #expect(resolved.knownAt == start.addingTimeInterval(5 * day))
            #expect(resolved.metadata["alpha_return"] == .number(-0.05) && resolved.metadata["holding_days"] == .number(5))
            #expect(try await memory.pendingDecisions().map(\.ticker) == ["MSFT"])
            let recalled = try await memory.getMemories("margins under pressure from a price war", nMatches: 1, ticker: "TSLA")
            #expect(recalled.first?.recommendation == "Correct call: the price war hit margins.")
            // Before the outcome was known (day 5), a back-test sees nothing.
            #expect(try await memory.getMemories("price war", nMatches: 1, asOf: start.addingTimeInterval(4 * day)).isEmpty)
            try await memory.updateWithOutcome(ticker: "MSFT", date: start.addingTimeInterval(day), rawReturn: 0.03, holdingDays: 5,
                                               reflection: "Cloud growth carried it.")
            let context = try await memory.pastContext(ticker: "TSLA", nSame: 5, nCross: 3)
            #expect(context.sameTicker.map(\.ticker) == ["TSLA"] && context.crossTicker.map(\.ticker) == ["MSFT"])
            let asOfEarly = try await memory.pastContext(ticker: "TSLA", asOf: start.addingTimeInterval(5.5 * day))
            #expect(asOfEarly.sameTicker.count == 1 && asOfEarly.crossTicker.isEmpty)
            await #expect(throws: TradingMemoryError.self) {
                try await memory.updateWithOutcome(ticker: "GOOG", date: start, rawReturn: 0, reflection: "none")
            }
        }
    }

    @Test func embedderOverHTTPWithCacheAndModelCheck() async throws {
        let calls = CallCounter()
        let server = try StubHTTPServer { request in
            let json = try! JSONSerialization.jsonObject(with: request.body) as! [String: Any]
            let inputs = json["input"] as! [String]
            calls.add(inputs.count)
            let data = inputs.enumerated().map { ["index": $0.offset, "embedding": WordHashEmbedder.vector($0.element)] as [String: Any] }
            return (200, try! JSONSerialization.data(withJSONObject: ["data": data]))
        }
        defer { server.stop() }
        try await withLocalEngine { engine in
            let embedder = OpenAICompatibleEmbedder(baseURL: server.url.appendingPathComponent("v1"), model: "remote-model", apiKey: "k")
            let memory = AgentMemory(collection: "bear_memory", engine: engine, embedder: embedder)
            try await memory.addSituations([(situation: "credit spreads widening", recommendation: "Cut leverage.")])
            for _ in 0..<5 { _ = try await memory.getMemories("credit spreads widening", nMatches: 1) }
            #expect(calls.value == 1, "the same situation is embedded once")
            #expect(server.requests.allSatisfy { $0.path == "/v1/embeddings" && $0.headers["authorization"] == "Bearer k" })
            let other = AgentMemory(collection: "bear_memory", engine: engine, embedder: WordHashEmbedder())
            await #expect(throws: TradingMemoryError.embeddingModelMismatch(collection: "bear_memory", expected: "remote-model", actual: "word-hash-64")) {
                try await other.getMemories("credit spreads widening", nMatches: 1)
            }
        }
    }

    /// A collection records the embedder's full model name (with its long-text policy); a client with
    /// another variant of the same model embeds with the recorded variant, another model is refused.
    @Test func theCollectionsRecordedVariantIsUsed() async throws {
        try await withLocalEngine { engine in
            let log = VariantLog()
            let windowed = AgentMemory(collection: "trader", engine: engine, embedder: VariantEmbedder(suffix: "+windows(overlap:8)", log: log))
            try await windowed.addSituations([(situation: "gold rallies on rate cuts", recommendation: "Hold gold.")])
            #expect(try await engine.collection("trader").configuration.embeddingModel == "base+windows(overlap:8)")

            let plain = AgentMemory(collection: "trader", engine: engine, embedder: VariantEmbedder(suffix: "", log: log))
            let matches = try await plain.getMemories("gold rallies on rate cuts", nMatches: 1)
            #expect(matches.first?.recommendation == "Hold gold.")
            #expect(log.models == ["base+windows(overlap:8)", "base+windows(overlap:8)"], "the recorded variant embedded both texts")

            let other = AgentMemory(collection: "trader", engine: engine, embedder: WordHashEmbedder())
            await #expect(throws: TradingMemoryError.embeddingModelMismatch(collection: "trader", expected: "base+windows(overlap:8)", actual: "word-hash-64")) {
                try await other.addSituations([(situation: "x", recommendation: "y")])
            }
        }
    }

    @Test func actionIsReadFromTheDecisionText() {
        #expect(DecisionDates.action(in: "FINAL TRANSACTION PROPOSAL: **BUY**") == "BUY")
        #expect(DecisionDates.action(in: "hold") == "HOLD")
        #expect(DecisionDates.action(in: "Buy or sell?") == nil)
        #expect(DecisionDates.day(Date(timeIntervalSince1970: 1_704_067_200)) == "2024-01-01")
    }
}

extension WordHashEmbedder {
    static func vector(_ text: String) -> [Float] {
        var vector = [Float](repeating: 0.001, count: 64)
        for word in text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) {
            var hash: UInt64 = 1_469_598_103_934_665_603
            for byte in word.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
            vector[Int(hash % 64)] += 1
        }
        return vector
    }
}

final class CallCounter: @unchecked Sendable {
    // Sendable: `count` is only touched under `lock`.
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.withLock { count += n } }
    var value: Int { lock.withLock { count } }
}
