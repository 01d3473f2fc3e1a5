public import FastJSON
public import Foundation
public import TradingMemory
public import VectorIndex

/// A duration in JSON: seconds, or a string such as `"90d"`, `"12h"`, `"2w"`.
public struct DurationJSON: Codable, Hashable, Sendable {
    public var seconds: Double
    public init(seconds: Double) { self.seconds = seconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self), seconds.isFinite, seconds >= 0 {
            self.seconds = seconds
        } else if let text = try? container.decode(String.self), let seconds = RecordFormat.parseDuration(text) {
            self.seconds = seconds
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected seconds or a duration such as \"90d\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(seconds)
    }
}

/// A decay function in JSON: `{"half_life": "90d"}` or `{"shape": "gauss", "scale": "30d", "midpoint": 0.5, "offset": "7d"}`.
public struct DecayJSON: Codable, Hashable, Sendable {
    public var shape: DecayFunction.Shape?
    public var half_life: DurationJSON?
    public var scale: DurationJSON?
    public var midpoint: Double?
    public var offset: DurationJSON?

    public init(_ decay: DecayFunction) {
        shape = decay.shape
        scale = DurationJSON(seconds: decay.scale)
        midpoint = decay.midpoint
        offset = DurationJSON(seconds: decay.offset)
    }

    public init(shape: DecayFunction.Shape? = nil, halfLife: Double? = nil, scale: Double? = nil, midpoint: Double? = nil, offset: Double? = nil) {
        self.shape = shape
        half_life = halfLife.map(DurationJSON.init(seconds:))
        self.scale = scale.map(DurationJSON.init(seconds:))
        self.midpoint = midpoint
        self.offset = offset.map(DurationJSON.init(seconds:))
    }

    public func decayFunction() throws -> DecayFunction {
        if let halfLife = half_life {
            guard shape == nil || shape == .exp else { throw TradingMemoryError.invalidArgument("half_life goes with shape exp") }
            var decay = DecayFunction.halfLife(halfLife.seconds)
            decay.offset = offset?.seconds ?? 0
            return decay
        }
        let shape = shape ?? .none
        if shape == .none { return .none }
        guard let scale else { throw TradingMemoryError.invalidArgument("decay shape \(shape.rawValue) needs a scale or a half_life") }
        return DecayFunction(shape: shape, scale: scale.seconds, midpoint: midpoint ?? 0.5, offset: offset?.seconds ?? 0)
    }
}

/// Capacity limits in JSON.
public struct CapacityJSON: Codable, Hashable, Sendable {
    public var max_memories: Int?
    public var max_per_ticker: Int?
    public var max_age: DurationJSON?
    public var eviction: EvictionOrder?

    public init(_ policy: CapacityPolicy) {
        max_memories = policy.maxMemories
        max_per_ticker = policy.maxPerTicker
        max_age = policy.maxAgeSeconds.map(DurationJSON.init(seconds:))
        eviction = policy.eviction
    }

    public var policy: CapacityPolicy {
        CapacityPolicy(maxMemories: max_memories, maxPerTicker: max_per_ticker, maxAgeSeconds: max_age?.seconds, eviction: eviction ?? .oldestFirst)
    }
}

/// `POST /v1/collections` and `PUT /v1/collections/{name}`.
public struct CreateCollectionRequest: Codable, Sendable {
    public var name: String?
    public var dimension: Int
    public var embedding_model: String?
    public var decay: DecayJSON?
    public var capacity: CapacityJSON?
    public var m: Int?
    public var ef_construction: Int?
    public var search_ef: Int?
    /// Return the existing collection instead of 409 when the name is taken.
    public var get_or_create: Bool?

    public init(name: String?, configuration: CollectionConfiguration, getOrCreate: Bool? = nil) {
        self.name = name
        dimension = configuration.dimension
        embedding_model = configuration.embeddingModel
        decay = DecayJSON(configuration.decay)
        capacity = CapacityJSON(configuration.capacity)
        m = configuration.index.m
        ef_construction = configuration.index.efConstruction
        search_ef = configuration.searchEf
        get_or_create = getOrCreate
    }

    public func configuration() throws -> CollectionConfiguration {
        CollectionConfiguration(dimension: dimension, embeddingModel: embedding_model, decay: try decay?.decayFunction() ?? .none,
                                capacity: capacity?.policy ?? .unlimited,
                                index: GraphParameters(m: m ?? 16, efConstruction: ef_construction ?? 200), searchEf: search_ef ?? 64)
    }
}

