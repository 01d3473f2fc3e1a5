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
