import Foundation
import LMDB
import TestSupport
import Testing
@testable import VectorIndex

#if canImport(Glibc)
import Glibc
#endif

/// The vectors of batch `batch` in the crash test: derived from the batch number, so the parent
/// knows what each committed batch must hold.
private func crashBatch(_ batch: Int) -> [[Float]] {
    clusteredVectors(count: 40, dimension: 32, clusters: 5, seed: UInt64(1_000 + batch))
}

@Suite struct CrashAndConcurrencyTests {
    @Test(arguments: [(150, WalkPrecision.f32), (400, .f32), (900, .f32), (400, .int8), (900, .int8)])
    func killedWriterLeavesExactlyTheCommittedBatches(millisecondsBeforeKill: Int, walk: WalkPrecision) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hindsight-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The child inserts batches forever, logging each batch number after its commit returns,
        // and is killed by SIGKILL from a timer thread in the middle of that work.
        await #expect(processExitsWith: .signal(SIGKILL)) { [directory = directory as String, millisecondsBeforeKill = millisecondsBeforeKill as Int, walk = walk as WalkPrecision] in
            let store = try IndexStore(path: directory)
            let (space, graph) = try store.write { writer in
                let space = try writer.createSpace(dimension: 32)
                return (space, try writer.createGraph(in: space, parameters: GraphParameters(m: 8, efConstruction: 40, walk: walk)))
            }
            _ = FileManager.default.createFile(atPath: directory + "/committed.log", contents: nil)
            let log = FileHandle(forWritingAtPath: directory + "/committed.log")!
            let killer = Thread {
                usleep(useconds_t(millisecondsBeforeKill * 1_000))
                kill(getpid(), SIGKILL)
            }
            killer.start()
            var batch = 0
            while true {
                try store.write { writer in
                    let ids = try writer.addVectors(crashBatch(batch), to: space)
                    try writer.insert(ids, into: graph)
                }
                log.write(Data("\(batch)\n".utf8))
                batch += 1
            }
        }
        let logged = (try? String(contentsOfFile: directory + "/committed.log", encoding: .utf8))?
            .split(separator: "\n").compactMap { Int($0) } ?? []
        let store = try IndexStore(path: directory)
        defer { store.close() }
        try store.read { reader in
            let graph = try #require(try reader.graphs().first)
            let info = try reader.graph(graph)
            #expect(info.parameters.walk == walk)
            let space = try reader.space(info.space)
            #expect(space.count % 40 == 0, "a batch was half-applied: \(space.count) vectors")
            let batches = space.count / 40
            if millisecondsBeforeKill >= 400 { #expect(batches > 0, "no batch committed in \(millisecondsBeforeKill) ms") }
            // A batch is logged after its commit returns: the kill may fall between the two.
            #expect(batches == logged.count || batches == logged.count + 1, "\(batches) batches stored, \(logged.count) logged")
            #expect(info.nodeCount == space.count && info.live == space.count)
            #expect(try reader.invariantViolations(of: graph) == [])
            for batch in 0..<batches {
                let expected = crashBatch(batch)
                for (offset, vector) in expected.enumerated() {
                    let stored = try #require(try reader.vector(VectorID(batch * 40 + offset), in: info.space))
                    #expect(zip(stored, vector).allSatisfy { abs($0 - $1) < 1e-5 })
                }
            }
            if batches > 0 {
                let probe = crashBatch(batches - 1)[3]
                #expect(try reader.search(graph, query: probe, k: 1, options: SearchOptions(strategy: .exact)).first?.id == VectorID((batches - 1) * 40 + 3))
            }
        }
        // The reopened database accepts writes again.
        try store.write { writer in
            let graph = try writer.transaction.count(of: store.databases.graphs) > 0 ? GraphID(rawValue: 1) : GraphID(rawValue: 0)
            try writer.insert(try writer.addVectors(crashBatch(999), to: SpaceID(rawValue: 1)), into: graph)
        }
    }

    @Test(arguments: WalkPrecision.allCases)
    func searchesDuringWritesSeeOnlyCommittedLiveVectors(walk: WalkPrecision) async throws {
        try await withTemporaryDirectory { path in
            let store = try IndexStore(path: path, options: EnvironmentOptions(mapSizeBytes: 1 << 20, durability: .none))
            defer { store.close() }
            let all = clusteredVectors(count: 3_000, dimension: 32, clusters: 10, seed: 77)
            let (space, graph) = try store.write { writer in
                let space = try writer.createSpace(dimension: 32)
                let graph = try writer.createGraph(in: space, parameters: GraphParameters(m: 8, efConstruction: 40, walk: walk))
                try writer.insert(try writer.addVectors(Array(all.prefix(500)), to: space), into: graph)
                return (space, graph)
            }
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    // One writer: add batches, delete every third vector of the previous batch.
                    for start in stride(from: 500, to: 3_000, by: 100) {
                        try store.write { writer in
                            try writer.insert(try writer.addVectors(Array(all[start..<start + 100]), to: space), into: graph)
                            for id in stride(from: start - 100, to: start, by: 3) { try writer.delete(VectorID(id), from: graph) }
                        }
                    }
                    return 0
                }
                for reader in 0..<4 {
                    group.addTask {
                        var checked = 0
                        for round in 0..<150 {
                            let query = all[(reader * 997 + round * 31) % all.count]
                            try store.read { snapshot in
                                let count = try snapshot.space(space).count
                                let strategy: SearchStrategy = round % 3 == 0 ? .exact : .graph
                                let found = try snapshot.search(graph, query: query, k: 10, options: SearchOptions(ef: 32, strategy: strategy))
                                for neighbor in found {
                                    #expect(Int(neighbor.id.rawValue) < count, "a result from an uncommitted batch")
                                    #expect(try snapshot.contains(neighbor.id, in: graph), "a deleted or foreign result")
                                }
                                checked += found.count
                            }
                        }
                        return checked
                    }
                }
                var total = 0
                for try await checked in group { total += checked }
                #expect(total > 0)
            }
            #expect(try store.read { try $0.invariantViolations(of: graph) } == [])
        }
    }
}
