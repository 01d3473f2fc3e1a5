@testable import Embedding
import Foundation
import TestSupport
import Testing

/// A missing, partial or mismatched model directory is a clear error naming the file.
@Suite struct ModelErrorTests {
    /// The file an error names, and its reason.
    func failure(_ body: () throws -> Void) -> (path: String, reason: String)? {
        do {
            try body()
            return nil
        } catch let EmbeddingError.modelFile(path, reason) {
            return (path, reason)
        } catch {
            return ("unexpected \(error)", "")
        }
    }

    @Test func missingDirectoryOrFiles() throws {
        try withTemporaryDirectory { directory in
            let missing = failure { _ = try BertEmbedder(directory: directory + "/nope") }
            #expect(missing?.path == directory + "/nope")
            #expect(missing?.reason.contains("hindsight model fetch") == true)

            try TinyBert(seed: 1).write(to: directory)
            for (file, named) in [("config.json", "config.json"), ("vocab.txt", "tokenizer.json"), ("model.safetensors", "model.safetensors")] {
                let moved = directory + "/" + file + ".away"
                try FileManager.default.moveItem(atPath: directory + "/" + file, toPath: moved)
                let error = failure { _ = try BertEmbedder(directory: directory) }
                #expect(error?.path == directory + "/" + named, "without \(file)")
                try FileManager.default.moveItem(atPath: moved, toPath: directory + "/" + file)
            }
            #expect(failure { _ = try BertEmbedder(directory: directory) } == nil)
        }
    }

    @Test func truncatedOrCorruptWeights() throws {
        try withTemporaryDirectory { directory in
            let model = TinyBert(seed: 2)
            try model.write(to: directory)
            let weights = directory + "/model.safetensors"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
            try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: weights))
            let truncated = failure { _ = try BertEmbedder(directory: directory) }
            #expect(truncated?.path == weights)
            #expect(truncated?.reason.contains("truncated") == true)

            try bytes.prefix(5).write(to: URL(fileURLWithPath: weights))
            #expect(failure { _ = try BertEmbedder(directory: directory) }?.path == weights)

            try writeSafeTensors(weights, [("a", "F32", [2], float32Bytes([1, 2]))], headerLengthOverride: 1 << 40)
            #expect(failure { _ = try BertEmbedder(directory: directory) }?.reason.contains("header") == true)

            var garbage = Data(count: 8)
            garbage[0] = 4
            garbage.append(contentsOf: Array("{{{{".utf8))
            try garbage.write(to: URL(fileURLWithPath: weights))
            #expect(failure { _ = try BertEmbedder(directory: directory) }?.reason.contains("not JSON") == true)

            try writeSafeTensors(weights, [("a", "F32", [3], float32Bytes([1, 2]))])
            #expect(failure { _ = try BertEmbedder(directory: directory) }?.reason.contains("shape") == true)
        }
    }

    @Test func weightsThatDoNotMatchTheConfiguration() throws {
        try withTemporaryDirectory { directory in
            let model = TinyBert(seed: 3)
            try model.write(to: directory, config: [
                "model_type": "bert", "hidden_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
                "intermediate_size": 64, "vocab_size": TinyBert.vocabulary.count, "max_position_embeddings": 16,
            ])
            let mismatch = failure { _ = try BertEmbedder(directory: directory) }
            #expect(mismatch?.path == directory + "/model.safetensors")
            #expect(mismatch?.reason.contains("embeddings.word_embeddings.weight") == true)

            try model.write(to: directory, config: [
                "model_type": "bert", "hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4,
                "intermediate_size": 64, "vocab_size": TinyBert.vocabulary.count, "max_position_embeddings": 16,
            ])
            #expect(failure { _ = try BertEmbedder(directory: directory) }?.reason.contains("encoder.layer.2") == true)

            try model.write(to: directory, config: ["model_type": "bert", "hidden_size": 32])
            #expect(failure { _ = try BertEmbedder(directory: directory) }?.path == directory + "/config.json")

            try model.write(to: directory, config: ["model_type": "gpt2"])
            #expect(failure { _ = try BertEmbedder(directory: directory) }?.reason.contains("gpt2") == true)

            try model.write(to: directory, config: [
                "model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 5,
                "intermediate_size": 64, "vocab_size": TinyBert.vocabulary.count,
            ])
            #expect(failure { _ = try BertEmbedder(directory: directory) }?.reason.contains("multiple") == true)

            try model.write(to: directory, config: [
                "model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
                "intermediate_size": 64, "vocab_size": 5, "max_position_embeddings": 16,
            ])
            #expect(failure { _ = try BertEmbedder(directory: directory) }?.reason.contains("vocab_size") == true)

            try model.write(to: directory, pooling: "max")
            #expect(failure { _ = try BertEmbedder(directory: directory) }?.path == directory + "/1_Pooling/config.json")
        }
    }
}
