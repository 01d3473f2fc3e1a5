@testable import Embedding
import VectorIndex
import Foundation
import TestSupport
import Testing

/// A tiny random BERT (2 layers, hidden 32, 4 heads, CLS pooling) that the tests write as a
/// sentence-transformers directory, with a naive double-precision forward pass to check the engine
/// against. Some tensors are stored as F16 and BF16, and every name has the "bert." prefix of
/// checkpoints saved from task models.
struct TinyBert {
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "stock", "rose", "fell", "bank", "##s",
                             "market", "rate", "!", ".", "央", "行", "cut", "##ting", "a", "caf", "##e"]
    let hidden = 32, layers = 2, heads = 4, intermediate = 64, maxPositions = 16, typeVocabulary = 2
    let epsilon = 1e-12
    private(set) var tensors: [(name: String, dtype: String, shape: [Int], values: [Float])] = []

    init(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        func add(_ name: String, _ shape: [Int], dtype: String = "F32", scale: Float = 0.3, offset: Float = 0) {
            let values = (0..<shape.reduce(1, *)).map { _ in offset + scale * random.nextGaussian() }
            // Keep exactly what the file will hold.
            let stored: [Float] = switch dtype {
            case "F16": values.map { Float(Float16($0)) }
            case "BF16": values.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }
            default: values
            }
            tensors.append(("bert." + name, dtype, shape, stored))
        }
        let h = hidden
        add("embeddings.word_embeddings.weight", [Self.vocabulary.count, h], dtype: "BF16", scale: 1)
        add("embeddings.position_embeddings.weight", [maxPositions, h], scale: 0.5)
        add("embeddings.token_type_embeddings.weight", [typeVocabulary, h], scale: 0.5)
        add("embeddings.LayerNorm.weight", [h], scale: 0.1, offset: 1)
        add("embeddings.LayerNorm.bias", [h], scale: 0.1)
        for layer in 0..<layers {
            let p = "encoder.layer.\(layer)."
            for name in ["query", "key", "value"] {
                add(p + "attention.self.\(name).weight", [h, h])
                add(p + "attention.self.\(name).bias", [h], scale: 0.1)
            }
            add(p + "attention.output.dense.weight", [h, h])
            add(p + "attention.output.dense.bias", [h], scale: 0.1)
            add(p + "attention.output.LayerNorm.weight", [h], scale: 0.1, offset: 1)
            add(p + "attention.output.LayerNorm.bias", [h], scale: 0.1)
            add(p + "intermediate.dense.weight", [intermediate, h], dtype: layer == 1 ? "F16" : "F32")
            add(p + "intermediate.dense.bias", [intermediate], scale: 0.1)
            add(p + "output.dense.weight", [h, intermediate], scale: 0.2)
            add(p + "output.dense.bias", [h], scale: 0.1)
            add(p + "output.LayerNorm.weight", [h], scale: 0.1, offset: 1)
            add(p + "output.LayerNorm.bias", [h], scale: 0.1)
        }
        add("pooler.dense.weight", [h, h])  // unused by sentence embeddings, present in checkpoints
    }

    /// Writes the model directory (vocab.txt tokenizer, CLS pooling).
    func write(to directory: String, pooling: String = "cls", config: [String: Any]? = nil) throws {
        let files = FileManager.default
        try files.createDirectory(atPath: directory + "/1_Pooling", withIntermediateDirectories: true)
        let configuration: [String: Any] = config ?? [
            "model_type": "bert", "hidden_act": "gelu", "hidden_size": hidden, "num_hidden_layers": layers,
            "num_attention_heads": heads, "intermediate_size": intermediate, "vocab_size": Self.vocabulary.count,
            "max_position_embeddings": maxPositions, "type_vocab_size": typeVocabulary, "layer_norm_eps": epsilon,
        ]
        try JSONSerialization.data(withJSONObject: configuration).write(to: URL(fileURLWithPath: directory + "/config.json"))
        let poolingConfig: [String: Any] = ["word_embedding_dimension": hidden, "pooling_mode_cls_token": pooling == "cls",
                                            "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": pooling == "max"]
        try JSONSerialization.data(withJSONObject: poolingConfig).write(to: URL(fileURLWithPath: directory + "/1_Pooling/config.json"))
        try (Self.vocabulary.joined(separator: "\n") + "\n").write(toFile: directory + "/vocab.txt", atomically: true, encoding: .utf8)
        try writeSafeTensors(directory + "/model.safetensors", tensors.map { tensor in
            let bytes = switch tensor.dtype {
            case "F16": float16Bytes(tensor.values)
            case "BF16": bfloat16Bytes(tensor.values)
            default: float32Bytes(tensor.values)
            }
            return (tensor.name, tensor.dtype, tensor.shape, bytes)
        })
    }

    private func values(_ name: String) -> [Double] {
        tensors.first { $0.name == "bert." + name }!.values.map(Double.init)
    }

    /// The reference forward pass, in doubles, written as plainly as possible.
    func referenceVector(ids: [Int32], pooling: String = "cls") -> [Float] {
        let h = hidden, n = ids.count, headSize = hidden / heads
        func layerNorm(_ x: inout [[Double]], _ prefix: String) {
            let gamma = values(prefix + ".weight"), beta = values(prefix + ".bias")
            for t in 0..<x.count {
                let mean = x[t].reduce(0, +) / Double(h)
                let variance = x[t].reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(h)
                for j in 0..<h { x[t][j] = (x[t][j] - mean) / (variance + epsilon).squareRoot() * gamma[j] + beta[j] }
            }
        }
        func linear(_ x: [[Double]], _ prefix: String, outputs: Int) -> [[Double]] {
            let weight = values(prefix + ".weight"), bias = values(prefix + ".bias")
            let inputs = x[0].count
            return x.map { row in
                (0..<outputs).map { (o: Int) -> Double in
                    var sum = bias[o]
                    for i in 0..<inputs { sum += row[i] * weight[o * inputs + i] }
                    return sum
                }
            }
        }
        let word = values("embeddings.word_embeddings.weight"), position = values("embeddings.position_embeddings.weight")
        let type = values("embeddings.token_type_embeddings.weight")
        var x = (0..<n).map { t in (0..<h).map { j in word[Int(ids[t]) * h + j] + position[t * h + j] + type[j] } }
        layerNorm(&x, "embeddings.LayerNorm")
        for layer in 0..<layers {
            let p = "encoder.layer.\(layer)."
            let q = linear(x, p + "attention.self.query", outputs: h)
            let k = linear(x, p + "attention.self.key", outputs: h)
            let v = linear(x, p + "attention.self.value", outputs: h)
            var context = [[Double]](repeating: [Double](repeating: 0, count: h), count: n)
            for head in 0..<heads {
                let columns = (head * headSize)..<((head + 1) * headSize)
                for t in 0..<n {
                    let scores = (0..<n).map { u in columns.reduce(0) { $0 + q[t][$1] * k[u][$1] } / Double(headSize).squareRoot() }
                    let maximum = scores.max()!
                    let weights = scores.map { exp($0 - maximum) }
                    let total = weights.reduce(0, +)
                    for c in columns { context[t][c] = (0..<n).reduce(0) { $0 + weights[$1] / total * v[$1][c] } }
                }
            }
            var attention = linear(context, p + "attention.output.dense", outputs: h)
            for t in 0..<n { for j in 0..<h { attention[t][j] += x[t][j] } }
            layerNorm(&attention, p + "attention.output.LayerNorm")
            var inner = linear(attention, p + "intermediate.dense", outputs: intermediate)
            for t in 0..<n { for j in 0..<intermediate { inner[t][j] = inner[t][j] * 0.5 * (1 + erf(inner[t][j] / 2.0.squareRoot())) } }
            var output = linear(inner, p + "output.dense", outputs: h)
            for t in 0..<n { for j in 0..<h { output[t][j] += attention[t][j] } }
            layerNorm(&output, p + "output.LayerNorm")
            x = output
        }
        let pooled = pooling == "cls" ? x[0] : (0..<h).map { j in x.reduce(0) { $0 + $1[j] } / Double(n) }
        let norm = pooled.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return pooled.map { Float($0 / norm) }
    }
}

