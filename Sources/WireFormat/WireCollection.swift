public import Foundation
public import TradingMemory
public import VectorIndex

/// A decay function in JSON: `{"half_life": "90d"}` or `{"shape": "gauss", "scale": "30d", "midpoint": 0.5, "offset": "7d"}`,
/// optionally with `"calendar": "XNYS"` (or `"XSHG"`, `"auto"`, a loaded calendar's name): ages in
/// that exchange's sessions, a session counting as a day.
public struct WireDecay: Codable, Hashable, Sendable {
    public var shape: DecayFunction.Shape?
    public var halfLife: WireDuration?
    public var scale: WireDuration?
    public var midpoint: Double?
    public var offset: WireDuration?
    public var calendar: String?

    enum CodingKeys: String, CodingKey { case shape, halfLife = "half_life", scale, midpoint, offset, calendar }

    public init(_ decay: DecayFunction) {
        shape = decay.shape
        scale = WireDuration(seconds: decay.scale)
        midpoint = decay.midpoint
        offset = WireDuration(seconds: decay.offset)
        calendar = decay.calendar
    }

    public init(shape: DecayFunction.Shape? = nil, halfLife: Double? = nil, scale: Double? = nil, midpoint: Double? = nil, offset: Double? = nil,
                calendar: String? = nil) {
        self.shape = shape
        self.halfLife = halfLife.map(WireDuration.init(seconds:))
        self.scale = scale.map(WireDuration.init(seconds:))
        self.midpoint = midpoint
        self.offset = offset.map(WireDuration.init(seconds:))
        self.calendar = calendar
    }

    public func decayFunction() throws -> DecayFunction {
        var decay: DecayFunction
        if let halfLife {
            guard shape == nil || shape == .exp else { throw TradingMemoryError.invalidArgument("half_life goes with shape exp") }
            decay = DecayFunction.halfLife(halfLife.seconds)
            decay.offset = offset?.seconds ?? 0
        } else {
            let shape = shape ?? .none
            if shape == .none { return .none }
            guard let scale else { throw TradingMemoryError.invalidArgument("decay shape \(shape.rawValue) needs a scale or a half_life") }
            decay = DecayFunction(shape: shape, scale: scale.seconds, midpoint: midpoint ?? 0.5, offset: offset?.seconds ?? 0)
        }
        decay.calendar = calendar
        _ = try decay.marketCalendar(ticker: nil)  // an unknown calendar is refused here, with the names known
        return decay
    }
}

/// Per-kind decay in JSON: `{"news": {"half_life": "10d"}, "annual": {…}}`, or the preset `"finmem"`
/// (``CollectionConfiguration/finMemKindDecay``). Written back as the object.
public struct WireKindDecay: Codable, Hashable, Sendable {
    public var decays: [String: WireDecay]

    public init(_ decays: [String: DecayFunction]) { self.decays = decays.mapValues(WireDecay.init) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let preset = try? container.decode(String.self) {
            guard preset == "finmem" else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "kind_decay is an object of decays by kind, or \"finmem\"")
            }
            decays = CollectionConfiguration.finMemKindDecay.mapValues(WireDecay.init)
        } else {
            decays = try container.decode([String: WireDecay].self)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(decays)
    }

    public func functions() throws -> [String: DecayFunction] { try decays.mapValues { try $0.decayFunction() } }
}

/// Capacity limits in JSON.
public struct WireCapacity: Codable, Hashable, Sendable {
    public var maxMemories: Int?
    public var maxPerTicker: Int?
    public var maxAge: WireDuration?
    public var eviction: EvictionOrder?

    enum CodingKeys: String, CodingKey { case maxMemories = "max_memories", maxPerTicker = "max_per_ticker", maxAge = "max_age", eviction }

    public init(_ policy: CapacityPolicy) {
        maxMemories = policy.maxMemories
        maxPerTicker = policy.maxPerTicker
        maxAge = policy.maxAgeSeconds.map(WireDuration.init(seconds:))
        eviction = policy.eviction
    }

