import Foundation

/// The markdown decision-log format of TradingAgents (v0.2.4 and later): entries, each followed by
/// ``DecisionLogText/separator``; an entry is a tag line, a blank line, a `DECISION:` section and,
/// once resolved, a `REFLECTION:` section:
///
///     [2026-01-10 | NVDA | Buy | +4.2% | +2.1% | 5d]
///
///     DECISION:
///     Rating: Buy …
///
///     REFLECTION:
///     Momentum confirmed.
///
/// Read and written exactly as TradingAgents' `TradingMemoryLog` reads and writes it, and as the
/// Python client's `hindsight.markdown_log` does (the two are tested against each other).
public enum DecisionLogText {
    /// Written after every entry.
    public static let separator = "\n\n<!-- ENTRY_END -->\n\n"

    /// One entry as TradingAgents' `load_entries` returns it.
    public struct Entry: Hashable, Sendable {
        public var date: String
        public var ticker: String
        public var rating: String
        public var pending: Bool
        /// The tag's return field (`+4.2%`) of a resolved entry; nil when pending.
        public var raw: String?
        public var alpha: String?
        public var holding: String?
        public var decision: String
        public var reflection: String

        public init(date: String, ticker: String, rating: String, pending: Bool, raw: String? = nil, alpha: String? = nil,
                    holding: String? = nil, decision: String, reflection: String = "") {
            self.date = date
            self.ticker = ticker
            self.rating = rating
            self.pending = pending
            self.raw = raw
            self.alpha = alpha
            self.holding = holding
            self.decision = decision
            self.reflection = reflection
        }
    }

    /// The entry of one block's text, or nil when the block is not an entry.
    public static func parseEntry(_ block: String) -> Entry? {
        let lines = pythonLines(pythonStrip(block))
        guard let first = lines.first else { return nil }
        let tag = pythonStrip(first)
        guard tag.hasPrefix("["), tag.hasSuffix("]"), tag.count >= 2 else { return nil }
        let fields = tag.dropFirst().dropLast().split(separator: "|", omittingEmptySubsequences: false).map { pythonStrip(String($0)) }
        guard fields.count >= 4 else { return nil }
        let pending = fields[3] == "pending"
        let body = pythonStrip(lines.dropFirst().joined(separator: "\n"))
        return Entry(date: fields[0], ticker: fields[1], rating: fields[2], pending: pending, raw: pending ? nil : fields[3],
                     alpha: fields.count > 4 ? fields[4] : nil, holding: fields.count > 5 ? fields[5] : nil,
                     decision: section(after: "DECISION:\n", until: "\nREFLECTION:", in: body),
                     reflection: section(after: "REFLECTION:\n", until: nil, in: body))
    }

    /// The non-empty blocks of a log's text, in order, each stripped.
    public static func blocks(of text: String) -> [String] {
        text.components(separatedBy: separator).map(pythonStrip).filter { !$0.isEmpty }
    }

    /// A block as written when pending (without the separator).
    public static func pendingBlock(date: String, ticker: String, rating: String, decision: String) -> String {
        "[\(date) | \(ticker) | \(rating) | pending]\n\nDECISION:\n\(decision)"
    }

    /// A block as written once resolved (without the separator): TradingAgents rewrites the entry
    /// from its stripped lines, so the decision loses trailing white space and its line breaks become `\n`.
    public static func resolvedBlock(date: String, ticker: String, rating: String, raw: String, alpha: String?, holding: String?,
                                     decision: String, reflection: String) -> String {
        let fields = [date, ticker, rating, raw] + [alpha, holding].compactMap { $0 }
        let text = pythonLines(pythonRightStrip(decision)).joined(separator: "\n")
        let section = text.isEmpty ? "DECISION:" : "DECISION:\n" + text
        return "[\(fields.joined(separator: " | "))]\n\n\(section)\n\nREFLECTION:\n\(reflection)"
    }

    /// The text of a log: each block followed by the separator.
    public static func log(_ blocks: [String]) -> String {
        blocks.map { $0 + separator }.joined()
    }

    /// A return as the log writes it: 0.042 → `+4.2%`.
    public static func percent(_ fraction: Double) -> String {
        let scaled = fraction * 100
        let text = String(format: "%+.1f", scaled)
        return text + "%"
    }

    /// `+4.2%` → 0.042; nil when the text is not a percentage.
    public static func fraction(_ text: String?) -> Double? {
        guard let text else { return nil }
        let trimmed = pythonStrip(text)
        guard trimmed.hasSuffix("%"), let value = Double(pythonStrip(String(trimmed.dropLast()))), value.isFinite else { return nil }
        return value / 100
    }

    /// `5d` → 5; nil otherwise.
    public static func holdingDays(_ text: String?) -> Int? {
        guard let text else { return nil }
        let trimmed = pythonStrip(text)
        guard trimmed.hasSuffix("d") else { return nil }
        let digits = trimmed.dropLast()
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    // MARK: - Python's string rules (the format is defined by them)

    /// The text after the first `start`, up to the first `end` after it (or the end), stripped; "" without `start`.
    private static func section(after start: String, until end: String?, in body: String) -> String {
        guard let open = body.range(of: start) else { return "" }
        let rest = body[open.upperBound...]
        let close = end.flatMap { rest.range(of: $0)?.lowerBound } ?? rest.endIndex
        return pythonStrip(String(rest[..<close]))
    }

    /// The line boundaries of Python's `str.splitlines`.
    private static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }

    /// Python's `str.isspace` for one scalar.
    private static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Python's `str.splitlines()` (no trailing empty line; `\r\n` is one break).
    static func pythonLines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        var pending = scalars.next()
        while let scalar = pending {
            pending = scalars.next()
            if isLineBreak(scalar) {
                lines.append(String(current))
                current = String.UnicodeScalarView()
                if scalar == "\r", pending == "\n" { pending = scalars.next() }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    /// Python's `str.strip()`.
    static func pythonStrip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isSpace($0) })!
        return String(scalars[first...last])
    }

    /// Python's `str.rstrip()`.
    static func pythonRightStrip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[...last])
    }
}
