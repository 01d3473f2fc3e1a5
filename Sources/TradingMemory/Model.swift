public import Foundation
public import Lexical
public import VectorIndex

/// A memory's engine-assigned id: unique in its collection and never reused.
public struct MemoryID: RawRepresentable, Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(UInt32.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
    var vectorID: VectorID { VectorID(rawValue: rawValue) }
}

/// A flat metadata value: a string, a number or a boolean.
public enum MetadataValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "metadata values are strings, numbers or booleans")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        }
    }

    public var description: String {
        switch self {
        case .string(let value): value
        case .number(let value): value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .bool(let value): String(value)
        }
    }
}

/// A memory to add: a market situation, the lesson learned from it, and its vector.
public struct NewMemory: Sendable, Hashable {
    /// The caller id: the caller's name for the memory, unique in the collection (optional).
    public var callerID: String?
    /// The ticker the memory is about; nil for a market-wide memory.
    public var ticker: String?
    /// The date of the situation.
    public var time: Date
    /// When the reflection became known (the outcome was observed); defaults to `time`. A query
    /// `asOf` an earlier date never sees this memory.
    public var knownAt: Date?
    /// The market situation (reports, news, fundamentals): any length, stored whole.
    public var situation: String
    /// The reflection or recommendation written once the outcome was known.
    public var reflection: String
    /// The action taken: BUY, SELL, HOLD or free text.
    public var action: String?
    /// The realised return.
    public var outcome: Double?
    /// A quality weight in [0, 1].
    public var quality: Double?
    /// Flat metadata.
    public var metadata: [String: MetadataValue]
    /// The embedding of the situation.
    public var vector: [Float]
    /// Near-duplicates already merged into this memory (kept by export and import).
    public var reinforcements: Int = 0
    /// What kind of memory it is (`news`, `quarterly`, `annual`, `reflection`, …): a collection may
    /// decay each kind its own way (``CollectionConfiguration/kindDecay``).
    public var kind: String?

    public init(callerID: String? = nil, ticker: String? = nil, time: Date, knownAt: Date? = nil, situation: String,
                reflection: String, action: String? = nil, outcome: Double? = nil, quality: Double? = nil,
                metadata: [String: MetadataValue] = [:], vector: [Float], kind: String? = nil) {
        self.kind = kind
        self.callerID = callerID
        self.ticker = ticker
        self.time = time
        self.knownAt = knownAt
        self.situation = situation
        self.reflection = reflection
        self.action = action
        self.outcome = outcome
        self.quality = quality
        self.metadata = metadata
        self.vector = vector
    }
}

/// A stored memory.
public struct Memory: Sendable, Hashable {
    /// Whether the memory answers queries.
    public enum Status: String, Sendable, Hashable, Codable {
        /// Resolved: returned by queries.
        case live
        /// A decision waiting for its outcome: never returned by a query until resolved.
        case pending
    }

    public var id: MemoryID
    public var callerID: String?
    public var ticker: String?
    public var time: Date
    public var knownAt: Date
    public var situation: String
    public var reflection: String
    public var action: String?
    public var outcome: Double?
    public var quality: Double?
    public var metadata: [String: MetadataValue]
    public var status: Status
    /// How many near-duplicates were merged into this memory by consolidation.
    public var reinforcements: Int

    /// Its kind (``NewMemory/kind``), or nil.
    public var kind: String?

    public init(id: MemoryID, callerID: String?, ticker: String?, time: Date, knownAt: Date, situation: String, reflection: String,
                action: String?, outcome: Double?, quality: Double?, metadata: [String: MetadataValue], status: Status, reinforcements: Int,
                kind: String? = nil) {
        self.kind = kind
        self.id = id
        self.callerID = callerID
        self.ticker = ticker
        self.time = time
        self.knownAt = knownAt
        self.situation = situation
        self.reflection = reflection
        self.action = action
        self.outcome = outcome
        self.quality = quality
        self.metadata = metadata
        self.status = status
        self.reinforcements = reinforcements
    }
}

