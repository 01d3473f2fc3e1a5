public import Foundation
public import TradingMemory
import WireFormat

/// How the entries of a decision log are kept as memories — the same records the Python client's
/// `TradingMemoryLog` writes, so the CLI, the client and the server share one log:
///
/// - caller id `decision:TICKER:DATE` (`:2`, `:3`… for a day decided again after its first decision
///   was resolved); time: the trade date; ticker; action: the rating;
/// - a pending entry is a pending decision; a resolved one is live, with the raw return as outcome,
///   the reflection, and a known time of the day after its holding period (weekdays as sessions);
/// - metadata: `trade_date`, `rating`, `decision` (when the situation embedded is not the decision
///   itself), and once resolved the tag's fields as written (`raw`, `alpha`, `holding`) and as numbers
///   (`raw_return`, `alpha_return`, `holding_days`).
public enum DecisionLogRecords {
    /// The caller id of the `occurrence`-th decision (from 1) of `ticker` on `date`.
    public static func callerID(ticker: String, date: String, occurrence: Int = 1) -> String {
        occurrence <= 1 ? "decision:\(ticker):\(date)" : "decision:\(ticker):\(date):\(occurrence)"
    }

    /// When an outcome over `holdingDays` sessions from `tradeDate` is known: the day after the last
    /// session, counting Monday to Friday (exchange holidays are not known here).
    public static func knownAt(tradeDate: Date, holdingDays: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var day = calendar.startOfDay(for: tradeDate)
        var remaining = max(0, holdingDays)
        while remaining > 0 {
            day = calendar.date(byAdding: .day, value: 1, to: day)!
            let weekday = calendar.component(.weekday, from: day)  // 1 = Sunday, 7 = Saturday
            if weekday != 1 && weekday != 7 { remaining -= 1 }
        }
        return calendar.date(byAdding: .day, value: 1, to: day)!
    }

    /// The block a memory of the log stands for.
    public static func block(of memory: Memory) -> String {
        let date = memory.metadata["trade_date"]?.stringValue ?? String(WireTime.format(memory.time).prefix(10))
        let rating = memory.metadata["rating"]?.stringValue ?? memory.action ?? "Hold"
        let decision = memory.metadata["decision"]?.stringValue ?? memory.situation
        let ticker = memory.ticker ?? ""
        guard memory.status == .live else {
            return DecisionLogText.pendingBlock(date: date, ticker: ticker, rating: rating, decision: decision)
        }
        let raw = memory.metadata["raw"]?.stringValue ?? memory.outcome.map(DecisionLogText.percent) ?? "n/a"
        return DecisionLogText.resolvedBlock(date: date, ticker: ticker, rating: rating, raw: raw, alpha: memory.metadata["alpha"]?.stringValue,
                                             holding: memory.metadata["holding"]?.stringValue, decision: decision,
                                             reflection: memory.reflection)
    }

    /// The markdown log of a collection's memories (in engine-id order, as added).
    public static func log(of memories: [Memory]) -> String {
        DecisionLogText.log(memories.map(block(of:)))
    }

    /// The trade date of an entry (midnight UTC), or nil when its date field is not `YYYY-MM-DD`.
    public static func tradeDate(_ entry: DecisionLogText.Entry) -> Date? {
        let shape = Array(entry.date.utf8)
        guard shape.count == 10, shape[4] == UInt8(ascii: "-"), shape[7] == UInt8(ascii: "-"),
              shape.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0.element) })
        else { return nil }
        return WireTime.parse(entry.date)
    }

    /// The memory of an entry (the vector still to be embedded from its `situation`).
    public static func newMemory(_ entry: DecisionLogText.Entry, callerID: String, time: Date) -> NewMemory {
        var metadata: [String: MetadataValue] = ["trade_date": .string(entry.date), "rating": .string(entry.rating)]
        guard !entry.pending else {
            return NewMemory(callerID: callerID, ticker: entry.ticker, time: time, situation: entry.decision, reflection: "",
                             action: entry.rating, metadata: metadata, vector: [])
        }
        metadata["raw"] = .string(entry.raw ?? "n/a")
        if let alpha = entry.alpha { metadata["alpha"] = .string(alpha) }
        if let holding = entry.holding { metadata["holding"] = .string(holding) }
        let raw = DecisionLogText.fraction(entry.raw)
        if let raw { metadata["raw_return"] = .number(raw) }
        if let alpha = DecisionLogText.fraction(entry.alpha) { metadata["alpha_return"] = .number(alpha) }
        let days = DecisionLogText.holdingDays(entry.holding)
        if let days { metadata["holding_days"] = .number(Double(days)) }
        return NewMemory(callerID: callerID, ticker: entry.ticker, time: time, knownAt: knownAt(tradeDate: time, holdingDays: days ?? 0),
                         situation: entry.decision, reflection: entry.reflection, action: entry.rating, outcome: raw,
                         metadata: metadata, vector: [])
    }

    /// What importing a log's text into a collection holding `existing` adds: the entries the
    /// collection lacks (matched per ticker and date, in order), each with its caller id and whether
    /// it is pending, in file order; and the blocks that are not entries (or have no date).
    public struct ImportPlan: Sendable {
        public var memories: [(memory: NewMemory, pending: Bool)]
        public var unparsed: [String]
    }

    public static func importPlan(text: String, existing: [Memory]) -> ImportPlan {
        var inCollection: [String: Int] = [:]
        for memory in existing {
            let date = memory.metadata["trade_date"]?.stringValue ?? String(WireTime.format(memory.time).prefix(10))
            inCollection[(memory.ticker ?? "") + "\u{0}" + date, default: 0] += 1
        }
        var taken = Set(existing.compactMap(\.callerID))
        var seen: [String: Int] = [:]
        var plan = ImportPlan(memories: [], unparsed: [])
        for block in DecisionLogText.blocks(of: text) {
            guard let entry = DecisionLogText.parseEntry(block), let time = tradeDate(entry) else {
                plan.unparsed.append(block)
                continue
            }
            let key = entry.ticker + "\u{0}" + entry.date
            seen[key, default: 0] += 1
            let occurrence = seen[key]!
            guard occurrence > inCollection[key, default: 0] else { continue }
            // The first free id of the day (an earlier one may have been rotated away).
            var id = callerID(ticker: entry.ticker, date: entry.date)
            var n = 1
            while taken.contains(id) {
                n += 1
                id = callerID(ticker: entry.ticker, date: entry.date, occurrence: n)
            }
            taken.insert(id)
            plan.memories.append((newMemory(entry, callerID: id, time: time), entry.pending))
        }
        return plan
    }
}

extension MetadataValue {
    fileprivate var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
