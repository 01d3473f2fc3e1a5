public import Foundation
import FastJSON

/// The JSON form of memories, shared by `hindsight add`, `export`/`import` and the HTTP API
/// (docs/records.md): snake_case keys, times as ISO 8601 strings or Unix seconds.
public enum RecordFormat {
    /// A date in JSON: an ISO 8601 date (`2024-05-01`), date-time (`2024-05-01T14:30:00Z`, with an
    /// offset or fractional seconds), or a number of seconds since 1970.
    public static func parseDate(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds.isFinite { return Date(timeIntervalSince1970: seconds) }
        return fastISO8601(trimmed)
    }

    /// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, parsed strictly (an impossible
    /// date such as February 30th, or a time without a zone, is nil) and without a formatter (ICU's
    /// takes ~100 µs a date).
    static func fastISO8601(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var value = 0
            for index in start..<start + count {
                guard b[index] >= 48 && b[index] <= 57 else { return nil }
                value = value * 10 + Int(b[index] - 48)
            }
            return value
        }
        guard b.count >= 10, let year = digits(0, 4), b[4] == UInt8(ascii: "-"), let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
              let day = digits(8, 2), (1...12).contains(month), day >= 1 else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= monthDays[month - 1] else { return nil }
        // Days from the civil date (Hinnant's days-from-civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        var seconds = Double(days * 86_400)
        if b.count == 10 { return Date(timeIntervalSince1970: seconds) }
        guard b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"), let hour = digits(11, 2), b.count > 13, b[13] == UInt8(ascii: ":"),
              let minute = digits(14, 2), b.count > 16, b[16] == UInt8(ascii: ":"), let second = digits(17, 2),
              hour < 24, minute < 60, second < 61 else { return nil }
        seconds += Double(hour * 3600 + minute * 60 + second)
        var index = 19
        if index < b.count, b[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < b.count, b[index] >= 48, b[index] <= 57 {
                seconds += Double(b[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < b.count else { return nil }
        if b[index] == UInt8(ascii: "Z") || b[index] == UInt8(ascii: "z") {
            guard index + 1 == b.count else { return nil }
        } else if b[index] == UInt8(ascii: "+") || b[index] == UInt8(ascii: "-") {
            guard index + 6 == b.count, let offsetHours = digits(index + 1, 2), b[index + 3] == UInt8(ascii: ":"),
                  let offsetMinutes = digits(index + 4, 2) else { return nil }
            let offset = Double(offsetHours * 3600 + offsetMinutes * 60)
            seconds += b[index] == UInt8(ascii: "+") ? -offset : offset
        } else {
            return nil
        }
        return Date(timeIntervalSince1970: seconds)
    }

    /// `date` as an ISO 8601 UTC string (milliseconds when not whole seconds), e.g.
    /// `2024-01-02T00:00:00Z`. Computed directly (Hinnant's civil-from-days), without a formatter.
    public static func format(_ date: Date) -> String {
        let milliseconds = date.milliseconds
        let (seconds, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        var secondsOfDay = seconds % 86_400, days = seconds / 86_400
        if secondsOfDay < 0 || (secondsOfDay == 0 && fraction < 0) { secondsOfDay += 86_400; days -= 1 }
        var millisecond = fraction
        if millisecond < 0 { millisecond += 1000; secondsOfDay -= 1; if secondsOfDay < 0 { secondsOfDay += 86_400; days -= 1 } }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(secondsOfDay / 3600, 2) + ":"
            + pad(secondsOfDay / 60 % 60, 2) + ":" + pad(secondsOfDay % 60, 2)
        if millisecond != 0 { text += "." + pad(millisecond, 3) }
        return text + "Z"
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
        let decoder = FastJSONDecoder()
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
