import Foundation
public import VectorIndex

/// A JSON value that can hold any token a hostile client sends (numbers as raw text), for fuzz tests.
public indirect enum J: Sendable {
    case object([(String, J)]), array([J]), string(String), raw(String), bool(Bool), null

    /// The JSON text, raw tokens as they are.
    public var text: String {
        switch self {
        case .object(let members): "{" + members.map { J.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        case .array(let elements): "[" + elements.map(\.text).joined(separator: ",") + "]"
        case .string(let value): J.quote(value)
        case .raw(let token): token
        case .bool(let value): value ? "true" : "false"
        case .null: "null"
        }
    }

    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Hostile values and mutations for fuzzing JSON inputs (the HTTP API, JSON Lines).
public enum HostileJSON {
    /// Values that have crashed or confused JSON servers: huge and tiny numbers, NaN-like tokens and
    /// strings, times in the wrong unit, impossible dates, long and odd strings, deep nesting.
    public static let values: [J] = [
        .raw("1e308"), .raw("-1e308"), .raw("1e20"), .raw("9.3e15"), .raw("1704153600000"), .raw("-0.0"), .raw("18446744073709551616"),
        .raw("1e400"), .raw("NaN"), .raw("-Infinity"), .raw("0x10"), .raw("01"), .string("NaN"), .string("Infinity"), .string("1e20"),
        .string("99999999999999999d"), .string("2024-13-45"), .string("0000-01-01"), .string("10000-01-01T00:00:00Z"), .string(""),
        .string(String(repeating: "x", count: 20_000)), .string("\u{0}\u{1}"), .string("🙂"), .array([]), .object([]), .null, .bool(false),
        .array(Array(repeating: .raw("1"), count: 300)), .object([("deep", .array([.array([.array([.object([("x", .raw("1"))])])])]))]),
    ]

    /// `value` with one mutation at a random place: a member removed, an unknown key added, a value
    /// replaced by a hostile one, an array emptied.
    public static func mutate(_ value: J, _ generator: inout SplitMix64, depth: Int = 0) -> J {
        let choice = generator.next() % 10
        switch value {
        case .object(var members) where !members.isEmpty && depth < 6:
            let index = Int(generator.next() % UInt64(members.count))
            switch choice {
            case 0: members.remove(at: index)
            case 1: members.append(("unknown_\(generator.next() % 100)", values[Int(generator.next() % UInt64(values.count))]))
            case 2, 3, 4: members[index].1 = values[Int(generator.next() % UInt64(values.count))]
            default: members[index].1 = mutate(members[index].1, &generator, depth: depth + 1)
            }
            return .object(members)
        case .array(var elements) where !elements.isEmpty && depth < 6:
            let index = Int(generator.next() % UInt64(elements.count))
            if choice < 4 { elements[index] = values[Int(generator.next() % UInt64(values.count))] }
            else if choice < 6 { elements.removeAll() }
            else { elements[index] = mutate(elements[index], &generator, depth: depth + 1) }
            return .array(elements)
        default:
            return values[Int(generator.next() % UInt64(values.count))]
        }
    }
}
