import Benchmark
import FastJSON
import Foundation
import TradingMemory
import WireFormat

/// The writer of the shapes that carry memories (JSONWriter) against Foundation's JSONEncoder on the
/// same bytes' worth of data: a query answer of k = 5 four-report situations (15 kB each), and an
/// export line (a memory with its 384-d vector). docs/decisions/0001-json-writer.md quotes the result.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput], scalingFactor: .one, maxDuration: .seconds(3))
    let paragraph = "## Market report\n\nRSI 61.2 and MACD above signal; the 50-day SMA rises. 成交量放大，北向资金净流入。 "
    let situation = String(repeating: paragraph, count: 15_000 / paragraph.utf8.count)
    let memories = (0..<5).map { index in
        Memory(id: MemoryID(rawValue: UInt32(index)), callerID: "600519.SH-2024-01-0\(index)", ticker: "600519.SH",
               time: Date(timeIntervalSince1970: 1_704_153_600 + Double(index) * 86_400), knownAt: Date(timeIntervalSince1970: 1_704_758_400),
               situation: situation, reflection: "Holding through the pullback worked; size down next time.", action: "HOLD",
               outcome: 0.012, quality: 0.7, metadata: ["regime": .string("bull"), "confidence": .number(0.8)], status: .live, reinforcements: 0)
    }
    let response = QueryResponse(results: [memories.map { WireRecallResult(RecallResult(memory: $0, similarity: 0.91, score: 0.77, layer: .ticker)) }])
    let mirror = EncodableResponse(response)
    let vector = (0..<384).map { Float(sin(Double($0))) * 0.05 }
    let line = WireNewMemory(memories[0], vector: vector)
    let lineMirror = EncodableNewMemory(line)

    Benchmark("query answer k=5 x 15 kB: JSONWriter") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(response.jsonBytes(capacity: 4_096)) }
    }
    Benchmark("query answer k=5 x 15 kB: JSONEncoder") { benchmark in
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for _ in benchmark.scaledIterations { blackHole(try encoder.encode(mirror)) }
    }
    Benchmark("export line 384-d: JSONWriter") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(line.jsonBytes(capacity: 4_096)) }
    }
    Benchmark("export line 384-d: JSONEncoder") { benchmark in
        let encoder = JSONEncoder()
        for _ in benchmark.scaledIterations { blackHole(try encoder.encode(lineMirror)) }
    }
}

// Encodable mirrors of the wire types, with the same keys, for Foundation's encoder (benchmark only).
struct EncodableMemory: Encodable {
    var id: String, engine_id: UInt32, caller_id: String?, ticker: String?, time: String, known_at: String, situation: String
    var reflection: String, action: String?, outcome: Double?, quality: Double?, metadata: [String: MetadataValue], status: String
    var reinforcements: Int, similarity: Float, score: Double, layer: String
}

struct EncodableResponse: Encodable {
    var results: [[EncodableMemory]]
    init(_ response: QueryResponse) {
        results = response.results.map { $0.map { result in
            let memory = result.memory
            return EncodableMemory(id: memory.id, engine_id: memory.engineID, caller_id: memory.callerID, ticker: memory.ticker,
                                   time: WireTime.format(memory.time.date), known_at: WireTime.format(memory.knownAt.date),
                                   situation: memory.situation, reflection: memory.reflection, action: memory.action, outcome: memory.outcome,
                                   quality: memory.quality, metadata: memory.metadata, status: memory.status.rawValue,
                                   reinforcements: memory.reinforcements, similarity: result.similarity, score: result.score,
                                   layer: result.layer.rawValue)
        } }
    }
}

struct EncodableNewMemory: Encodable {
    var id: String?, ticker: String?, time: String, known_at: String?, situation: String, reflection: String?, action: String?
    var outcome: Double?, quality: Double?, metadata: [String: MetadataValue]?, status: String?, reinforcements: Int?, vector: [Float]?
    init(_ memory: WireNewMemory) {
        id = memory.callerID; ticker = memory.ticker; time = WireTime.format(memory.time.date)
        known_at = memory.knownAt.map { WireTime.format($0.date) }; situation = memory.situation; reflection = memory.reflection
        action = memory.action; outcome = memory.outcome; quality = memory.quality; metadata = memory.metadata
        status = memory.status?.rawValue; reinforcements = memory.reinforcements; vector = memory.vector
    }
}
