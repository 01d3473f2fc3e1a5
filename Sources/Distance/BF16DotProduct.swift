internal import CDistance
internal import Glibc

/// A dot-product kernel against bf16 codes given as raw bytes, chosen once from the CPU's features.
///
/// The graph walk of a bf16 graph compares its query with each node's bf16 copy (``BF16Codes``).
/// With AVX512-BF16 the query is rounded to bf16 too and `vdpbf16ps` multiplies bf16 pairs into
/// float32 sums (``takesBF16Query``); the other kernels widen the stored codes and multiply them by
/// the float32 query.
public struct BF16DotKernel: Sendable, Hashable, CustomStringConvertible {
    /// The instruction set a kernel uses.
    public enum InstructionSet: String, Sendable, CaseIterable {
        /// AVX512-BF16 `vdpbf16ps`: 32 bf16 pairs per instruction, the query in bf16.
        case avx512bf16
        /// AVX-512F: 16 codes widened per instruction, FMA with the float32 query.
        case avx512
        /// AVX2 + FMA: 8 codes widened per instruction.
        case avx2
        /// Plain C, any CPU.
        case portable
    }

    /// The kernel's instruction set.
    public let instructionSet: InstructionSet
    private let function: @convention(c) (UnsafeRawPointer?, UnsafeRawPointer?, Int) -> Float

    /// The kernel for `instructionSet`, or `nil` when this CPU cannot run it.
    public init?(_ instructionSet: InstructionSet) {
        switch instructionSet {
        case .avx512bf16:
            guard hs_cpu_has_avx512_bf16() != 0 else { return nil }
            function = hs_dot_bf16bf16_avx512bf16
        case .avx512:
            guard hs_cpu_has_avx512f() != 0 else { return nil }
            function = hs_dot_f32bf16_avx512
        case .avx2:
            guard hs_cpu_has_avx2_fma() != 0 else { return nil }
            function = hs_dot_f32bf16_avx2
        case .portable:
            function = hs_dot_f32bf16_portable
        }
        self.instructionSet = instructionSet
    }

    /// Whether the kernel takes the query as bf16 codes (``BF16Codes/encode(_:count:into:)``)
    /// rather than as float32 values.
    public var takesBF16Query: Bool { instructionSet == .avx512bf16 }

    /// The fastest kernel this CPU runs, chosen once per process. In the environment,
    /// `HINDSIGHT_DISABLE_AVX512_BF16` skips the `vdpbf16ps` kernel and `HINDSIGHT_DISABLE_AVX512`
    /// every AVX-512 kernel, so the fallbacks can be tested.
    public static let best: BF16DotKernel = {
        let skipsAVX512 = getenv("HINDSIGHT_DISABLE_AVX512") != nil
        let skipsBF16 = skipsAVX512 || getenv("HINDSIGHT_DISABLE_AVX512_BF16") != nil
        for set in InstructionSet.allCases {
            if skipsAVX512 && set == .avx512 || skipsBF16 && set == .avx512bf16 { continue }
            if let kernel = BF16DotKernel(set) { return kernel }
        }
        fatalError("the portable kernel always exists")
    }()

    /// Every kernel this CPU runs.
    public static var available: [BF16DotKernel] { InstructionSet.allCases.compactMap { BF16DotKernel($0) } }

    /// The sum of `count` products of the query at `query` — float32 values, or bf16 codes when
    /// ``takesBF16Query`` — and the bf16 codes at `codes`; both at any alignment.
    @inline(__always)
    public func callAsFunction(_ query: UnsafeRawPointer, _ codes: UnsafeRawPointer, count: Int) -> Float {
        function(query, codes, count)
    }

    public var description: String { instructionSet.rawValue }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.instructionSet == rhs.instructionSet }
    public func hash(into hasher: inout Hasher) { hasher.combine(instructionSet) }
}

/// BF16 copies of vectors: each float32 rounded to its top 16 bits (nearest, ties to even), kept as
/// little-endian u16. Relative error per component at most 2⁻⁸ (8 significant bits); no scale.
public enum BF16Codes {
    /// Writes the bf16 codes of the `count` floats at `vector` to `codes` (2 × `count` bytes,
    /// little-endian); both at any alignment.
    public static func encode(_ vector: UnsafeRawPointer, count: Int, into codes: UnsafeMutableRawPointer) {
        hs_to_bf16(vector, count, codes)
    }

    /// The float32 value of one bf16 code.
    @inline(__always)
    public static func value(_ code: UInt16) -> Float { Float(bitPattern: UInt32(code) << 16) }
}
