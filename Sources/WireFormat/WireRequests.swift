public import FastJSON
public import Foundation
public import TradingMemory
public import VectorIndex

/// `POST /v1/collections/{name}/memories`.
public struct AddMemoriesRequest: Decodable, Sendable {
    public var memories: [WireNewMemory]
    public var upsert: Bool?
    public init(memories: [WireNewMemory], upsert: Bool? = nil) {
        self.memories = memories
        self.upsert = upsert
    }
}

/// A filter in JSON (the `where` of queries and deletes).
public struct WireFilter: Codable, Hashable, Sendable {
    public struct Condition: Codable, Hashable, Sendable {
        public var key: String
        public var op: MetadataCondition.Operator?
        public var value: MetadataValue?
        public var values: [MetadataValue]?
    }

    public var tickers: [String]?
    public var actions: [String]?
    public var timeFrom: WireDate?
    public var timeBefore: WireDate?
    public var outcomeMin: Double?
    public var outcomeMax: Double?
    public var metadata: [Condition]?

    enum CodingKeys: String, CodingKey {
        case tickers, actions, timeFrom = "time_from", timeBefore = "time_before", outcomeMin = "outcome_min", outcomeMax = "outcome_max", metadata
    }

    public init(tickers: [String]? = nil, actions: [String]? = nil, timeFrom: Date? = nil, timeBefore: Date? = nil,
                outcomeMin: Double? = nil, outcomeMax: Double? = nil) {
        self.tickers = tickers
        self.actions = actions
        self.timeFrom = timeFrom.map(WireDate.init)
        self.timeBefore = timeBefore.map(WireDate.init)
        self.outcomeMin = outcomeMin
        self.outcomeMax = outcomeMax
    }

    public init(_ filter: MemoryFilter) {
        tickers = filter.tickers.map { $0.sorted() }
        actions = filter.actions.map { $0.sorted() }
        timeFrom = filter.timeFrom.map(WireDate.init)
        timeBefore = filter.timeBefore.map(WireDate.init)
        outcomeMin = filter.outcomeMin
        outcomeMax = filter.outcomeMax
        metadata = filter.metadata.isEmpty ? nil : filter.metadata.map {
            Condition(key: $0.key, op: $0.op, value: $0.value, values: $0.values)
        }
    }

    public func filter() throws -> MemoryFilter {
        var conditions: [MetadataCondition] = []
        for condition in metadata ?? [] {
            let op = condition.op ?? .equal
            if op == .oneOf {
                guard let values = condition.values else { throw TradingMemoryError.invalidArgument("metadata condition 'in' needs values") }
                conditions.append(MetadataCondition(key: condition.key, oneOf: values))
            } else {
                guard let value = condition.value else { throw TradingMemoryError.invalidArgument("metadata condition on '\(condition.key)' needs a value") }
                conditions.append(MetadataCondition(key: condition.key, op, value))
            }
        }
        return MemoryFilter(tickers: tickers.map(Set.init), actions: actions.map(Set.init), timeFrom: timeFrom?.date,
                            timeBefore: timeBefore?.date, outcomeMin: outcomeMin, outcomeMax: outcomeMax, metadata: conditions)
    }
}

/// `POST /v1/collections/{name}/query`: one or several query vectors (or texts, embedded by the
/// server's embedder) with every option of a recall.
public struct QueryRequest: Codable, Sendable {
    public var vectors: [[Float]]?
    public var texts: [String]?
    public var k: Int?
    public var ticker: String?
    /// `ticker`, `global`, `ticker_then_global` or `merged`.
    public var mode: String?
    public var kTicker: Int?
    public var kGlobal: Int?
    public var tickerBoost: Double?
    public var asOf: WireDate?
    public var decay: WireDecay?
    public var minSimilarity: Float?
    public var weightByQuality: Bool?
    public var `where`: WireFilter?
    public var ef: Int?
    /// `dense`, `lexical` or `hybrid` (default: the collection's, for text queries; dense for vectors).
    public var retrieval: Retrieval?
    /// Also return statistics over this many most similar resolved memories (``AnalogueStatistics``).
    public var analogues: Int?
    /// Weight the analogues' hit rate and mean by similarity.
    public var analoguesWeighted: Bool?
    /// The decision these recalls inform: what they return is recorded as its provenance (the query writes).
    public var decisionID: String?
    /// `false`: score without the collection's credit.
    public var credit: Bool?

