public import Embedding
public import Foundation
public import TradingMemory
public import VectorIndex
import Synchronization

/// Settings of one agent's memory.
public struct AgentMemoryConfiguration: Sendable {
    /// Decay applied when a call names none (also the collection's default when it is created).
    public var decay: DecayFunction
    public var capacity: CapacityPolicy
    /// The ticker used when a call names none.
    public var ticker: String?
    /// The simulated "now" of a back-test, used when a call names none: memories known later are
    /// never returned.
    public var asOf: Date?
    /// Memories of the query's ticker come first; the rest of `nMatches` comes from the whole
    /// collection. When false, one ranking of the whole collection.
    public var preferTicker: Bool
    /// Drops matches whose cosine similarity is below this.
    public var minSimilarity: Float?
    public var index: GraphParameters

    public init(decay: DecayFunction = .none, capacity: CapacityPolicy = .unlimited, ticker: String? = nil, asOf: Date? = nil,
                preferTicker: Bool = true, minSimilarity: Float? = nil,
                index: GraphParameters = GraphParameters(m: 16, efConstruction: 200)) {
        self.decay = decay
        self.capacity = capacity
        self.ticker = ticker
        self.asOf = asOf
        self.preferTicker = preferTicker
        self.minSimilarity = minSimilarity
        self.index = index
    }
}

/// One recalled memory, with the names agent frameworks use.
public struct MemoryMatch: Sendable, Hashable {
    public var matchedSituation: String
    public var recommendation: String
    /// Cosine similarity of the situations.
    public var similarity: Float
    /// The decayed score the ranking used.
    public var score: Double
    public var ticker: String?
    public var date: Date
    public var id: MemoryID
    public var callerID: String?
    public var action: String?
    public var outcome: Double?
    /// The BM25 score of the situation's words (collections with lexical recall), and the words of
    /// the query that gave most of it: why this lesson came back.
    public var lexicalScore: Double? = nil
    public var matchedTerms: [String] = []
}

/// Past decisions for a ticker and for others, most recent first.
public struct PastContext: Sendable, Hashable {
    public var sameTicker: [Memory]
    public var crossTicker: [Memory]
}

/// The memory of one agent role (bull or bear researcher, trader, research judge, risk manager):
/// the thin client the agent runtime talks to, the same whether the engine runs in this process
/// (``LocalMemoryEngine``) or behind the HTTP server.
///
/// Texts are embedded by the configured ``Embedder``; identical texts are embedded once (wrap it in
/// ``CachingEmbedder``, as ``init(collection:engine:embedder:configuration:cacheCapacity:)`` does).
public final class AgentMemory: Sendable {
    public let collection: String
    public let engine: any MemoryEngine
    public let embedder: any Embedder
    public let configuration: AgentMemoryConfiguration
    /// The embedder chosen for the collection once it is known to exist.
    private let resolvedEmbedder = Mutex<(any Embedder)?>(nil)

    public init(collection: String, engine: any MemoryEngine, embedder: any Embedder,
                configuration: AgentMemoryConfiguration = AgentMemoryConfiguration(), cacheCapacity: Int = 10_000) {
        self.collection = collection
        self.engine = engine
        self.embedder = embedder is CachingEmbedder ? embedder : CachingEmbedder(embedder, capacity: cacheCapacity)
        self.configuration = configuration
    }

    /// Embeds `texts` with the model the collection recorded (the same weights may run with another
    /// long-text policy, see ``Embedder/embedder(forModel:)``), creating the collection with this
    /// embedder's model and dimension on first use. Text for a collection of another model is refused.
    private func vectors(_ texts: [String]) async throws -> [[Float]] {
        let chosen = try await collectionEmbedder()
        let vectors = try await chosen.embedder.embed(texts)
        guard vectors.count == texts.count else {
            throw EmbeddingError.malformedResponse("\(vectors.count) vectors for \(texts.count) texts")
        }
        if !chosen.collectionExists, let first = vectors.first {
            let info = try await ensureCollection(dimension: first.count)
            try checkModel(info)
            resolvedEmbedder.withLock { $0 = chosen.embedder }
        }
        return vectors
    }

