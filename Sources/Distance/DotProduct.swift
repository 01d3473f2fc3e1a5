internal import CDistance

/// A dot-product kernel for Float32 vectors given as raw bytes, chosen once from the CPU's features.
///
/// Vectors stored by Hindsight are normalised to unit length at insert, so their cosine similarity
/// is one dot product.
public struct DotProductKernel: Sendable, Hashable, CustomStringConvertible {
    /// The instruction set a kernel uses.
    public enum InstructionSet: String, Sendable, CaseIterable {
        /// AVX-512F: 16 lanes, four accumulators, masked tail.
        case avx512
        /// AVX2 with FMA: 8 lanes, four accumulators.
        case avx2
        /// Swift `SIMD16<Float>`: any CPU.
        case portable
    }

    /// The kernel's instruction set.
    public let instructionSet: InstructionSet
    private let function: @convention(c) (UnsafeRawPointer?, UnsafeRawPointer?, Int) -> Float

    /// The kernel for `instructionSet`, or `nil` when this CPU cannot run it.
    public init?(_ instructionSet: InstructionSet) {
        switch instructionSet {
        case .avx512:
            guard hs_cpu_has_avx512f() != 0 else { return nil }
            function = hs_dot_avx512
        case .avx2:
            guard hs_cpu_has_avx2_fma() != 0 else { return nil }
            function = hs_dot_avx2
        case .portable:
            function = portableDotProductC
        }
        self.instructionSet = instructionSet
    }

    /// The fastest kernel this CPU runs, chosen once per process.
    public static let best: DotProductKernel = {
        for set in InstructionSet.allCases { if let kernel = DotProductKernel(set) { return kernel } }
        fatalError("the portable kernel always exists")
    }()

    /// Every kernel this CPU runs.
    public static var available: [DotProductKernel] { InstructionSet.allCases.compactMap { DotProductKernel($0) } }

    /// The dot product of `count` Float32 values at `a` and `b` (any alignment).
    /// - Complexity: O(`count`).
    @inline(__always)
    public func callAsFunction(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Float {
        function(a, b, count)
    }

    /// The dot product of two vectors given as raw bytes.
    /// - Precondition: `a.count == b.count`, a multiple of `MemoryLayout<Float>.size`.
    public func callAsFunction(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Float {
        precondition(a.count == b.count && a.count % MemoryLayout<Float>.size == 0, "vectors of different sizes")
        guard a.count > 0 else { return 0 }
        return function(a.baseAddress!, b.baseAddress!, a.count / MemoryLayout<Float>.size)
    }

    public var description: String { instructionSet.rawValue }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.instructionSet == rhs.instructionSet }
    public func hash(into hasher: inout Hasher) { hasher.combine(instructionSet) }
}

/// The dot product of two Float32 vectors given as raw bytes, with ``DotProductKernel/best``.
/// - Precondition: `a.count == b.count`, a multiple of `MemoryLayout<Float>.size`.
/// - Complexity: O(*d*) for dimension *d*.
public func dotProduct(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Float {
    DotProductKernel.best(a, b)
}

/// Cosine similarity, `a·b / (|a| |b|)`, of two Float32 vectors of any length given as raw bytes;
/// 0 when either is a zero vector.
/// - Precondition: `a.count == b.count`, a multiple of `MemoryLayout<Float>.size`.
public func cosineSimilarity(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Float {
    let kernel = DotProductKernel.best
    let ab = kernel(a, b), aa = kernel(a, a), bb = kernel(b, b)
    guard aa > 0, bb > 0 else { return 0 }
    return ab / (aa.squareRoot() * bb.squareRoot())
}

/// The portable kernel: `SIMD16<Float>` over unaligned loads, then the tail one value at a time.
/// - Complexity: O(`count`).
public func portableDotProduct(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Float {
    let stride = MemoryLayout<SIMD16<Float>>.size
    let bytes = count * MemoryLayout<Float>.size
    var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
    var offset = 0
    while offset + 2 * stride <= bytes {
        s0 += a.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            * b.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        s1 += a.loadUnaligned(fromByteOffset: offset + stride, as: SIMD16<Float>.self)
            * b.loadUnaligned(fromByteOffset: offset + stride, as: SIMD16<Float>.self)
        offset += 2 * stride
    }
    if offset + stride <= bytes {
        s0 += a.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            * b.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        offset += stride
    }
    var sum = (s0 + s1).sum()
    while offset < bytes {
        sum += a.loadUnaligned(fromByteOffset: offset, as: Float.self) * b.loadUnaligned(fromByteOffset: offset, as: Float.self)
        offset += MemoryLayout<Float>.size
    }
    return sum
}

private let portableDotProductC: @convention(c) (UnsafeRawPointer?, UnsafeRawPointer?, Int) -> Float = { a, b, count in
    guard count > 0, let a, let b else { return 0 }
    return portableDotProduct(a, b, count: count)
}

/// Asks the CPU to start loading up to `maxLines` cache lines of the `bytes` bytes at `address`.
/// A hint only: it never changes a result.
@inline(__always)
public func prefetch(_ address: UnsafeRawPointer, bytes: Int, maxLines: Int = 8) {
    hs_prefetch(address, bytes, maxLines)
}

/// Dot products of `query` against four vectors at once (AVX-512 when available), for exact scans.
/// - Precondition: every vector holds `count` Float32 values.
public func dotProducts4(query: UnsafeRawPointer, _ v0: UnsafeRawPointer, _ v1: UnsafeRawPointer,
                         _ v2: UnsafeRawPointer, _ v3: UnsafeRawPointer, count: Int) -> SIMD4<Float> {
    if DotProductKernel.best.instructionSet == .avx512 {
        var out = SIMD4<Float>()
        withUnsafeMutableBytes(of: &out) { hs_dot4_avx512(query, v0, v1, v2, v3, count, $0.baseAddress!.assumingMemoryBound(to: Float.self)) }
        return out
    }
    let kernel = DotProductKernel.best
    return SIMD4(kernel(query, v0, count: count), kernel(query, v1, count: count),
                 kernel(query, v2, count: count), kernel(query, v3, count: count))
}

/// CRC-32C of `bytes` (continuing from `crc`): the checksum of stored chunks and records.
public func crc32c(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
    return hs_crc32c(crc, base, bytes.count)
}
