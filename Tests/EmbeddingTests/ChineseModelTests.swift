@testable import Embedding
import Foundation
import Testing

/// moka-ai/m3e-small, a Chinese sentence model (4 layers, 512-d, 8 heads, a cased 21,128-piece
/// vocabulary), in `models/m3e-small` where `hindsight model fetch --model m3e-small` puts it
/// (tools/test.sh fetches it; CI must). Loaded by the same code as all-MiniLM-L6-v2, driven only by
/// its directory, and compared with tools/bert-fixture.py's independent float64 forward pass.
enum ChineseModel {
    static let directory = modelDirectory("m3e-small", environment: "HINDSIGHT_ZH_MODEL_DIR")

    static var isAvailable: Bool { FileManager.default.fileExists(atPath: directory + "/model.safetensors") }
    static let skipMessage: Comment = "m3e-small is not in \(directory): fetch it with `hindsight model fetch --model m3e-small --model-dir models/m3e-small` (tools/fetch-model.sh)"
    static let embedder: BertEmbedder? = try? BertEmbedder(directory: directory, threads: 2)
}

@Suite(.enabled(if: ChineseModel.isAvailable, ChineseModel.skipMessage))
struct ChineseModelTests {
    @Test func directoryDescribesTheModel() throws {
        let directory = try ModelDirectory(path: ChineseModel.directory)
        #expect(directory.configuration == BertConfiguration(hiddenSize: 512, layers: 4, attentionHeads: 8, intermediateSize: 2048,
                                                             vocabularySize: 21128, maxPositions: 512, typeVocabularySize: 2,
                                                             layerNormEpsilon: 1e-12))
        #expect(directory.pooling == .mean)
        #expect(directory.maxSequenceLength == 512)
        #expect(directory.defaultName == "m3e-small")
    }

    /// Chinese characters one piece each, cased English (so `Apple` is unknown to this vocabulary,
    /// as upstream), tickers, markdown, the empty text, and a text past 512 pieces.
    @Test func tokenIDsEqualHuggingFaceTokenizers() throws {
        let embedder = try #require(ChineseModel.embedder)
        for item in try Fixtures.items("m3e-small-reference.json") {
            #expect(embedder.tokenize(item.text) == item.ids, "\(item.text.prefix(40))")
        }
    }

    @Test(arguments: ["avx512", "avx2", "portable"])
    func embeddingsEqualTheReference(kernel: String) async throws {
        guard let gemm = GemmKernel(named: kernel) else { return }  // this CPU lacks the instruction set
        let embedder = try BertEmbedder(directory: ChineseModel.directory, threads: 2, kernel: gemm)
        let items = try Fixtures.items("m3e-small-reference.json")
        let vectors = try await embedder.embed(items.map(\.text))
        for (item, vector) in zip(items, vectors) {
            #expect(vector.count == 512)
            #expect(cosine(vector, item.embedding) >= 0.9999, "\(kernel): \(item.text.prefix(40))")
            #expect(maxAbsoluteDifference(vector, item.embedding) <= 1e-4, "\(kernel): \(item.text.prefix(40))")
        }
    }

    /// What the model is for: Chinese paraphrases score well above unrelated Chinese sentences
    /// (all-MiniLM-L6-v2 cannot tell them apart: 0.56 and 0.62 against 0.45–0.62, measured).
    @Test func chineseParaphrasesAreNearerThanUnrelatedSentences() throws {
        let embedder = try #require(ChineseModel.embedder)
        let v = embedder.embedSynchronously([
            "贵州茅台股价大幅上涨，市场情绪乐观", "茅台股票涨了很多，投资者情绪积极",
            "央行宣布降息以刺激经济", "货币政策放松，人民银行下调利率",
            "今天天气很好，适合去公园散步",
        ])
        let related = [cosine(v[0], v[1]), cosine(v[2], v[3])]
        let unrelated = [(0, 2), (0, 3), (1, 2), (1, 3), (0, 4), (2, 4)].map { cosine(v[$0.0], v[$0.1]) }
        #expect(related.min()! > unrelated.max()! + 0.1, "related \(related), unrelated \(unrelated)")
    }
}
