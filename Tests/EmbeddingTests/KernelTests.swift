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

/// The int8 precision's integer product (qgemm.c) against a scalar reference of the same scheme:
/// blocks of 32 k, each quantised symmetrically to [-127, 127] with its own scale.
@Suite struct IntegerKernelTests {
    static let kernels = ["avx512vnni", "portable"].compactMap(IntegerGemmKernel.init(named:))
    static let block = 32

    /// Quantises `values` block by block, as the C code does (round half to even).
    static func quantize(_ values: ArraySlice<Float>) -> (values: [Int32], scales: [Float]) {
        var quantized: [Int32] = [], scales: [Float] = []
        for start in stride(from: values.startIndex, to: values.endIndex, by: block) {
            let part = values[start..<min(values.endIndex, start + block)]
            let largest = part.reduce(Float(0)) { max($0, abs($1)) }
            let scale = largest > 0 ? largest / 127 : 1
            let inverse = 1 / scale
            quantized += part.map { Int32(min(127, max(-127, ($0 * inverse).rounded(.toNearestOrEven)))) }
            scales.append(scale)
        }
        return (quantized, scales)
    }

    @Test func theBestIntegerKernelIsAvailable() {
        #expect(Self.kernels.contains(IntegerGemmKernel.best))
        #expect(IntegerGemmKernel(named: "portable") != nil)
        #expect(IntegerGemmKernel(named: "no-such-kernel") == nil)
    }

    /// Shapes leave partial tiles in every dimension (6 rows, 32 columns, blocks of 32 k) and cross
    /// the row blocking; the input starts 4 bytes past an alignment boundary with an odd row stride.
    @Test(arguments: [(1, 1, 1), (7, 45, 19), (13, 32, 300), (250, 40, 101), (3, 100, 0), (25, 33, 1536)])
    func productsMatchTheScalarReference(shape: (m: Int, n: Int, k: Int)) {
        var random = SplitMix64(seed: UInt64(shape.m * 7_919 + shape.n * 104_729 + shape.k))
        let (m, n, k) = shape
        let ldx = k + 3, ldc = n + 5
        // Activations with a few outliers, as after layer norm; weights Gaussian.
        let x = (0..<(m * ldx + 1)).map { _ in random.nextGaussian() * (random.next() % 50 == 0 ? 8 : 1) }
        let weight = (0..<(n * k)).map { _ in random.nextGaussian() / 10 }
        let bias = (0..<n).map { _ in random.nextGaussian() }
        let initial = (0..<(m * ldc)).map { _ in random.nextGaussian() }
        let blocks = Int(hs_qgemm_blocks(Int32(k)))
        #expect(blocks == (k + Self.block - 1) / Self.block)

        let packed = AlignedBuffer<UInt8>(count: hs_qgemm_packed_bytes(Int32(n), Int32(k)))
        let scales = FloatBuffer(count: hs_qgemm_scale_count(Int32(n), Int32(k)))
        hs_qgemm_pack_weights(weight, k, Int32(n), Int32(k), packed.pointer, scales.pointer)
        let weightRows = (0..<n).map { Self.quantize(weight[($0 * k)..<($0 * k + k)]) }
        for j in 0..<n {
            for g in 0..<blocks { #expect(scales.pointer[(j / 32) * blocks * 32 + g * 32 + j % 32] == weightRows[j].scales[g]) }
        }

        let stride = Int(hs_qgemm_row_bytes(Int32(k))) + 4, blockStride = blocks + 1
        let rows = (0..<m).map { Self.quantize(x[(1 + $0 * ldx)..<(1 + $0 * ldx + k)]) }
        var outputs: [[Float]] = []
        for kernel in Self.kernels {
            // Each kernel quantises with its own instruction set, to the same bytes.
            let quantized = AlignedBuffer<Int8>(count: max(1, m * stride))
            let rowScales = FloatBuffer(count: max(1, m * blockStride)), offsets = AlignedBuffer<Int32>(count: max(1, m * blockStride))
            // The input one float past 64-byte alignment: never aligned to a vector.
            x.withUnsafeBufferPointer { buffer in
                hs_qgemm_quantize_rows(kernel.handle, buffer.baseAddress! + 1, ldx, Int32(m), Int32(k), quantized.pointer, stride,
                                       rowScales.pointer, offsets.pointer, blockStride)
            }
            for i in 0..<m {
                let bytes = (0..<Int(hs_qgemm_row_bytes(Int32(k)))).map { Int32(quantized.pointer[i * stride + $0]) }
                #expect(bytes == rows[i].values + Array(repeating: 0, count: bytes.count - k), "\(kernel.name) row \(i)")
                for g in 0..<blocks {
                    #expect(rowScales.pointer[i * blockStride + g] == rows[i].scales[g])
                    let sum = rows[i].values[(g * Self.block)..<min(k, (g + 1) * Self.block)].reduce(0, +)
                    #expect(offsets.pointer[i * blockStride + g] == 128 * sum)
                }
            }
            for accumulate in [false, true] {
                var c = initial
                hs_qgemm(kernel.handle, Int32(m), Int32(n), Int32(k), quantized.pointer, stride, rowScales.pointer, offsets.pointer,
                         blockStride, packed.pointer, scales.pointer, bias, accumulate ? 1 : 0, &c, ldc)
                var worst = 0.0, error = 0.0, size = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        // The scheme: exact integers per block, then scaled and summed in double.
                        var expected = Double(bias[j]) + (accumulate ? Double(initial[i * ldc + j]) : 0), magnitude = abs(expected)
                        for g in 0..<blocks {
                            var dot: Int64 = 0
                            for q in (g * Self.block)..<min(k, (g + 1) * Self.block) {
                                dot += Int64(rows[i].values[q]) * Int64(weightRows[j].values[q])
                            }
                            let term = Double(rows[i].scales[g]) * Double(weightRows[j].scales[g]) * Double(dot)
                            expected += term
                            magnitude += abs(term)
                        }
                        worst = max(worst, abs(expected - Double(c[i * ldc + j])) / max(1, magnitude))
                        // And how far the scheme is from the float product.
                        var exact = Double(bias[j]) + (accumulate ? Double(initial[i * ldc + j]) : 0)
                        for q in 0..<k { exact += Double(x[1 + i * ldx + q]) * Double(weight[j * k + q]) }
                        error += (exact - Double(c[i * ldc + j])) * (exact - Double(c[i * ldc + j]))
                        size += exact * exact
                    }
                    for j in n..<ldc where c[i * ldc + j] != initial[i * ldc + j] { worst = .infinity }
                }
                #expect(worst <= 1e-5, "\(kernel.name) \(shape) accumulate \(accumulate)")
                #expect(size == 0 || (error / size).squareRoot() <= 0.02, "\(kernel.name) \(shape): relative error \((error / max(size, 1e-30)).squareRoot())")
                outputs.append(c)
            }
        }
        // The kernels return the same numbers (the block sums are exact; only float rounding differs).
        if outputs.count == 4 {
            #expect(zip(outputs[0], outputs[2]).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
        }
    }
}
