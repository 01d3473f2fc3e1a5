import VectorIndex
import CTransformer
@testable import Embedding
import Foundation
import TestSupport
import Testing

/// The bf16 matrix product of the `bf16` precision: each kernel against a double-precision product
/// of the same bf16-rounded operands, at shapes with partial tiles and odd k, with A one float past
/// alignment and rows two bytes apart from a 64-byte boundary.
@Suite struct BF16GemmTests {
    static let kernels = ["avx512bf16", "portable"].compactMap(BF16GemmKernel.init(named:))

    /// The bf16 value of `x`, rounded to nearest even, computed here from its bits.
    static func rounded(_ x: Float) -> Double {
        let bits = x.bitPattern
        let code = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
        return Double(Float(bitPattern: code << 16))
    }

    @Test func thePortableKernelAlwaysExists() {
        #expect(Self.kernels.contains { $0.name == "portable" })
        #expect(BF16GemmKernel(named: "no-such-kernel") == nil)
        #expect(Self.kernels.contains(BF16GemmKernel.best))
    }

    @Test(arguments: [(1, 1, 1), (7, 45, 19), (13, 32, 300), (250, 70, 601), (3, 100, 0), (25, 33, 1536)])
    func productsMatchTheRoundedOperandsInDoublePrecision(shape: (m: Int, n: Int, k: Int)) {
        var random = SplitMix64(seed: UInt64(shape.m * 7919 + shape.n * 104_729 + shape.k))
        let (m, n, k) = shape
        let lda = k + 3, ldc = n + 5
        let storage = (0..<(m * lda + 1)).map { _ in random.nextGaussian() }
        let weight = (0..<(n * k)).map { _ in random.nextGaussian() }
        let bias = (0..<n).map { _ in random.nextGaussian() }
        let initial = (0..<(m * ldc)).map { _ in random.nextGaussian() }
        for kernel in Self.kernels {
            for accumulate in [false, true] {
                let packed = AlignedBuffer<UInt16>(count: hs_bgemm_packed_count(Int32(n), Int32(k)))
                hs_bgemm_pack_weights(weight, k, Int32(n), Int32(k), packed.pointer)
                let stride = hs_bgemm_row_elements(Int32(k)) + 1  // rows 2 bytes off a 4-byte boundary every other row
                let rows = AlignedBuffer<UInt16>(count: max(1, m * stride + 1))
                storage.withUnsafeBufferPointer { a in
                    hs_bgemm_convert_rows(kernel.handle, a.baseAddress! + 1, lda, Int32(m), Int32(k), rows.pointer + 1, stride)
                }
                var c = initial
                hs_bgemm(kernel.handle, Int32(m), Int32(n), Int32(k), rows.pointer + 1, stride, packed.pointer, bias,
                         accumulate ? 1 : 0, &c, ldc)
                var worst = 0.0, converted = true
                for i in 0..<m {
                    for q in 0..<k where Double(Float(bitPattern: UInt32(rows.pointer[1 + i * stride + q]) << 16)) != Self.rounded(storage[1 + i * lda + q]) {
                        converted = false
                    }
                    for j in 0..<n {
                        var sum = 0.0, magnitude = 0.0
                        for q in 0..<k {
                            let product = Self.rounded(storage[1 + i * lda + q]) * Self.rounded(weight[j * k + q])
                            sum += product
                            magnitude += abs(product)
                        }
                        let expected = sum + Double(bias[j]) + (accumulate ? Double(initial[i * ldc + j]) : 0)
                        worst = max(worst, abs(expected - Double(c[i * ldc + j])) / max(1, magnitude))
                    }
                    for j in n..<ldc where c[i * ldc + j] != initial[i * ldc + j] { worst = .infinity }
                }
                #expect(converted, "\(kernel.name) \(shape): rows are rounded to nearest even")
                #expect(worst <= 1e-5, "\(kernel.name) \(shape) accumulate \(accumulate): \(worst)")
            }
        }
    }
}

/// The tiny model at bf16: every bf16 kernel against the naive double reference, names, and the
/// fallback when AVX512-BF16 is forced off.
@Suite struct TinyBertBF16Tests {
    @Test func bf16VectorsStayCloseToTheNaiveReferenceOnEveryKernel() throws {
        let model = TinyBert(seed: 11)
        try withTemporaryDirectory { directory in
            try model.write(to: directory + "/tiny-bert", pooling: "mean")
            let texts = ["The stock rose!", "央行 cut rates.", "a bank", "", "Café markets fell",
                         Array(repeating: "the stock rose", count: 10).joined(separator: " ")]
            var outputs: [[[Float]]] = []
            for kernel in BF16GemmTests.kernels {
                let embedder = try BertEmbedder(directory: directory + "/tiny-bert", threads: 2, kernel: .best, precision: .bf16,
                                                bf16Kernel: kernel)
                #expect(embedder.precision == .bf16 && embedder.model == "tiny-bert+bf16")
                #expect(embedder.kernel.hasPrefix("bf16-\(kernel.name)+"), "\(embedder.kernel)")
                let vectors = embedder.embedSynchronously(texts)
                for (text, vector) in zip(texts, vectors) {
                    let reference = model.referenceVector(ids: embedder.tokenize(text), pooling: "mean")
                    #expect(cosine(vector, reference) >= 0.999, "\(kernel.name): \(text.prefix(30)) \(cosine(vector, reference))")
                }
                outputs.append(vectors)
                #expect(embedder.variant(forModel: "tiny-bert+bf16") === embedder)
                #expect(embedder.variant(forModel: "tiny-bert+int8")?.precision == .int8)
                #expect(embedder.variant(forModel: "tiny-bert")?.precision == .f32)
                #expect(embedder.variant(forModel: "another-bert+bf16") == nil)
            }
            if outputs.count == 2 {
                for (a, b) in zip(outputs[0], outputs[1]) { #expect(cosine(a, b) >= 0.99999) }
            }
        }
    }

    @Test func forcingBF16InstructionsOffFallsBackToThePortableKernel() async {
        await #expect(processExitsWith: .success) {
            setenv("HINDSIGHT_DISABLE_AVX512_BF16", "1", 1)
            guard BF16GemmKernel.best.name == "portable" else { exit(1) }
            let model = TinyBert(seed: 3)
            let directory = NSTemporaryDirectory() + "tiny-bert-bf16-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            guard (try? model.write(to: directory)) != nil,
                  let embedder = try? BertEmbedder(directory: directory, precision: .bf16) else { exit(2) }
            guard embedder.kernel.hasPrefix("bf16-portable+") else { exit(3) }
            let vector = embedder.embedSynchronously(["the stock rose"])[0]
            guard cosine(vector, model.referenceVector(ids: embedder.tokenize("the stock rose"))) >= 0.999 else { exit(4) }
        }
    }
}
