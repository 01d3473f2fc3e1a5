import VectorIndex
import FastJSON
import Foundation
import TestSupport
import Testing

private struct Record: Codable, Equatable {
    var id: String?
    var time: Double
    var vector: [Float]
    var vectors: [[Float]]?
    var tags: [String: String]?
    var flag: Bool?
    var count: Int?
    var nested: [Record]?
}

private func bothDecode<T: Decodable & Equatable>(_ type: T.Type, _ json: String) throws -> T {
    let data = Data(json.utf8)
    let fast = try FastJSONDecoder().decode(type, from: data)
    let foundation = try JSONDecoder().decode(type, from: data)
    #expect(fast == foundation, "\(json)")
    return fast
}

@Suite struct FastJSONTests {
    /// The eight-bytes-at-a-time scan for characters to escape: every special byte at every offset
    /// of strings of every length up to 40, parsed and written, against Foundation.
    @Test func stringsWithEscapesAtEveryOffsetParseAndWriteLikeFoundation() throws {
        let specials: [Character] = ["\"", "\\", "\n", "\u{01}", "\u{1F}", "é", "中", "😀"]
        for length in 0...40 {
            for offset in 0...length {
                for special in specials {
                    var text = String(repeating: "a", count: length)
                    if offset < length {
                        let index = text.index(text.startIndex, offsetBy: offset)
                        text.replaceSubrange(index...index, with: String(special))
                    }
                    var writer = JSONWriter()
                    writer.string(text)
                    #expect(try JSONDecoder().decode(String.self, from: Data(writer.bytes)) == text)
                    let encoded = try JSONEncoder().encode(text)
                    #expect(try FastJSONDecoder().decode(String.self, from: encoded) == text)
                }
            }
        }
        // An unescaped control character or an unterminated string is refused wherever it is.
        for offset in 0..<20 {
            let raw = "\"" + String(repeating: "b", count: offset) + "\u{07}" + String(repeating: "b", count: 9) + "\""
            #expect(throws: (any Error).self) { try FastJSONDecoder().decode(String.self, from: Data(raw.utf8)) }
            #expect(throws: (any Error).self) { try FastJSONDecoder().decode(String.self, from: Data(("\"" + String(repeating: "c", count: offset)).utf8)) }
        }
    }

    /// Vectors may come as base64 of little-endian float32 (the compact wire form).
    @Test func vectorsDecodeFromPackedFloat32() throws {
        let values: [Float] = [0.5, -1.25, 3.4e38, 1e-45, 0, -0.0, 0.1]
        var packed = Data()
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { packed.append(contentsOf: $0) } }
        let json = #"{"time": 1, "vector": "\#(packed.base64EncodedString())", "vectors": ["\#(packed.base64EncodedString())", [1, 2]]}"#
        let record = try FastJSONDecoder().decode(Record.self, from: Data(json.utf8))
        #expect(record.vector.map(\.bitPattern) == values.map(\.bitPattern) && record.vectors == [values, [1, 2]])
        var nan = Data(packed)
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { nan.append(contentsOf: $0) }
        for bad in ["AAAA=", "not base64!", Data([1, 2, 3]).base64EncodedString(), nan.base64EncodedString()] {
            #expect(throws: DecodingError.self) {
                try FastJSONDecoder().decode(Record.self, from: Data(#"{"time": 1, "vector": "\#(bad)"}"#.utf8))
            }
        }
    }

    @Test func decodesLikeFoundation() throws {
        let record = try bothDecode(Record.self, #"""
        {"id": "a\"b\\c\/d\n\u00e9\ud83d\ude00", "time": 1704153600.5, "vector": [0.5, -1e-3, 3E2, 0, -0.0, 1.2345678],
         "vectors": [[1, 2], []], "tags": {"k": "v", "emoji": "👍🏽"}, "flag": false, "count": -42,
         "nested": [{"time": 1, "vector": []}], "unknown": {"deep": [null, true, {"x": 1}]}}
        """#)
        #expect(record.id == "a\"b\\c/d\né😀" && record.count == -42 && record.vectors == [[1, 2], []])
        _ = try bothDecode([String: Double].self, #"{"a": 1, "b": 2.5}"#)
        _ = try bothDecode([Int].self, "[1, 2, 3]")
        _ = try bothDecode(String.self, #""plain""#)
    }

    @Test func numbersRoundTripExactly() throws {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<20_000 {
            let value = Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF) * (Bool.random(using: &rng) ? 1 : -1)
            let small = Double(Float(rng.nextGaussian()))
            for number in [value, small, Double(Int64.random(in: -1_000_000...1_000_000, using: &rng)) / 1000] {
                let text = "\(number)"
                let parsed = try JSONValue.parse(Array(text.utf8))
                #expect(parsed == .number(Double(text)!), "\(text)")
            }
        }
        for text in ["0", "-0", "1e22", "1e23", "9007199254740993", "0.1", "123456789012345678901234567890", "2.2250738585072014e-308",
                     "4.9e-324", "1.7976931348623157e308", "0.000001", "1E-7"] {
            #expect(try JSONValue.parse(Array(text.utf8)) == .number(Double(text)!), "\(text)")
        }
    }

    @Test func malformedDocumentsAreRefused() {
        for text in ["", "{", "[1,]", "{\"a\" 1}", "[1 2]", "NaN", "[Infinity]", "-", "01", "1.", ".5", "1e", "\"\u{1}\"", "\"\\x\"",
                     "\"\\ud83d\"", "tru", "{\"a\":1}}", "[\"unterminated]", "1e400"] {
            #expect(throws: (any Error).self, "\(text)") { try JSONValue.parse(Array(text.utf8)) }
            #expect(throws: DecodingError.self) { try FastJSONDecoder().decode([Double].self, from: Data(text.utf8)) }
        }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: (any Error).self) { try JSONValue.parse(Array(deep.utf8)) }
    }

    @Test func typeErrorsMatchFoundation() throws {
        for json in [#"{"time": "soon", "vector": []}"#, #"{"time": 1, "vector": [1, "x"]}"#, #"{"vector": []}"#,
                     #"{"time": 1, "vector": [1e39]}"#, #"{"time": 1, "vector": [], "count": 1.5}"#, #"{"time": 1, "vector": [], "flag": 1}"#] {
            let fast = #expect(throws: DecodingError.self) { try FastJSONDecoder().decode(Record.self, from: Data(json.utf8)) }
            let foundation = #expect(throws: DecodingError.self) { try JSONDecoder().decode(Record.self, from: Data(json.utf8)) }
            #expect(kind(fast) == kind(foundation), "\(json): \(String(describing: fast)) vs \(String(describing: foundation))")
        }
    }
}

private func kind(_ error: DecodingError?) -> String {
    switch error {
    case .typeMismatch?: "typeMismatch"
    case .keyNotFound?: "keyNotFound"
    case .valueNotFound?: "valueNotFound"
    case .dataCorrupted?: "dataCorrupted"
    default: "none"
    }
}
