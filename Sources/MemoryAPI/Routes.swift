/// One route of the memory API: a method, a path pattern with `{parameter}` segments, and its handler.
public struct Route: Sendable {
    public let method: String
    /// The pattern as written, e.g. `/v1/collections/{name}/memories/{id}` (what docs/openapi.yaml lists).
    public let path: String
    let segments: [Segment]
    let handler: @Sendable (MemoryService, APICall) async throws -> APIResponse

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    init(_ method: String, _ path: String, _ handler: @escaping @Sendable (MemoryService, APICall) async throws -> APIResponse) {
        self.method = method
        self.path = path
        segments = path.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
        self.handler = handler
    }

    /// The names of the path's parameters, in order.
    public var parameterNames: [String] {
        segments.compactMap { if case .parameter(let name) = $0 { name } else { nil } }
    }

    /// The path parameters when `segments` (percent-decoded) fit this route's pattern.
    func match(_ given: [String]) -> [String: String]? {
        guard given.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, value) in zip(segments, given) {
            switch segment {
            case .literal(let literal): if literal != value { return nil }
            case .parameter(let name): parameters[name] = value
            }
        }
        return parameters
    }
}

/// What a handler is given: the path's parameters, the query string's, and the body.
public struct APICall: Sendable {
    /// Path parameters by name, percent-decoded.
    public var parameters: [String: String]
    public var query: [String: String]
    public var body: [UInt8]

    public init(parameters: [String: String], query: [String: String], body: [UInt8]) {
        self.parameters = parameters
        self.query = query
        self.body = body
    }

    func parameter(_ name: String) throws(APIError) -> String {
        guard let value = parameters[name] else { throw APIError.badRequest("missing path parameter \(name)") }
        return value
    }
}

extension Array where Element == Route {
    /// The route for a request and its parameters, resolved as the HTTP router's trie does: segment
    /// by segment a literal beats a parameter (no backtracking), then the method must be one the
    /// path has; otherwise `noRoute` (also for a known path with another method, as over HTTP).
    func route(for request: APIRequest) throws(APIError) -> (route: Route, parameters: [String: String]) {
        var alive = filter { $0.segments.count == request.segments.count }
        for (position, segment) in request.segments.enumerated() {
            let literal = alive.filter { $0.segments[position] == .literal(segment) }
            alive = literal.isEmpty ? alive.filter { if case .parameter = $0.segments[position] { true } else { false } } : literal
        }
        guard let route = alive.first(where: { $0.method == request.method }), let parameters = route.match(request.segments) else {
            throw APIError.noRoute
        }
        return (route, parameters)
    }
}