/// How strongly age discounts a memory: `score = cosine × decay(age)`, `age = (asOf or now) − time`
/// clamped at 0. Parameters have Qdrant's and Milvus's meaning: at `age = offset + scale` the
/// factor is `midpoint`; within `offset` it is 1.
public struct DecayFunction: Hashable, Sendable, Codable {
    public enum Shape: String, Hashable, Sendable, Codable, CaseIterable {
        /// No decay: the factor is always 1.
        case none
        /// `midpoint ^ (x / scale)`.
        case exp
        /// `midpoint ^ (x² / scale²)`.
        case gauss
        /// `max(0, 1 − (1 − midpoint) · x / scale)`.
        case linear
    }

    public var shape: Shape
    /// The age, in seconds, at which the factor equals `midpoint` (beyond `offset`).
    public var scale: Double
    /// The factor at `age = offset + scale`, in (0, 1).
    public var midpoint: Double
    /// An age, in seconds, within which nothing decays.
    public var offset: Double
    /// When set, ages are counted in trading sessions of this ``MarketCalendar`` (each session
    /// counting as one day, so `scale` and `offset` of 5 days mean 5 sessions) instead of seconds;
    /// `"auto"` picks the calendar of the query's ticker by its suffix (``MarketCalendar/forTicker(_:)``).
    public var calendar: String?

    public init(shape: Shape, scale: Double = 86_400 * 30, midpoint: Double = 0.5, offset: Double = 0, calendar: String? = nil) {
        self.shape = shape
        self.scale = scale
        self.midpoint = midpoint
        self.offset = offset
        self.calendar = calendar
    }

    /// The calendar whose sessions measure ages for a query about `ticker`, or nil for seconds.
    public func marketCalendar(ticker: String?) throws -> MarketCalendar? {
        guard let calendar, shape != .none else { return nil }
        if calendar == "auto" { return MarketCalendar.forTicker(ticker) }
        guard let found = MarketCalendar.named(calendar) else {
            throw TradingMemoryError.invalidArgument("unknown calendar '\(calendar.prefix(40))' (known: \(MarketCalendar.names.joined(separator: ", ")), or auto; load others from a calendar file)")
        }
        return found
    }

    /// No decay.
    public static let none = DecayFunction(shape: .none)

    /// Exponential decay that halves every `seconds`.
    public static func halfLife(_ seconds: Double) -> DecayFunction { DecayFunction(shape: .exp, scale: seconds, midpoint: 0.5) }

    /// The factor for an age in seconds, in [0, 1].
    public func factor(age: Double) -> Double {
        let x = max(0, age - offset)
        switch shape {
        case .none: return 1
        case .exp: return x == 0 ? 1 : Foundation.exp(Foundation.log(midpoint) * x / scale)
        case .gauss: return x == 0 ? 1 : Foundation.exp(Foundation.log(midpoint) * x * x / (scale * scale))
        case .linear: return max(0, 1 - (1 - midpoint) * x / scale)
        }
    }

    func validate() throws {
        guard shape == .none || (scale.isFinite && scale > 0 && scale <= TimeBounds.longestDurationSeconds) else {
            throw TradingMemoryError.invalidArgument("decay scale must be a positive number of seconds, at most 10000 years")
        }
        guard shape == .none || (midpoint > 0 && midpoint < 1) else {
            throw TradingMemoryError.invalidArgument("decay midpoint must be between 0 and 1 (exclusive)")
        }
        try TimeBounds.check(durationSeconds: offset, "decay offset")
        _ = try marketCalendar(ticker: nil)
    }
}

/// Which memories go first when a collection or a ticker is over capacity.
public enum EvictionOrder: String, Hashable, Sendable, Codable {
    /// The oldest situations first.
    case oldestFirst = "oldest-first"
    /// The lowest quality first (a memory without quality counts 0.5), then the oldest.
    case lowestScore = "lowest-score"
}

/// Bounds on a collection's size, applied in the same transaction as the insert that passes them.
public struct CapacityPolicy: Hashable, Sendable, Codable {
    /// The most live memories in the collection.
    public var maxMemories: Int?
    /// The most live memories per ticker.
    public var maxPerTicker: Int?
    /// The oldest a memory may be, in seconds, relative to the newest memory in the collection.
    public var maxAgeSeconds: Double?
    public var eviction: EvictionOrder

