public import Foundation

/// The JSON form of memories, shared by `hindsight add`, `export`/`import` and the HTTP API
/// (docs/records.md): snake_case keys, times as ISO 8601 strings or Unix seconds.
public enum RecordFormat {
    /// A date in JSON: an ISO 8601 date (`2024-05-01`), date-time (`2024-05-01T14:30:00Z`, with an
    /// offset or fractional seconds), or a number of seconds since 1970.
    public static func parseDate(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds.isFinite { return Date(timeIntervalSince1970: seconds) }
        for formatter in isoFormatters { if let date = formatter.date(from: trimmed) { return date } }
        return nil
    }

    nonisolated(unsafe) private static let isoFormatters: [ISO8601DateFormatter] = {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        let dateOnly = ISO8601DateFormatter()
        dateOnly.formatOptions = [.withFullDate]
        return [plain, withFraction, dateOnly]
    }()

    /// `date` as an ISO 8601 UTC string (milliseconds when not whole seconds).
    public static func format(_ date: Date) -> String {
        let milliseconds = date.milliseconds
        let formatter = milliseconds % 1000 == 0 ? isoFormatters[0] : isoFormatters[1]
        return formatter.string(from: Date(milliseconds: milliseconds))
    }

    /// A duration: a number with a unit `s`, `m`, `h`, `d`, `w` or `y` (365 days), or plain seconds.
    public static func parseDuration(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800, "y": 31_536_000]
        if let last = trimmed.last, let unit = units[last], let value = Double(trimmed.dropLast()), value.isFinite, value >= 0 {
            return value * unit
        }
        if let value = Double(trimmed), value.isFinite, value >= 0 { return value }
        return nil
    }
}

/// A date that decodes from an ISO 8601 string or a number of seconds, and encodes as ISO 8601.
public struct FlexibleDate: Codable, Hashable, Sendable {
    public var date: Date
    public init(_ date: Date) { self.date = date }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self) {
            guard seconds.isFinite else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "a time must be finite") }
            date = Date(timeIntervalSince1970: seconds)
        } else if let text = try? container.decode(String.self), let parsed = RecordFormat.parseDate(text) {
            date = parsed
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an ISO 8601 date or Unix seconds")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(RecordFormat.format(date))
    }
}

/// One memory in JSON, as a line of a JSON Lines file or an element of an HTTP request.
public struct MemoryRecordJSON: Codable, Hashable, Sendable {
    /// The caller's id.
    public var id: String?
    public var ticker: String?
    public var time: FlexibleDate
    public var known_at: FlexibleDate?
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

    public init(id: String? = nil, ticker: String? = nil, time: Date, knownAt: Date? = nil, situation: String, reflection: String? = nil,
                action: String? = nil, outcome: Double? = nil, quality: Double? = nil, metadata: [String: MetadataValue]? = nil,
                vector: [Float]? = nil, status: Memory.Status? = nil) {
        self.id = id
        self.ticker = ticker
        self.time = FlexibleDate(time)
        known_at = knownAt.map(FlexibleDate.init)
        self.situation = situation
        self.reflection = reflection
        self.action = action
        self.outcome = outcome
        self.quality = quality
        self.metadata = metadata
        self.vector = vector
        self.status = status
    }

    /// The memory to add, with `vector` (this record's, or one computed by the caller).
    public func newMemory(vector: [Float]) -> NewMemory {
        NewMemory(id: id, ticker: ticker, time: time.date, knownAt: known_at?.date, situation: situation, reflection: reflection ?? "",
                  action: action, outcome: outcome, quality: quality, metadata: metadata ?? [:], vector: vector)
    }
}

/// A stored memory in JSON (query results, exports, HTTP responses).
public struct MemoryJSON: Codable, Hashable, Sendable {
    /// The caller's id when there is one, else the engine id as a string.
    public var id: String
    public var engine_id: UInt32
    public var caller_id: String?
    public var ticker: String?
    public var time: FlexibleDate
    public var known_at: FlexibleDate
    public var situation: String
    public var reflection: String
    public var action: String?
    public var outcome: Double?
    public var quality: Double?
    public var metadata: [String: MetadataValue]
    public var status: Memory.Status
    public var reinforcements: Int

