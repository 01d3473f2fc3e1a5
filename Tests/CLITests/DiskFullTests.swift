import Foundation
import TestSupport
import Testing
import VectorIndex

/// A small tmpfs (root only: CI runs as root) that fills up under an add.
private func withSmallFilesystem(_ body: (String) throws -> Void) throws {
    try withTemporaryDirectory { path in
        let mountPoint = path + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint]
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        try #require(mount.terminationStatus == 0, "mounting a tmpfs needs root")
        defer {
            let unmount = Process()
            unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
            unmount.arguments = [mountPoint]
            try? unmount.run()
            unmount.waitUntilExit()
        }
        try body(mountPoint)
    }
}

@Suite struct DiskFullTests {
    /// A full disk is said as such, rolls the whole batch back, and keeps what was committed before.
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root (CI runs as root)"))
    func aFullDiskIsSaidAsSuchAndLosesNothingCommitted() throws {
        try withSmallFilesystem { mountPoint in
            let db = ["--db", mountPoint + "/db"]
            #expect(try CLI.run(["collection", "create", "c", "--dim", "384"] + db).status == 0)
            var generator = SplitMix64(seed: 28)
            func batch(_ first: Int, _ count: Int) -> String {
                (first..<first + count).map { index in
                    let vector = (0..<384).map { _ in String(Double(generator.next() % 2_000) / 1_000 - 1) }.joined(separator: ",")
                    return #"{"id":"m\#(index)","time":"2024-01-01","situation":"\#(String(repeating: "s", count: 200))","vector":[\#(vector)]}"#
                }.joined(separator: "\n")
            }
            #expect(try CLI.run(["add", "--collection", "c", "--jsonl", "-"] + db, input: batch(0, 100)).status == 0)
            var failure: CLI.Result?
            for round in 1...20 {
                let result = try CLI.run(["add", "--collection", "c", "--jsonl", "-"] + db, input: batch(round * 500, 500))
                if result.status != 0 { failure = result; break }
            }
            let full = try #require(failure, "the 3 MiB filesystem filled up")
            #expect(full.error.contains("No space left on device") && full.error.contains("rolled back"), "\(full.error)")
            #expect(!full.signaled)
            let verify = try CLI.run(["verify"] + db)
            #expect(verify.status == 0, "\(verify.output)")
            #expect(try CLI.run(["query", "--collection", "c", "--vector", "[" + Array(repeating: "0.1", count: 384).joined(separator: ",") + "]",
                                 "--k", "1"] + db).status == 0)
        }
    }
}