    public init(maxMemories: Int? = nil, maxPerTicker: Int? = nil, maxAgeSeconds: Double? = nil, eviction: EvictionOrder = .oldestFirst) {
        self.maxMemories = maxMemories
        self.maxPerTicker = maxPerTicker
        self.maxAgeSeconds = maxAgeSeconds
        self.eviction = eviction
    }

    /// No bounds.
    public static let unlimited = CapacityPolicy()

    func validate() throws {
        if let max = maxMemories, max < 1 { throw TradingMemoryError.invalidArgument("maxMemories must be at least 1") }
        if let max = maxPerTicker, max < 1 { throw TradingMemoryError.invalidArgument("maxPerTicker must be at least 1") }
        if let age = maxAgeSeconds {
            guard age > 0 else { throw TradingMemoryError.invalidArgument("maxAgeSeconds must be positive") }
            try TimeBounds.check(durationSeconds: age, "maxAgeSeconds")
        }
    }
}

/// A collection's fixed settings.
public struct CollectionConfiguration: Hashable, Sendable, Codable {
    /// The dimension of every vector.
    public var dimension: Int
    /// The embedding model the vectors come from (a label; text embedded with another model is refused).
    public var embeddingModel: String?
    /// The decay applied when a query names none.
    public var decay: DecayFunction
    public var capacity: CapacityPolicy
    /// HNSW parameters of the collection's graphs.
    public var index: GraphParameters
    /// The default search candidate list size.
    public var searchEf: Int
    /// Lexical recall (a BM25 index of the situations beside the vectors), or nil: vectors only.
    /// Collections stored before it existed decode as nil.
    public var lexical: LexicalSettings?
    /// The decay of memories of each kind (memories of other kinds, or none, get ``decay``); nil
    /// or empty: one decay for all. A query that names a decay applies it to every kind.
    public var kindDecay: [String: DecayFunction]?
    /// Scoring with the credit that resolved decisions gave the memories they were shown
    /// (``CreditSettings``), or nil: scores ignore credit (it is still recorded).
    public var credit: CreditSettings?

    public init(dimension: Int, embeddingModel: String? = nil, decay: DecayFunction = .none, capacity: CapacityPolicy = .unlimited,
                index: GraphParameters = GraphParameters(m: 16, efConstruction: 200), searchEf: Int = 64, lexical: LexicalSettings? = nil,
                kindDecay: [String: DecayFunction]? = nil, credit: CreditSettings? = nil) {
        self.credit = credit
        self.kindDecay = kindDecay
        self.dimension = dimension
        self.embeddingModel = embeddingModel
        self.decay = decay
        self.capacity = capacity
        self.index = index
        self.searchEf = searchEf
        self.lexical = lexical
    }

    func validate() throws {
        guard (1...65_536).contains(dimension) else { throw TradingMemoryError.invalidArgument("dimension must be between 1 and 65536") }
        guard (1...10_000).contains(searchEf) else { throw TradingMemoryError.invalidArgument("searchEf must be between 1 and 10000") }
        try decay.validate()
        try capacity.validate()
        try lexical?.validate()
        try credit?.validate()
        for (kind, function) in kindDecay ?? [:] {
            try NewMemory.validateKind(kind)
            do { try function.validate() } catch { throw TradingMemoryError.invalidArgument("the decay of kind '\(kind)': \(error)") }
        }
        guard (kindDecay ?? [:]).count <= Self.maxKinds else {
            throw TradingMemoryError.invalidArgument("at most \(Self.maxKinds) kinds per collection")
        }
    }

    /// Kinds a collection may have (their codes fill 8 bits of a memory's attribute row).
    public static let maxKinds = 255

    /// FinMem's three memory layers as kinds, its recency score `e^(−δ/Q)` with δ in days:
    /// `news` Q = 14 days, `quarterly` Q = 90, `annual` and `reflection` Q = 365 (Yu et al., "FinMem",
    /// arXiv:2311.13743, with the horizons the project's issue gives: shallow, intermediate, deep).
    public static let finMemKindDecay: [String: DecayFunction] = {
        func recency(_ days: Double) -> DecayFunction { DecayFunction(shape: .exp, scale: days * 86_400, midpoint: Foundation.exp(-1)) }
        return ["news": recency(14), "quarterly": recency(90), "annual": recency(365), "reflection": recency(365)]
    }()
}