    public var policy: CapacityPolicy {
        CapacityPolicy(maxMemories: maxMemories, maxPerTicker: maxPerTicker, maxAgeSeconds: maxAge?.seconds, eviction: eviction ?? .oldestFirst)
    }
}

/// A collection's settings in JSON: the body of `POST /v1/collections` and `PUT /v1/collections/{name}`,
/// and the settings part of an export's collection line.
public struct WireCollectionSettings: Codable, Hashable, Sendable {
    public var name: String?
    public var dimension: Int
    public var embeddingModel: String?
    public var decay: WireDecay?
    public var capacity: WireCapacity?
    public var m: Int?
    public var efConstruction: Int?
    public var searchEf: Int?
    /// The level generator's seed (exports carry it, so that a restored graph is rebuilt alike).
    public var seed: UInt64?
    /// Return the existing collection instead of 409 when the name is taken.
    public var getOrCreate: Bool?
    /// Lexical recall: absent — on (with the standard settings) for a collection of text, that is one
    /// with an `embedding_model`, off otherwise; `false` — off; `true` or an object — on.
    public var lexical: WireLexical?
    /// Each kind's own decay (memories of other kinds, or none, get `decay`).
    public var kindDecay: WireKindDecay?
    /// Scoring with decisions' credit: `{"beta": 0.2, "scale": 0.05}` (absent: without).
    public var credit: CreditSettings?
    /// What the graphs' search walk compares: `"f32"`, `"int8"` or `"bf16"` (absent: the library's default).
    public var walk: WalkPrecision?

    enum CodingKeys: String, CodingKey {
        case name, dimension, embeddingModel = "embedding_model", decay, capacity, m, efConstruction = "ef_construction",
             searchEf = "search_ef", seed, getOrCreate = "get_or_create", lexical, kindDecay = "kind_decay", credit, walk
    }

    public init(name: String?, configuration: CollectionConfiguration, getOrCreate: Bool? = nil, includeSeed: Bool = false) {
        self.name = name
        dimension = configuration.dimension
        embeddingModel = configuration.embeddingModel
        decay = WireDecay(configuration.decay)
        capacity = WireCapacity(configuration.capacity)
        m = configuration.index.m
        efConstruction = configuration.index.efConstruction
        searchEf = configuration.searchEf
        seed = includeSeed ? configuration.index.seed : nil
        self.getOrCreate = getOrCreate
        lexical = WireLexical(configuration.lexical)
        kindDecay = configuration.kindDecay.flatMap { $0.isEmpty ? nil : WireKindDecay($0) }
        credit = configuration.credit
        walk = configuration.index.walk
    }

    public func configuration() throws -> CollectionConfiguration {
        var index = GraphParameters(m: m ?? 16, efConstruction: efConstruction ?? 200)
        if let seed { index.seed = seed }
        if let walk { index.walk = walk }
        let lexical = try self.lexical.map { try $0.settings() } ?? (embeddingModel != nil ? LexicalSettings.standard : nil)
        return CollectionConfiguration(dimension: dimension, embeddingModel: embeddingModel, decay: try decay?.decayFunction() ?? .none,
                                       capacity: capacity?.policy ?? .unlimited, index: index, searchEf: searchEf ?? 64, lexical: lexical,
                                       kindDecay: try kindDecay?.functions(), credit: credit)
    }
}

/// A collection's lexical settings in JSON: `false`, `true`, or
/// `{"k1": 1.2, "b": 0.75, "rrf_k": 60, "window": 100, "retrieval": "hybrid"}` (each key optional).
public enum WireLexical: Codable, Hashable, Sendable {
    case off
    case on(k1: Double?, b: Double?, rrfK: Double?, denseWeight: Double?, window: Int?, retrieval: Retrieval?)

    enum CodingKeys: String, CodingKey { case k1, b, rrfK = "rrf_k", denseWeight = "dense_weight", window, retrieval }