    public init(_ memory: Memory) {
        id = memory.callerID ?? memory.id.description
        engine_id = memory.id.rawValue
        caller_id = memory.callerID
        ticker = memory.ticker
        time = FlexibleDate(memory.time)
        known_at = FlexibleDate(memory.knownAt)
        situation = memory.situation
        reflection = memory.reflection
        action = memory.action
        outcome = memory.outcome
        quality = memory.quality
        metadata = memory.metadata
        status = memory.status
        reinforcements = memory.reinforcements
    }
}

/// A recall result in JSON.
public struct RecallResultJSON: Codable, Hashable, Sendable {
    public var memory: MemoryJSON
    public var similarity: Float
    public var score: Double
    public var layer: Layer

    public init(_ result: RecallResult) {
        memory = MemoryJSON(result.memory)
        similarity = result.similarity
        score = result.score
        layer = result.layer
    }

    enum CodingKeys: String, CodingKey { case similarity, score, layer }

    public init(from decoder: any Decoder) throws {
        memory = try MemoryJSON(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        similarity = try container.decode(Float.self, forKey: .similarity)
        score = try container.decode(Double.self, forKey: .score)
        layer = try container.decode(Layer.self, forKey: .layer)
    }

    /// Flattened: the memory's fields with `similarity`, `score` and `layer` beside them.
    public func encode(to encoder: any Encoder) throws {
        try memory.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(similarity, forKey: .similarity)
        try container.encode(score, forKey: .score)
        try container.encode(layer, forKey: .layer)
    }
}

/// Why a JSON Lines file was refused (nothing of it was written).
public struct RecordLineError: Error, Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(line): \(reason)" }
}

/// A parsed line of a JSON Lines file.
public struct ParsedRecordLine: Sendable {
    public var line: Int
    public var record: MemoryRecordJSON
}

extension RecordFormat {
    /// Parses JSON Lines (blank lines skipped): every line is checked before any is returned, so a
    /// caller writes all or nothing. With `dimension`, vectors must have it and be finite and non-zero;
    /// with `requireVectors`, every line needs a vector.
    public static func parseJSONLines(_ data: Data, dimension: Int?, requireVectors: Bool) throws -> [ParsedRecordLine] {
        let decoder = JSONDecoder()
        var records: [ParsedRecordLine] = []
        var lineNumber = 0
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
            let record: MemoryRecordJSON
            do { record = try decoder.decode(MemoryRecordJSON.self, from: Data(line)) } catch {
                throw RecordLineError(line: lineNumber, reason: describe(error))
            }
            if let vector = record.vector {
                if let dimension, vector.count != dimension {
                    throw RecordLineError(line: lineNumber, reason: "the vector has \(vector.count) dimensions; the collection holds \(dimension)")
                }
                if let bad = vector.firstIndex(where: { !$0.isFinite }) {
                    throw RecordLineError(line: lineNumber, reason: "vector component \(bad) is NaN or infinite")
                }
                if !vector.contains(where: { $0 != 0 }) { throw RecordLineError(line: lineNumber, reason: "the vector is all zeros") }
            } else if requireVectors {
                throw RecordLineError(line: lineNumber, reason: "no vector (and no embedder configured to compute one)")
            }
            if let quality = record.quality, !(0...1).contains(quality) {
                throw RecordLineError(line: lineNumber, reason: "quality must be between 0 and 1")
            }
            if let outcome = record.outcome, !outcome.isFinite { throw RecordLineError(line: lineNumber, reason: "outcome must be finite") }
            records.append(ParsedRecordLine(line: lineNumber, record: record))
        }
        return records
    }

    /// A short reason for a decoding error, naming the field and never quoting the data.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "not valid JSON" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return keys.isEmpty ? "" : "'\(keys)': "
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context))missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context): return "\(path(context))wrong type (\(context.debugDescription))"
        case .valueNotFound(_, let context): return "\(path(context))null where a value is required"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context))\(context.debugDescription)"
        @unknown default: return "not valid JSON"
        }
    }
}
