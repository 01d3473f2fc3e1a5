import Foundation
import TestSupport
import Testing

/// The repository's reference model directory (tools/fetch-model.sh), or HINDSIGHT_MODEL_DIR.
private let modelDirectory: String = {
    if let path = ProcessInfo.processInfo.environment["HINDSIGHT_MODEL_DIR"], !path.isEmpty { return path }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/all-MiniLM-L6-v2").path
}()

/// Text in, text out: collections that record the local model, records without vectors, queries by text.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: modelDirectory + "/model.safetensors"),
                "the reference model is absent: fetch it with `hindsight model fetch` (tools/fetch-model.sh), or set HINDSIGHT_MODEL_DIR"))
struct EmbedCLITests {
    @Test func embedPrintsJSONVectors() throws {
        let result = try CLI.run(["embed", "--model-dir", modelDirectory, "--precision", "f32", "--json", "The weather is lovely today.", "It's so sunny outside!"])
        #expect(result.status == 0, "\(result.error)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let vectors = try #require(document["embeddings"] as? [[Double]])
        #expect(vectors.count == 2 && vectors.allSatisfy { $0.count == 384 })
        #expect(document["model"] as? String == "all-MiniLM-L6-v2")
        let dot = zip(vectors[0], vectors[1]).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(dot - 0.6660) < 2e-4, "the model card's published similarity")
    }

    /// Without --precision the CLI embeds at the preferred precision: bf16 exactly when the CPU has
    /// AVX512-BF16 (read here from /proc/cpuinfo), recorded in the model's name; the model card's
    /// similarity stays within 0.001 of the published value.
    @Test func theDefaultPrecisionFollowsTheCPU() throws {
        let suffix = CPUFeatures.hasAVX512BF16 ? "+bf16" : ""
        let result = try CLI.run(["embed", "--model-dir", modelDirectory, "--json", "The weather is lovely today.", "It's so sunny outside!"])
        #expect(result.status == 0, "\(result.error)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(document["model"] as? String == "all-MiniLM-L6-v2" + suffix)
        let vectors = try #require(document["embeddings"] as? [[Double]])
        let dot = zip(vectors[0], vectors[1]).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(dot - 0.6660) < 1e-3)
        let forcedOff = try CLI.run(["embed", "--model-dir", modelDirectory, "--json", "x"], environment: ["HINDSIGHT_DISABLE_AVX512_BF16": "1"])
        let forcedDocument = try JSONSerialization.jsonObject(with: Data(forcedOff.output.utf8)) as? [String: Any]
        #expect(forcedDocument?["model"] as? String == "all-MiniLM-L6-v2", "\(forcedOff.output.prefix(80))")
    }

    @Test func modelInfoDescribesTheDirectory() throws {
        let result = try CLI.run(["model", "info", "--json", "--model-dir", modelDirectory])
        #expect(result.status == 0, "\(result.error)")
        let info = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(info["name"] as? String == "all-MiniLM-L6-v2")
        #expect(info["dimension"] as? Int == 384 && info["layers"] as? Int == 6 && info["attention_heads"] as? Int == 12)
        #expect(info["pooling"] as? String == "mean" && info["max_sequence_length"] as? Int == 256)
        #expect(info["vocabulary"] as? Int == 30522)
    }

    @Test func modelFetchLeavesAModelThatIsThereAlone() throws {
        let before = try FileManager.default.attributesOfItem(atPath: modelDirectory + "/model.safetensors")[.modificationDate] as? Date
        let result = try CLI.run(["model", "fetch", "--model-dir", modelDirectory])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("is already in \(modelDirectory)"), "\(result.output)")
        let after = try FileManager.default.attributesOfItem(atPath: modelDirectory + "/model.safetensors")[.modificationDate] as? Date
        #expect(before == after)
    }

    /// A collection recorded at one precision is served at that precision by an embedder of another:
    /// the query's vector equals one embedded at the collection's precision, so the scores agree.
    @Test func aCollectionKeepsItsPrecisionWhateverTheEmbeddersIs() throws {
        try withTemporaryDirectory { path in
            let db = ["--db", path + "/db"]
            let local = ["--embedder", "local", "--model-dir", modelDirectory]
            #expect(try CLI.run(["collection", "create", "trader", "--precision", "f32"] + db + local).status == 0)
            let records = """
            {"id": "a", "ticker": "AAPL", "time": "2024-05-02", "situation": "Apple shares rose 3% after record iPhone revenue.", "reflection": "r"}
            {"id": "b", "ticker": "XOM", "time": "2024-05-03", "situation": "Crude oil prices fell sharply on weak global demand.", "reflection": "r"}
            """
            #expect(try CLI.run(["add", "--collection", "trader", "--jsonl", "-", "--precision", "bf16"] + db + local, input: records).status == 0)
            func scores(_ precision: String) throws -> String {
                let query = try CLI.run(["query", "--collection", "trader", "--text", "AAPL stock climbed after strong iPhone sales",
                                         "--retrieval", "dense", "--k", "2", "--json", "--precision", precision] + db + local)
                #expect(query.status == 0, "\(precision): \(query.error)")
                return query.output
            }
            let f32 = try scores("f32")
            #expect(f32.contains("\"a\""))
            for precision in ["int8", "bf16"] { #expect(try scores(precision) == f32, "\(precision) served the f32 collection at f32") }
            let list = try CLI.run(["collection", "list", "--json"] + db)
            #expect(list.output.contains("\"all-MiniLM-L6-v2\""), "\(list.output)")
        }
    }

    @Test func demoRunsWithTheLocalModel() throws {
        try withTemporaryDirectory { path in
            let demo = try CLI.run(["demo", "--db", path + "/demo", "--days", "7", "--embedder", "local", "--model-dir", modelDirectory])
            #expect(demo.status == 0, "\(demo.error)")
            #expect(demo.output.contains("trader_memory: 6 memories"), "\(demo.output)")
        }
    }

    @Test func textInTextOutWithTheCollectionsModel() throws {
        try withTemporaryDirectory { path in
            let db = ["--db", path + "/db"]
            let local = ["--embedder", "local", "--model-dir", modelDirectory]
            let create = try CLI.run(["collection", "create", "trader", "--precision", "f32"] + db + local + ["--long-text", "windows"])
            #expect(create.status == 0, "\(create.error)")
            #expect(create.output.contains("dimension 384"))
            let list = try CLI.run(["collection", "list", "--json"] + db)
            #expect(list.output.contains("all-MiniLM-L6-v2+windows(overlap:64)"), "the collection records model and long-text policy")

            let records = """
            {"id": "a", "ticker": "AAPL", "time": "2024-05-02", "situation": "Apple shares rose 3% after record iPhone revenue.", "reflection": "Buy strength after earnings beats."}
            {"id": "b", "ticker": "XOM", "time": "2024-05-03", "situation": "Crude oil prices fell sharply on weak global demand.", "reflection": "Trim energy when demand softens."}
            {"id": "c", "ticker": "JPM", "time": "2024-05-04", "situation": "The Federal Reserve raised interest rates by 25 basis points.", "reflection": "Banks benefit from higher rates."}
            """
            let add = try CLI.run(["add", "--collection", "trader", "--jsonl", "-"] + db + local, input: records)
            #expect(add.status == 0, "\(add.error)")
            #expect(add.output.contains("3 situations embedded"))

            let query = try CLI.run(["query", "--collection", "trader", "--text", "AAPL stock climbed after strong iPhone sales", "--k", "1", "--json"] + db + local)
            #expect(query.status == 0, "\(query.error)")
            #expect(query.output.contains("\"a\""), "\(query.output)")

            // Another model's text is refused, and nothing is written.
            let hashing = try CLI.run(["add", "--collection", "trader", "--jsonl", "-", "--embedder", "hashing"] + db,
                                      input: #"{"ticker": "MSFT", "time": "2024-05-05", "situation": "x"}"#)
            #expect(hashing.status != 0)
            #expect(hashing.error.contains("all-MiniLM-L6-v2+windows(overlap:64)"), "\(hashing.error)")
            let stats = try CLI.run(["collection", "list"] + db)
            #expect(stats.output.contains("3 memories"))
        }
    }
}

/// The Chinese model (`hindsight model fetch --model m3e-small`; tools/fetch-model.sh), or HINDSIGHT_ZH_MODEL_DIR.
private let chineseModelDirectory: String = {
    if let path = ProcessInfo.processInfo.environment["HINDSIGHT_ZH_MODEL_DIR"], !path.isEmpty { return path }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/m3e-small").path
}()

/// A collection of Chinese situations embedded by m3e-small, recalled by dense vectors alone, so the
/// model (not the lexical index) must find the paraphrase.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: chineseModelDirectory + "/model.safetensors"),
                "m3e-small is absent: fetch it with `hindsight model fetch --model m3e-small` (tools/fetch-model.sh)"))