extension NewMemory {
    /// A kind is 1 to 32 letters, digits, `_`, `-` or `.`.
    static func validateKind(_ kind: String) throws {
        guard !kind.isEmpty, kind.count <= 32, kind.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else {
            throw TradingMemoryError.invalidArgument("a kind is 1 to 32 letters, digits, '_', '-' or '.', not '\(kind.prefix(40))'")
        }
    }
}

/// How a query ranks memories.
public enum Retrieval: String, Hashable, Sendable, Codable, CaseIterable {
    /// By the decayed cosine similarity of the situation vectors.
    case dense
    /// By the decayed BM25 score of the situations' words.
    case lexical
    /// Both rankings fused by reciprocal rank (see ``LexicalSettings``).
    case hybrid
}

/// A collection's lexical index and how its rankings are fused with the vectors'.
///
/// Hybrid recall ranks the top ``window`` of the dense ranking and of the lexical ranking (each
/// with decay, quality and boost applied) and fuses them by weighted reciprocal rank:
/// `fused(m) = denseWeight / (rrfK + rank_dense(m)) + 1 / (rrfK + rank_lexical(m))`, rank from 1, a
/// memory absent from a ranking adding nothing; ties go to the higher cosine similarity, then the lower id.
public struct LexicalSettings: Hashable, Sendable, Codable {
    /// BM25's term-frequency saturation.
    public var k1: Double
    /// BM25's length normalisation.
    public var b: Double
    /// The reciprocal-rank constant: 10 by default (60 in the original paper; measured on long
    /// situations, a smaller constant lets the first lexical ranks lead — docs/benchmarks.md).
    public var rrfK: Double
    /// The weight of the dense ranking in the fusion (the lexical one weighs 1): 0.25 by default,
    /// because the vectors of a sentence model see only the start of a long situation.
    public var denseWeight: Double
    /// How deep each ranking is read before fusing (at least the query's k).
    public var window: Int
    /// The retrieval of a query that names none (and has a text).
    public var retrieval: Retrieval
    /// The version of the tokenizer the index was built with.
    public var tokenizer: Int

    public init(k1: Double = 1.2, b: Double = 0.75, rrfK: Double = 10, denseWeight: Double = 0.25, window: Int = 100, retrieval: Retrieval = .hybrid,
                tokenizer: Int = LexicalTokenizer.version) {
        self.k1 = k1
        self.b = b
        self.rrfK = rrfK
        self.denseWeight = denseWeight
        self.window = window
        self.retrieval = retrieval
        self.tokenizer = tokenizer
    }

    public static let standard = LexicalSettings()

    func validate() throws {
        guard k1.isFinite, k1 >= 0, k1 <= 100 else { throw TradingMemoryError.invalidArgument("lexical k1 must be between 0 and 100") }
        guard b.isFinite, b >= 0, b <= 1 else { throw TradingMemoryError.invalidArgument("lexical b must be between 0 and 1") }
        guard rrfK.isFinite, rrfK >= 0, rrfK <= 10_000 else { throw TradingMemoryError.invalidArgument("lexical rrf_k must be between 0 and 10000") }
        guard denseWeight.isFinite, denseWeight >= 0, denseWeight <= 100 else {
            throw TradingMemoryError.invalidArgument("lexical dense_weight must be between 0 and 100")
        }
        guard (1...10_000).contains(window) else { throw TradingMemoryError.invalidArgument("lexical window must be between 1 and 10000") }
        guard tokenizer == LexicalTokenizer.version else {
            throw TradingMemoryError.invalidArgument("lexical tokenizer version \(tokenizer) is unknown (this build has \(LexicalTokenizer.version))")
        }
    }
}

/// Facts about a collection.
public struct CollectionInfo: Hashable, Sendable {
    public var name: String
    public var configuration: CollectionConfiguration
    public var created: Date
    /// Live (resolved) memories.
    public var count: Int
    /// Pending decisions.
    public var pending: Int
    /// Tickers with a layer, and their live memories.
    public var tickers: [String: Int]

