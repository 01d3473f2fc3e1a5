/// Writes JSON straight into bytes, for the hot responses (query results) where Foundation's
/// `JSONEncoder` costs more than the search. Keys are written in the order the caller gives.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 1_024) { bytes.reserveCapacity(capacity) }

    private mutating func separator() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = false
    }

    public mutating func beginObject() { separator(); bytes.append(UInt8(ascii: "{")) }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func beginArray() { separator(); bytes.append(UInt8(ascii: "[")) }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes `"name":` (the value follows).
    public mutating func key(_ name: String) {
        separator()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ value: String) { separator(); writeString(value); needsComma = true }
    public mutating func bool(_ value: Bool) { separator(); bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8)); needsComma = true }
    public mutating func null() { separator(); bytes.append(contentsOf: "null".utf8); needsComma = true }
    public mutating func number(_ value: Int) { separator(); bytes.append(contentsOf: String(value).utf8); needsComma = true }

    /// A finite number in its shortest round-tripping form (`null` for NaN or infinity, which JSON lacks).
    public mutating func number(_ value: Double) {
        separator()
        if value.isFinite { bytes.append(contentsOf: value.description.utf8) } else { bytes.append(contentsOf: "null".utf8) }
        needsComma = true
    }

    public mutating func number(_ value: Float) {
        separator()
        if value.isFinite { bytes.append(contentsOf: value.description.utf8) } else { bytes.append(contentsOf: "null".utf8) }
        needsComma = true
    }

    /// `"name": value`, or `"name": null` when there is no value.
    public mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    /// `"name": value`, or `"name": null` when there is no value.
    public mutating func field(_ name: String, _ value: Double?) {
        key(name)
        if let value { number(value) } else { null() }
    }

    /// Raw JSON produced elsewhere (must be one complete value).
    public mutating func raw(_ json: some Sequence<UInt8>) { separator(); bytes.append(contentsOf: json); needsComma = true }

    private static let hex = Array("0123456789abcdef".utf8)

    private mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            bytes.reserveCapacity(bytes.count + utf8.count + 1)
            // Runs of bytes that need no escape are copied whole; only quotes, backslashes and
            // control characters are written one by one.
            let raw = UnsafeRawBufferPointer(utf8)
            var start = 0
            while true {
                let index = ByteScan.firstSpecial(in: raw, from: start)
                guard index < utf8.count else { break }
                if start < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index])) }
                escape(utf8[index])
                start = index + 1
            }
            if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func escape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
        case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
        default:
            bytes.append(contentsOf: "\\u00".utf8)
            bytes.append(Self.hex[Int(byte >> 4)])
            bytes.append(Self.hex[Int(byte & 0xF)])
        }
    }
}

/// A value that writes itself with a ``JSONWriter``.
public protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

extension Array: JSONWritable where Element: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginArray()
        for element in self { element.write(to: &writer) }
        writer.endArray()
    }
}

extension JSONWritable {
    /// The value as JSON bytes.
    public func jsonBytes(capacity: Int = 1_024) -> [UInt8] {
        var writer = JSONWriter(capacity: capacity)
        write(to: &writer)
        return writer.bytes
    }
}