struct ChineseModelCLITests {
    @Test func chineseParaphraseIsRecalledByVectorsAlone() throws {
        try withTemporaryDirectory { path in
            let db = ["--db", path + "/db"]
            let local = ["--embedder", "local", "--model-dir", chineseModelDirectory]
            let create = try CLI.run(["collection", "create", "analyst"] + db + local)
            #expect(create.status == 0, "\(create.error)")
            #expect(create.output.contains("dimension 512"), "\(create.output)")
            let records = """
            {"id": "maotai", "ticker": "600519.SH", "time": "2024-05-02", "situation": "贵州茅台股价大幅上涨，市场情绪乐观，白酒板块领涨。", "reflection": "趋势确立后可以加仓。"}
            {"id": "rates", "ticker": "601398.SH", "time": "2024-05-03", "situation": "央行宣布降息以刺激经济，银行股承压。", "reflection": "降息周期中减持银行股。"}
            {"id": "weak", "ticker": "300750.SZ", "time": "2024-05-04", "situation": "公司季度营收低于预期，股价下跌，机构下调评级。", "reflection": "业绩不及预期时先止损。"}
            """
            let add = try CLI.run(["add", "--collection", "analyst", "--jsonl", "-"] + db + local, input: records)
            #expect(add.status == 0, "\(add.error)")
            for (text, expected) in [("茅台股票涨了很多，投资者情绪积极", "maotai"), ("货币政策放松，人民银行下调利率", "rates"),
                                     ("营业收入不及预期，股价走低", "weak")] {
                let query = try CLI.run(["query", "--collection", "analyst", "--text", text, "--retrieval", "dense", "--k", "1", "--json"] + db + local)
                #expect(query.status == 0, "\(query.error)")
                #expect(query.output.contains("\"\(expected)\""), "\(text): \(query.output)")
            }
            let list = try CLI.run(["collection", "list", "--json"] + db)
            #expect(list.output.contains("m3e-small"), "the collection records the model: \(list.output)")
        }
    }
}

