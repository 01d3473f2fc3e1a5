import ArgumentParser
import FastJSON
import Foundation
import LMDB
import TradingMemory
import WireFormat

/// `--db` and the map size, shared by every command that opens a database.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "Database directory (created when missing).")
    var db: String = "./hindsight-data"

    @Option(name: .customLong("map-size-mib"), help: "Initial memory-map size in MiB (it grows on demand).")
    var mapSizeMiB: Int = 64

    @Option(name: .customLong("max-map-size-mib"), help: "Largest the map may grow to, in MiB (default: no limit).")
    var maxMapSizeMiB: Int?

    func validate() throws {
        guard mapSizeMiB >= 1 else { throw ValidationError("--map-size-mib must be at least 1.") }
        if let max = maxMapSizeMiB, max < mapSizeMiB { throw ValidationError("--max-map-size-mib must be at least --map-size-mib.") }
    }

    func environmentOptions(readOnly: Bool = false, create: Bool = true) -> EnvironmentOptions {
        EnvironmentOptions(mapSizeBytes: mapSizeMiB << 20, maxMapSizeBytes: maxMapSizeMiB.map { $0 << 20 }, readOnly: readOnly,
                           createIfMissing: create)
    }

    /// Opens the trading-memory store.
    func openStore(readOnly: Bool = false) throws -> TradingMemoryStore {
        if readOnly && !DatabaseDirectory(path: db).holdsDataFile {
            throw ValidationError("\(db) holds no database.")
        }
        return try TradingMemoryStore(path: db, options: environmentOptions(readOnly: readOnly, create: !readOnly))
    }
}

/// Parsing of dates and durations given on the command line.
enum Arguments {
    static func date(_ text: String, option: String) throws -> Date {
        do { return try WireTime.parseChecked(text) } catch {
            throw ValidationError("\(option) takes an ISO 8601 date (2024-05-01), date-time or Unix seconds in years 1 to 9999; '\(text.prefix(40))': \(error).")
        }
    }

    static func duration(_ text: String, option: String) throws -> Double {
        guard let seconds = WireDuration.parse(text), seconds > 0 else {
            throw ValidationError("\(option) takes a positive duration up to 10000 years, such as 90d, 12h, 2w or 1y; got '\(text.prefix(40))'.")
        }
        return seconds
    }
}

/// Options describing a decay function.
struct DecayOptions: ParsableArguments {
    @Option(help: "Decay shape: none, exp, gauss or linear.")
    var decay: String?

    @Option(name: .customLong("half-life"), help: "Half-life of an exponential decay (90d, 12h, …); implies --decay exp.")
    var halfLife: String?

    @Option(help: "Age at which the decay factor equals --midpoint (30d, …).")
    var scale: String?

    @Option(help: "Decay factor at age = offset + scale, between 0 and 1.")
    var midpoint: Double?

    @Option(help: "Age within which nothing decays (7d, …).")
    var offset: String?

    @Option(help: "Count ages in trading sessions of this exchange calendar, a session counting as a day: XNYS, XSHG, auto (by the query's ticker: .SH/.SZ → XSHG, else XNYS), or a --calendar-file's.")
    var calendar: String?

    @OptionGroup var calendars: CalendarOptions

    /// The decay described, or nil when no option was given.
    func decayFunction() throws -> DecayFunction? {
        try calendars.load()
        guard var function = try shapeFunction() else {
            if calendar != nil { throw ValidationError("--calendar needs a decay (--half-life, or --decay and --scale).") }
            return nil
        }
        function.calendar = calendar
        do { _ = try function.marketCalendar(ticker: nil) } catch { throw ValidationError("--calendar: \(error)") }
        return function
    }

    private func shapeFunction() throws -> DecayFunction? {
        if let halfLife {
            guard decay == nil || decay == "exp" else { throw ValidationError("--half-life goes with --decay exp.") }
            var function = DecayFunction.halfLife(try Arguments.duration(halfLife, option: "--half-life"))
            if let offset { function.offset = try Arguments.duration(offset, option: "--offset") }
            return function
        }
        guard let decay else {
            if scale != nil || midpoint != nil || offset != nil { throw ValidationError("--scale, --midpoint and --offset need --decay.") }
            return nil
        }
        guard let shape = DecayFunction.Shape(rawValue: decay) else {
            throw ValidationError("--decay takes none, exp, gauss or linear; got '\(decay)'.")
        }
        if shape == .none { return DecayFunction.none }
        guard let scale else { throw ValidationError("--decay \(decay) needs --scale (or --half-life).") }
        let function = DecayFunction(shape: shape, scale: try Arguments.duration(scale, option: "--scale"), midpoint: midpoint ?? 0.5,
                                     offset: try offset.map { try Arguments.duration($0, option: "--offset") } ?? 0)
        guard function.midpoint > 0 && function.midpoint < 1 else { throw ValidationError("--midpoint must be between 0 and 1.") }
        return function
    }
}

/// Exchange calendars beyond the built-in XNYS and XSHG, loaded for this process.
struct CalendarOptions: ParsableArguments {
    @Option(name: .customLong("calendar-file"),
            help: "A calendar file to load ({\"name\": …, \"closed\": [\"YYYY-MM-DD\", …], \"covered_through\": \"YYYY-MM-DD\"}); repeatable.")
    var calendarFiles: [String] = []

    func load() throws {
        do { try MarketCalendar.register(files: calendarFiles) } catch { throw ValidationError("--calendar-file: \(error)") }
    }
}

/// JSON output for `--json`.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Shapes that carry memories have one writer (the HTTP server's): compact, keys sorted.
    static func print(_ value: some JSONWritable) {
        Swift.print(String(decoding: value.jsonBytes(capacity: 4_096), as: UTF8.self))
    }
}

/// Reads a file given as a path, or standard input for `-`.
func readInput(_ path: String) throws -> Data {
    if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path).") }
    return data
}
