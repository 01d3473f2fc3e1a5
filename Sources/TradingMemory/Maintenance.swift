public import Foundation
public import LMDB
public import VectorIndex

#if canImport(Glibc)
import Glibc
#endif

/// What `rebuild` did to one collection.
public struct RebuildReport: Sendable {
    public var collection: String
    public var layers: Int
    public var memories: Int
    public var m: Int
    public var efConstruction: Int
    /// The graphs' walk precision after the rebuild.
    public var walk: WalkPrecision
    public var seconds: Double
}

/// What `compact` did.
public struct CompactionReport: Sendable {
    public var bytesBefore: Int
    public var bytesAfter: Int
    public var graphsRebuilt: Int
    public var graphsRepaired: Int
    public var vectorsKept: Int
    public var seconds: Double
}

/// What `consolidate` merged (or would merge, in a dry run).
public struct ConsolidationReport: Sendable {
    public struct Group: Sendable {
        /// The memory kept (the newest of the group).
        public var kept: UInt32
        /// The memories merged into it.
        public var merged: [UInt32]
        public var ticker: String?
    }
    public var dryRun: Bool
    public var groups: [Group]
    public var removed: Int { groups.reduce(0) { $0 + $1.merged.count } }
}

extension TradingMemoryStore {
    // MARK: - Rebuild

    /// Rebuilds every graph (global and ticker layers) of `collection` (or of every collection) from
    /// the stored vectors, with new HNSW parameters when given (recorded in the catalog). Each
    /// collection is one write transaction: readers keep answering from the old graphs until it
    /// commits, and an interrupted rebuild leaves them intact. `threads` above 1 searches each
    /// batch's links on that many threads (a batch-parallel build). `walk` converts the graphs to
    /// another walk precision (a database of format version 1 becomes version 2 with int8).
    public func rebuild(collection: String? = nil, m: Int? = nil, efConstruction: Int? = nil, walk: WalkPrecision? = nil, threads: Int = 1,
                        progress: ((_ collection: String, _ done: Int, _ total: Int) -> Void)? = nil) throws -> [RebuildReport] {
        let names = try collection.map { [$0] } ?? collections().map(\.name)
        var reports: [RebuildReport] = []
        for name in names {
            let start = Date()
            let report = try write { writer, state -> RebuildReport in
                var entry = try state.collection(name, writer)
                var parameters = entry.configuration.index
                if let m { parameters.m = m }
                if let efConstruction { parameters.efConstruction = efConstruction }
                if let walk { parameters.walk = walk }
                let total = try writer.graph(entry.globalGraphID).live + entry.tickers.values.reduce(0) { $0 + $1.live }
                var done = 0
                entry.globalGraph = try writer.rebuildGraph(entry.globalGraphID, parameters: parameters, threads: threads) { progress?(name, done + $0, total) }.rawValue
                done += entry.live
                for (ticker, layer) in entry.tickers.sorted(by: { $0.key < $1.key }) {
                    let rebuilt = try writer.rebuildGraph(GraphID(rawValue: layer.graph), parameters: parameters, threads: threads) { progress?(name, done + $0, total) }
                    entry.tickers[ticker]!.graph = rebuilt.rawValue
                    done += layer.live
                }
                entry.configuration.index = parameters
                state.save(entry)
                return RebuildReport(collection: name, layers: 1 + entry.tickers.count, memories: entry.live, m: parameters.m,
                                     efConstruction: parameters.efConstruction, walk: parameters.walk, seconds: 0)
            }
            var timed = report
            timed.seconds = Date().timeIntervalSince(start)
            reports.append(timed)
        }
        return reports
    }

    // MARK: - Compact