@Suite struct TinyBertTests {
    @Test(arguments: ["cls", "mean"])
    func forwardPassMatchesNaiveReference(pooling: String) throws {
        let model = TinyBert(seed: 7)
        try withTemporaryDirectory { directory in
            try model.write(to: directory, pooling: pooling)
            let texts = ["The stock rose!", "央行 cut rates.", "a bank", "", "Café markets fell"]
            let expectedIDs: [[Int32]] = [[2, 5, 6, 7, 13, 3], [2, 15, 16, 17, 12, 10, 14, 3], [2, 19, 9, 3], [2, 3], [2, 20, 21, 11, 10, 8, 3]]
            for kernel in ["avx512", "avx2", "portable"] {
                guard let gemm = GemmKernel(named: kernel) else { continue }
                let embedder = try BertEmbedder(directory: directory, threads: 2, kernel: gemm)
                #expect(embedder.directory.pooling == (pooling == "cls" ? .cls : .mean))
                #expect(embedder.dimension == 32)
                #expect(texts.map(embedder.tokenize) == expectedIDs)
                let vectors = embedder.embedSynchronously(texts)
                for (ids, vector) in zip(expectedIDs, vectors) {
                    let reference = model.referenceVector(ids: ids, pooling: pooling)
                    #expect(cosine(vector, reference) >= 0.99999, "\(kernel): \(ids)")
                    #expect(maxAbsoluteDifference(vector, reference) <= 2e-5, "\(kernel): \(ids)")
                }
            }
        }
    }