    enum CodingKeys: String, CodingKey {
        case vectors, texts, k, ticker, mode, kTicker = "k_ticker", kGlobal = "k_global", tickerBoost = "ticker_boost", asOf = "as_of",
             decay, minSimilarity = "min_similarity", weightByQuality = "weight_by_quality", `where`, ef, retrieval, analogues,
             analoguesWeighted = "analogues_weighted", decisionID = "decision_id", credit
    }

    public init(vectors: [[Float]]? = nil, texts: [String]? = nil, k: Int? = nil) {
        self.vectors = vectors
        self.texts = texts
        self.k = k
    }

    /// The request for `query` (its vector sent as `vectors[0]`).
    public init(_ query: RecallQuery) {
        vectors = [query.vector]
        k = query.k
        ticker = query.ticker
        switch query.mode {
        case .ticker: mode = "ticker"
        case .global: mode = "global"
        case .tickerThenGlobal(let kTicker, let kGlobal):
            mode = "ticker_then_global"
            self.kTicker = kTicker
            self.kGlobal = kGlobal
        case .merged(let boost):
            mode = "merged"
            tickerBoost = boost
        }
        asOf = query.asOf.map(WireDate.init)
        decay = query.decay.map(WireDecay.init)
        minSimilarity = query.minSimilarity
        weightByQuality = query.weightByQuality
        self.where = query.filter.map(WireFilter.init)
        ef = query.ef
        retrieval = query.retrieval
        decisionID = query.decisionID
        credit = query.useCredit ? nil : false
        // The vector is used as it is; the text goes beside it for lexical recall.
        texts = query.text.map { [$0] }
    }

    /// The queries of the request: one per vector, with the text it was embedded from when the
    /// request sent texts (`texts[i]` for `vectors[i]`).
    public func recallQueries(vectors: [[Float]]) throws -> [RecallQuery] {
        let k = self.k ?? 5
        let mode: RecallMode
        switch self.mode ?? (ticker == nil ? "global" : "ticker_then_global") {
        case "ticker": mode = .ticker
        case "global": mode = .global
        case "ticker_then_global": mode = .tickerThenGlobal(kTicker: kTicker ?? k, kGlobal: kGlobal ?? k)
        case "merged": mode = .merged(tickerBoost: tickerBoost ?? 1)
        case let other: throw TradingMemoryError.invalidArgument("mode must be ticker, global, ticker_then_global or merged, not '\(other)'")
        }
        let decay = try self.decay?.decayFunction()
        let filter = try self.where?.filter()
        return vectors.enumerated().map { index, vector in
            RecallQuery(vector: vector, k: k, ticker: ticker, mode: mode, asOf: asOf?.date, decay: decay, minSimilarity: minSimilarity,
                        weightByQuality: weightByQuality ?? false, filter: filter, ef: ef,
                        text: texts.flatMap { index < $0.count ? $0[index] : nil }, retrieval: retrieval,
                        decisionID: decisionID, useCredit: credit ?? true)
        }
    }
}

/// The answer to a query: one result list per query vector (and, when asked, each query's analogue statistics).
public struct QueryResponse: Decodable, Sendable {
    public var results: [[WireRecallResult]]
    public var analogues: [WireAnalogues]?
    public init(results: [[WireRecallResult]], analogues: [WireAnalogues]? = nil) {
        self.results = results
        self.analogues = analogues
    }
}

/// ``AnalogueStatistics`` in JSON: `{"count", "weighted", "all": Group, "by_action": [Group]}`, a Group
/// being `{"action", "outcome": Distribution, "alpha": Distribution}` and a Distribution
/// `{"count", "hit_rate", "mean", "median", "p10", "p90"}`.
public struct WireAnalogues: Decodable, Sendable, Hashable {
    public struct Distribution: Codable, Sendable, Hashable {
        public var count: Int
        public var hitRate: Double
        public var mean: Double
        public var median: Double
        public var p10: Double
        public var p90: Double
        enum CodingKeys: String, CodingKey { case count, hitRate = "hit_rate", mean, median, p10, p90 }

