import Foundation
import TestSupport
import Testing
import VectorIndex

/// Damaged data files (flipped bytes, a zeroed page) are findings or errors, never a signal that
/// kills the tool, and `compact` never rewrites a database that does not verify.
@Suite struct CorruptionTests {
    @Test func damagedFilesAreReportedAndNeverCompacted() throws {
        try withTemporaryDirectory { path in
            let db = ["--db", path + "/good"]
            #expect(try CLI.run(["collection", "create", "c", "--dim", "16", "--half-life", "30d"] + db).status == 0)
            var generator = SplitMix64(seed: 168)
            let tickers = ["AAPL", "600519.SH", "BRK.B", "NVDA"]
            let lines = (0..<400).map { index -> String in
                let vector = (0..<16).map { _ in String(Double(generator.next() % 2_000) / 1_000 - 1) }.joined(separator: ",")
                return #"{"id":"m\#(index)","ticker":"\#(tickers[index % 4])","time":\#(1_704_153_600 + index * 3_600),"situation":"situation \#(index) 报告","reflection":"lesson \#(index)","vector":[\#(vector)]}"#
            }
            #expect(try CLI.run(["add", "--collection", "c", "--jsonl", "-"] + db, input: lines.joined(separator: "\n")).status == 0)
            #expect(try CLI.run(["verify"] + db).status == 0)
            let original = try Data(contentsOf: URL(fileURLWithPath: path + "/good/data.mdb"))
            let pageSize = 4_096
            #expect(original.count > 8 * pageSize)

            var signals: [String] = [], refusedCompactions = 0
            for trial in 0..<16 {
                var damaged = original
                if trial % 4 == 3 {  // a whole page of zeros, after the two meta pages
                    let page = 2 + Int(generator.next() % UInt64(damaged.count / pageSize - 2))
                    damaged.replaceSubrange(page * pageSize..<(page + 1) * pageSize, with: Data(count: pageSize))
                } else {  // 24 flipped bytes
                    for _ in 0..<24 {
                        let offset = 2 * pageSize + Int(generator.next() % UInt64(damaged.count - 2 * pageSize))
                        damaged[offset] ^= UInt8(1 + generator.next() % 255)
                    }
                }
                let directory = path + "/trial\(trial)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try damaged.write(to: URL(fileURLWithPath: directory + "/data.mdb"))
                let verify = try CLI.run(["verify", "--db", directory])
                let export = try CLI.run(["export", "--jsonl", directory + "/out.jsonl", "--db", directory])
                let query = try CLI.run(["query", "--collection", "c", "--vector", "[" + Array(repeating: "0.25", count: 16).joined(separator: ",") + "]",
                                         "--ticker", "AAPL", "--as-of", "2024-03-01", "--db", directory])
                for (name, result) in [("verify", verify), ("export", export), ("query", query)] where result.signaled {
                    signals.append("trial \(trial) \(name): signal \(result.status)")
                }
                for result in [verify, export, query] where result.status != 0 {
                    #expect(!(result.error + result.output).isEmpty, "trial \(trial): a failure says why (findings or an error)")
                }
                if verify.status != 0 {
                    let compact = try CLI.run(["compact", "--db", directory])
                    #expect(compact.status != 0 && !compact.signaled, "trial \(trial): compact must refuse: \(compact.output)")
                    #expect(compact.error.contains("refuses"), "trial \(trial): \(compact.error)")
                    #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/data.mdb")) == damaged, "trial \(trial): the file is unchanged")
                    refusedCompactions += 1
                }
            }
            #expect(signals.isEmpty, "\(signals)")
            #expect(refusedCompactions >= 8, "most damage is found by verify (\(refusedCompactions) of 16)")
        }
    }
}
