public import Datasets
import Foundation
import Histogram
import LMDB
import Synchronization
public import VectorIndex

/// What `hindsight bench` measures and how.
public struct RecallBenchmarkConfiguration: Sendable {
    public var basePath: String
    public var queriesPath: String
    public var groundTruthPath: String
    public var indexPath: String
    public var dataset: String
    public var k: Int = 10
    public var parameters = GraphParameters()
    public var efs: [Int] = [16, 32, 64]
    public var batch: Int = 1_000
    public var reuse = false
    public var threads: Int = 1
    /// Threads for the candidate searches of each inserted batch (1: the serial insert).
    public var buildThreads: Int = 1
    public var warmPasses: Int = 2
    /// Path of this executable, to time open and first query in a fresh process.
    public var executablePath: String?

    public init(basePath: String, queriesPath: String, groundTruthPath: String, indexPath: String, dataset: String) {
        self.basePath = basePath
        self.queriesPath = queriesPath
        self.groundTruthPath = groundTruthPath
        self.indexPath = indexPath
        self.dataset = dataset
    }
}

/// One `ef` of a benchmark: recall, throughput and latency of a pass over every query.
public struct RecallRun: Codable, Sendable {
    public var ef: Int
    public var recall: Double
    /// Queries per second of the best warm pass, one thread.
    public var qps: Double
    public var p50_ms: Double
    public var p95_ms: Double
    public var p99_ms: Double
    /// The first pass after opening.
    public var cold_qps: Double
    public var cold_p50_ms: Double
    public var cold_p99_ms: Double
    /// Queries per second with `threads` threads, when more than one.
    public var threads_qps: Double?
    /// Mean distances computed per query.
    public var distances_per_query: Double
    /// Queries per second from each query's fastest latency over the warm passes: a figure that
    /// other tenants of a shared machine disturb far less than wall-clock QPS.
    public var qps_best_latencies: Double
}

/// The JSON report of `hindsight bench --json`.
public struct RecallBenchmarkReport: Codable, Sendable {
    public var engine = "hindsight"
    public var version: String
    public var dataset: String
    public var n: Int
    public var dim: Int
    public var k: Int
    public var params: [String: Int]
    /// Seconds to build, or nil when an existing index was reused.
    public var build_s: Double?
    public var vectors_per_s: Double?
    /// Size of the data file.
    public var disk_bytes: Int
    public var bytes_per_vector: Double
    /// Bytes of `dim * 4 + links` per vector, the raw data the index must hold.
    public var raw_bytes_per_vector: Double
    public var open_s: Double?
    public var first_query_s: Double?
    public var threads: Int
    public var runs: [RecallRun]
    public var machine: String
    public var kernel: String
    /// The graph's walk precision (f32, int8 or bf16).
    public var walk: String?
}

/// Timings of opening an index and answering one query, measured in a fresh process.
public struct OpenTiming: Codable, Sendable {
    public var open_s: Double
    public var first_query_s: Double
}

/// Builds (or reuses) an index over a dataset and measures it.
public struct RecallBenchmark {
    public let configuration: RecallBenchmarkConfiguration
    /// Receives progress lines (build progress, per-ef results).
    public var log: (String) -> Void = { _ in }
    /// Receives an in-place progress line while building.
    public var progress: (_ done: Int, _ total: Int, _ elapsed: Double) -> Void = { _, _, _ in }

    public init(configuration: RecallBenchmarkConfiguration) { self.configuration = configuration }

