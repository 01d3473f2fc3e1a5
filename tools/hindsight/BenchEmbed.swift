import ArgumentParser
import Embedding
import Foundation

extension Hindsight {
    struct BenchEmbed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-embed",
            abstract: "Measure the local embedder: texts per second and single-text latency.",
            discussion: """
            Reads texts (one per line), then for each --threads value embeds them all in one call, --repeats times \
            (median texts/s), and embeds --latency-texts of them one per call (median milliseconds). \
            Benchmarks/embedding/compare.py runs it beside the numpy reference on the same texts.
            """)
        @OptionGroup var model: LocalModelOptions
        @Option(help: "Texts, one per line.") var file: String
        @Option(help: "Comma-separated thread counts.") var threads: String = "1"
        @Option(help: "Timed passes over all texts per thread count.") var repeats: Int = 3
        @Option(name: .customLong("latency-texts"), help: "Texts embedded one per call for the latency figure.") var latencyTexts: Int = 20
        @Option(help: "Matrix-product kernel (avx512, avx2, portable; default: the best for this CPU).") var kernel: String?
        @Flag(help: "Print one JSON object.") var json = false

        func run() throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read \(file).") }
            var texts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if texts.last == "" { texts.removeLast() }
            guard !texts.isEmpty else { throw ValidationError("\(file) holds no texts.") }
            let threadCounts = threads.split(separator: ",").compactMap { Int($0) }
            guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--threads takes positive integers.") }
            let gemm: GemmKernel? = try kernel.map { name in
                guard let gemm = GemmKernel(named: name) else { throw ValidationError("this CPU cannot run the \(name) kernel.") }
                return gemm
            }
            let arithmetic = try model.arithmetic()
            let loadStart = DispatchTime.now()
            let base = try BertEmbedder(directory: model.directory, name: model.modelName, longText: try model.policy(), threads: model.embeddingThreads,
                                        kernel: gemm ?? .best, precision: arithmetic)
            let loadSeconds = seconds(since: loadStart)
            let pieces = texts.map { base.tokenize($0).count }
            _ = base.embedSynchronously(Array(texts.prefix(4)))  // warm-up: first-touch of the mapped weights

            var rows: [[String: Any]] = []
            for count in threadCounts {
                let embedder = base.with(threads: count)
                var rates: [Double] = []
                for _ in 0..<max(1, repeats) {
                    let start = DispatchTime.now()
                    _ = embedder.embedSynchronously(texts)
                    rates.append(Double(texts.count) / seconds(since: start))
                }
                var latencies: [Double] = []
                for text in texts.prefix(max(1, latencyTexts)) {
                    let start = DispatchTime.now()
                    _ = embedder.embedSynchronously([text])
                    latencies.append(seconds(since: start) * 1000)
                }
                rows.append(["threads": count, "texts_per_second": median(rates), "latency_ms_median": median(latencies),
                             "latency_ms_p90": percentile(latencies, 0.9)])
            }
            let report: [String: Any] = [
                "engine": "hindsight", "model": base.model, "kernel": base.kernel, "precision": base.precision.rawValue, "texts": texts.count,
                "pieces_median": median(pieces.map(Double.init)), "load_seconds": loadSeconds, "runs": rows,
            ]
            if json {
                let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
                FileHandle.standardOutput.write(data + Data("\n".utf8))
                return
            }
            print("\(base.model) (\(base.kernel)): \(texts.count) texts, median \(Int(median(pieces.map(Double.init)))) pieces, loaded in \(String(format: "%.2f", loadSeconds)) s")
            for row in rows {
                print(String(format: "  %2d thread(s): %8.1f texts/s   latency median %.2f ms, p90 %.2f ms", row["threads"] as! Int,
                             row["texts_per_second"] as! Double, row["latency_ms_median"] as! Double, row["latency_ms_p90"] as! Double))
            }
        }

        private func seconds(since start: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }
        private func median(_ values: [Double]) -> Double { percentile(values, 0.5) }
        private func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
        }
    }
}
