public import Foundation
import Synchronization

/// An exchange's trading days: weekdays, less the days it is closed. Decay may count a memory's age
/// in these sessions instead of seconds (``DecayFunction/calendar``): a lesson written on a Friday
/// is one session old on Monday, and a holiday week does not age it.
///
/// Days are UTC calendar days of the timestamps. A memory's age at time `t` is the number of
/// sessions after the day of the memory up to and including the day of `t` (0 on its own day and
/// over a weekend after it). Past the last day its data covers, every weekday counts as a session.
public struct MarketCalendar: Sendable, Hashable {
    /// The calendar's name (`XNYS`, `XSHG`, or a loaded calendar's).
    public let name: String
    /// The last day (since 1970-01-01) whose closures are known.
    public let coveredThrough: Int
    /// Weekdays without a session, in days since 1970-01-01, ascending.
    private let closed: [Int]

    /// A calendar closed on `closedDays` (ISO dates `YYYY-MM-DD`; weekends are always closed),
    /// with its closures known through `coveredThrough`.
    public init(name: String, closedDays: [String], coveredThrough: String) throws {
        guard !name.isEmpty, name.count <= 32, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw TradingMemoryError.invalidArgument("a calendar's name is 1 to 32 letters, digits, '_' or '-', not '\(name.prefix(40))'")
        }
        func day(_ text: String) throws -> Int {
            guard let day = Self.day(iso: text) else { throw TradingMemoryError.invalidArgument("calendar \(name): '\(text.prefix(40))' is not a date YYYY-MM-DD") }
            return day
        }
        self.name = name
        self.coveredThrough = try day(coveredThrough)
        closed = Array(Set(try closedDays.map(day).filter { !Self.isWeekend($0) })).sorted()
    }

    // MARK: Days

    private static let daysPerWeek = 7
    /// Weekdays among days 0..<r of a week that starts on a Thursday (1970-01-01).
    private static let weekdaysInPartialWeek = [0, 1, 2, 2, 2, 3, 4]

    static func isWeekend(_ day: Int) -> Bool {
        let weekday = ((day % 7) + 7 + 4) % 7  // 0 Sunday … 6 Saturday; day 0 was a Thursday
        return weekday == 0 || weekday == 6
    }

    /// Weekdays in days [0, n) (negative for n < 0).
    private static func weekdays(before n: Int) -> Int {
        let weeks = n >= 0 ? n / daysPerWeek : -((-n + daysPerWeek - 1) / daysPerWeek)
        return weeks * 5 + weekdaysInPartialWeek[n - weeks * daysPerWeek]
    }

    /// The UTC day of a time in milliseconds since 1970.
    static func day(ms: Int64) -> Int {
        Int((Double(ms) / 86_400_000).rounded(.down))
    }

    static func day(iso text: String) -> Int? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let dayOfMonth = Int(parts[2]) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: dayOfMonth)
        guard components.isValidDate(in: calendar), let date = calendar.date(from: components) else { return nil }
        return Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// Sessions on days before `n`, counted from day 0 (negative before it).
    private func sessions(before n: Int) -> Int {
        Self.weekdays(before: n) - closed.countBelow(n)
    }

    /// Whether the exchange trades on `day` (days since 1970-01-01).
    public func isSession(day: Int) -> Bool {
        !Self.isWeekend(day) && closed.binarySearchContains(day) == false
    }

    /// Sessions after the day of `fromMs` up to and including the day of `toMs`; 0 when `toMs` is
    /// not on a later day.
    public func sessions(fromMs: Int64, toMs: Int64) -> Int {
        let from = Self.day(ms: fromMs), to = Self.day(ms: toMs)
        guard to > from else { return 0 }
        return sessions(before: to + 1) - sessions(before: from + 1)
    }

    // MARK: The calendars a process knows

    /// Shenzhen and Beijing keep Shanghai's holidays; NASDAQ the NYSE's.
    private static let aliases = ["NYSE": "XNYS", "NASDAQ": "XNYS", "XNAS": "XNYS", "SSE": "XSHG", "SZSE": "XSHG", "XSHE": "XSHG"]

    private static let registry = Mutex<[String: MarketCalendar]>(
        Dictionary(uniqueKeysWithValues: builtInData.map { entry in
            (entry.name, try! MarketCalendar(name: entry.name, closedDays: entry.closed, coveredThrough: entry.covers))
        }))

    /// The calendar called `name` (a built-in one, an alias such as `NYSE` or `SZSE`, or one
    /// registered in this process), or nil.
    public static func named(_ name: String) -> MarketCalendar? {
        let key = aliases[name.uppercased()] ?? name
        return registry.withLock { $0[key] ?? $0[key.uppercased()] }
    }

    /// The names of the calendars this process knows, sorted.
    public static var names: [String] { registry.withLock { $0.keys.sorted() } }

    /// Makes `calendar` known to this process by its name (replacing one of that name).
    public static func register(_ calendar: MarketCalendar) {
        registry.withLock { $0[calendar.name] = calendar }
    }

    /// The calendar for a ticker, by its exchange suffix: `.SH`, `.SS`, `.SZ`, `.BJ` → XSHG; any
    /// other (or none) → XNYS.
    public static func forTicker(_ ticker: String?) -> MarketCalendar {
        let suffix = ticker?.split(separator: ".").last.map { $0.uppercased() }
        let name = ["SH", "SS", "SZ", "BJ"].contains(suffix ?? "") && ticker?.contains(".") == true ? "XSHG" : "XNYS"
        return named(name)!
    }

    /// Loads every calendar file and registers its calendar in this process (files are read first:
    /// one bad file registers none of them).
    public static func register(files paths: [String]) throws {
        let calendars = try paths.map(load(file:))
        for calendar in calendars { register(calendar) }
    }

    /// A calendar from a JSON file: `{"name": "XLON", "closed": ["2025-01-01", …], "covered_through": "2025-12-31"}`.
    public static func load(file path: String) throws -> MarketCalendar {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TradingMemoryError.invalidArgument("cannot read the calendar file \(path)")
        }
        struct File: Decodable {
            var name: String
            var closed: [String]
            var coveredThrough: String
            enum CodingKeys: String, CodingKey { case name, closed, coveredThrough = "covered_through" }
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw TradingMemoryError.invalidArgument("\(path) is not a calendar file ({\"name\", \"closed\": [dates], \"covered_through\": date}): \(error)")
        }
        return try MarketCalendar(name: file.name, closedDays: file.closed, coveredThrough: file.coveredThrough)
    }
}

private extension Array where Element == Int {
    /// How many elements of this sorted array are below `value` (binary search: its lower bound).
    func countBelow(_ value: Int) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    func binarySearchContains(_ value: Int) -> Bool {
        let index = countBelow(value)
        return index < count && self[index] == value
    }
}
