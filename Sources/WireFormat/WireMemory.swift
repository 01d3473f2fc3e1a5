public import FastJSON
public import Foundation
public import TradingMemory

/// A memory to add, in JSON: a line of `hindsight add --jsonl`, an element of an HTTP add, the
/// memory part of an export line (docs/records.md). `id` is the caller id.
public struct WireNewMemory: Decodable, Hashable, Sendable {
    /// The caller id: unique in the collection, chosen by the caller.
    public var callerID: String?
    public var ticker: String?
    public var time: WireDate
    public var knownAt: WireDate?
    public var situation: String
    public var reflection: String?
    public var action: String?
    public var outcome: Double?
    public var quality: Double?
    public var metadata: [String: MetadataValue]?
    /// The situation's embedding; when absent, the engine embeds `situation` with the collection's model.
    public var vector: [Float]?
    /// `pending` records a decision without outcome (invisible to queries until resolved).
    public var status: Memory.Status?
    /// Near-duplicates merged into the memory (exports carry it; adds may leave it out).
    public var reinforcements: Int?
    /// The memory's kind (`news`, `quarterly`, `annual`, `reflection`, …), for a collection's per-kind decay.
    public var kind: String?

    enum CodingKeys: String, CodingKey {
        case callerID = "id", ticker, time, knownAt = "known_at", situation, reflection, action, outcome, quality, metadata, vector,
             status, reinforcements, kind
    }

    public init(callerID: String? = nil, ticker: String? = nil, time: Date, knownAt: Date? = nil, situation: String, reflection: String? = nil,
                action: String? = nil, outcome: Double? = nil, quality: Double? = nil, metadata: [String: MetadataValue]? = nil,
                vector: [Float]? = nil, status: Memory.Status? = nil, reinforcements: Int? = nil, kind: String? = nil) {
        self.kind = kind
        self.callerID = callerID
        self.ticker = ticker
        self.time = WireDate(time)
        self.knownAt = knownAt.map(WireDate.init)
        self.situation = situation
        self.reflection = reflection
        self.action = action
        self.outcome = outcome
        self.quality = quality
        self.metadata = metadata
        self.vector = vector
        self.status = status
        self.reinforcements = reinforcements
    }

    /// The wire form of `memory` (an export line's memory part), with its vector.
    public init(_ memory: Memory, vector: [Float]) {
        self.init(callerID: memory.callerID, ticker: memory.ticker, time: memory.time, knownAt: memory.knownAt, situation: memory.situation,
                  reflection: memory.reflection, action: memory.action, outcome: memory.outcome, quality: memory.quality,
                  metadata: memory.metadata, vector: vector, status: memory.status, reinforcements: memory.reinforcements, kind: memory.kind)
    }

    /// The memory to add, with `vector` (this record's, or one computed by the caller).
    public func newMemory(vector: [Float]) -> NewMemory {
        var memory = NewMemory(callerID: callerID, ticker: ticker, time: time.date, knownAt: knownAt?.date, situation: situation,
                               reflection: reflection ?? "", action: action, outcome: outcome, quality: quality, metadata: metadata ?? [:],
                               vector: vector, kind: kind)
        memory.reinforcements = reinforcements ?? 0
        return memory
    }
}

/// A stored memory in JSON (query results, memory lists, HTTP responses).
///
/// `engineID` is the id the engine assigned (unique in the collection, never reused); `callerID` the
/// caller's. `id` repeats the caller id, or the engine id as a string when there is none: one key for
/// clients that show a single id.
public struct WireMemory: Decodable, Hashable, Sendable {
    public var id: String
    public var engineID: UInt32
    public var callerID: String?
    public var ticker: String?
    public var time: WireDate
    public var knownAt: WireDate
    public var situation: String
    public var reflection: String
    public var action: String?
    public var outcome: Double?
    public var quality: Double?
    public var metadata: [String: MetadataValue]
    public var status: Memory.Status
    public var reinforcements: Int
    /// Written only when the memory has one.
    public var kind: String?

    enum CodingKeys: String, CodingKey {
        case id, engineID = "engine_id", callerID = "caller_id", ticker, time, knownAt = "known_at", situation, reflection, action,
             outcome, quality, metadata, status, reinforcements, kind
    }

    public init(_ memory: Memory) {
        id = memory.callerID ?? memory.id.description
        engineID = memory.id.rawValue
        callerID = memory.callerID
        ticker = memory.ticker
        time = WireDate(memory.time)
        knownAt = WireDate(memory.knownAt)
        situation = memory.situation
        reflection = memory.reflection
        action = memory.action
        outcome = memory.outcome
        quality = memory.quality
        metadata = memory.metadata
        status = memory.status
        reinforcements = memory.reinforcements
        kind = memory.kind
    }

    /// The memory this describes.
    public var memory: Memory {
        Memory(id: MemoryID(rawValue: engineID), callerID: callerID, ticker: ticker, time: time.date, knownAt: knownAt.date,
               situation: situation, reflection: reflection, action: action, outcome: outcome, quality: quality, metadata: metadata,
               status: status, reinforcements: reinforcements, kind: kind)
    }
}

/// A recall result in JSON: the memory's fields with `similarity`, `score` and `layer` beside them.
public struct WireRecallResult: Decodable, Hashable, Sendable {
    public var memory: WireMemory
    public var similarity: Float
    public var score: Double
    public var layer: Layer
    /// BM25 score (lexical and hybrid retrieval), and the query terms that gave most of it.
    public var lexicalScore: Double?
    public var matchedTerms: [String]?

