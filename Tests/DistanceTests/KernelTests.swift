import VectorIndex
import Distance
import TestSupport
import Testing

/// A scalar reference in Double: what every kernel must agree with.
private func referenceDot(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}

private let dimensions = [1, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 384, 768, 1024, 1536]

@Suite struct KernelTests {
    @Test(arguments: DotProductKernel.available.map(\.instructionSet), dimensions)
    func kernelMatchesScalarReferenceAtTwoByteOffsets(set: DotProductKernel.InstructionSet, dimension: Int) {
        let kernel = DotProductKernel(set)!
        var rng = SplitMix64(seed: UInt64(dimension) &* 31 &+ 7)
        let a = (0..<dimension).map { _ in rng.nextGaussian() }
        let b = (0..<dimension).map { _ in rng.nextGaussian() }
        let expected = referenceDot(a, b)
        let scale = max(1, zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) })
        // Copy both vectors to offsets 0, 2, 4 and 6 of a byte buffer: LMDB values are only 2-byte aligned.
        for offsetA in [0, 2, 6] {
            for offsetB in [0, 2, 4] {
                let bytesA = misaligned(a, offset: offsetA), bytesB = misaligned(b, offset: offsetB)
                let got = bytesA.withUnsafeBytes { ra in
                    bytesB.withUnsafeBytes { rb in
                        kernel(UnsafeRawBufferPointer(rebasing: ra[offsetA...]), UnsafeRawBufferPointer(rebasing: rb[offsetB...]))
                    }
                }
                #expect(abs(Double(got) - expected) <= 1e-5 * scale, "\(set) d=\(dimension) offsets \(offsetA),\(offsetB): \(got) vs \(expected)")
            }
        }
    }

    @Test(arguments: [1, 9, 16, 17, 384, 1536])
    func batchOfFourMatchesSingleProducts(dimension: Int) {
        var rng = SplitMix64(seed: 99)
        let vectors = (0..<5).map { _ in (0..<dimension).map { _ in rng.nextGaussian() } }
        let bytes = vectors.map { misaligned($0, offset: 2) }
        let result = bytes[0].withUnsafeBytes { q in bytes[1].withUnsafeBytes { v0 in bytes[2].withUnsafeBytes { v1 in
            bytes[3].withUnsafeBytes { v2 in bytes[4].withUnsafeBytes { v3 in
                dotProducts4(query: q.baseAddress! + 2, v0.baseAddress! + 2, v1.baseAddress! + 2, v2.baseAddress! + 2,
                             v3.baseAddress! + 2, count: dimension)
            } } } } }
        for i in 0..<4 {
            let expected = referenceDot(vectors[0], vectors[i + 1])
            #expect(abs(Double(result[i]) - expected) <= 1e-5 * max(1, abs(expected)) * Double(dimension).squareRoot())
        }
    }

    @Test func bestKernelIsTheWidestTheCPUSupports() {
        let best = DotProductKernel.best
        #expect(DotProductKernel.available.contains(best))
        #expect(DotProductKernel.available.first == best)
        #expect(DotProductKernel(.portable) != nil)
    }

    @Test func cosineOfUnnormalisedVectors() {
        let a: [Float] = [3, 0, 0, 4], b: [Float] = [6, 0, 0, 8], c: [Float] = [0, 1, 0, 0]
        a.withUnsafeBytes { ra in
            b.withUnsafeBytes { rb in #expect(abs(cosineSimilarity(ra, rb) - 1) < 1e-6) }
            c.withUnsafeBytes { rc in #expect(abs(cosineSimilarity(ra, rc)) < 1e-6) }
        }
    }
}

@Suite struct NormalizationTests {
    @Test func normalisedVectorHasUnitLength() throws {
        let v = try normalized([3, 4])
        #expect(abs(v[0] - 0.6) < 1e-7 && abs(v[1] - 0.8) < 1e-7)
        let big = try normalized([3e30, 4e30])  // squares overflow Float; the norm must not
        #expect(abs(big[0] - 0.6) < 1e-6)
    }

    @Test func zeroNaNAndInfinityAreRefused() {
        #expect(throws: VectorError.zeroVector) { try normalized([0, 0, 0]) }
        #expect(throws: VectorError.nonFinite(index: 1)) { try normalized([1, .nan, 0]) }
        #expect(throws: VectorError.nonFinite(index: 2)) { try normalized([1, 0, -.infinity]) }
        #expect(throws: VectorError.empty) { try normalized([]) }
    }

    @Test func errorsExplainThemselves() {
        #expect(VectorError.dimensionMismatch(expected: 384, actual: 1536).description.contains("384"))
        #expect(VectorError.nonFinite(index: 3).description.contains("3"))
    }
}

/// `values` as bytes starting at `offset` in a byte array (the bytes before are zero).
private func misaligned(_ values: [Float], offset: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: offset)
    values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    return bytes
}
