import Distance
import VectorIndex
import Foundation
import TestSupport
import Testing

private let dimensions = [1, 7, 15, 16, 17, 31, 32, 33, 63, 127, 384, 767, 1536]

/// The float32 value of a bf16 code, computed from its bits independently of the library.
private func widened(_ code: UInt16) -> Double { Double(Float(bitPattern: UInt32(code) << 16)) }

@Suite struct BF16KernelTests {
    /// Each kernel equals a double-precision sum of the same products, within float32 rounding,
    /// with the codes (and a bf16 query) at every 2-byte offset a record may give them. A kernel
    /// that takes a bf16 query is compared with the products of the rounded query.
    @Test(arguments: BF16DotKernel.available.map(\.instructionSet), dimensions)
    func kernelEqualsTheScalarSumAtUnalignedOffsets(set: BF16DotKernel.InstructionSet, dimension: Int) {
        let kernel = BF16DotKernel(set)!
        var rng = SplitMix64(seed: UInt64(dimension) &* 131)
        let query = (0..<dimension).map { _ in rng.nextGaussian() }
        let source = (0..<dimension).map { _ in rng.nextGaussian() }
        var codes = [UInt16](repeating: 0, count: dimension)
        BF16Codes.encode(source, count: dimension, into: &codes)
        var queryCodes = [UInt16](repeating: 0, count: dimension)
        BF16Codes.encode(query, count: dimension, into: &queryCodes)
        let queryValues = kernel.takesBF16Query ? queryCodes.map(widened) : query.map(Double.init)
        let expected = zip(queryValues, codes).reduce(0.0) { $0 + $1.0 * widened($1.1) }
        let magnitude = zip(queryValues, codes).reduce(0.0) { $0 + abs($1.0 * widened($1.1)) }
        for offset in [0, 2, 6, 10] {
            var bytes = [UInt8](repeating: 0xA5, count: offset)
            for code in codes { bytes += [UInt8(code & 0xFF), UInt8(code >> 8)] }
            bytes += [0xFF, 0xFF]
            // The query too, at the same offset (a bf16 query as u16 codes, a float32 one as floats).
            var queryBytes = [UInt8](repeating: 0x5A, count: offset)
            if kernel.takesBF16Query {
                for code in queryCodes { queryBytes += [UInt8(code & 0xFF), UInt8(code >> 8)] }
            } else {
                query.withUnsafeBytes { queryBytes += $0 }
            }
            queryBytes += [0xFF, 0xFF, 0xFF, 0xFF]
            let got = queryBytes.withUnsafeBytes { q in
                bytes.withUnsafeBytes { kernel(q.baseAddress! + offset, $0.baseAddress! + offset, count: dimension) }
            }
            #expect(abs(Double(got) - expected) <= 1e-6 * magnitude + 1e-30, "\(set) d=\(dimension) offset \(offset)")
        }
    }

    @Test func bestKernelIsTheFirstAvailable() {
        #expect(BF16DotKernel.available.first == BF16DotKernel.best)
        #expect(BF16DotKernel(.portable) != nil)
    }

    @Test func forcingAVX512OffChoosesAnotherKernel() async {
        await #expect(processExitsWith: .success) {
            setenv("HINDSIGHT_DISABLE_AVX512", "1", 1)
            guard ![.avx512, .avx512bf16].contains(BF16DotKernel.best.instructionSet) else { exit(1) }
        }
    }

    /// Without `vdpbf16ps` the walk falls back to the next kernel this CPU has (AVX-512F where it
    /// exists), which takes a float32 query.
    @Test func forcingBF16InstructionsOffChoosesTheWideningKernel() async {
        await #expect(processExitsWith: .success) {
            setenv("HINDSIGHT_DISABLE_AVX512_BF16", "1", 1)
            let best = BF16DotKernel.best
            let expected = BF16DotKernel.available.first { $0.instructionSet != .avx512bf16 }
            guard best == expected, !best.takesBF16Query else { exit(1) }
        }
    }

    /// Rounding is to the nearest bf16, ties to even, and keeps the relative error within 2⁻⁸ (8 significant bits).
    @Test func codesRoundToNearestEven() {
        let cases: [(Float, UInt16)] = [
            (1.0, 0x3F80), (-2.0, 0xC000), (0, 0), (-0.0, 0x8000),
            (Float(bitPattern: 0x3F80_8000), 0x3F80),  // halfway between 0x3F80 and 0x3F81: to the even 0x3F80
            (Float(bitPattern: 0x3F81_8000), 0x3F82),  // halfway between 0x3F81 and 0x3F82: to the even 0x3F82
            (Float(bitPattern: 0x3F80_8001), 0x3F81),  // just above halfway: up
            (Float(bitPattern: 0x3F80_7FFF), 0x3F80),  // just below: down
        ]
        for (value, code) in cases {
            var out: [UInt16] = [0]
            BF16Codes.encode([value], count: 1, into: &out)
            #expect(out[0] == code, "\(value): \(String(out[0], radix: 16)) instead of \(String(code, radix: 16))")
        }
        var rng = SplitMix64(seed: 9)
        let values = (0..<5_000).map { _ in rng.nextGaussian() * 3 }
        var codes = [UInt16](repeating: 0, count: values.count)
        BF16Codes.encode(values, count: values.count, into: &codes)
        for (value, code) in zip(values, codes) where value != 0 {
            #expect(abs(widened(code) - Double(value)) <= abs(Double(value)) * 0x1p-8, "\(value)")
            #expect(BF16Codes.value(code) == Float(widened(code)))
        }
    }
}
