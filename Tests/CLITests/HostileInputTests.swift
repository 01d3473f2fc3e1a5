import Foundation
import TestSupport
import Testing

/// Inputs that used to crash the CLI or leave half-written imports: each is refused with a message
/// that says what to fix, and changes nothing.
@Suite struct HostileInputTests {
    @Test func timesAndDurationsOutOfRangeAreRefused() throws {
        try withTemporaryDirectory { path in
            let db = ["--db", path + "/db"]
            #expect(try CLI.run(["collection", "create", "c", "--dim", "2"] + db).status == 0)
            let asOf = try CLI.run(["query", "--collection", "c", "--vector", "[1,0]", "--as-of", "1e20"] + db)
            #expect(asOf.status == 64 && asOf.error.contains("nanoseconds"), "\(asOf.error)")
            let from = try CLI.run(["query", "--collection", "c", "--vector", "[1,0]", "--from", "1e30"] + db)
            #expect(from.status == 64 && from.error.contains("outside years 1 to 9999"), "\(from.error)")
            let maxAge = try CLI.run(["collection", "create", "p", "--dim", "2", "--max-age", "99999999999999999d"] + db)
            #expect(maxAge.status == 64 && maxAge.error.contains("--max-age"), "\(maxAge.error)")
            let k = try CLI.run(["query", "--collection", "c", "--vector", "[1,0]", "--k", "-1"] + db)
            #expect(k.status == 64 && k.error.contains("--k must not be negative"), "\(k.error)")
            let add = try CLI.run(["add", "--collection", "c", "--jsonl", "-"] + db,
                                  input: "{\"time\":\"2024-01-01\",\"situation\":\"ok\",\"vector\":[1,0]}\n{\"time\":1704153600000,\"situation\":\"ms\",\"vector\":[1,0]}\n")
            #expect(add.status != 0 && add.error.contains("line 2") && add.error.contains("milliseconds"), "\(add.error)")
            let list = try CLI.run(["collection", "list"] + db)
            #expect(list.output.contains("c\tdim 2\t0 memories") && !list.output.contains("p\t"), "\(list.output)")
        }
    }

    @Test func importChecksEveryLineFirstAndResumes() throws {
        try withTemporaryDirectory { path in
            let db = ["--db", path + "/db"]
            #expect(try CLI.run(["collection", "create", "c", "--dim", "2"] + db).status == 0)
            let records = (0..<6).map { #"{"id":"m\#($0)","time":"2024-01-0\#($0 + 1)","situation":"s","vector":[1,0.\#($0)]}"# }
            #expect(try CLI.run(["add", "--collection", "c", "--jsonl", "-"] + db, input: records.joined(separator: "\n")).status == 0)
            #expect(try CLI.run(["export", "--jsonl", path + "/all.jsonl"] + db).status == 0)
            let lines = try String(contentsOfFile: path + "/all.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines.count == 8)  // header, collection, six memories

            func imported(_ directory: String) throws -> String { try CLI.run(["collection", "list", "--db", directory]).output }
            // A zero vector or a repeated caller id in a late line (a later batch): nothing is written.
            let zero = lines.enumerated().map {
                $0.offset == 7 ? $0.element.replacingOccurrences(of: #""vector":\[[^\]]*\]"#, with: #""vector":[0,0]"#, options: .regularExpression) : $0.element
            }
            #expect(zero[7].contains(#""vector":[0,0]"#))
            let repeated = lines + [lines[7]]
            for (name, content) in [("zero", zero), ("repeated", repeated)] {
                try content.joined(separator: "\n").write(toFile: path + "/\(name).jsonl", atomically: true, encoding: .utf8)
                let result = try CLI.run(["import", "--jsonl", path + "/\(name).jsonl", "--batch", "1", "--db", path + "/\(name)"])
                #expect(result.status != 0 && result.error.contains("line "), "\(name): \(result.error)")
                #expect(try imported(path + "/\(name)").contains("no collections"), "\(name): nothing was imported")
            }
            // An import cut short (here: its first three memories) completes when run again.
            try lines.prefix(5).joined(separator: "\n").write(toFile: path + "/part.jsonl", atomically: true, encoding: .utf8)
            #expect(try CLI.run(["import", "--jsonl", path + "/part.jsonl", "--db", path + "/resumed"]).status == 0)
            let again = try CLI.run(["import", "--jsonl", path + "/all.jsonl", "--merge", "--db", path + "/resumed"])
            #expect(again.status != 0 && again.error.contains("m0"), "without --skip-existing the caller ids collide: \(again.error)")
            let resumed = try CLI.run(["import", "--jsonl", path + "/all.jsonl", "--merge", "--skip-existing", "--db", path + "/resumed"])
            #expect(resumed.status == 0 && resumed.output.contains("3 memories"), "\(resumed.output) \(resumed.error)")
            #expect(try imported(path + "/resumed").contains("6 memories"))
            #expect(try CLI.run(["verify", "--db", path + "/resumed"]).status == 0)
        }
    }
}