        init(_ distribution: AnalogueStatistics.Distribution) {
            count = distribution.count
            hitRate = distribution.hitRate
            mean = distribution.mean
            median = distribution.median
            p10 = distribution.p10
            p90 = distribution.p90
        }
    }

    public struct Group: Codable, Sendable, Hashable {
        public var action: String?
        public var outcome: Distribution
        public var alpha: Distribution?
    }

    public var count: Int
    public var weighted: Bool
    public var all: Group?
    public var byAction: [Group]
    enum CodingKeys: String, CodingKey { case count, weighted, all, byAction = "by_action" }

    public init(_ statistics: AnalogueStatistics) {
        func group(_ group: AnalogueStatistics.Group) -> Group {
            Group(action: group.action, outcome: Distribution(group.outcome), alpha: group.alpha.map(Distribution.init))
        }
        count = statistics.count
        weighted = statistics.weighted
        all = statistics.all.map(group)
        byAction = statistics.byAction.map(group)
    }
}

extension WireAnalogues: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        func distribution(_ key: String, _ value: Distribution?) {
            guard let value else { return }
            writer.key(key)
            writer.beginObject()
            writer.key("count"); writer.number(value.count)
            writer.key("hit_rate"); writer.number(value.hitRate)
            writer.key("mean"); writer.number(value.mean)
            writer.key("median"); writer.number(value.median)
            writer.key("p10"); writer.number(value.p10)
            writer.key("p90"); writer.number(value.p90)
            writer.endObject()
        }
        func group(_ value: Group) {
            writer.beginObject()
            writer.field("action", value.action)
            distribution("outcome", value.outcome)
            distribution("alpha", value.alpha)
            writer.endObject()
        }
        writer.beginObject()
        writer.key("count"); writer.number(count)
        writer.key("weighted"); writer.bool(weighted)
        if let all { writer.key("all"); group(all) }
        writer.key("by_action")
        writer.beginArray()
        for value in byAction { group(value) }
        writer.endArray()
        writer.endObject()
    }
}

/// `POST /v1/collections/{name}/decisions/{id}/resolve`.
public struct ResolveRequest: Codable, Sendable {
    public var outcome: Double?
    public var reflection: String
    public var knownAt: WireDate?
    public var quality: Double?
    public var metadata: [String: MetadataValue]?

    enum CodingKeys: String, CodingKey { case outcome, reflection, knownAt = "known_at", quality, metadata }

    public init(outcome: Double?, reflection: String, knownAt: Date?, quality: Double?, metadata: [String: MetadataValue]? = nil) {
        self.outcome = outcome
        self.reflection = reflection
        self.knownAt = knownAt.map(WireDate.init)
        self.quality = quality
        self.metadata = metadata
    }
}

/// `PATCH /v1/collections/{name}/memories/{id}`.
public struct UpdateRequest: Codable, Sendable {
    public var reflection: String?
    public var action: String?
    public var outcome: Double?
    public var quality: Double?
    public var metadata: [String: MetadataValue]?
    public var removeMetadataKeys: [String]?

    enum CodingKeys: String, CodingKey { case reflection, action, outcome, quality, metadata, removeMetadataKeys = "remove_metadata_keys" }

    public init(_ update: MemoryUpdate) {
        reflection = update.reflection
        action = update.action
        outcome = update.outcome
        quality = update.quality
        metadata = update.metadata
        removeMetadataKeys = update.removeMetadataKeys.isEmpty ? nil : update.removeMetadataKeys
    }

    public var update: MemoryUpdate {
        MemoryUpdate(reflection: reflection, action: action, outcome: outcome, quality: quality, metadata: metadata,
                     removeMetadataKeys: removeMetadataKeys ?? [])
    }
}

