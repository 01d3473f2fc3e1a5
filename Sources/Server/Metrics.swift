import Foundation
import Hummingbird
import Synchronization

/// Request counts and latency histograms per route, rendered as Prometheus text. One registry per
/// server (no process-wide state, so several servers and tests can run in one process).
final class RequestMetrics: Sendable {
    struct RouteKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    struct Histogram {
        var buckets: [Int]
        var sum: Double = 0
        var count = 0
    }

    /// Upper bounds of the latency buckets, in seconds.
    static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private let counts = Mutex<[RouteKey: Int]>([:])
    private let latencies = Mutex<[String: Histogram]>([:])

    func record(method: String, route: String, status: Int, seconds: Double) {
        counts.withLock { $0[RouteKey(method: method, route: route, status: status), default: 0] += 1 }
        let key = "\(method) \(route)"
        latencies.withLock { histograms in
            var histogram = histograms[key] ?? Histogram(buckets: Array(repeating: 0, count: Self.bounds.count))
            for (index, bound) in Self.bounds.enumerated() where seconds <= bound { histogram.buckets[index] += 1 }
            histogram.sum += seconds
            histogram.count += 1
            histograms[key] = histogram
        }
    }

    /// The metrics in the Prometheus text exposition format, with `extra` lines appended.
    func render(extra: [String]) -> String {
        func label(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        var lines = ["# HELP hindsight_http_requests_total HTTP requests by method, route and status.",
                     "# TYPE hindsight_http_requests_total counter"]
        for (key, count) in counts.withLock({ $0 }).sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            lines.append("hindsight_http_requests_total{method=\"\(key.method)\",route=\"\(label(key.route))\",status=\"\(key.status)\"} \(count)")
        }
        lines += ["# HELP hindsight_http_request_duration_seconds Request latency by method and route.",
                  "# TYPE hindsight_http_request_duration_seconds histogram"]
        for (key, histogram) in latencies.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: " ", maxSplits: 1)
            let labels = "method=\"\(parts[0])\",route=\"\(label(String(parts[1])))\""
            for (index, bound) in Self.bounds.enumerated() {
                lines.append("hindsight_http_request_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(histogram.buckets[index])")
            }
            lines.append("hindsight_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(histogram.count)")
            lines.append("hindsight_http_request_duration_seconds_sum{\(labels)} \(histogram.sum)")
            lines.append("hindsight_http_request_duration_seconds_count{\(labels)} \(histogram.count)")
        }
        return (lines + extra).joined(separator: "\n") + "\n"
    }
}

/// Records every request in a ``RequestMetrics`` under its route pattern (`/v1/collections/{name}`).
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RequestMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        do {
            let response = try await next(request, context)
            metrics.record(method: request.method.rawValue, route: context.endpointPath ?? "unmatched",
                           status: response.status.code, seconds: seconds())
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.record(method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: status, seconds: seconds())
            throw error
        }
    }
}