    public func run() throws -> RecallBenchmarkReport {
        let c = configuration
        let base = try readVectors(c.basePath)
        let queries = try readVectors(c.queriesPath)
        let truth = try readIDs(c.groundTruthPath)
        try Self.validate(base: base, queries: queries, truth: truth, k: c.k, paths: c)

        let (graph, buildSeconds) = try buildOrReuse(base: base)
        let diskBytes = DatabaseDirectory(path: c.indexPath).dataFileBytes
        let openTiming = try c.executablePath.map { try Self.timeOpenInFreshProcess(executable: $0, index: c.indexPath,
                                                                                     queries: c.queriesPath, graph: graph) }
            ?? OpenTiming(open_s: .nan, first_query_s: .nan)

        let store = try IndexStore(path: c.indexPath, options: EnvironmentOptions(readOnly: true))
        defer { store.close() }
        let walk = try store.read { try $0.graph(graph).parameters.walk }
        let queryRows = queries.rowArrays
        var runs: [RecallRun] = []
        for ef in c.efs {
            let options = SearchOptions(ef: ef, strategy: .graph)
            let cold = try pass(store: store, graph: graph, queries: queryRows, options: options)
            var best = cold
            var fastest = [UInt64](repeating: .max, count: queryRows.count)
            for _ in 0..<max(1, c.warmPasses) {
                let warm = try pass(store: store, graph: graph, queries: queryRows, options: options)
                if warm.seconds < best.seconds || best.seconds == cold.seconds { best = warm }
                for index in fastest.indices { fastest[index] = min(fastest[index], warm.perQuery[index]) }
            }
            let recallValue = Self.recall(found: best.found, truth: truth, k: c.k)
            var threadsQPS: Double?
            if c.threads > 1 {
                threadsQPS = try parallelQPS(store: store, graph: graph, queries: queryRows, options: options, threads: c.threads)
            }
            let run = RecallRun(ef: ef, recall: recallValue, qps: Double(queryRows.count) / best.seconds,
                                p50_ms: best.percentile(50), p95_ms: best.percentile(95), p99_ms: best.percentile(99),
                                cold_qps: Double(queryRows.count) / cold.seconds, cold_p50_ms: cold.percentile(50),
                                cold_p99_ms: cold.percentile(99), threads_qps: threadsQPS,
                                distances_per_query: Double(best.distances) / Double(queryRows.count),
                                qps_best_latencies: Double(queryRows.count) / (Double(fastest.reduce(0, +)) / 1e9))
            log(String(format: "ef %4d  recall@%d %.4f  %8.0f QPS (%.0f from best latencies)  p50 %.3f ms  p95 %.3f ms  p99 %.3f ms%@", ef, c.k, run.recall,
                       run.qps, run.qps_best_latencies, run.p50_ms, run.p95_ms, run.p99_ms, threadsQPS.map { String(format: "  %d threads %.0f QPS", c.threads, $0) } ?? ""))
            runs.append(run)
        }
        let m0 = c.parameters.m0
        return RecallBenchmarkReport(
            version: HindsightVersion.current, dataset: c.dataset, n: base.rows, dim: base.columns, k: c.k,
            params: ["m": c.parameters.m, "ef_construction": c.parameters.efConstruction, "batch": c.batch, "build_threads": c.buildThreads],
            build_s: buildSeconds, vectors_per_s: buildSeconds.map { Double(base.rows) / $0 },
            disk_bytes: diskBytes, bytes_per_vector: Double(diskBytes) / Double(base.rows),
            raw_bytes_per_vector: Double(base.columns * 4 + 4 + m0 * 4),
            open_s: openTiming.open_s.isNaN ? nil : openTiming.open_s, first_query_s: openTiming.first_query_s.isNaN ? nil : openTiming.first_query_s, threads: c.threads, runs: runs,
            machine: MachineDescription.current, kernel: "\(DotProductKernelName.best)", walk: walk.rawValue)
    }

    // MARK: Build

