@testable import Embedding
import Foundation
import Testing

/// all-MiniLM-L6-v2 against the reference tokens and vectors (skipped, saying how to fetch the
/// model, when it is absent; CI fetches it).
@Suite(.enabled(if: ReferenceModel.isAvailable, ReferenceModel.skipMessage))
struct MiniLMReferenceTests {
    @Test func modelDirectoryIsReadFromItsFiles() throws {
        let directory = try ModelDirectory(path: ReferenceModel.directory)
        #expect(directory.configuration == BertConfiguration(hiddenSize: 384, layers: 6, attentionHeads: 12, intermediateSize: 1536,
                                                             vocabularySize: 30522, maxPositions: 512, typeVocabularySize: 2,
                                                             layerNormEpsilon: 1e-12))
        #expect(directory.pooling == .mean)
        #expect(directory.maxSequenceLength == 256)
        #expect(directory.tokenizer.vocabularySize == 30522)
    }

    @Test func tokenIDsEqualTheReference() throws {
        let embedder = try #require(ReferenceModel.embedder)
        for item in try Fixtures.allItems() {
            #expect(embedder.tokenize(item.text) == item.ids, "\(item.text.prefix(60))")
            let pieces = embedder.directory.tokenizer.tokens(item.text).prefix(254)
            #expect(Array(pieces) == Array(item.tokens.dropFirst().dropLast()), "\(item.text.prefix(60))")
        }
    }

    @Test(arguments: ["avx512", "avx2", "portable"])
    func embeddingsEqualTheReference(kernel: String) async throws {
        guard let gemm = GemmKernel(named: kernel) else { return }  // this CPU lacks the instruction set
        let embedder = try BertEmbedder(directory: ReferenceModel.directory, threads: 2, kernel: gemm)
        let items = try Fixtures.allItems()
        let vectors = try await embedder.embed(items.map(\.text))  // one call: batched and threaded
        #expect(vectors.count == items.count)
        for (item, vector) in zip(items, vectors) {
            #expect(vector.count == 384)
            #expect(cosine(vector, item.embedding) >= 0.9999, "\(kernel): \(item.text.prefix(60))")
            #expect(maxAbsoluteDifference(vector, item.embedding) <= 1e-4, "\(kernel): \(item.text.prefix(60))")
        }
    }

    /// Each low-precision kernel against the f32 reference vectors of every fixture text: int8 (VNNI,
    /// portable) and bf16 (AVX512-BF16, portable); a kernel this CPU lacks is left out.
    @Test(arguments: [(EmbeddingPrecision.int8, "avx512vnni"), (.int8, "portable"), (.bf16, "avx512bf16"), (.bf16, "portable")])
    func lowPrecisionEmbeddingsStayCloseToTheReference(precision: EmbeddingPrecision, kernel: String) async throws {
        let embedder: BertEmbedder
        switch precision {
        case .int8:
            guard let integer = IntegerGemmKernel(named: kernel) else { return }
            embedder = try BertEmbedder(directory: ReferenceModel.directory, threads: 2, kernel: .best, precision: .int8, integerKernel: integer)
            #expect(embedder.kernel.hasPrefix(kernel + "+"))
        case .bf16:
            guard let bf16 = BF16GemmKernel(named: kernel) else { return }
            embedder = try BertEmbedder(directory: ReferenceModel.directory, threads: 2, kernel: .best, precision: .bf16, bf16Kernel: bf16)
            #expect(embedder.kernel.hasPrefix("bf16-" + kernel + "+"))
        case .f32:
            Issue.record("f32 is the reference")
            return
        }
        #expect(embedder.precision == precision)
        let floor = precision == .int8 ? Self.int8Floor : Self.bf16Floor
        let items = try Fixtures.allItems()
        let vectors = try await embedder.embed(items.map(\.text))
        var lowest = 1.0
        for (item, vector) in zip(items, vectors) {
            let similarity = Double(cosine(vector, item.embedding))
            lowest = min(lowest, similarity)
            #expect(similarity >= floor, "\(precision) \(kernel): \(item.text.prefix(60))")
        }
        print("\(precision) \(kernel): lowest cosine to the f32 reference over \(items.count) texts: \(lowest)")
    }

    /// The least cosine a bf16 vector keeps to the f32 reference (the issue's bar for a default).
    static let bf16Floor = 0.999

    /// The least cosine an int8 vector keeps to the f32 reference (measured: see docs/benchmarks.md).
    static let int8Floor = 0.998

    @Test func publishedSimilaritiesOfTheModelCard() throws {
        let embedder = try #require(ReferenceModel.embedder)
        let v = embedder.embedSynchronously(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
        #expect(abs(cosine(v[0], v[1]) - 0.6660) < 2e-4)
        #expect(abs(cosine(v[0], v[2]) - 0.1046) < 2e-4)
        #expect(abs(cosine(v[1], v[2]) - 0.1411) < 2e-4)
    }

    @Test func longTextsAreWindowedLikeTheReference() throws {
        let embedder = try #require(ReferenceModel.embedder)
        let item = try #require(try Fixtures.items("minilm-extra.json").first { $0.windows != nil })
        let windows = try #require(item.windows)
        let windowed = embedder.with(longText: .windows(overlap: windows.overlap))
        let sequences = windowed.sequences(item.text)
        #expect(sequences.count == windows.starts.count)
        #expect(sequences.allSatisfy { $0.count == 256 })
        #expect(cosine(windowed.embedSynchronously([item.text])[0], windows.embedding) >= 0.9999)
        // Truncation reads the first 256 pieces only: a different vector.
        let truncated = embedder.embedSynchronously([item.text])[0]
        #expect(cosine(truncated, item.embedding) >= 0.9999)
        #expect(cosine(truncated, windows.embedding) < 0.999)
    }
}