    /// The embedder for the collection, and whether the collection exists yet.
    private func collectionEmbedder() async throws -> (embedder: any Embedder, collectionExists: Bool) {
        if let resolved = resolvedEmbedder.withLock({ $0 }) { return (resolved, true) }
        let info: CollectionInfo
        do {
            info = try await engine.collection(collection)
        } catch TradingMemoryError.unknownCollection {
            return (embedder, false)
        }
        var chosen = embedder
        if let model = info.configuration.embeddingModel {
            guard let variant = embedder.embedder(forModel: model) else {
                throw TradingMemoryError.embeddingModelMismatch(collection: collection, expected: model, actual: embedder.model)
            }
            chosen = variant
        }
        resolvedEmbedder.withLock { $0 = chosen }
        return (chosen, true)
    }

    /// Creates the collection on first use, with the embedder's dimension and model name.
    @discardableResult
    public func ensureCollection(dimension: Int) async throws -> CollectionInfo {
        try await engine.getOrCreateCollection(collection, configuration: CollectionConfiguration(
            dimension: dimension, embeddingModel: embedder.model, decay: configuration.decay, capacity: configuration.capacity,
            index: configuration.index, lexical: .standard))
    }

    private func checkModel(_ info: CollectionInfo) throws {
        if let model = info.configuration.embeddingModel, embedder.embedder(forModel: model) == nil {
            throw TradingMemoryError.embeddingModelMismatch(collection: collection, expected: model, actual: embedder.model)
        }
    }

    // MARK: Situations and lessons

    /// Stores (situation, recommendation) pairs: the situation is embedded, the recommendation is
    /// the lesson returned with it.
    @discardableResult
    public func addSituations(_ pairs: [(situation: String, recommendation: String)], ticker: String? = nil,
                              date: Date? = nil) async throws -> [MemoryID] {
        guard !pairs.isEmpty else { return [] }
        let vectors = try await vectors(pairs.map(\.situation))
        let time = date ?? configuration.asOf ?? Date()
        let memories = zip(pairs, vectors).map { pair, vector in
            NewMemory(ticker: ticker ?? configuration.ticker, time: time, situation: pair.situation, reflection: pair.recommendation,
                      vector: vector)
        }
        return try await engine.add(memories, to: collection, upsert: false)
    }

    /// The `nMatches` past situations most like `situation`, best first. With a ticker, that
    /// ticker's memories come first and the rest is filled from the whole collection. With a
    /// `decisionID` (``decisionID(ticker:date:)`` for the log's decisions) what is returned is
    /// recorded as that decision's provenance and credited when the decision is resolved.
    public func getMemories(_ situation: String, nMatches: Int = 1, ticker: String? = nil, asOf: Date? = nil,
                            decay: DecayFunction? = nil, decisionID: String? = nil) async throws -> [MemoryMatch] {
        guard nMatches > 0 else { return [] }
        let vector = try await vectors([situation])[0]
        let ticker = ticker ?? configuration.ticker
        let mode: RecallMode = ticker != nil && configuration.preferTicker
            ? .tickerThenGlobal(kTicker: nMatches, kGlobal: nMatches) : .global
        // The text goes along: a collection with lexical recall ranks by words and vectors together.
        let query = RecallQuery(vector: vector, k: nMatches, ticker: ticker, mode: mode, asOf: asOf ?? configuration.asOf,
                                decay: decay, minSimilarity: configuration.minSimilarity, text: situation, decisionID: decisionID)
        let results = try await engine.recall([query], in: collection)[0]
        return results.prefix(nMatches).map { result in
            MemoryMatch(matchedSituation: result.memory.situation, recommendation: result.memory.reflection,
                        similarity: result.similarity, score: result.score, ticker: result.memory.ticker, date: result.memory.time,
                        id: result.memory.id, callerID: result.memory.callerID, action: result.memory.action,
                        outcome: result.memory.outcome, lexicalScore: result.lexicalScore, matchedTerms: result.matchedTerms)
        }
    }

    // MARK: Decision log

    /// The caller id of the decision for `ticker` on `date`.
    public static func decisionID(ticker: String, date: Date) -> String {
        "decision:\(ticker):\(DecisionDates.day(date))"
    }