    enum CodingKeys: String, CodingKey { case similarity, score, layer, lexicalScore = "lexical_score", matchedTerms = "matched_terms" }

    public init(_ result: RecallResult) {
        memory = WireMemory(result.memory)
        similarity = result.similarity
        score = result.score
        layer = result.layer
        lexicalScore = result.lexicalScore
        matchedTerms = result.matchedTerms.isEmpty ? nil : result.matchedTerms
    }

    public init(from decoder: any Decoder) throws {
        memory = try WireMemory(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        similarity = try container.decode(Float.self, forKey: .similarity)
        score = try container.decode(Double.self, forKey: .score)
        layer = try container.decode(Layer.self, forKey: .layer)
        lexicalScore = try container.decodeIfPresent(Double.self, forKey: .lexicalScore)
        matchedTerms = try container.decodeIfPresent([String].self, forKey: .matchedTerms)
    }

    /// The result this describes.
    public var result: RecallResult {
        RecallResult(memory: memory.memory, similarity: similarity, score: score, layer: layer, lexicalScore: lexicalScore,
                     matchedTerms: matchedTerms ?? [])
    }
}

// MARK: - Writing
// Memories are written by one serialiser, JSONWriter (docs/decisions/0001-json-writer.md says why):
// the same bytes go to HTTP responses, `--json` output and exports.

extension MetadataValue: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        switch self {
        case .string(let value): writer.string(value)
        case .number(let value): writer.number(value)
        case .bool(let value): writer.bool(value)
        }
    }
}

extension JSONWriter {
    /// Writes a metadata object, its keys sorted.
    mutating func metadata(_ metadata: [String: MetadataValue]) {
        beginObject()
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            self.key(key)
            value.write(to: &self)
        }
        endObject()
    }

    mutating func time(_ key: String, _ date: WireDate?) {
        guard let date else { return }
        self.key(key)
        string(WireTime.format(date.date))
    }
}

extension WireMemory: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writeFields(to: &writer)
        writer.endObject()
    }

    /// The fields without the braces (results add theirs beside them), keys in sorted order.
    func writeFields(to writer: inout JSONWriter) {
        writer.field(CodingKeys.action.rawValue, action)
        writer.field(CodingKeys.callerID.rawValue, callerID)
        writer.key(CodingKeys.engineID.rawValue); writer.number(Int(engineID))
        writer.key(CodingKeys.id.rawValue); writer.string(id)
        if let kind { writer.key(CodingKeys.kind.rawValue); writer.string(kind) }
        writer.time(CodingKeys.knownAt.rawValue, knownAt)
        writer.key(CodingKeys.metadata.rawValue); writer.metadata(metadata)
        writer.field(CodingKeys.outcome.rawValue, outcome)
        writer.field(CodingKeys.quality.rawValue, quality)
        writer.key(CodingKeys.reflection.rawValue); writer.string(reflection)
        writer.key(CodingKeys.reinforcements.rawValue); writer.number(reinforcements)
        writer.key(CodingKeys.situation.rawValue); writer.string(situation)
        writer.key(CodingKeys.status.rawValue); writer.string(status.rawValue)
        writer.field(CodingKeys.ticker.rawValue, ticker)
        writer.time(CodingKeys.time.rawValue, time)
    }
}

extension WireRecallResult: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        memory.writeFields(to: &writer)
        writer.key(CodingKeys.layer.rawValue); writer.string(layer.rawValue)
        writer.key(CodingKeys.score.rawValue); writer.number(score)
        writer.key(CodingKeys.similarity.rawValue); writer.number(similarity)
        if let lexicalScore { writer.key(CodingKeys.lexicalScore.rawValue); writer.number(lexicalScore) }
        if let matchedTerms {
            writer.key(CodingKeys.matchedTerms.rawValue)
            writer.beginArray()
            for term in matchedTerms { writer.string(term) }
            writer.endArray()
        }
        writer.endObject()
    }
}

extension WireNewMemory: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writeFields(to: &writer)
        writer.endObject()
    }

    /// The fields without the braces (export lines add theirs beside them).
    func writeFields(to writer: inout JSONWriter) {
        writer.field(CodingKeys.callerID.rawValue, callerID)
        writer.field(CodingKeys.ticker.rawValue, ticker)
        writer.time(CodingKeys.time.rawValue, time)
        writer.time(CodingKeys.knownAt.rawValue, knownAt)
        writer.key(CodingKeys.situation.rawValue); writer.string(situation)
        writer.field(CodingKeys.reflection.rawValue, reflection)
        writer.field(CodingKeys.action.rawValue, action)
        writer.field(CodingKeys.outcome.rawValue, outcome)
        writer.field(CodingKeys.quality.rawValue, quality)
        if let metadata { writer.key(CodingKeys.metadata.rawValue); writer.metadata(metadata) }
        if let status { writer.key(CodingKeys.status.rawValue); writer.string(status.rawValue) }
        if let reinforcements { writer.key(CodingKeys.reinforcements.rawValue); writer.number(reinforcements) }
        if let kind { writer.key(CodingKeys.kind.rawValue); writer.string(kind) }
        if let vector {
            writer.key(CodingKeys.vector.rawValue)
            writer.beginArray()
            for component in vector { writer.number(component) }
            writer.endArray()
        }
    }
}
