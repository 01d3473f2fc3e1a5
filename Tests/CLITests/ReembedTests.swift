import Foundation
import TestSupport
import Testing

@Suite struct ReembedTests {
    /// `reembed` moves a collection to another model in one pass: dimension and model recorded,
    /// every memory (pending ones too) kept with its caller id, texts and status, and text queries
    /// with the new model find the same lessons.
    @Test func aCollectionMovesToAnotherModel() throws {
        try withTemporaryDirectory { path in
            let db = ["--db", path + "/db"], old = ["--embedder", "hashing", "--hashing-dimension", "8"]
            let new = ["--embedder", "hashing", "--hashing-dimension", "32"]
            #expect(try CLI.run(["collection", "create", "c"] + old + db).status == 0)
            let records = """
            {"id":"茅台-1","ticker":"600519.SH","time":"2024-01-02","situation":"白酒 需求 回升 库存 下降","reflection":"hold through destocking","metadata":{"regime":"bull"}}
            {"id":"BRK-1","ticker":"BRK.B","time":"2024-01-03","situation":"insurance float grows buybacks resume","reflection":"add on buybacks"}
            {"id":"D-1","ticker":"BRK.B","time":"2024-02-01","situation":"pending decision text","status":"pending"}
            """
            #expect(try CLI.run(["add", "--collection", "c", "--jsonl", "-"] + old + db, input: records).status == 0)
            let refused = try CLI.run(["reembed", "--collection", "c"] + db)
            #expect(refused.status == 64, "an embedder is required")
            let result = try CLI.run(["reembed", "--collection", "c"] + new + db)
            #expect(result.status == 0 && result.output.contains("re-embedded 3 memories of c with hashing-32 (dimension 32)"), "\(result.output) \(result.error)")
            let list = try JSONSerialization.jsonObject(with: Data(try CLI.run(["collection", "list", "--json"] + db).output.utf8)) as? [String: Any]
            let collection = (list?["collections"] as? [[String: Any]])?.first
            #expect(collection?["dimension"] as? Int == 32 && collection?["embedding_model"] as? String == "hashing-32")
            #expect(collection?["count"] as? Int == 2 && collection?["pending"] as? Int == 1)
            #expect((list?["collections"] as? [Any])?.count == 1, "no staging collection is left")
            let query = try CLI.run(["query", "--collection", "c", "--text", "白酒 需求 回升", "--k", "1", "--as-of", "2024-03-01", "--json"] + new + db)
            #expect(try queryResults(query.output).first?["caller_id"] as? String == "茅台-1", "\(query.output) \(query.error)")
            #expect(try CLI.run(["query", "--collection", "c", "--text", "x"] + old + db).status != 0, "the old model is refused now")
            #expect(try CLI.run(["pending", "--collection", "c"] + db).output.contains("D-1"))
            #expect(try CLI.run(["verify"] + db).status == 0)
        }
    }
}
