public import Foundation

/// Decodes `Decodable` values from JSON like Foundation's `JSONDecoder` (same errors, same
/// strictness: no type coercion, no NaN), several times faster, with bulk paths for `[Float]`,
/// `[[Float]]` and `[Double]`.
public struct FastJSONDecoder: Sendable {
    /// Whether a key that the decoded type never asks for is an error (`unknown field`), at every
    /// level of the document: a misspelt key is refused instead of silently ignored. Objects decoded
    /// as dictionaries take any key.
    public var rejectsUnknownKeys: Bool

    public init(rejectsUnknownKeys: Bool = false) { self.rejectsUnknownKeys = rejectsUnknownKeys }

    /// Decodes `type` from a JSON document.
    public func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let parsed: Result<JSONValue, JSONParseError> = data.withUnsafeBytes { raw in
            do throws(JSONParseError) { return .success(try JSONValue.parse(raw)) } catch { return .failure(error) }
        }
        let value: JSONValue
        switch parsed {
        case .success(let success): value = success
        case .failure(let error):
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: error.description, underlyingError: error))
        }
        return try decode(type, from: value)
    }

    /// Decodes `type` from a parsed document.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try ValueDecoder(value: value, codingPath: [], strict: rejectsUnknownKeys).decodeValue(type)
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

private func typeName(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
}

/// The keys of one object that its type asked for (strict decoding).
final class KeyLog {
    var used = Set<String>()
    /// The type read every key (a dictionary), so none is unknown.
    var readsEveryKey = false
}

struct ValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    /// Unknown keys are errors (see ``FastJSONDecoder/rejectsUnknownKeys``).
    var strict = false
    /// Where the keys asked of this object are noted, when strict.
    var log: KeyLog? = nil
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// A decoder for a member of this value, as strict as this one.
    func child(_ value: JSONValue, _ key: any CodingKey) -> ValueDecoder {
        ValueDecoder(value: value, codingPath: codingPath + [key], strict: strict)
    }

    func mismatch(_ type: Any.Type) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "Expected to decode \(type) but found \(typeName(value)) instead."))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch([String: Any].self) }
        var dictionary: [String: JSONValue] = [:]
        dictionary.reserveCapacity(members.count)
        for (key, member) in members { dictionary[key] = member }
        return KeyedDecodingContainer(KeyedContainer(members: dictionary, order: members.map(\.key), codingPath: codingPath,
                                                     decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch([Any].self) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath, decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let bool) = value else { throw mismatch(type) }
        return bool
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let string) = value else { throw mismatch(type) }
        return string
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .number(let number) = value else { throw mismatch(type) }
        return number
    }

    func decode(_ type: Float.Type) throws -> Float {
        guard case .number(let number) = value else { throw mismatch(type) }
        let float = Float(number)
        guard float.isFinite else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "Number \(number) is not representable in Float."))
        }
        return float
    }

    func integer<T: BinaryInteger & FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard case .number(let number) = value else { throw mismatch(type) }
        guard number == number.rounded(), let integer = T(exactly: number) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "Number \(number) is not representable in \(type)."))
        }
        return integer
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type) }

    /// Decodes any type, with bulk paths for vectors.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == [Float].self { return try floats() as! T }
        if T.self == [[Float]].self {
            guard case .array(let rows) = value else { throw mismatch(type) }
            var result: [[Float]] = []
            result.reserveCapacity(rows.count)
            for (index, row) in rows.enumerated() {
                result.append(try child(row, AnyKey(intValue: index)).floats())
            }
            return result as! T
        }
        if T.self == [Double].self {
            guard case .array(let elements) = value else { throw mismatch(type) }
            var result: [Double] = []
            result.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                guard case .number(let number) = element else {
                    throw ValueDecoder(value: element, codingPath: codingPath + [AnyKey(intValue: index)]).mismatch(Double.self)
                }
                result.append(number)
            }
            return result as! T
        }
        guard strict, case .object(let members) = value else { return try T(from: self) }
        var logged = self
        logged.log = KeyLog()
        let decoded = try T(from: logged)
        if let log = logged.log, !log.readsEveryKey, let unknown = members.first(where: { !log.used.contains($0.key) })?.key {
            let known = log.used.sorted().joined(separator: ", ")
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [AnyKey(stringValue: unknown)],
                                                    debugDescription: "unknown field" + (known.isEmpty ? "" : " (expected one of: \(known))")))
        }
        return decoded
    }

    /// A `[Float]`: a JSON array of numbers, or (the compact form of vectors) a base64 string of
    /// little-endian IEEE 754 float32 values, 4 bytes per component. Either way every component
    /// must be finite.
    func floats() throws -> [Float] {
        if case .string(let text) = value { return try packedFloats(text) }
        guard case .array(let elements) = value else { throw mismatch([Float].self) }
        var result = [Float](repeating: 0, count: elements.count)
        for index in elements.indices {
            guard case .number(let number) = elements[index] else {
                throw ValueDecoder(value: elements[index], codingPath: codingPath + [AnyKey(intValue: index)]).mismatch(Float.self)
            }
            let float = Float(number)
            guard float.isFinite else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [AnyKey(intValue: index)],
                                                        debugDescription: "Number \(number) is not representable in Float."))
            }
            result[index] = float
        }
        return result
    }
}

