import ArgumentParser
import Benchmarking
import Datasets
import LMDB
import Foundation
import VectorIndex

extension Hindsight {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure recall@k, QPS and latency of an index built over a dataset.",
            discussion: """
            Reads base vectors, queries and ground truth (.npy float32 / int32 / int64, or .fvecs / .ivecs), builds an \
            index in --index (each batch committed durably), times opening it and its first query in a fresh process, \
            then runs every query single-threaded at each --ef: a cold pass and warm passes.
            """)

        @Option(help: "Base vectors (.npy float32 or .fvecs).") var base: String
        @Option(help: "Query vectors (.npy float32 or .fvecs).") var queries: String
        @Option(help: "Ground-truth neighbour ids (.npy int32/int64 or .ivecs), best first.") var gt: String
        @Option(help: "Neighbours per query.") var k: Int = 10
        @Option(help: "HNSW links per node (layer 0 holds twice as many).") var m: Int = 16
        @Option(name: .customLong("ef-construction"), help: "Candidate list size while building.") var efConstruction: Int = 200
        @Option(help: "Seed of the level generator (default: the library's; another seed gives another graph of the same quality).")
        var seed: UInt64?
        @Option(help: "What the search's walk compares: int8 (an int8 copy of each vector in its node record, re-ranked exactly; the library's default), bf16 (a bfloat16 copy, likewise) or f32 (the vectors).")
        var walk: String = GraphParameters().walk.rawValue
        @Option(help: "Comma-separated search candidate list sizes.") var ef: String = "16,32,64"
        @Option(help: "Directory of the index (built here unless --reuse finds one).") var index: String
        @Flag(help: "Reuse the index in --index instead of rebuilding it.") var reuse = false
        @Option(help: "Vectors per write transaction while building.") var batch: Int = 1_000
        @Option(help: "Threads for an extra multi-threaded QPS figure.") var threads: Int = 1
        @Option(name: .customLong("build-threads"),
                help: "Threads searching for each batch's links while building (1: the serial insert; more: a batch-parallel build).")
        var buildThreads: Int = 1
        @Option(help: "Warm passes per ef (the best is reported).") var passes: Int = 2
        @Option(help: "Dataset name for the report (default: the base file's folder).") var dataset: String?
        @Option(help: "Write the report as JSON to this file.") var json: String?

        func validate() throws {
            guard k >= 1 else { throw ValidationError("--k must be at least 1.") }
            guard batch >= 1 else { throw ValidationError("--batch must be at least 1.") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1.") }
            guard buildThreads >= 1 else { throw ValidationError("--build-threads must be at least 1.") }
            guard !efValues.isEmpty, efValues.allSatisfy({ $0 >= 1 }) else {
                throw ValidationError("--ef must be a comma-separated list of positive integers, got '\(ef)'.")
            }
        }

        var efValues: [Int] { ef.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

        func run() throws {
            var configuration = RecallBenchmarkConfiguration(
                basePath: base, queriesPath: queries, groundTruthPath: gt, indexPath: index,
                dataset: dataset ?? URL(fileURLWithPath: base).deletingLastPathComponent().lastPathComponent)
            configuration.k = k
            configuration.parameters = GraphParameters(m: m, efConstruction: efConstruction, walk: try WalkPrecision(flag: walk))
            if let seed { configuration.parameters.seed = seed }
            configuration.efs = efValues
            configuration.batch = batch
            configuration.reuse = reuse
            configuration.threads = threads
            configuration.buildThreads = buildThreads
            configuration.warmPasses = passes
            configuration.executablePath = CommandLine.executablePath
            var benchmark = RecallBenchmark(configuration: configuration)
            let terminal = isatty(STDERR_FILENO) != 0
            benchmark.log = { line in
                if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            benchmark.progress = { done, total, elapsed in
                let rate = Double(done) / max(elapsed, 1e-9)
                let line = String(format: "building: %d / %d vectors, %.0f vectors/s, ETA %.0f s", done, total, rate,
                                  Double(total - done) / max(rate, 1e-9))
                if terminal {
                    FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
                } else if done == total || done % (batch * 10) == 0 {
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                }
            }
            let report = try benchmark.run()
            print(ReportTable.render(report))
            if let json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(report).write(to: URL(fileURLWithPath: json))
            }
        }
    }

    struct BenchOpen: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-open", abstract: "Time opening an index and its first query (used by bench).",
            shouldDisplay: false)
        @Option var index: String
        @Option var queries: String
        @Option var graph: UInt32

        func run() throws {
            let timing = try RecallBenchmark.measureOpen(index: index, queriesPath: queries, graph: GraphID(rawValue: graph))
            print(String(decoding: try JSONEncoder().encode(timing), as: UTF8.self))
        }
    }

    /// Serves timed passes to a driver (Benchmarks/compare.py) that interleaves them with another
    /// engine's, so that both are measured within the same second of a shared machine.
    struct BenchPasses: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-passes",
            abstract: "Read an ef per line on stdin; answer with the seconds of one single-threaded pass over the queries.",
            shouldDisplay: false)
        @Option var index: String
        @Option var queries: String
        @Option(help: "The graph to search (default: the index's first).") var graph: UInt32?
        @Option var k: Int = 10

        func run() throws {
            let queryRows = try readVectors(queries).rowArrays
            let store = try IndexStore(path: index, options: EnvironmentOptions(readOnly: true))
            defer { store.close() }
            guard let graph = try graph.map(GraphID.init(rawValue:)) ?? store.read({ try $0.graphs().first }) else {
                throw ValidationError("\(index) holds no graph")
            }
            FileHandle.standardOutput.write(Data("ready\n".utf8))
            while let line = readLine() {
                guard let ef = Int(line.trimmingCharacters(in: .whitespaces)), ef >= 1 else {
                    throw ValidationError("expected an ef per line, got '\(line)'")
                }
                let seconds = try RecallBenchmark.timedPass(store: store, graph: graph, queries: queryRows,
                                                            k: k, ef: ef)
                FileHandle.standardOutput.write(Data("\(seconds)\n".utf8))
            }
        }
    }
}