    @Test func sequencesLongerThanTheModelAreTruncatedOrWindowed() throws {
        let model = TinyBert(seed: 11)
        try withTemporaryDirectory { directory in
            try model.write(to: directory)
            let truncating = try BertEmbedder(directory: directory, threads: 1)
            #expect(truncating.maxSequenceLength == 16, "max_position_embeddings bounds the sequence")
            let text = Array(repeating: "the stock rose", count: 10).joined(separator: " ")  // 30 word pieces
            let ids = truncating.tokenize(text)
            #expect(ids.count == 16 && ids.first == 2 && ids.last == 3)
            #expect(truncating.embedSynchronously([text])[0] == truncating.embedSynchronously([text])[0])
            #expect(cosine(truncating.embedSynchronously([text])[0], model.referenceVector(ids: ids)) >= 0.99999)

            let windowed = truncating.with(longText: .windows(overlap: 4))
            #expect(windowed.model == truncating.model + "+windows(overlap:4)")
            let windows = windowed.sequences(text)
            // 30 pieces, windows of 14 with stride 10: starts 0, 10 and the last window 16..<30.
            #expect(windows.count == 3)
            #expect(windows.allSatisfy { $0.count == 16 && $0.first == 2 && $0.last == 3 })
            let pieces = truncating.directory.tokenizer.wordPieces(text)
            #expect(windows[2].dropFirst().dropLast() == pieces[16..<30])
            let mean = windows.map { model.referenceVector(ids: $0) }.reduce([Float](repeating: 0, count: 32)) { zip($0, $1).map(+) }
            #expect(cosine(windowed.embedSynchronously([text])[0], mean) >= 0.99999)
            // A short text is one window either way.
            #expect(windowed.embedSynchronously(["a bank"]) == truncating.embedSynchronously(["a bank"]))
        }
    }