@Suite struct EmbedCLIErrorTests {
    @Test func modelFetchOfAnUnknownModelNamesTheKnownOnes() throws {
        let result = try CLI.run(["model", "fetch", "--model", "bge-large-xx", "--model-dir", "/nonexistent/model"])
        #expect(result.status != 0)
        #expect(result.error.contains("all-MiniLM-L6-v2, m3e-small") && result.error.contains("bge-large-xx"), "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/model"))
    }

    @Test func modelInfoOfAMissingDirectoryNamesItAndTheFetchCommand() throws {
        let result = try CLI.run(["model", "info", "--model-dir", "/nonexistent/model"])
        #expect(result.status != 0)
        #expect(result.error.contains("/nonexistent/model") && result.error.contains("hindsight model fetch"), "\(result.error)")
    }

    @Test func modelFetchIntoAnImpossiblePlaceIsAClearError() throws {
        try withTemporaryDirectory { path in
            try Data("not a directory".utf8).write(to: URL(fileURLWithPath: path + "/file"))
            let result = try CLI.run(["model", "fetch", "--model-dir", path + "/file/model"])
            #expect(result.status != 0)
            #expect(result.error.contains(path + "/file"), "\(result.error)")
            #expect(try String(contentsOfFile: path + "/file", encoding: .utf8) == "not a directory")
        }
    }

    @Test func aMissingModelDirectoryIsNamed() throws {
        let result = try CLI.run(["embed", "--model-dir", "/nonexistent/model", "hello"])
        #expect(result.status != 0)
        #expect(result.error.contains("/nonexistent/model") && result.error.contains("hindsight model fetch"))
    }

    @Test func badModelSettingsAreNamedByTheirFlags() throws {
        for (arguments, message) in [(["--precision", "int4"], "--precision takes f32, int8 or bf16."),
                                     (["--long-text", "chunks"], "--long-text takes truncate or windows."),
                                     (["--long-text", "windows", "--window-overlap=-3"], "--window-overlap must not be negative."),
                                     (["--embedding-threads", "0"], "--embedding-threads must be at least 1.")] {
            let result = try CLI.run(["embed", "--model-dir", "/nonexistent/model"] + arguments + ["hello"])
            #expect(result.status != 0)
            #expect(result.error.contains(message), "\(arguments): \(result.error)")
        }
    }
}
