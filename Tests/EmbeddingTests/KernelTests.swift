import VectorIndex
import CTransformer
@testable import Embedding
import Foundation
import TestSupport
import Testing

@Suite struct KernelTests {
    static let kernels = ["avx512", "avx2", "portable"].compactMap(GemmKernel.init(named:))

    @Test func theBestKernelIsAvailable() {
        #expect(Self.kernels.contains(GemmKernel.best))
        #expect(GemmKernel(named: "no-such-kernel") == nil)
    }

    /// Every kernel against a double-precision product, over shapes that leave partial tiles in
    /// every dimension and cross the K and M blocking (256 and 240).
    @Test(arguments: [(1, 1, 1), (7, 45, 19), (13, 32, 300), (250, 70, 600), (3, 100, 0)])
    func productsMatchDoublePrecision(shape: (m: Int, n: Int, k: Int)) {
        var random = SplitMix64(seed: UInt64(shape.m * 1_000_003 + shape.n * 1009 + shape.k))
        let (m, n, k) = shape
        let lda = k + 3, ldc = n + 5
        let a = (0..<(m * lda)).map { _ in random.nextGaussian() }
        let weight = (0..<(n * k)).map { _ in random.nextGaussian() }  // n rows of k: Bᵀ
        let bias = (0..<n).map { _ in random.nextGaussian() }
        let initial = (0..<(m * ldc)).map { _ in random.nextGaussian() }
        for kernel in Self.kernels {
            for accumulate in [false, true] {
                let packed = FloatBuffer(count: hs_gemm_packed_count(kernel.handle, Int32(n), Int32(k)))
                hs_gemm_pack_transposed(kernel.handle, weight, k, Int32(n), Int32(k), packed.pointer)
                var c = initial
                hs_gemm(kernel.handle, Int32(m), Int32(n), Int32(k), 0.5, a, lda, packed.pointer, bias, accumulate ? 1 : 0, &c, ldc)
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0
                        for q in 0..<k { sum += Double(a[i * lda + q]) * Double(weight[j * k + q]) }
                        let expected = 0.5 * sum + Double(bias[j]) + (accumulate ? Double(initial[i * ldc + j]) : 0)
                        worst = max(worst, abs(expected - Double(c[i * ldc + j])))
                    }
                    // Columns past n are left alone.
                    for j in n..<ldc where c[i * ldc + j] != initial[i * ldc + j] { worst = .infinity }
                }
                #expect(worst <= 1e-4 * Double(max(1, k)).squareRoot(), "\(kernel.name) \(shape) accumulate \(accumulate)")

                // The same product with B given row-major (k rows of n) packs to the same panels.
                let rowMajor = (0..<(k * n)).map { weight[($0 % n) * k + $0 / n] }
                let packed2 = FloatBuffer(count: hs_gemm_packed_count(kernel.handle, Int32(n), Int32(k)))
                hs_gemm_pack(kernel.handle, rowMajor, n, Int32(k), Int32(n), packed2.pointer)
                #expect(Array(UnsafeBufferPointer(start: packed.pointer, count: packed.count))
                        == Array(UnsafeBufferPointer(start: packed2.pointer, count: packed2.count)))
            }
        }
    }

    @Test func elementwiseStepsMatchTheirDefinitions() {
        var random = SplitMix64(seed: 99)
        var x = (0..<1000).map { _ in 4 * random.nextGaussian() } + [-30, -9, 0, 9, 30]
        let original = x
        hs_gelu(&x, x.count)
        for (value, result) in zip(original, x) {
            let v = Double(value)
            #expect(abs(v * 0.5 * (1 + erf(v / 2.0.squareRoot())) - Double(result)) <= 1e-6 * max(1, abs(v)))
        }

        var e = (0..<1000).map { _ in 20 * random.nextGaussian() } + [-100, -87, 0, 88]
        let exponents = e
        hs_exp(&e, e.count)
        for (value, result) in zip(exponents, e) {
            if value < -87.4 { #expect(result == 0) } else { #expect(abs(Double(result) / exp(Double(value)) - 1) <= 1e-6) }
        }

        let rows = 5, columns = 37, stride = 40
        var s = (0..<(rows * stride)).map { _ in 3 * random.nextGaussian() }
        let scores = s
        hs_softmax_rows(&s, Int32(rows), Int32(columns), stride)
        for r in 0..<rows {
            let row = scores[(r * stride)..<(r * stride + columns)].map(Double.init)
            let total = row.map { exp($0 - row.max()!) }.reduce(0, +)
            for j in 0..<columns { #expect(abs(exp(row[j] - row.max()!) / total - Double(s[r * stride + j])) <= 1e-6) }
            for j in columns..<stride { #expect(s[r * stride + j] == scores[r * stride + j]) }
        }

        let width = 53
        var y = (0..<(3 * width)).map { _ in 10 + random.nextGaussian() }
        let before = y
        let gamma = (0..<width).map { _ in 1 + random.nextGaussian() / 10 }, beta = (0..<width).map { _ in random.nextGaussian() }
        hs_layer_norm(&y, 3, Int32(width), gamma, beta, 1e-12)
        for r in 0..<3 {
            let row = before[(r * width)..<((r + 1) * width)].map(Double.init)
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
            for j in 0..<width {
                let expected = (row[j] - mean) / variance.squareRoot() * Double(gamma[j]) + Double(beta[j])
                #expect(abs(expected - Double(y[r * width + j])) <= 1e-4)
            }
        }
    }
}