    /// Records today's decision for `ticker` as pending: no query sees it until
    /// ``updateWithOutcome(ticker:date:rawReturn:alphaReturn:holdingDays:reflection:knownAt:)``.
    /// The situation (or, without one, the decision text) is what later queries match against.
    @discardableResult
    public func storeDecision(ticker: String, date: Date, decision: String, situation: String? = nil) async throws -> MemoryID {
        let text = situation ?? decision
        let vector = try await vectors([text])[0]
        let memory = NewMemory(callerID: Self.decisionID(ticker: ticker, date: date), ticker: ticker, time: date, situation: text,
                               reflection: "", action: DecisionDates.action(in: decision),
                               metadata: ["decision": .string(decision)], vector: vector)
        return try await engine.recordDecision(memory, in: collection)
    }

    /// Resolves the pending decision for (`ticker`, `date`) with its realised return and the
    /// reflection written about it. It becomes known at `knownAt`, by default `date` plus
    /// `holdingDays` (when the outcome was observable), else now.
    @discardableResult
    public func updateWithOutcome(ticker: String, date: Date, rawReturn: Double, alphaReturn: Double? = nil, holdingDays: Int? = nil,
                                  reflection: String, knownAt: Date? = nil) async throws -> Memory {
        let callerID = Self.decisionID(ticker: ticker, date: date)
        guard let id = try await engine.memoryID(callerID: callerID, in: collection) else {
            throw TradingMemoryError.unknownMemory(callerID)
        }
        let known = knownAt ?? holdingDays.map { date.addingTimeInterval(Double($0) * 86_400) } ?? Date()
        _ = try await engine.resolve(id, in: collection, outcome: rawReturn, reflection: reflection, knownAt: known, quality: nil)
        var metadata: [String: MetadataValue] = ["raw_return": .number(rawReturn)]
        if let alphaReturn { metadata["alpha_return"] = .number(alphaReturn) }
        if let holdingDays { metadata["holding_days"] = .number(Double(holdingDays)) }
        return try await engine.update(id, in: collection, MemoryUpdate(metadata: metadata))
    }

    /// Decisions still waiting for their outcome, oldest first.
    public func pendingDecisions() async throws -> [Memory] {
        do { return try await engine.pendingDecisions(in: collection) } catch TradingMemoryError.unknownCollection { return [] }
    }

    /// The `nSame` most recent resolved decisions for `ticker` and the `nCross` most recent for
    /// other tickers, known as of `asOf`.
    public func pastContext(ticker: String, nSame: Int = 5, nCross: Int = 3, asOf: Date? = nil) async throws -> PastContext {
        let asOf = asOf ?? configuration.asOf
        do {
            let same = try await engine.recentMemories(in: collection, ticker: ticker, excludingTicker: nil, limit: nSame, asOf: asOf)
            let cross = try await engine.recentMemories(in: collection, ticker: nil, excludingTicker: ticker, limit: nCross, asOf: asOf)
            return PastContext(sameTicker: same, crossTicker: cross)
        } catch TradingMemoryError.unknownCollection {
            return PastContext(sameTicker: [], crossTicker: [])
        }
    }

    /// The number of live memories (0 before the collection exists).
    public func count() async throws -> Int {
        do { return try await engine.collection(collection).count } catch TradingMemoryError.unknownCollection { return 0 }
    }

    /// Deletes every memory, keeping the collection.
    @discardableResult
    public func clear() async throws -> Int {
        do { return try await engine.removeAllMemories(from: collection) } catch TradingMemoryError.unknownCollection { return 0 }
    }
}

/// Dates and actions of decisions.
public enum DecisionDates {
    /// `yyyy-MM-dd` in UTC.
    public static func day(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    /// BUY, SELL or HOLD when the decision text names exactly one of them (as a word, any case).
    public static func action(in decision: String) -> String? {
        let words = Set(decision.uppercased().split { !$0.isLetter }.map(String.init))
        let found = ["BUY", "SELL", "HOLD"].filter { words.contains($0) }
        return found.count == 1 ? found[0] : nil
    }
}
