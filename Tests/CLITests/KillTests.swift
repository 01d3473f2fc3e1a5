import VectorIndex
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// JSON Lines of `count` memories (32-d, 10 tickers).
private func memoriesFile(_ path: String, count: Int) throws {
    var rng = SplitMix64(seed: 4)
    var text = ""
    for i in 0..<count {
        let vector = (0..<32).map { _ in String(rng.nextGaussian()) }.joined(separator: ",")
        text += #"{"id":"m\#(i)","ticker":"T\#(i % 10)","time":\#(1_700_000_000 + i * 60),"situation":"situation \#(i)","reflection":"r","vector":[\#(vector)]}"#
        text += "\n"
    }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// A database of `count` memories in `path/db`.
private func database(_ path: String, count: Int) throws {
    try memoriesFile(path + "/memories.jsonl", count: count)
    #expect(try CLI.run(["collection", "create", "mem", "--dim", "32", "--ef-construction", "100", "--db", path + "/db"]).status == 0)
    #expect(try CLI.run(["add", "--collection", "mem", "--jsonl", path + "/memories.jsonl", "--db", path + "/db"]).status == 0)
}

/// Runs `hindsight arguments…`, SIGKILLs it after `milliseconds` (if still running); returns whether it was killed.
private func runAndKill(_ arguments: [String], after milliseconds: Int) throws -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CLI.executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
    while process.isRunning && Date() < deadline { usleep(5_000) }
    let killed = process.isRunning
    if killed { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    return killed
}

private func count(_ db: String) throws -> Int {
    let stats = try CLI.run(["stats", "--json", "--db", db])
    let json = try JSONSerialization.jsonObject(with: Data(stats.output.utf8)) as! [String: Any]
    return ((json["collections"] as! [[String: Any]]).first?["memories"] as? Int) ?? 0
}

@Suite struct KillTests {
    @Test(arguments: [400, 1_500, 3_000])
    func killedImportKeepsWholeBatches(milliseconds: Int) throws {
        try withTemporaryDirectory { path in
            try database(path, count: 2_000)
            #expect(try CLI.run(["export", "--jsonl", path + "/export.jsonl", "--db", path + "/db"]).status == 0)
            let killed = try runAndKill(["import", "--jsonl", path + "/export.jsonl", "--batch", "100", "--db", path + "/copy"], after: milliseconds)
            let verify = try CLI.run(["verify", "--db", path + "/copy"])
            #expect(verify.status == 0, "\(verify.output)")
            let imported = try count(path + "/copy")
            #expect(imported % 100 == 0 && imported <= 2_000, "\(imported) memories: a batch was half-written")
            if !killed { #expect(imported == 2_000) }
            // What is there is exactly the first `imported` memories of the export, byte for byte but for engine ids.
            if imported > 0 {
                #expect(try CLI.run(["export", "--jsonl", path + "/again.jsonl", "--db", path + "/copy"]).status == 0)
                func memoryLines(_ file: String) throws -> [String] {
                    try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").filter { $0.contains(#""type":"memory""#) }
                        .map { $0.replacingOccurrences(of: #""engine_id":\d+,"#, with: "", options: .regularExpression) }
                }
                #expect(try memoryLines(path + "/again.jsonl") == Array(try memoryLines(path + "/export.jsonl").prefix(imported)))
            }
        }
    }

    @Test(arguments: [300, 1_200, 2_500])
    func killedRebuildLeavesTheOldOrTheNewGraphs(milliseconds: Int) throws {
        try withTemporaryDirectory { path in
            try database(path, count: 2_000)
            _ = try runAndKill(["rebuild", "--m", "20", "--db", path + "/db"], after: milliseconds)
            let verify = try CLI.run(["verify", "--db", path + "/db"])
            #expect(verify.status == 0, "\(verify.output)")
            #expect(try count(path + "/db") == 2_000)
            let stats = try JSONSerialization.jsonObject(with: Data(try CLI.run(["stats", "--json", "--db", path + "/db"]).output.utf8)) as! [String: Any]
            let layers = ((stats["collections"] as! [[String: Any]])[0]["layers"] as! [[String: Any]]).map { $0["m"] as! Int }
            #expect(Set(layers) == [16] || Set(layers) == [20], "all old or all new: \(layers)")
        }
    }

    @Test(arguments: [100, 400, 900, 1_600])
    func killedCompactionLeavesAWorkingDatabase(milliseconds: Int) throws {
        try withTemporaryDirectory { path in
            try database(path, count: 2_000)
            #expect(try CLI.run(["delete", "--collection", "mem", "--ticker", "T3", "--db", path + "/db"]).status == 0)
            _ = try runAndKill(["compact", "--db", path + "/db"], after: milliseconds)
            let verify = try CLI.run(["verify", "--db", path + "/db"])
            #expect(verify.status == 0, "\(verify.output)")
            #expect(try count(path + "/db") == 1_800)
            // And it can be compacted to the end, and written to, afterwards.
            #expect(try CLI.run(["compact", "--db", path + "/db"]).status == 0)
            #expect(try CLI.run(["delete", "--collection", "mem", "--ticker", "T4", "--db", path + "/db"]).status == 0)
            #expect(try CLI.run(["verify", "--db", path + "/db"]).status == 0)
        }
    }
}