    /// Compacts the database in `path`: graphs whose tombstones reach `rebuildThreshold` (a
    /// fraction of their nodes) are rebuilt, others have the links around their tombstones repaired
    /// (deleted entry points are replaced either way); vector chunks keep only live vectors; then a
    /// compacted copy of the environment (`mdb_env_copy2` with `MDB_CP_COMPACT`) replaces the data
    /// file with one atomic rename.
    ///
    /// Refuses to run (``DatabaseLock/LockError/inUse(_:)``) while another process has the
    /// database open for writing, and (``TradingMemoryError/storage(_:)``, nothing changed) on a
    /// database that ``verify(limit:progress:)`` does not find clean. Readers may run: those that opened before the swap keep reading the
    /// old file's last snapshot until they reopen. Killed at any point, it leaves either the old file
    /// (with some graphs already rebuilt, each in its own transaction) or the new one.
    /// `verifyingFirst: false` is for a caller that has just verified the database itself (the CLI
    /// does, in a guarded child process).
    public static func compact(path: String, rebuildThreshold: Double = 0.2, verifyingFirst: Bool = true,
                               progress: ((_ step: String) -> Void)? = nil) throws -> CompactionReport {
        let start = Date()
        let lock = try DatabaseLock.exclusive(directory: path)
        let directory = DatabaseDirectory(path: path)
        let before = directory.dataFileBytes
        let copy = CompactedCopy(path: path)
        var rebuilt = 0, repaired = 0, kept = 0
        do {
            let store = try TradingMemoryStore(path: path, options: EnvironmentOptions(createIfMissing: false), lock: lock)
            defer { store.close() }
            // A damaged database is never rewritten: compaction would carry the damage into the new
            // file and drop the old one.
            progress?("verifying")
            let check = verifyingFirst ? try store.verify(limit: 5) : VerificationReport(collections: 0, memories: 0, graphs: 0, findings: [])
            guard check.clean else {
                throw TradingMemoryError.storage("compact refuses a database that verify does not pass (\(check.findings.count) findings, "
                    + "the first: \(check.findings[0])); nothing was changed: restore from a backup or export and import what can be read")
            }
            for name in try store.collections().map(\.name) {
                progress?("graphs of \(name)")
                let counts = try store.write { writer, state -> (Int, Int) in
                    var entry = state.collectionIfPresentSync(name, writer)!
                    var rebuiltHere = 0, repairedHere = 0
                    entry.globalGraph = try tidy(entry.globalGraphID, threshold: rebuildThreshold, writer,
                                                  rebuilt: &rebuiltHere, repaired: &repairedHere).rawValue
                    for (ticker, layer) in entry.tickers.sorted(by: { $0.key < $1.key }) {
                        entry.tickers[ticker]!.graph = try tidy(GraphID(rawValue: layer.graph), threshold: rebuildThreshold, writer,
                                                                 rebuilt: &rebuiltHere, repaired: &repairedHere).rawValue
                    }
                    state.save(entry)
                    return (rebuiltHere, repairedHere)
                }
                rebuilt += counts.0
                repaired += counts.1
                progress?("vectors of \(name)")
                kept += try store.write { writer, state -> Int in
                    let entry = state.collectionIfPresentSync(name, writer)!
                    let attributes = try state.attributes(entry, writer)
                    return try writer.compactVectors(of: entry.spaceID) { id in
                        guard let row = attributes.element(id.rawValue) else { return false }
                        return MemoryAttributes.flags(row) & (MemoryAttributes.live | MemoryAttributes.pending) != 0
                    }
                }
            }
            progress?("copying")
            try copy.write(from: store.index.environment)
        }
        progress?("swapping")
        do { try copy.swapIn() } catch { throw TradingMemoryError.storage("cannot replace the data file of \(path): \(error)") }
        withExtendedLifetime(lock) {}
        return CompactionReport(bytesBefore: before, bytesAfter: directory.dataFileBytes, graphsRebuilt: rebuilt, graphsRepaired: repaired,
                                vectorsKept: kept, seconds: Date().timeIntervalSince(start))
    }

    /// Rebuilds `graph` when its tombstones reach `threshold` of its nodes, else repairs the links
    /// around them; returns the graph's id afterwards.
    private static func tidy(_ graph: GraphID, threshold: Double, _ writer: borrowing IndexWriter, rebuilt: inout Int,
                             repaired: inout Int) throws -> GraphID {
        let info = try writer.graph(graph)
        guard info.tombstones > 0 else { return graph }
        if Double(info.tombstones) >= threshold * Double(info.nodeCount) {
            rebuilt += 1
            return try writer.rebuildGraph(graph)
        }
        repaired += 1
        try writer.repairTombstones(in: graph)
        return graph
    }

    // MARK: - Consolidate

