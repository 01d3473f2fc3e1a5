import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

@Suite struct ServeTests {
    /// `serve --port 0 --port-file F` writes where it listens, so a restarted server can be found;
    /// without an embedder it warns that text queries will fail.
    @Test func portFileNamesTheBoundAddressAndAMissingEmbedderIsWarnedOf() async throws {
        try await withTemporaryDirectory { path in
            let server = Process()
            server.executableURL = URL(fileURLWithPath: CLI.executable)
            server.arguments = ["serve", "--db", path + "/db", "--port", "0", "--port-file", path + "/port"]
            let errors = Pipe()
            server.standardOutput = FileHandle.nullDevice
            server.standardError = errors
            try server.run()
            defer { if server.isRunning { server.terminate() } }
            var address: String?
            for _ in 0..<200 where address == nil {
                try await Task.sleep(for: .milliseconds(25))
                address = (try? String(contentsOfFile: path + "/port", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let url = try #require(address.flatMap { URL(string: $0 + "/health") }, "the port file appeared")
            #expect(url.port != nil && url.port != 0)
            let (data, _) = try await URLSession.shared.data(from: url)
            #expect(String(decoding: data, as: UTF8.self).contains("ok"))
            server.terminate()
            server.waitUntilExit()
            let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(log.contains("without an embedder") && log.contains("--embedder local"), "\(log)")
        }
    }
}
