import Foundation

/// A request to the memory API, independent of how it arrived (an HTTP connection, the C API).
public struct APIRequest: Sendable {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    public var method: String
    /// The path's segments, percent-decoded (`["v1", "collections", "agents.bull"]`).
    public var segments: [String]
    /// The query string's parameters, percent-decoded; the first of a repeated name wins.
    public var query: [String: String]
    /// The body as sent (JSON for every route that takes one); empty when none.
    public var body: [UInt8]

    public init(method: String, segments: [String], query: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.segments = segments
        self.query = query
        self.body = body
    }

    /// A request for `target`, a path with an optional query string (`/v1/collections/a%2Fb/memories?limit=5`):
    /// segments and parameters are split on their raw separators first, then percent-decoded, as an
    /// HTTP server does. Returns nil for a target that is not an absolute path or whose escapes are
    /// not UTF-8.
    public init?(method: String, target: String, body: [UInt8] = []) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let path = parts.first, path.hasPrefix("/") else { return nil }
        var segments: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let segment = String(raw).removingPercentEncoding else { return nil }
            segments.append(segment)
        }
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let nameAndValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = String(nameAndValue[0]).removingPercentEncoding,
                      let value = String(nameAndValue.count == 2 ? nameAndValue[1] : "").removingPercentEncoding else { return nil }
                if query[name] == nil { query[name] = value }
            }
        }
        self.init(method: method.uppercased(), segments: segments, query: query, body: body)
    }
}

/// The answer to an ``APIRequest``: an HTTP status and a body (JSON unless `contentType` says otherwise).
public struct APIResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String = "application/json", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}