    /// Merges near-duplicate memories of the same ticker (cosine similarity at least `threshold`):
    /// the newest of a group is kept, counts the others as reinforcements, and takes the best
    /// outcome of the group; the others are deleted. With `dryRun`, nothing changes.
    public func consolidate(collection: String, threshold: Float, dryRun: Bool) throws -> ConsolidationReport {
        guard threshold > 0 && threshold <= 1 else { throw TradingMemoryError.invalidArgument("the threshold must be in (0, 1]") }
        let groups = try read { reader, snapshot -> [ConsolidationReport.Group] in
            let entry = try snapshot.collection(collection, reader)
            let memories = try MemoryLookup.all(collection: entry.id, databases: databases, reader.transaction).filter { $0.status == .live }
            var byTicker: [String?: [Memory]] = [:]
            for memory in memories { byTicker[memory.ticker, default: []].append(memory) }
            var groups: [ConsolidationReport.Group] = []
            for (ticker, members) in byTicker.sorted(by: { ($0.key ?? "") < ($1.key ?? "") }) {
                let newestFirst = members.sorted { ($0.time, $0.id) > ($1.time, $1.id) }
                let rank = Dictionary(uniqueKeysWithValues: newestFirst.enumerated().map { ($1.id.rawValue, $0) })
                // Near neighbours through the index: the ticker's layer, or the global layer for memories without ticker.
                let graph = ticker.flatMap { entry.tickers[$0] }.map { GraphID(rawValue: $0.graph) } ?? entry.globalGraphID
                let absorbed = AbsorbedSet()
                for (index, keeper) in newestFirst.enumerated() where !absorbed.contains(keeper.id.rawValue) {
                    guard let base = try reader.vector(keeper.id.vectorID, in: entry.spaceID) else { continue }
                    let filter = PredicateFilter { id in (rank[id.rawValue] ?? -1) > index && !absorbed.contains(id.rawValue) }
                    let near = try reader.search(graph, query: base, k: 64, options: SearchOptions(ef: 128), filter: filter)
                    let merged = near.filter { $0.similarity >= threshold }.map(\.id.rawValue)
                    if !merged.isEmpty {
                        for id in merged { absorbed.insert(id) }
                        absorbed.insert(keeper.id.rawValue)
                        groups.append(.init(kept: keeper.id.rawValue, merged: merged.sorted(), ticker: ticker))
                    }
                }
            }
            return groups
        }
        if !dryRun && !groups.isEmpty {
            try write { writer, state in
                var entry = try state.collection(collection, writer)
                for group in groups {
                    let keeperID = MemoryID(rawValue: group.kept)
                    guard var keeper = try state.storedMemory(keeperID, entry, writer) else { continue }
                    var bestOutcome = keeper.outcome
                    var reinforcements = keeper.reinforcements
                    for mergedID in group.merged {
                        guard let merged = try state.storedMemory(MemoryID(rawValue: mergedID), entry, writer) else { continue }
                        if let outcome = merged.outcome, outcome > (bestOutcome ?? -.infinity) { bestOutcome = outcome }
                        reinforcements += 1 + merged.reinforcements
                        _ = try state.deleteMemory(MemoryID(rawValue: mergedID), in: &entry, writer)
                    }
                    keeper.outcome = bestOutcome
                    keeper.reinforcements = reinforcements
                    try state.putStored(keeper, keeperID, entry, writer)
                    if var row = try state.attributes(of: keeperID, entry, writer) {
                        row.outcome = bestOutcome ?? .nan
                        try state.setAttributes(row, of: keeperID, entry, writer)
                    }
                }
                state.save(entry)
            }
        }
        return ConsolidationReport(dryRun: dryRun, groups: groups)
    }
}

extension MemoryWriteState {
    /// The collection, known to exist (maintenance paths that just listed it).
    func collectionIfPresentSync(_ name: String, _ writer: borrowing IndexWriter) -> CatalogEntry? {
        try? collectionIfPresent(name, writer)
    }
}

/// The memories already merged during a consolidation, shared with the search filter.
final class AbsorbedSet {
    private var ids = Set<UInt32>()
    func contains(_ id: UInt32) -> Bool { ids.contains(id) }
    func insert(_ id: UInt32) { ids.insert(id) }
}