/// A collection in responses.
public struct CollectionResponse: Codable, Hashable, Sendable {
    public var name: String
    public var dimension: Int
    public var embedding_model: String?
    public var count: Int
    public var pending: Int
    public var tickers: [String: Int]
    public var created: FlexibleDate
    public var decay: DecayJSON
    public var capacity: CapacityJSON
    public var m: Int
    public var ef_construction: Int
    public var search_ef: Int

    public init(_ info: CollectionInfo) {
        name = info.name
        dimension = info.configuration.dimension
        embedding_model = info.configuration.embeddingModel
        count = info.count
        pending = info.pending
        tickers = info.tickers
        created = FlexibleDate(info.created)
        decay = DecayJSON(info.configuration.decay)
        capacity = CapacityJSON(info.configuration.capacity)
        m = info.configuration.index.m
        ef_construction = info.configuration.index.efConstruction
        search_ef = info.configuration.searchEf
    }

    public var info: CollectionInfo {
        CollectionInfo(name: name, configuration: CollectionConfiguration(
            dimension: dimension, embeddingModel: embedding_model, decay: (try? decay.decayFunction()) ?? .none,
            capacity: capacity.policy, index: GraphParameters(m: m, efConstruction: ef_construction), searchEf: search_ef),
            created: created.date, count: count, pending: pending, tickers: tickers)
    }
}

/// `POST /v1/collections/{name}/memories`.
public struct AddMemoriesRequest: Codable, Sendable {
    public var memories: [MemoryRecordJSON]
    public var upsert: Bool?
    public init(memories: [MemoryRecordJSON], upsert: Bool? = nil) {
        self.memories = memories
        self.upsert = upsert
    }
}

/// A filter in JSON (the `where` of queries and deletes).
public struct FilterJSON: Codable, Hashable, Sendable {
    public struct MetadataConditionJSON: Codable, Hashable, Sendable {
        public var key: String
        public var op: MetadataCondition.Operator?
        public var value: MetadataValue?
        public var values: [MetadataValue]?
    }

    public var tickers: [String]?
    public var actions: [String]?
    public var time_from: FlexibleDate?
    public var time_before: FlexibleDate?
    public var outcome_min: Double?
    public var outcome_max: Double?
    public var metadata: [MetadataConditionJSON]?

    public init(tickers: [String]? = nil, actions: [String]? = nil, timeFrom: Date? = nil, timeBefore: Date? = nil,
                outcomeMin: Double? = nil, outcomeMax: Double? = nil) {
        self.tickers = tickers
        self.actions = actions
        time_from = timeFrom.map(FlexibleDate.init)
        time_before = timeBefore.map(FlexibleDate.init)
        outcome_min = outcomeMin
        outcome_max = outcomeMax
    }

    public init(_ filter: MemoryFilter) {
        tickers = filter.tickers.map { $0.sorted() }
        actions = filter.actions.map { $0.sorted() }
        time_from = filter.timeFrom.map(FlexibleDate.init)
        time_before = filter.timeBefore.map(FlexibleDate.init)
        outcome_min = filter.outcomeMin
        outcome_max = filter.outcomeMax
        metadata = filter.metadata.isEmpty ? nil : filter.metadata.map {
            MetadataConditionJSON(key: $0.key, op: $0.op, value: $0.value, values: $0.values)
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
        return MemoryFilter(tickers: tickers.map(Set.init), actions: actions.map(Set.init), timeFrom: time_from?.date,
                            timeBefore: time_before?.date, outcomeMin: outcome_min, outcomeMax: outcome_max, metadata: conditions)
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
    public var k_ticker: Int?
    public var k_global: Int?
    public var ticker_boost: Double?
    public var as_of: FlexibleDate?
    public var decay: DecayJSON?
    public var min_similarity: Float?
    public var weight_by_quality: Bool?
    public var `where`: FilterJSON?
    public var ef: Int?

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
            k_ticker = kTicker
            k_global = kGlobal
        case .merged(let boost):
            mode = "merged"
            ticker_boost = boost
        }
        as_of = query.asOf.map(FlexibleDate.init)
        decay = query.decay.map(DecayJSON.init)
        min_similarity = query.minSimilarity
        weight_by_quality = query.weightByQuality
        self.where = query.filter.map(FilterJSON.init)
        ef = query.ef
    }

