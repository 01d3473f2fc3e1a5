import Embedding
import Foundation
import Hummingbird
import HummingbirdTesting
import LMDB
import Server
import TestSupport
import TradingMemory

/// A server over a fresh database, tested through Hummingbird's router test client (no sockets).
func withServer<R: Sendable>(token: String? = nil, maxBodyBytes: Int = 1 << 20, embedder: (any Embedder)? = HashingEmbedder(dimension: 8),
                             _ body: @escaping @Sendable (HindsightServer, any TestClientProtocol) async throws -> R) async throws -> R {
    try await withTemporaryDirectory { path in
        let store = try TradingMemoryStore(path: path, options: EnvironmentOptions(durability: .none))
        defer { store.close() }
        let server = HindsightServer(store: store, configuration: ServerConfiguration(token: token, maxBodyBytes: maxBodyBytes, embedder: embedder))
        let app = Application(router: server.router())
        return try await app.test(.router) { client in try await body(server, client) }
    }
}

extension TestClientProtocol {
    /// Sends `json` (a JSON string) and returns the status and the parsed body.
    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, _ json: String? = nil, token: String? = nil) async throws -> (status: Int, body: Any?) {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            let data = Data(response.body.readableBytesView)
            return (response.status.code, try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
        }
    }
}

/// The operations of an OpenAPI document written like docs/openapi.yaml: path, method and the
/// documented response statuses (a small reader for that file's regular layout, not a YAML parser).
struct DocumentedOperation: Hashable {
    var method: String
    var path: String
    var statuses: Set<Int>
}

func documentedOperations(_ yaml: String) -> [DocumentedOperation] {
    var operations: [DocumentedOperation] = []
    var path: String?, inPaths = false, current: DocumentedOperation?, inResponses = false
    func flush() { if let current { operations.append(current) }; current = nil }
    for line in yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
        if line.hasPrefix("paths:") { inPaths = true; continue }
        if inPaths && !line.hasPrefix(" ") && !line.isEmpty { flush(); inPaths = false }
        guard inPaths else { continue }
        if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
            flush()
            path = String(line.dropFirst(2).dropLast())
        } else if let path, ["get", "post", "put", "delete", "patch"].contains(where: { line == "    \($0):" }) {
            flush()
            current = DocumentedOperation(method: line.trimmingCharacters(in: .whitespaces).dropLast().uppercased(), path: path, statuses: [])
            inResponses = false
        } else if line == "      responses:" {
            inResponses = true
        } else if inResponses, line.hasPrefix("        \""), let status = Int(line.dropFirst(9).prefix(3)) {
            current?.statuses.insert(status)
        }
    }
    flush()
    return operations
}
