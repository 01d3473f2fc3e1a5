import ArgumentParser
import Foundation
import LMDB
import TradingMemory
import VectorIndex

extension Hindsight {
    /// The load behind tools/stress-test.sh: one writer adding, deleting and compacting while
    /// readers query; every reader checks that what it sees is whole, committed batches.
    struct Stress: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stress", abstract: "Concurrency stress load (used by tools/stress-test.sh).", shouldDisplay: false)
        @Option var db: String
        @Option var role: String
        @Option var seconds: Double = 30
        @Option var batch: Int = 20
        @Option var dimension: Int = 16

        func vector(_ seed: Int) -> [Float] {
            var generator = SplitMix64(seed: UInt64(truncatingIfNeeded: seed))
            return (0..<dimension).map { _ in Float(generator.next() % 1_000) / 1_000 + 0.001 }
        }

        func run() throws {
            let end = Date().addingTimeInterval(seconds)
            switch role {
            case "writer": try write(until: end)
            case "reader": try read(until: end)
            default: throw ValidationError("--role is writer or reader")
            }
        }

        private func write(until end: Date) throws {
            var store = try TradingMemoryStore(path: db)
            try store.getOrCreateCollection("stress", configuration: CollectionConfiguration(dimension: dimension))
            var next = 0, lastCompaction = Date(), compactions = 0
            while Date() < end {
                let memories = (0..<batch).map { index in
                    NewMemory(callerID: "b\(next)-\(index)", ticker: "T\(next % 5)", time: Date(timeIntervalSince1970: Double(1_700_000_000 + next)),
                              situation: "batch \(next) item \(index)", reflection: "lesson", metadata: ["batch": .number(Double(next))],
                              vector: vector(next * 1_000 + index))
                }
                try store.add(memories, to: "stress")
                if next % 3 == 2 {  // delete an older batch, whole
                    let victim = next - 2
                    let ids = try (0..<batch).compactMap { try store.memoryID(callerID: "b\(victim)-\($0)", in: "stress") }
                    try store.delete(ids, from: "stress")
                }
                next += 1
                if Date().timeIntervalSince(lastCompaction) > 8 {
                    store.close()
                    _ = try TradingMemoryStore.compact(path: db)
                    compactions += 1
                    store = try TradingMemoryStore(path: db)
                    lastCompaction = Date()
                }
            }
            store.close()
            print("writer: \(next) batches, \(compactions) compactions")
        }

        private func read(until end: Date) throws {
            var queries = 0, results = 0
            while !DatabaseDirectory(path: db).holdsDataFile { usleep(10_000) }
            while Date() < end {
                // Reopen every second: a compaction swaps the data file.
                let store: TradingMemoryStore
                do { store = try TradingMemoryStore(path: db, options: .init(readOnly: true)) } catch {
                    usleep(20_000)
                    continue
                }
                let until = min(end, Date().addingTimeInterval(1))
                while Date() < until {
                    guard let info = try? store.collection("stress") else { usleep(10_000); continue }
                    guard info.count % batch == 0 else { throw ValidationError("reader saw \(info.count) memories: a partial batch") }
                    let found = try store.recall(RecallQuery(vector: vector(queries), k: 30), in: "stress")
                    for result in found {
                        let memory = result.memory
                        guard case .number(let batchNumber)? = memory.metadata["batch"], let callerID = memory.callerID,
                              callerID.hasPrefix("b\(Int(batchNumber))-"), memory.situation.hasPrefix("batch \(Int(batchNumber)) item") else {
                            throw ValidationError("reader saw an inconsistent memory \(memory.id)")
                        }
                    }
                    queries += 1
                    results += found.count
                }
                store.close()
            }
            print("reader: \(queries) queries, \(results) results, all consistent")
        }
    }
}