/// `POST /v1/collections/{name}/memories/delete`: exactly one of caller ids, engine ids, a filter
/// that names at least one condition, or `"all": true`.
public struct DeleteRequest: Codable, Sendable {
    public var callerIDs: [String]?
    public var engineIDs: [UInt32]?
    public var `where`: WireFilter?
    /// Deletes every memory of the collection; the only way to do so with this request.
    public var all: Bool?

    enum CodingKeys: String, CodingKey { case callerIDs = "caller_ids", engineIDs = "engine_ids", `where`, all }

    public init(callerIDs: [String]? = nil, engineIDs: [UInt32]? = nil, where filter: WireFilter? = nil, all: Bool? = nil) {
        self.callerIDs = callerIDs
        self.engineIDs = engineIDs
        self.where = filter
        self.all = all
    }

    /// What the request deletes.
    public enum Selection: Sendable {
        case callerIDs([String])
        case engineIDs([UInt32])
        case matching(MemoryFilter)
        case all
    }

    /// The one selection the request makes.
    /// - Throws: ``TradingMemoryError/invalidArgument(_:)`` when it makes none or several, when
    ///   `all` is not `true`, or when the filter names no condition (it would match every memory).
    public func selection() throws -> Selection {
        let given = [callerIDs != nil, engineIDs != nil, self.where != nil, all != nil].filter { $0 }.count
        guard given == 1 else {
            throw TradingMemoryError.invalidArgument("give exactly one of caller_ids, engine_ids, where and \"all\": true")
        }
        if let callerIDs { return .callerIDs(callerIDs) }
        if let engineIDs { return .engineIDs(engineIDs) }
        if let all {
            guard all else { throw TradingMemoryError.invalidArgument("\"all\" deletes every memory and takes only true") }
            return .all
        }
        let filter = try self.where!.filter()
        guard !filter.isEmpty else {
            throw TradingMemoryError.invalidArgument("an empty filter would match every memory; send \"all\": true to delete them all")
        }
        return .matching(filter)
    }
}

/// `POST /v1/embed`.
public struct EmbedRequest: Codable, Sendable {
    public var texts: [String]
    public init(texts: [String]) { self.texts = texts }
}

/// The answer to `POST /v1/embed` and `hindsight embed --json`: the model, the vectors' dimension,
/// one vector per text, in order.
public struct EmbedResponse: Codable, Sendable {
    public var model: String
    public var dimension: Int
    public var embeddings: [[Float]]
    public init(model: String, embeddings: [[Float]]) {
        self.model = model
        self.dimension = embeddings.first?.count ?? 0
        self.embeddings = embeddings
    }
}

/// The answer to `GET /v1/embedder`.
public struct EmbedderResponse: Codable, Sendable {
    public var model: String
    public var dimension: Int
    public init(model: String, dimension: Int) {
        self.model = model
        self.dimension = dimension
    }
}

/// Error bodies: `{"error": {"code": …, "message": …}}`.
public struct WireError: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var code: String
        public var message: String
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }
    public var error: Detail
    public init(error: Detail) { self.error = error }
}

/// Memory lists: `{"memories": […]}`, `{"pending": […]}`.
public struct MemoriesResponse: Decodable, Sendable {
    public var memories: [WireMemory]?
    public var pending: [WireMemory]?
    public init(memories: [WireMemory]? = nil, pending: [WireMemory]? = nil) {
        self.memories = memories
        self.pending = pending
    }
}

extension MemoriesResponse: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if let memories { writer.key("memories"); memories.write(to: &writer) }
        if let pending { writer.key("pending"); pending.write(to: &writer) }
        writer.endObject()
    }
}

extension QueryResponse: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("results")
        results.write(to: &writer)
        if let analogues {
            writer.key("analogues")
            writer.beginArray()
            for value in analogues { value.write(to: &writer) }
            writer.endArray()
        }
        writer.endObject()
    }
}

extension AddMemoriesRequest: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("memories")
        memories.write(to: &writer)
        if let upsert { writer.key("upsert"); writer.bool(upsert) }
        writer.endObject()
    }
}