    public func recallQueries(vectors: [[Float]]) throws -> [RecallQuery] {
        let k = self.k ?? 5
        let mode: RecallMode
        switch self.mode ?? (ticker == nil ? "global" : "ticker_then_global") {
        case "ticker": mode = .ticker
        case "global": mode = .global
        case "ticker_then_global": mode = .tickerThenGlobal(kTicker: k_ticker ?? k, kGlobal: k_global ?? k)
        case "merged": mode = .merged(tickerBoost: ticker_boost ?? 1)
        case let other: throw TradingMemoryError.invalidArgument("mode must be ticker, global, ticker_then_global or merged, not '\(other)'")
        }
        let decay = try self.decay?.decayFunction()
        let filter = try self.where?.filter()
        return vectors.map { vector in
            RecallQuery(vector: vector, k: k, ticker: ticker, mode: mode, asOf: as_of?.date, decay: decay, minSimilarity: min_similarity,
                        weightByQuality: weight_by_quality ?? false, filter: filter, ef: ef)
        }
    }
}

/// The answer to a query: one result list per query vector.
public struct QueryResponse: Codable, Sendable {
    public var results: [[RecallResultJSON]]
    public init(results: [[RecallResultJSON]]) { self.results = results }
}

/// `POST /v1/collections/{name}/decisions/{id}/resolve`.
public struct ResolveRequest: Codable, Sendable {
    public var outcome: Double?
    public var reflection: String
    public var known_at: FlexibleDate?
    public var quality: Double?
    public var metadata: [String: MetadataValue]?

    public init(outcome: Double?, reflection: String, knownAt: Date?, quality: Double?, metadata: [String: MetadataValue]? = nil) {
        self.outcome = outcome
        self.reflection = reflection
        known_at = knownAt.map(FlexibleDate.init)
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
    public var remove_metadata_keys: [String]?

    public init(_ update: MemoryUpdate) {
        reflection = update.reflection
        action = update.action
        outcome = update.outcome
        quality = update.quality
        metadata = update.metadata
        remove_metadata_keys = update.removeMetadataKeys.isEmpty ? nil : update.removeMetadataKeys
    }

    public var update: MemoryUpdate {
        MemoryUpdate(reflection: reflection, action: action, outcome: outcome, quality: quality, metadata: metadata,
                     removeMetadataKeys: remove_metadata_keys ?? [])
    }
}

/// `POST /v1/collections/{name}/memories/delete`: by ids (caller or engine ids), or by filter.
public struct DeleteRequest: Codable, Sendable {
    public var ids: [String]?
    public var `where`: FilterJSON?
}

/// `POST /v1/embed`.
public struct EmbedRequest: Codable, Sendable {
    public var texts: [String]
    public init(texts: [String]) { self.texts = texts }
}

/// The answer to `POST /v1/embed`.
public struct EmbedResponse: Codable, Sendable {
    public var model: String
    public var embeddings: [[Float]]
    public init(model: String, embeddings: [[Float]]) {
        self.model = model
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
public struct ErrorResponse: Codable, Sendable {
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
public struct MemoriesResponse: Codable, Sendable {
    public var memories: [MemoryJSON]?
    public var pending: [MemoryJSON]?
}

// MARK: - Fast writing of the hot responses

extension MetadataValue: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        switch self {
        case .string(let value): writer.string(value)
        case .number(let value): writer.number(value)
        case .bool(let value): writer.bool(value)
        }
    }
}

extension MemoryJSON: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writeFields(to: &writer)
        writer.endObject()
    }

    /// The fields without the braces (results add theirs beside them).
    func writeFields(to writer: inout JSONWriter) {
        writer.field("action", action)
        writer.field("caller_id", caller_id)
        writer.key("engine_id"); writer.number(Int(engine_id))
        writer.key("id"); writer.string(id)
        writer.key("known_at"); writer.string(RecordFormat.format(known_at.date))
        writer.key("metadata")
        writer.beginObject()
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            writer.key(key)
            value.write(to: &writer)
        }
        writer.endObject()
        writer.field("outcome", outcome)
        writer.field("quality", quality)
        writer.key("reflection"); writer.string(reflection)
        writer.key("reinforcements"); writer.number(reinforcements)
        writer.key("situation"); writer.string(situation)
        writer.key("status"); writer.string(status.rawValue)
        writer.field("ticker", ticker)
        writer.key("time"); writer.string(RecordFormat.format(time.date))
    }
}

extension RecallResultJSON: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        memory.writeFields(to: &writer)
        writer.key("layer"); writer.string(layer.rawValue)
        writer.key("score"); writer.number(score)
        writer.key("similarity"); writer.number(similarity)
        writer.endObject()
    }
}

extension QueryResponse: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("results")
        results.write(to: &writer)
        writer.endObject()
    }
}