    @Test func batchesThreadsAndSingleCallsAgree() async throws {
        let model = TinyBert(seed: 3)
        try await withTemporaryDirectory { directory in
            try model.write(to: directory, pooling: "mean")
            let texts = (0..<40).map { index in Array(repeating: ["the", "stock", "rose", "bank", "央"][index % 5], count: 1 + index % 13).joined(separator: " ") }
            let one = try BertEmbedder(directory: directory, threads: 1, tokensPerBatch: 16)
            let many = one.with(threads: 3)
            let single = texts.map { one.embedSynchronously([$0])[0] }
            let batched = try await many.embed(texts)
            #expect(batched.count == texts.count)
            for (a, b) in zip(single, batched) { #expect(maxAbsoluteDifference(a, b) <= 1e-6) }
            // One batch on three threads: rows and (sequence, head) pairs are split between them.
            let wide = try BertEmbedder(directory: directory, threads: 3, tokensPerBatch: 4096)
            let together = wide.embedSynchronously(texts)
            for (a, b) in zip(single, together) { #expect(maxAbsoluteDifference(a, b) <= 1e-6) }
        }
    }

    @Test func variantsFollowTheRecordedModelName() throws {
        let model = TinyBert(seed: 5)
        try withTemporaryDirectory { directory in
            try model.write(to: directory + "/tiny-bert")
            let embedder = try BertEmbedder(directory: directory + "/tiny-bert")
            #expect(embedder.model == "tiny-bert")
            #expect(embedder.variant(forModel: "tiny-bert") === embedder)
            #expect(embedder.variant(forModel: "tiny-bert+windows(overlap:32)")?.longText == .windows(overlap: 32))
            #expect(embedder.variant(forModel: "other-model") == nil)
            #expect(try BertEmbedder(directory: directory + "/tiny-bert", name: "custom").model == "custom")
        }
    }
}

/// The tiny model at int8: every integer kernel, names, windows, and the fallback when VNNI is forced off.
@Suite struct TinyBertInt8Tests {
    @Test func int8VectorsStayCloseToTheNaiveReferenceOnEveryIntegerKernel() throws {
        let model = TinyBert(seed: 7)
        try withTemporaryDirectory { directory in
            try model.write(to: directory + "/tiny-bert", pooling: "mean")
            let texts = ["The stock rose!", "央行 cut rates.", "a bank", "", "Café markets fell",
                         Array(repeating: "the stock rose", count: 10).joined(separator: " ")]
            var outputs: [[[Float]]] = []
            for name in ["avx512vnni", "portable"] {
                guard let integer = IntegerGemmKernel(named: name) else { continue }
                let embedder = try BertEmbedder(directory: directory + "/tiny-bert", threads: 2, kernel: .best, precision: .int8,
                                                integerKernel: integer)
                #expect(embedder.precision == .int8 && embedder.model == "tiny-bert+int8")
                let vectors = embedder.embedSynchronously(texts)
                for (text, vector) in zip(texts, vectors) {
                    let reference = model.referenceVector(ids: embedder.tokenize(text), pooling: "mean")
                    #expect(cosine(vector, reference) >= 0.995, "\(name): \(text.prefix(30)) \(cosine(vector, reference))")
                }
                outputs.append(vectors)
                // The recorded name leads back to this precision; an f32 collection's name to an f32
                // variant (its queries embedded as its memories were); another model's to none.
                #expect(embedder.variant(forModel: "tiny-bert+int8") === embedder)
                #expect(embedder.variant(forModel: "tiny-bert+int8+windows(overlap:4)")?.longText == .windows(overlap: 4))
                #expect(embedder.variant(forModel: "tiny-bert")?.precision == .f32)
                #expect(embedder.variant(forModel: "other-bert") == nil && embedder.variant(forModel: "tiny-bert+int4") == nil)
            }
            if outputs.count == 2 {
                for (a, b) in zip(outputs[0], outputs[1]) { #expect(maxAbsoluteDifference(a, b) <= 1e-5) }
            }
            // An f32 embedder serves an int8 collection at int8, with the same numbers as an int8 embedder.
            let f32 = try BertEmbedder(directory: directory + "/tiny-bert")
            let int8 = try #require(f32.variant(forModel: "tiny-bert+int8+windows(overlap:4)"))
            #expect(int8.precision == .int8 && int8.model == "tiny-bert+int8+windows(overlap:4)" && int8.longText == .windows(overlap: 4))
            let direct = try BertEmbedder(directory: directory + "/tiny-bert", precision: .int8)
            for (a, b) in zip(int8.embedSynchronously(texts), direct.with(longText: .windows(overlap: 4)).embedSynchronously(texts)) {
                #expect(a == b)
            }
            #expect(f32.embedSynchronously(texts) != int8.embedSynchronously(texts))
            // Prepared once: a second variant shares the first's weights (same numbers, no reload needed).
            #expect(f32.variant(forModel: "tiny-bert+int8")?.embedSynchronously(texts) == direct.embedSynchronously(texts))
        }
    }

    @Test func forcingVNNIOffFallsBackToThePortableKernel() async {
        await #expect(processExitsWith: .success) {
            setenv("HINDSIGHT_DISABLE_VNNI", "1", 1)
            guard IntegerGemmKernel.best.name == "portable" else { exit(1) }
            let model = TinyBert(seed: 2)
            let directory = NSTemporaryDirectory() + "tiny-bert-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            guard (try? model.write(to: directory)) != nil,
                  let embedder = try? BertEmbedder(directory: directory, precision: .int8) else { exit(2) }
            guard embedder.kernel.hasPrefix("portable+") else { exit(3) }
            let vector = embedder.embedSynchronously(["the stock rose"])[0]
            guard cosine(vector, model.referenceVector(ids: embedder.tokenize("the stock rose"))) >= 0.995 else { exit(4) }
        }
    }
}

@Suite struct LongTextPolicyTests {
    @Test func namesRoundTrip() {
        for policy in [LongTextPolicy.truncate, .windows(overlap: 0), .windows(overlap: 64)] {
            let parsed = LongTextPolicy.parse(modelName: "all-MiniLM-L6-v2" + policy.modelSuffix)
            #expect(parsed.base == "all-MiniLM-L6-v2" && parsed.policy == policy)
        }
        #expect(LongTextPolicy.parse(modelName: "text-embedding-3-small") == ("text-embedding-3-small", .truncate))
        #expect(LongTextPolicy.parse(modelName: "odd+windows(overlap:x)") == ("odd+windows(overlap:x)", .truncate))
    }
}

/// The settings both front ends (the CLI's flags, the C API's options) load the local model with.
@Suite struct LocalModelSettingsTests {
    @Test func badSettingsAreNamedAndGoodOnesLoad() throws {
        typealias Problem = LocalModelSettings.Problem
        #expect(throws: Problem.longText("chunks")) { try LocalModelSettings(directory: "/nowhere", longText: "chunks").load() }
        #expect(throws: Problem.windowOverlap(-1)) { try LocalModelSettings(directory: "/nowhere", longText: "windows", windowOverlap: -1).load() }
        #expect(throws: Problem.precision("int4")) { try LocalModelSettings(directory: "/nowhere", precision: "int4").load() }
        #expect(throws: Problem.threads(0)) { try LocalModelSettings(directory: "/nowhere", threads: 0).load() }
        #expect(throws: EmbeddingError.self) { try LocalModelSettings(directory: "/nowhere").load() }
        #expect(Problem.precisions == "f32, int8 or bf16")
        let model = TinyBert(seed: 4)
        try withTemporaryDirectory { directory in
            try model.write(to: directory + "/tiny-bert")
            let embedder = try LocalModelSettings(directory: directory + "/tiny-bert", longText: "windows", windowOverlap: 8, threads: 1,
                                                  precision: "int8").load()
            #expect(embedder.model == "tiny-bert+int8+windows(overlap:8)" && embedder.threads == 1)
            // Without a precision the settings load the preferred one: bf16 where the CPU has AVX512-BF16, else f32.
            #expect(try LocalModelSettings(directory: directory + "/tiny-bert", name: "custom").load().model
                    == "custom" + EmbeddingPrecision.preferred.modelSuffix)
        }
    }

    /// The preferred precision follows the CPU: bf16 exactly when /proc/cpuinfo lists AVX512-BF16
    /// (with AVX-512F and BW), and f32 when the instruction is forced off.
    @Test func thePreferredPrecisionFollowsTheCPU() async {
        #expect(!CPUFeatures.flags.isEmpty)
        #expect(EmbeddingPrecision.preferred == (CPUFeatures.hasAVX512BF16 ? .bf16 : .f32))
        await #expect(processExitsWith: .success) {
            setenv("HINDSIGHT_DISABLE_AVX512_BF16", "1", 1)
            guard EmbeddingPrecision.preferred == .f32 else { exit(1) }
        }
    }
}