    public init(_ settings: LexicalSettings?) {
        guard let settings else {
            self = .off
            return
        }
        self = .on(k1: settings.k1, b: settings.b, rrfK: settings.rrfK, denseWeight: settings.denseWeight, window: settings.window,
                   retrieval: settings.retrieval)
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let flag = try? single.decode(Bool.self) {
            self = flag ? .on(k1: nil, b: nil, rrfK: nil, denseWeight: nil, window: nil, retrieval: nil) : .off
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self = .on(k1: try container.decodeIfPresent(Double.self, forKey: .k1), b: try container.decodeIfPresent(Double.self, forKey: .b),
                   rrfK: try container.decodeIfPresent(Double.self, forKey: .rrfK),
                   denseWeight: try container.decodeIfPresent(Double.self, forKey: .denseWeight),
                   window: try container.decodeIfPresent(Int.self, forKey: .window),
                   retrieval: try container.decodeIfPresent(Retrieval.self, forKey: .retrieval))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .off:
            var single = encoder.singleValueContainer()
            try single.encode(false)
        case .on(let k1, let b, let rrfK, let denseWeight, let window, let retrieval):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(k1, forKey: .k1)
            try container.encodeIfPresent(b, forKey: .b)
            try container.encodeIfPresent(rrfK, forKey: .rrfK)
            try container.encodeIfPresent(denseWeight, forKey: .denseWeight)
            try container.encodeIfPresent(window, forKey: .window)
            try container.encodeIfPresent(retrieval, forKey: .retrieval)
        }
    }

    /// The settings (nil: off), defaults filled in.
    public func settings() throws -> LexicalSettings? {
        guard case .on(let k1, let b, let rrfK, let denseWeight, let window, let retrieval) = self else { return nil }
        let standard = LexicalSettings.standard
        return LexicalSettings(k1: k1 ?? standard.k1, b: b ?? standard.b, rrfK: rrfK ?? standard.rrfK,
                               denseWeight: denseWeight ?? standard.denseWeight, window: window ?? standard.window,
                               retrieval: retrieval ?? standard.retrieval)
    }
}

/// A collection in responses (HTTP and `hindsight collection list --json`).
public struct WireCollection: Codable, Hashable, Sendable {
    public var name: String
    public var dimension: Int
    public var embeddingModel: String?
    public var count: Int
    public var pending: Int
    public var tickers: [String: Int]
    public var created: WireDate
    public var decay: WireDecay
    public var capacity: WireCapacity
    public var m: Int
    public var efConstruction: Int
    public var searchEf: Int
    public var lexical: WireLexical?
    public var kindDecay: WireKindDecay?
    public var credit: CreditSettings?
    /// The graphs' walk precision (absent from servers that predate it: f32).
    public var walk: WalkPrecision?

    enum CodingKeys: String, CodingKey {
        case name, dimension, embeddingModel = "embedding_model", count, pending, tickers, created, decay, capacity, m,
             efConstruction = "ef_construction", searchEf = "search_ef", lexical, kindDecay = "kind_decay", credit, walk
    }

    public init(_ info: CollectionInfo) {
        name = info.name
        dimension = info.configuration.dimension
        embeddingModel = info.configuration.embeddingModel
        count = info.count
        pending = info.pending
        tickers = info.tickers
        created = WireDate(info.created)
        decay = WireDecay(info.configuration.decay)
        capacity = WireCapacity(info.configuration.capacity)
        m = info.configuration.index.m
        efConstruction = info.configuration.index.efConstruction
        searchEf = info.configuration.searchEf
        lexical = WireLexical(info.configuration.lexical)
        kindDecay = info.configuration.kindDecay.flatMap { $0.isEmpty ? nil : WireKindDecay($0) }
        credit = info.configuration.credit
        walk = info.configuration.index.walk
    }

    public var info: CollectionInfo {
        CollectionInfo(name: name, configuration: CollectionConfiguration(
            dimension: dimension, embeddingModel: embeddingModel, decay: (try? decay.decayFunction()) ?? .none,
            capacity: capacity.policy, index: GraphParameters(m: m, efConstruction: efConstruction, walk: walk ?? .f32), searchEf: searchEf,
            lexical: (try? lexical?.settings()) ?? nil, kindDecay: try? kindDecay?.functions(), credit: credit),
            created: created.date, count: count, pending: pending, tickers: tickers)
    }
}
