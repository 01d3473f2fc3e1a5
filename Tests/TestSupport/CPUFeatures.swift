import Foundation

/// The CPU's feature flags as /proc/cpuinfo lists them: an oracle for tests of run-time dispatch
/// that does not ask the code under test.
public enum CPUFeatures {
    /// The flags of the first processor (empty where /proc/cpuinfo cannot be read).
    public static let flags: Set<String> = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: ":", maxSplits: 1).last.map { $0.split(separator: " ").map(String.init) } ?? [])
    }()

    /// Whether the CPU has AVX512-BF16 with the AVX-512F and BW it needs.
    public static var hasAVX512BF16: Bool { ["avx512f", "avx512bw", "avx512_bf16"].allSatisfy(flags.contains) }
}
