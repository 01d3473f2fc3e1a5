import Foundation

/// A counting line with rate and ETA on standard error, redrawn in place; silent when standard
/// error is not a terminal (logs and pipes stay clean).
final class ProgressLine: @unchecked Sendable {
    // Sendable: only touched from the command's thread, or under `lock`.
    private let label: String
    private let unit: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let lock = NSLock()
    let enabled: Bool

    init(_ label: String, unit: String = "memories", enabled: Bool = isatty(STDERR_FILENO) != 0) {
        self.label = label
        self.unit = unit
        self.enabled = enabled
    }

    /// Redraws at most ten times a second.
    func update(_ done: Int, _ total: Int?) {
        guard enabled else { return }
        lock.withLock {
            let now = Date()
            guard now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
            lastDraw = now
            let elapsed = max(now.timeIntervalSince(start), 1e-6)
            let rate = Double(done) / elapsed
            var line = "\(label): \(done)"
            if let total, total > 0 {
                line += String(format: " / %d %@ (%.0f%%), %.0f/s", total, unit, 100 * Double(done) / Double(total), rate)
                if rate > 0 && done < total { line += String(format: ", ETA %.0f s", Double(total - done) / rate) }
            } else {
                line += String(format: " %@, %.0f/s", unit, rate)
            }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        }
    }

    /// A step of a command without a count.
    func step(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K\(label): \(text)").utf8))
    }

    /// Clears the line.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