    private func buildOrReuse(base: Matrix<Float>) throws -> (GraphID, Double?) {
        let c = configuration
        let files = FileManager.default
        if c.reuse, DatabaseDirectory(path: c.indexPath).holdsDataFile {
            let store = try IndexStore(path: c.indexPath, options: EnvironmentOptions(readOnly: true))
            defer { store.close() }
            let graph = try store.read { reader -> GraphID in
                guard let graph = try reader.graphs().first else { throw DatasetError.mismatch("\(c.indexPath) holds no graph to reuse") }
                let info = try reader.graph(graph), space = try reader.space(info.space)
                guard info.nodeCount == base.rows, space.dimension == base.columns else {
                    throw DatasetError.mismatch("\(c.indexPath) holds \(info.nodeCount) × \(space.dimension); the base file is \(base.rows) × \(base.columns)")
                }
                return graph
            }
            log("reusing the index in \(c.indexPath)")
            return (graph, nil)
        }
        if files.fileExists(atPath: c.indexPath) {
            guard DatabaseDirectory(path: c.indexPath).holdsOnlyDatabaseFiles else {
                throw DatasetError.mismatch("\(c.indexPath) exists and is not an index directory; choose another --index")
            }
            try files.removeItem(atPath: c.indexPath)
        }
        let store = try IndexStore(path: c.indexPath, options: EnvironmentOptions(mapSizeBytes: 1 << 30))
        defer { store.close() }
        let (space, graph) = try store.write { writer in
            let space = try writer.createSpace(dimension: base.columns)
            return (space, try writer.createGraph(in: space, parameters: c.parameters))
        }
        let rows = base.rows, columns = base.columns
        let start = DispatchTime.now().uptimeNanoseconds
        var done = 0
        while done < rows {
            let end = min(done + c.batch, rows)
            let batch = (done..<end).map { row in Array(base.values[row * columns..<(row + 1) * columns]) }
            try store.write { writer in
                let ids = try writer.addVectors(batch, to: space)
                try writer.insert(ids, into: graph, threads: c.buildThreads)
            }
            done = end
            progress(done, rows, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        log(String(format: "built %d vectors in %.1f s (%.0f vectors/s), %d batches of %d, each committed durably, %d build thread(s)", rows, seconds,
                   Double(rows) / seconds, (rows + c.batch - 1) / c.batch, c.batch, c.buildThreads))
        return (graph, seconds)
    }

    // MARK: Passes

    struct Pass {
        var seconds: Double
        var latencies: Histogram<UInt64>
        var found: [[Int]]
        var distances: Int
        var perQuery: [UInt64]
        func percentile(_ p: Double) -> Double { Double(latencies.valueAtPercentile(p)) / 1e6 }
    }

    private func pass(store: IndexStore, graph: GraphID, queries: [[Float]], options: SearchOptions) throws -> Pass {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var found: [[Int]] = []
        found.reserveCapacity(queries.count)
        var distances = 0
        var perQuery: [UInt64] = []
        perQuery.reserveCapacity(queries.count)
        let k = configuration.k
        let start = DispatchTime.now().uptimeNanoseconds
        for query in queries {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let report = try store.read { reader in try reader.searchReport(graph, query: query, k: k, options: options) }
            let t1 = DispatchTime.now().uptimeNanoseconds
            _ = histogram.record(t1 - t0)
            perQuery.append(t1 - t0)
            distances += report.distanceCount
            found.append(report.neighbors.map { Int($0.id.rawValue) })
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Pass(seconds: seconds, latencies: histogram, found: found, distances: distances, perQuery: perQuery)
    }

    /// Seconds of one single-threaded pass answering every query (one read transaction each),
    /// with nothing else timed or recorded.
    public static func timedPass(store: IndexStore, graph: GraphID, queries: [[Float]], k: Int, ef: Int) throws -> Double {
        let options = SearchOptions(ef: ef, strategy: .graph)
        let start = DispatchTime.now().uptimeNanoseconds
        for query in queries {
            _ = try store.read { reader in try reader.search(graph, query: query, k: k, options: options) }
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private func parallelQPS(store: IndexStore, graph: GraphID, queries: [[Float]], options: SearchOptions, threads: Int) throws -> Double {
        let k = configuration.k
        let failure = Mutex<String?>(nil)
        let start = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var index = thread
            while index < queries.count {
                do { _ = try store.read { reader in try reader.search(graph, query: queries[index], k: k, options: options) } } catch {
                    failure.withLock { $0 = "\(error)" }
                }
                index += threads
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let message = failure.withLock({ $0 }) { throw DatasetError.mismatch("a search failed: \(message)") }
        return Double(queries.count) / seconds
    }

    // MARK: Helpers

    static func recall(found: [[Int]], truth: Matrix<Int>, k: Int) -> Double {
        var hits = 0
        for (row, ids) in found.enumerated() {
            let expected = Set(truth.values[row * truth.columns..<row * truth.columns + k])
            hits += ids.prefix(k).filter { expected.contains($0) }.count
        }
        return Double(hits) / Double(found.count * k)
    }

    /// Checks that the three files fit together.
    public static func validate(base: Matrix<Float>, queries: Matrix<Float>, truth: Matrix<Int>, k: Int,
                                paths: RecallBenchmarkConfiguration) throws {
        guard base.rows > 0 else { throw DatasetError.mismatch("\(paths.basePath) holds no vectors") }
        guard queries.columns == base.columns else {
            throw DatasetError.mismatch("queries have dimension \(queries.columns), the base vectors \(base.columns)")
        }
        guard truth.rows == queries.rows else {
            throw DatasetError.mismatch("the ground truth has \(truth.rows) rows for \(queries.rows) queries")
        }
        guard k >= 1, truth.columns >= k else {
            throw DatasetError.mismatch("the ground truth has \(truth.columns) neighbours per query; k = \(k) needs at least \(k)")
        }
        if let bad = truth.values.first(where: { $0 < 0 || $0 >= base.rows }) {
            throw DatasetError.mismatch("the ground truth names id \(bad), outside the \(base.rows) base vectors")
        }
    }

    /// Runs `executable bench-open` and reads its timings.
    static func timeOpenInFreshProcess(executable: String, index: String, queries: String, graph: GraphID) throws -> OpenTiming {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["bench-open", "--index", index, "--queries", queries, "--graph", "\(graph.rawValue)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw DatasetError.mismatch("bench-open failed with status \(process.terminationStatus)") }
        return try JSONDecoder().decode(OpenTiming.self, from: data)
    }

    /// Opens the index and answers the first query, timing both (run in a fresh process).
    public static func measureOpen(index: String, queriesPath: String, graph: GraphID) throws -> OpenTiming {
        let query = try readVectors(queriesPath).row(0)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let store = try IndexStore(path: index, options: EnvironmentOptions(readOnly: true))
        let t1 = DispatchTime.now().uptimeNanoseconds
        _ = try store.read { reader in try reader.search(graph, query: query, k: 10, options: SearchOptions(ef: 64)) }
        let t2 = DispatchTime.now().uptimeNanoseconds
        store.close()
        return OpenTiming(open_s: Double(t1 - t0) / 1e9, first_query_s: Double(t2 - t1) / 1e9)
    }
}

/// The version string reported by tools and benchmarks.
public enum HindsightVersion {
    public static let current = "0.1.0"
}

/// A one-line description of the machine, for reports.
public enum MachineDescription {
    public static var current: String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(memory) GiB, \(ProcessInfo.processInfo.operatingSystemVersionString)"
    }
}
