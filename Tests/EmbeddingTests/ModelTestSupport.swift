import Embedding
import Foundation
import TestSupport
import Testing

/// The reference model (sentence-transformers/all-MiniLM-L6-v2), found in `HINDSIGHT_MODEL_DIR` or in
/// the repository's `models/all-MiniLM-L6-v2` (where `tools/fetch-model.sh` puts it).
enum ReferenceModel {
    static let directory = modelDirectory("all-MiniLM-L6-v2", environment: "HINDSIGHT_MODEL_DIR")

    static var isAvailable: Bool { FileManager.default.fileExists(atPath: directory + "/model.safetensors") }

    static let skipMessage: Comment = "the reference model is not in \(directory): fetch it with `hindsight model fetch` (tools/fetch-model.sh), or set HINDSIGHT_MODEL_DIR"

    /// One embedder per kernel, loaded once for all tests.
    static let embedder: BertEmbedder? = try? BertEmbedder(directory: directory, threads: 2)
}

/// A fetched model's directory: `$environment` when set, else the repository's `models/<name>`
/// (where `tools/fetch-model.sh` puts it).
func modelDirectory(_ name: String, environment: String) -> String {
    if let path = ProcessInfo.processInfo.environment[environment], !path.isEmpty { return path }
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return repository.appendingPathComponent("models/\(name)").path
}

/// A text with its reference tokens, ids and vector (from ../shared/bench/minilm-reference.json and
/// tools/embedding-fixture.py, copied into Tests/EmbeddingTests/Fixtures).
struct ReferenceItem: Decodable {
    struct Windows: Decodable {
        var overlap: Int
        var starts: [Int]
        var embedding: [Float]
    }

    var text: String
    var tokens: [String]
    var ids: [Int32]
    var embedding: [Float]
    var windows: Windows?
}

enum Fixtures {
    private struct Document: Decodable { var items: [ReferenceItem] }

    static func items(_ name: String) throws -> [ReferenceItem] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        return try JSONDecoder().decode(Document.self, from: Data(contentsOf: url)).items
    }

    /// Every reference item: the shared file's and the extra cases.
    static func allItems() throws -> [ReferenceItem] { try items("minilm-reference.json") + items("minilm-extra.json") }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        na += Double(x) * Double(x)
        nb += Double(y) * Double(y)
    }
    return dot / max(1e-30, (na * nb).squareRoot())
}

func maxAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Writes a safetensors file: header JSON, then each tensor's little-endian bytes in order.
func writeSafeTensors(_ path: String, _ tensors: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])],
                      headerLengthOverride: UInt64? = nil) throws {
    var offset = 0
    var entries: [String] = []
    for tensor in tensors {
        let shape = tensor.shape.map(String.init).joined(separator: ",")
        entries.append("\"\(tensor.name)\":{\"dtype\":\"\(tensor.dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + tensor.bytes.count)]}")
        offset += tensor.bytes.count
    }
    var header = Array(("{\"__metadata__\":{\"format\":\"pt\"}," + entries.joined(separator: ",") + "}").utf8)
    while header.count % 8 != 0 { header.append(0x20) }
    var file: [UInt8] = []
    let length = headerLengthOverride ?? UInt64(header.count)
    for index in 0..<8 { file.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(index)))) }
    file += header
    for tensor in tensors { file += tensor.bytes }
    try Data(file).write(to: URL(fileURLWithPath: path))
}

func float32Bytes(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
func float16Bytes(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: Float16($0).bitPattern.littleEndian, Array.init) } }
func bfloat16Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: UInt16(truncatingIfNeeded: $0.bitPattern >> 16).littleEndian, Array.init) }
}