    public init(name: String, configuration: CollectionConfiguration, created: Date, count: Int, pending: Int, tickers: [String: Int]) {
        self.name = name
        self.configuration = configuration
        self.created = created
        self.count = count
        self.pending = pending
        self.tickers = tickers
    }
}

/// Which layers a query ranks.
public enum RecallMode: Hashable, Sendable {
    /// The ticker's layer only.
    case ticker
    /// The whole collection.
    case global
    /// The best `kTicker` of the ticker's layer, then the best `kGlobal` of the collection that are
    /// not already returned.
    case tickerThenGlobal(kTicker: Int, kGlobal: Int)
    /// One ranking of the whole collection; memories of the query's ticker have their score
    /// multiplied by `tickerBoost` (1 for none).
    case merged(tickerBoost: Double)
}

/// The layer a result came from.
public enum Layer: String, Hashable, Sendable, Codable {
    case ticker
    case global
}

/// A recall query.
public struct RecallQuery: Sendable {
    public var vector: [Float]
    public var k: Int
    public var ticker: String?
    public var mode: RecallMode
    /// The simulated "now": memories known after it are never returned, and ages are measured
    /// from it. Nil means the current time.
    public var asOf: Date?
    /// Overrides the collection's default decay.
    public var decay: DecayFunction?
    /// Drops results whose cosine similarity is below this.
    public var minSimilarity: Float?
    /// Multiplies scores by the memory's quality (1 when it has none).
    public var weightByQuality: Bool
    public var filter: MemoryFilter?
    /// Overrides the collection's search candidate list size.
    public var ef: Int?
    /// The query's text, for lexical and hybrid retrieval.
    public var text: String?
    /// Overrides the collection's retrieval (dense when the collection has no lexical index or the
    /// query no text).
    public var retrieval: Retrieval?
    /// The decision this recall informs: the store records which memories it returned, stamped with
    /// ``asOf``, and credits them when the decision is resolved (``TradingMemoryStore/creditDecision(_:outcome:action:credit:knownAt:)``,
    /// or resolving a pending decision whose caller id this is). Nil: the recall writes nothing.
    public var decisionID: String?
    /// Whether scores count the collection's credit (``CollectionConfiguration/credit``); false
    /// scores as if no decision had been resolved.
    public var useCredit: Bool = true

    public init(vector: [Float], k: Int, ticker: String? = nil, mode: RecallMode = .global, asOf: Date? = nil,
                decay: DecayFunction? = nil, minSimilarity: Float? = nil, weightByQuality: Bool = false,
                filter: MemoryFilter? = nil, ef: Int? = nil, text: String? = nil, retrieval: Retrieval? = nil,
                decisionID: String? = nil, useCredit: Bool = true) {
        self.decisionID = decisionID
        self.useCredit = useCredit
        self.text = text
        self.retrieval = retrieval
        self.vector = vector
        self.k = k
        self.ticker = ticker
        self.mode = mode
        self.asOf = asOf
        self.decay = decay
        self.minSimilarity = minSimilarity
        self.weightByQuality = weightByQuality
        self.filter = filter
        self.ef = ef
    }
}

/// One recalled memory with its cosine similarity and decayed score.
public struct RecallResult: Sendable, Hashable {
    public var memory: Memory
    /// Cosine similarity of the memory's situation vector to the query.
    public var similarity: Float
    /// Dense: `similarity × decay(age) [× quality] [× ticker boost]`; lexical: the same with the
    /// BM25 score for the similarity; hybrid: the fused reciprocal-rank score.
    public var score: Double
    public var layer: Layer
    /// The memory's BM25 score for the query's text (lexical and hybrid retrieval; nil when its
    /// situation shares no term with the query, or for dense retrieval).
    public var lexicalScore: Double?
    /// The query terms that contributed most to ``lexicalScore``, largest first (at most 8).
    public var matchedTerms: [String]

    public init(memory: Memory, similarity: Float, score: Double, layer: Layer, lexicalScore: Double? = nil, matchedTerms: [String] = []) {
        self.memory = memory
        self.similarity = similarity
        self.score = score
        self.layer = layer
        self.lexicalScore = lexicalScore
        self.matchedTerms = matchedTerms
    }
}
