import Foundation
import LMDB
import VectorIndex

/// One problem `verify` found.
public struct VerificationFinding: Hashable, Sendable, CustomStringConvertible {
    /// The collection, or nil for the database as a whole.
    public var collection: String?
    /// What was checked: `vector`, `attributes`, `graph`, `layer`, `time-index`, `caller-id`, `pending`, `counts`, `orphan`.
    public var check: String
    public var message: String

    public var description: String { "\(collection.map { "[\($0)] " } ?? "")\(check): \(message)" }
}

/// What `verify` checked and found.
public struct VerificationReport: Sendable {
    public var clean: Bool { findings.isEmpty }
    public var collections: Int
    public var memories: Int
    public var graphs: Int
    public var findings: [VerificationFinding]
}

extension TradingMemoryStore {
    /// Checks the whole database in one read snapshot (it runs beside a serving process and changes
    /// nothing): every live memory has a unit vector of the collection's dimension; every graph
    /// satisfies its invariants (links to existing nodes of the same graph, every live node reachable
    /// from the entry point); layers hold exactly the right memories (the global layer every live
    /// memory, a ticker layer exactly that ticker's); the time index, the caller ids and the pending
    /// index agree with the stored memories; counts agree; no graph or space belongs to no collection.
    /// `progress` hears the memories checked so far.
    public func verify(limit: Int = 1_000, progress: ((Int, Int) -> Void)? = nil) throws -> VerificationReport {
        try read { reader, snapshot in
            let findings = FindingCollector(limit: limit)
            let report = findings.report
            for damage in try reader.damagedChunks(limit: limit) { report(nil, "checksum", damage) }
            for damage in try ChunkHeader.damagedChunks(in: databases.attributes, name: "attribute", reader.transaction, limit: limit) {
                report(nil, "checksum", damage)
            }
            let entries = try snapshot.allCollections(reader)
            let total = entries.reduce(0) { $0 + $1.live + $1.pending }
            var checked = 0
            var graphsChecked = 0
            var ownedGraphs = Set<UInt32>(), ownedSpaces = Set<UInt32>()
            for entry in entries.sorted(by: { $0.name < $1.name }) {
                let name = entry.name
                ownedSpaces.insert(entry.space)
                ownedGraphs.insert(entry.globalGraph)
                for layer in entry.tickers.values { ownedGraphs.insert(layer.graph) }
                let space: SpaceInfo
                do { space = try reader.space(entry.spaceID) } catch {
                    report(name, "vector", "the collection's vector space is missing")
                    continue
                }
                if space.dimension != entry.configuration.dimension {
                    report(name, "vector", "the space holds \(space.dimension)-d vectors, the collection says \(entry.configuration.dimension)")
                }
                let attributes = try snapshot.attributes(entry, reader)
                let memories: [Memory]
                do { memories = try MemoryLookup.all(collection: entry.id, databases: databases, reader.transaction) } catch {
                    report(name, "record", "\(error)")
                    continue
                }
                var live = Set<UInt32>(), pending = Set<UInt32>()
                var liveByTicker: [String: Set<UInt32>] = [:]
                var timeOf: [UInt32: Int64] = [:]
                for memory in memories {
                    let id = memory.id.rawValue
                    checked += 1
                    if checked % 1_000 == 0 { progress?(checked, total) }
                    switch memory.status {
                    case .live:
                        live.insert(id)
                        if let ticker = memory.ticker { liveByTicker[ticker, default: []].insert(id) }
                    case .pending: pending.insert(id)
                    }
                    timeOf[id] = memory.time.milliseconds
                    if let row = attributes.element(id).map(MemoryAttributes.init) {
                        let expected = MemoryAttributes.flags(status: memory.status == .live ? MemoryAttributes.live : MemoryAttributes.pending,
                                                              kindCode: memory.kind.flatMap { entry.kinds?[$0] } ?? 0)
                        if row.flags != expected { report(name, "attributes", "memory \(id) is \(memory.status.rawValue) but its row says flags \(row.flags)") }
                        if row.timeMs != memory.time.milliseconds || row.knownAtMs != memory.knownAt.milliseconds {
                            report(name, "attributes", "memory \(id): the row's times differ from the stored memory's")
                        }
                        let code = memory.ticker.flatMap { entry.tickers[$0]?.code } ?? 0
                        if row.tickerCode != code { report(name, "attributes", "memory \(id): the row's ticker differs from the stored memory's") }
                    } else {
                        report(name, "attributes", "memory \(id) has no attribute row")
                    }
                    if let vector = try reader.vector(memory.id.vectorID, in: entry.spaceID) {
                        if vector.count != entry.configuration.dimension {
                            report(name, "vector", "memory \(id) has a \(vector.count)-d vector")
                        }
                        let norm = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                        if abs(norm - 1) > 1e-3 || !norm.isFinite { report(name, "vector", "memory \(id) has a vector of norm \(norm)") }
                    } else {
                        report(name, "vector", "memory \(id) has no vector")
                    }
                    if let callerID = memory.callerID {
                        let mapped = try MemoryLookup.id(callerID: callerID, collection: entry.id, databases: databases, reader.transaction)
                        if mapped != memory.id { report(name, "caller-id", "memory \(id)'s caller id maps to \(mapped.map(\.description) ?? "nothing")") }
                    }
                }
                // Counts.
                if entry.live != live.count { report(name, "counts", "the catalog counts \(entry.live) live memories, the stored memories \(live.count)") }
                if entry.pending != pending.count { report(name, "counts", "the catalog counts \(entry.pending) pending, the stored memories \(pending.count)") }
                // Layers.
                graphsChecked += 1
                findings.checkLayer(name, "global layer", violations: try reader.invariantViolations(of: entry.globalGraphID),
                                    members: Set(try reader.liveVectors(of: entry.globalGraphID).map(\.rawValue)), expected: live)
                for (ticker, layer) in entry.tickers.sorted(by: { $0.key < $1.key }) {
                    let expected = liveByTicker[ticker] ?? []
                    let graph = GraphID(rawValue: layer.graph)
                    graphsChecked += 1
                    findings.checkLayer(name, "layer \(ticker)", violations: try reader.invariantViolations(of: graph),
                                        members: Set(try reader.liveVectors(of: graph).map(\.rawValue)), expected: expected)
                    if layer.live != expected.count { report(name, "counts", "layer \(ticker) counts \(layer.live), the stored memories \(expected.count)") }
                }
                // Time index: (collection, ticker code or 0, time, id) for each live memory.
                var timeEntries = 0
                let tickerOfCode = Dictionary(entry.tickers.map { ($0.value.code, $0.key) }, uniquingKeysWith: { first, _ in first })
                try reader.transaction.forEach(in: databases.time, prefix: Key(entry.id)) { key, _ in
                    var keyReader = KeyReader(key)
                    _ = keyReader.readUInt32()
                    guard let code = keyReader.readUInt32(), let time = keyReader.readOrderedSigned(), let id = keyReader.readUInt32() else {
                        report(name, "time-index", "an entry has a malformed key")
                        return true
                    }
                    timeEntries += 1
                    if !live.contains(id) {
                        report(name, "time-index", "an entry names memory \(id), which is not live")
                    } else if timeOf[id] != time {
                        report(name, "time-index", "memory \(id)'s entry has another time than its record")
                    } else if code != 0, !(tickerOfCode[code].map { liveByTicker[$0]?.contains(id) ?? false } ?? false) {
                        report(name, "time-index", "memory \(id) is indexed under a ticker it does not have")
                    }
                    return true
                }
                let expectedEntries = live.count + liveByTicker.values.reduce(0) { $0 + $1.count }
                if timeEntries != expectedEntries { report(name, "time-index", "\(timeEntries) entries for \(expectedEntries) expected") }
                if entry.configuration.lexical != nil {
                    try verifyLexical(entry, liveMemories: memories.filter { $0.status == .live }, reader, report: report)
                }
                // Pending index.
                var pendingEntries = Set<UInt32>()
                try reader.transaction.forEach(in: databases.pending, prefix: Key(entry.id)) { key, _ in
                    var keyReader = KeyReader(key)
                    _ = keyReader.readUInt32()
                    if let id = keyReader.readUInt32() { pendingEntries.insert(id) }
                    return true
                }
                if pendingEntries != pending { report(name, "pending", "the pending index lists \(pendingEntries.count), the stored memories \(pending.count)") }
                // Caller ids: every entry names a entry with that id.
                try reader.transaction.forEach(in: databases.callerIDs, prefix: Key(entry.id)) { key, value in
                    let callerID = String(decoding: UnsafeRawBufferPointer(rebasing: key[4...]), as: UTF8.self)
                    guard let id = try? ReadTransaction.decodeInteger(UInt32.self, from: value) else {
                        report(name, "caller-id", "'\(callerID)' has a value of \(value.count) bytes, not a memory id")
                        return true
                    }
                    if !live.contains(id) && !pending.contains(id) {
                        report(name, "caller-id", "'\(callerID)' names memory \(id), which does not exist")
                    }
                    return true
                }
                try verifyCredit(entry, existing: live.union(pending), reader, report: report)
            }
            try verifyProvenance(collectionIDs: Set(entries.map(\.id)), reader, report: report)
            for graph in try reader.graphs() where !ownedGraphs.contains(graph.rawValue) {
                report(nil, "orphan", "\(graph) belongs to no collection")
            }
            for space in try reader.spaces() where !ownedSpaces.contains(space.rawValue) {
                report(nil, "orphan", "\(space) belongs to no collection")
            }
            progress?(checked, total)
            return VerificationReport(collections: entries.count, memories: checked, graphs: graphsChecked, findings: findings.findings)
        }
    }
}

/// Collects findings up to a limit.
final class FindingCollector {
    let limit: Int
    private(set) var findings: [VerificationFinding] = []

    init(limit: Int) { self.limit = limit }

    func report(_ collection: String?, _ check: String, _ message: String) {
        if findings.count < limit { findings.append(VerificationFinding(collection: collection, check: check, message: message)) }
    }

    func checkLayer(_ collection: String, _ layer: String, violations: [String], members: Set<UInt32>, expected: Set<UInt32>) {
        for violation in violations { report(collection, "graph", "\(layer): \(violation)") }
        let missing = expected.subtracting(members), extra = members.subtracting(expected)
        if !missing.isEmpty { report(collection, "layer", "\(layer) lacks \(missing.count) memories (e.g. \(missing.sorted().prefix(5)))") }
        if !extra.isEmpty { report(collection, "layer", "\(layer) holds \(extra.count) memories it should not (e.g. \(extra.sorted().prefix(5)))") }
    }
}