extension WalkPrecision {
    /// The precision a `--walk` flag names.
    init(flag: String) throws {
        guard let precision = WalkPrecision(rawValue: flag) else {
            throw ValidationError("--walk must be one of \(WalkPrecision.allCases.map(\.rawValue).joined(separator: ", ")), got '\(flag)'.")
        }
        self = precision
    }
}

extension CommandLine {
    /// The path of the running executable.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}

enum ReportTable {
    static func render(_ report: RecallBenchmarkReport) -> String {
        var lines = [
            "engine \(report.engine) \(report.version) · \(report.dataset) · n=\(report.n) dim=\(report.dim) k=\(report.k) · " +
                "M=\(report.params["m"] ?? 0) efC=\(report.params["ef_construction"] ?? 0) · kernel \(report.kernel)",
            (report.build_s.map { String(format: "build %.1f s (%.0f vectors/s)", $0, report.vectors_per_s ?? 0) } ?? "reused index")
                + String(format: " · disk %.1f MB (%.0f B/vector, raw %.0f)", Double(report.disk_bytes) / 1e6, report.bytes_per_vector,
                         report.raw_bytes_per_vector)
                + String(format: " · open %.2f ms · first query %.2f ms", (report.open_s ?? .nan) * 1e3, (report.first_query_s ?? .nan) * 1e3),
            "",
            "|   ef | recall@\(report.k) |      QPS | p50 ms | p95 ms | p99 ms | cold QPS | dist/query |" + (report.threads > 1 ? " \(report.threads)-thread QPS |" : ""),
            "|-----:|----------:|---------:|-------:|-------:|-------:|---------:|-----------:|" + (report.threads > 1 ? "-------------:|" : ""),
        ]
        for run in report.runs {
            var line = String(format: "| %4d | %9.4f | %8.0f | %6.3f | %6.3f | %6.3f | %8.0f | %10.0f |", run.ef, run.recall, run.qps,
                              run.p50_ms, run.p95_ms, run.p99_ms, run.cold_qps, run.distances_per_query)
            if let threaded = run.threads_qps { line += String(format: " %13.0f |", threaded) }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
