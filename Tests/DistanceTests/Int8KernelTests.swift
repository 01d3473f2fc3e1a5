import Distance
import VectorIndex
import Foundation
import TestSupport
import Testing

private let dimensions = [1, 7, 31, 63, 64, 65, 127, 128, 129, 191, 384, 767, 1536]

/// Random u8 and s8 codes over the whole range, the extremes included.
private func randomCodes(_ count: Int, seed: UInt64) -> (unsigned: [UInt8], signed: [Int8]) {
    var rng = SplitMix64(seed: seed)
    let unsigned = (0..<count).map { index -> UInt8 in index % 17 == 0 ? 255 : UInt8(truncatingIfNeeded: rng.next()) }
    let signed = (0..<count).map { index -> Int8 in index % 13 == 0 ? -127 : Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
    return (unsigned, signed)
}

private func referenceDot(_ unsigned: [UInt8], _ signed: [Int8]) -> Int64 {
    zip(unsigned, signed).reduce(Int64(0)) { $0 + Int64($1.0) * Int64($1.1) }
}

@Suite struct Int8KernelTests {
    @Test(arguments: Int8DotKernel.available.map(\.instructionSet), dimensions)
    func kernelEqualsTheScalarSumAtOddOffsets(set: Int8DotKernel.InstructionSet, dimension: Int) {
        let kernel = Int8DotKernel(set)!
        let (unsigned, signed) = randomCodes(dimension, seed: UInt64(dimension) &* 977)
        let expected = referenceDot(unsigned, signed)
        // Odd and even byte offsets: codes sit wherever a record puts them.
        for offsetA in [0, 1, 2, 5] {
            for offsetB in [0, 3, 4] {
                let bytesA = [UInt8](repeating: 0xAA, count: offsetA) + unsigned + [0xFF]
                let bytesB = [UInt8](repeating: 0x55, count: offsetB) + signed.map { UInt8(bitPattern: $0) } + [0x7F]
                let got = bytesA.withUnsafeBytes { a in
                    bytesB.withUnsafeBytes { b in kernel(a.baseAddress! + offsetA, b.baseAddress! + offsetB, count: dimension) }
                }
                #expect(Int64(got) == expected, "\(set) d=\(dimension) offsets \(offsetA),\(offsetB)")
            }
        }
    }

    @Test(arguments: Int8DotKernel.available.map(\.instructionSet))
    func extremeCodesAtTheLargestDimensionDoNotOverflow(set: Int8DotKernel.InstructionSet) {
        let count = 65_536
        let unsigned = [UInt8](repeating: 255, count: count), signed = [Int8](repeating: 127, count: count)
        let got = unsigned.withUnsafeBytes { a in signed.withUnsafeBytes { b in Int8DotKernel(set)!(a.baseAddress!, b.baseAddress!, count: count) } }
        #expect(Int64(got) == 255 * 127 * Int64(count))
    }

    @Test func bestKernelIsTheFirstAvailable() {
        #expect(Int8DotKernel.available.first == Int8DotKernel.best)
        #expect(Int8DotKernel(.portable) != nil)
    }

    @Test func forcingVNNIOffChoosesAnotherKernel() async {
        await #expect(processExitsWith: .success) {
            setenv("HINDSIGHT_DISABLE_VNNI", "1", 1)
            guard Int8DotKernel.best.instructionSet != .avx512vnni else { exit(1) }
        }
    }

    @Test(arguments: [1, 5, 64, 384, 1536])
    func codesReconstructTheVectorWithinHalfAStep(dimension: Int) {
        var rng = SplitMix64(seed: UInt64(dimension))
        let vector = (0..<dimension).map { _ in rng.nextGaussian() }
        let peak = vector.map(abs).max()!
        var stored = [UInt8](repeating: 0, count: dimension)
        var query = [Int8](repeating: 0, count: dimension)
        let scale = Int8Codes.encodeStored(vector, count: dimension, into: &stored)
        let (queryScale, codeSum) = Int8Codes.encodeQuery(vector, count: dimension, into: &query)
        #expect(abs(scale - peak / 127) <= 1e-7 * peak && queryScale == scale)
        #expect(codeSum == query.reduce(Int32(0)) { $0 + Int32($1) })
        #expect(stored.allSatisfy { (1...255).contains($0) } && query.allSatisfy { $0 >= -127 })
        #expect(stored.contains(1) || stored.contains(255), "the largest component takes an extreme code")
        for index in 0..<dimension {
            #expect(Int(stored[index]) - 128 == Int(query[index]))
            #expect(abs(Float(query[index]) * scale - vector[index]) <= scale / 2 * 1.0001 + 1e-12)
        }
    }

    @Test func zeroVectorHasScaleZero() {
        var stored = [UInt8](repeating: 0, count: 8)
        #expect(Int8Codes.encodeStored([Float](repeating: 0, count: 8), count: 8, into: &stored) == 0)
        #expect(stored == [UInt8](repeating: 128, count: 8))
    }

    /// The estimate the walk uses, `scaleₓ·scale_q·(Σu·c − 128·Σc)`, is close to the float dot product.
    @Test func estimatedDotProductIsCloseForUnitVectors() {
        let dimension = 384
        var rng = SplitMix64(seed: 7)
        for _ in 0..<50 {
            let a = normalizedGaussian(dimension, &rng), b = normalizedGaussian(dimension, &rng)
            var stored = [UInt8](repeating: 0, count: dimension), query = [Int8](repeating: 0, count: dimension)
            let scale = Int8Codes.encodeStored(a, count: dimension, into: &stored)
            let (queryScale, sum) = Int8Codes.encodeQuery(b, count: dimension, into: &query)
            let raw = stored.withUnsafeBytes { s in query.withUnsafeBytes { q in Int8DotKernel.best(s.baseAddress!, q.baseAddress!, count: dimension) } }
            let estimate = scale * queryScale * Float(raw - 128 * sum)
            let exact = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(estimate - exact) < 0.01, "\(estimate) vs \(exact)")
        }
    }
}

private func normalizedGaussian(_ dimension: Int, _ rng: inout SplitMix64) -> [Float] {
    let values = (0..<dimension).map { _ in rng.nextGaussian() }
    let norm = values.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
    return values.map { $0 / norm }
}