extension ValueDecoder {
    /// The floats of a base64 string of little-endian float32 values.
    func packedFloats(_ text: String) throws -> [Float] {
        guard let bytes = Data(base64Encoded: text), bytes.count % 4 == 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath,
                                                    debugDescription: "a vector is an array of numbers or a base64 string of little-endian float32 values (4 bytes each)"))
        }
        var result = [Float](repeating: 0, count: bytes.count / 4)
        for index in result.indices {
            let offset = bytes.startIndex + index * 4
            let bits = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
            let float = Float(bitPattern: bits)
            guard float.isFinite else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [AnyKey(intValue: index)],
                                                        debugDescription: "component \(index) of the packed vector is not finite"))
            }
            result[index] = float
        }
        return result
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let order: [String]
    let codingPath: [any CodingKey]
    let decoder: ValueDecoder

    var allKeys: [Key] {
        decoder.log?.readsEveryKey = true
        return order.compactMap { Key(stringValue: $0) }
    }

    /// Notes that the type asked for `key` (strict decoding).
    private func asked(_ key: Key) { decoder.log?.used.insert(key.stringValue) }

    func contains(_ key: Key) -> Bool {
        asked(key)
        return members[key.stringValue] != nil
    }

    private func member(_ key: Key) throws -> ValueDecoder {
        asked(key)
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
        }
        return decoder.child(value, key)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key).decodeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try member(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try member(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try member(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try member(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try member(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try member(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try member(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try member(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try member(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try member(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try member(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try member(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try member(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try member(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try member(key).decodeValue(type) }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        asked(key)
        guard let value = members[key.stringValue], value != .null else { return nil }
        return try decoder.child(value, key).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try member(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try member(key).unkeyedContainer() }

    func superDecoder() throws -> any Decoder {
        decoder.log?.used.insert("super")
        return decoder.child(members["super"] ?? .null, AnyKey(stringValue: "super"))
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        asked(key)
        return decoder.child(members[key.stringValue] ?? .null, key)
    }
}

struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    let decoder: ValueDecoder
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey], decoder: ValueDecoder) {
        self.elements = elements
        self.codingPath = codingPath
        self.decoder = decoder
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next<T>(_ type: T.Type) throws -> ValueDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [AnyKey(intValue: currentIndex)],
                                                          debugDescription: "Unkeyed container is at end."))
        }
        defer { currentIndex += 1 }
        return decoder.child(elements[currentIndex], AnyKey(intValue: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if elements[currentIndex] == .null { currentIndex += 1; return true }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type).decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next(type).decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type).decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type).decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type).decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type).decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type).decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type).decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type).decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type).decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type).decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type).decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type).decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type).decode(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).decodeValue(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next([String: Any].self).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next([Any].self).unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { try next(Any.self) }
}
