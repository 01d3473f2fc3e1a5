public import Foundation

/// The times and durations the engine accepts, at every boundary (Swift API, HTTP, CLI, JSON
/// Lines): instants in years 1 to 9999 UTC, finite; durations from 0 to 10,000 years. Within
/// them, no arithmetic on times (milliseconds in `Int64`) or durations can overflow.
public enum TimeBounds {
    /// 0001-01-01T00:00:00Z.
    public static let earliest = Date(timeIntervalSince1970: -62_135_596_800)
    /// 9999-12-31T23:59:59.999Z.
    public static let latest = Date(timeIntervalSince1970: 253_402_300_799.999)
    /// The longest duration (decay scales and offsets, half-lives, maximum ages): 10,000 years of 365 days.
    public static let longestDurationSeconds: Double = 10_000 * 365 * 86_400

    /// Whether `date` is a time the engine accepts.
    public static func contains(_ date: Date) -> Bool {
        let seconds = date.timeIntervalSince1970
        return seconds.isFinite && seconds >= earliest.timeIntervalSince1970 && seconds <= latest.timeIntervalSince1970
    }

    /// Why `seconds` since 1970 is out of range, in words a caller can act on (a number that reads as
    /// a time in milliseconds, microseconds or nanoseconds says so); nil when it is in range.
    public static func problem(seconds: Double) -> String? {
        guard seconds.isFinite else { return "a time must be a finite number of seconds" }
        if contains(Date(timeIntervalSince1970: seconds)) { return nil }
        for (unit, divisor) in [("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9)] {
            let scaled = seconds / divisor
            if abs(scaled) >= 1e8, contains(Date(timeIntervalSince1970: scaled)) {  // 1e8 s: from 1973 on
                return "\(formatted(seconds)) looks like a time in \(unit) since 1970; send seconds (\(formatted(scaled)))"
            }
        }
        return "\(formatted(seconds)) seconds since 1970 is outside years 1 to 9999"
    }

    /// Checks `date`; `what` names it in the error.
    /// - Throws: ``TradingMemoryError/invalidArgument(_:)``.
    public static func check(_ date: Date, _ what: String) throws {
        if let problem = problem(seconds: date.timeIntervalSince1970) { throw TradingMemoryError.invalidArgument("\(what): \(problem)") }
    }

    /// Checks a duration in seconds; `what` names it in the error.
    /// - Throws: ``TradingMemoryError/invalidArgument(_:)``.
    public static func check(durationSeconds seconds: Double, _ what: String) throws {
        guard seconds.isFinite, seconds >= 0, seconds <= longestDurationSeconds else {
            throw TradingMemoryError.invalidArgument("\(what) must be between 0 and 10000 years")
        }
    }

    private static func formatted(_ value: Double) -> String {
        abs(value) < 1e18 && value == value.rounded() ? String(Int64(value)) : String(value)
    }
}

extension Date {
    /// Milliseconds since 1970, saturating far outside ``TimeBounds`` (a checked time never gets there).
    var milliseconds: Int64 {
        let value = (timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite else { return value > 0 ? Int64.max / 2 : Int64.min / 2 }
        return Int64(max(min(value, Double(Int64.max / 2)), Double(Int64.min / 2)))
    }
}
