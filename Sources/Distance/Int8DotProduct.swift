internal import CDistance
internal import Glibc

/// A u8·s8 dot-product kernel for int8 codes given as raw bytes, chosen once from the CPU's features.
///
/// The graph walk of an int8 graph compares a query's signed codes with each node's unsigned codes
/// (signed code + 128): see ``Int8Codes``.
public struct Int8DotKernel: Sendable, Hashable, CustomStringConvertible {
    /// The instruction set a kernel uses.
    public enum InstructionSet: String, Sendable, CaseIterable {
        /// AVX-512 VNNI: `vpdpbusd`, 64 products per instruction, masked tail.
        case avx512vnni
        /// AVX2: codes widened to 16 bits, `vpmaddwd`.
        case avx2
        /// Plain C, any CPU.
        case portable
    }

    /// The kernel's instruction set.
    public let instructionSet: InstructionSet
    private let function: @convention(c) (UnsafeRawPointer?, UnsafeRawPointer?, Int) -> Int32

    /// The kernel for `instructionSet`, or `nil` when this CPU cannot run it.
    public init?(_ instructionSet: InstructionSet) {
        switch instructionSet {
        case .avx512vnni:
            guard hs_cpu_has_avx512_vnni() != 0 else { return nil }
            function = hs_dot_u8s8_vnni
        case .avx2:
            guard hs_cpu_has_avx2() != 0 else { return nil }
            function = hs_dot_u8s8_avx2
        case .portable:
            function = hs_dot_u8s8_portable
        }
        self.instructionSet = instructionSet
    }

    /// The fastest kernel this CPU runs, chosen once per process. `HINDSIGHT_DISABLE_VNNI` set in the
    /// environment skips the VNNI kernel (as for the embedder's), so the fallback can be tested.
    public static let best: Int8DotKernel = {
        let skipsVNNI = getenv("HINDSIGHT_DISABLE_VNNI") != nil
        for set in InstructionSet.allCases where !(skipsVNNI && set == .avx512vnni) {
            if let kernel = Int8DotKernel(set) { return kernel }
        }
        fatalError("the portable kernel always exists")
    }()

    /// Every kernel this CPU runs.
    public static var available: [Int8DotKernel] { InstructionSet.allCases.compactMap { Int8DotKernel($0) } }

    /// The exact sum of `count` products of u8 codes at `unsigned` and s8 codes at `signed` (any alignment).
    /// - Precondition: `count` ≤ 65,536 (the sum then fits 32 bits).
    @inline(__always)
    public func callAsFunction(_ unsigned: UnsafeRawPointer, _ signed: UnsafeRawPointer, count: Int) -> Int32 {
        function(unsigned, signed, count)
    }

    public var description: String { instructionSet.rawValue }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.instructionSet == rhs.instructionSet }
    public func hash(into hasher: inout Hasher) { hasher.combine(instructionSet) }
}

/// Symmetric int8 quantisation of a vector with one scale per vector: `code = round(x / scale)` in
/// −127…127, `scale = max |x| / 127`. A stored vector keeps its codes + 128 as u8 and its scale; a
/// query keeps its signed codes, its scale and the sum of its codes, so that
/// `x · q ≈ scaleₓ · scale_q · (Σ uₓ·c_q − 128 · Σ c_q)`.
public enum Int8Codes {
    /// Writes the u8 codes of the `count` floats at `vector` to `codes`; returns the scale.
    @discardableResult
    public static func encodeStored(_ vector: UnsafePointer<Float>, count: Int, into codes: UnsafeMutablePointer<UInt8>) -> Float {
        hs_quantize_u8(vector, count, codes)
    }

    /// Writes the s8 codes of the `count` floats at `vector` to `codes`; returns the scale and the
    /// sum of the codes.
    public static func encodeQuery(_ vector: UnsafePointer<Float>, count: Int,
                                   into codes: UnsafeMutablePointer<Int8>) -> (scale: Float, codeSum: Int32) {
        var sum: Int32 = 0
        let scale = hs_quantize_s8(vector, count, codes, &sum)
        return (scale, sum)
    }
}
