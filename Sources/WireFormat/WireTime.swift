public import Foundation
public import TradingMemory

/// Times on the wire: ISO 8601 strings (a date, or a date-time with a zone) or Unix seconds, the
/// same at every boundary (HTTP, CLI, JSON Lines, exports).
public enum WireTime {
    /// A date in JSON: an ISO 8601 date (`2024-05-01`), date-time (`2024-05-01T14:30:00Z`, with an
    /// offset or fractional seconds), or a number of seconds since 1970.
    /// Nil for anything else, and for a time outside ``TimeBounds`` (years 1 to 9999);
    /// ``parseChecked(_:)`` says why.
    public static func parse(_ text: String) -> Date? { try? parseChecked(text) }

    /// ``parse(_:)``, with the reason a text is refused (a number that reads as milliseconds,
    /// microseconds or nanoseconds since 1970 says so).
    public static func parseChecked(_ text: String) throws(WireTimeError) -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed) { return try checked(seconds: seconds) }
        guard let date = fastISO8601(trimmed) else {
            throw WireTimeError(reason: "expected an ISO 8601 date (2024-05-01), a date-time with a zone (2024-05-01T14:30:00Z) or Unix seconds")
        }
        guard TimeBounds.contains(date) else { throw WireTimeError(reason: "years run from 0001 to 9999") }
        return date
    }

    /// The time `seconds` after 1970, when ``TimeBounds`` holds it.
    public static func checked(seconds: Double) throws(WireTimeError) -> Date {
        if let problem = TimeBounds.problem(seconds: seconds) { throw WireTimeError(reason: problem) }
        return Date(timeIntervalSince1970: seconds)
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
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
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
}

/// Why a text or number is not a time the engine accepts.
public struct WireTimeError: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// A time in JSON: decodes from an ISO 8601 string or a number of seconds since 1970, encodes as
/// an ISO 8601 UTC string.
public struct WireDate: Codable, Hashable, Sendable {
    public var date: Date
    public init(_ date: Date) { self.date = date }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do throws(WireTimeError) {
            if let seconds = try? container.decode(Double.self) {
                date = try WireTime.checked(seconds: seconds)
            } else if let text = try? container.decode(String.self) {
                date = try WireTime.parseChecked(text)
            } else {
                throw WireTimeError(reason: "expected an ISO 8601 date or Unix seconds")
            }
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(WireTime.format(date))
    }
}

/// A duration in JSON: seconds, or a string such as `"90d"`, `"12h"`, `"2w"`; encodes as seconds.
public struct WireDuration: Codable, Hashable, Sendable {
    public var seconds: Double
    public init(seconds: Double) { self.seconds = seconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self), seconds.isFinite, seconds >= 0, seconds <= TimeBounds.longestDurationSeconds {
            self.seconds = seconds
        } else if let text = try? container.decode(String.self), let seconds = Self.parse(text) {
            self.seconds = seconds
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected seconds or a duration such as \"90d\", at most 10000 years")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(seconds)
    }

    /// A duration: a number with a unit `s`, `m`, `h`, `d`, `w` or `y` (365 days), or plain seconds;
    /// nil unless finite and between 0 and 10,000 years.
    public static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800, "y": 31_536_000]
        var seconds: Double?
        if let last = trimmed.last, let unit = units[last], let value = Double(trimmed.dropLast()) {
            seconds = value * unit
        } else if let value = Double(trimmed) {
            seconds = value
        }
        guard let seconds, seconds.isFinite, seconds >= 0, seconds <= TimeBounds.longestDurationSeconds else { return nil }
        return seconds
    }
}
