import Distance
import Foundation
import LMDB
import VectorIndex

/// Ranks one collection's memories for a query, inside one read transaction.
///
/// Candidates come from a layer in descending cosine similarity (a graph walk, or an exact scan
/// when the planner chooses it), with the cheap conditions — live, known as of `asOf`, ticker,
/// action, time and outcome — checked on the attribute rows during the search. Each candidate's
/// score is `cosine × decay(age) [× quality] [× boost]`. Because every factor but the boost is at
/// most 1, no unseen candidate can score above `boost × (cosine of the last candidate seen)` (or
/// above 0 once cosines turn negative), so the search widens (doubling k) until the k-th score
/// reaches that bound or the layer is exhausted: the decayed top k then equals a brute-force
/// ranking whenever the index returns the exact cosine neighbours.
///
/// That is dense retrieval. Lexical retrieval ranks by BM25 in place of the cosine, and hybrid fuses
/// both rankings' top windows by weighted reciprocal rank (RecallEngine+Lexical.swift).
struct RecallEngine {
    let entry: CatalogEntry
    let attributes: ChunkStore
    let databases: MemoryDatabases

    static let maxK = 10_000
    /// Eligible memories up to which a ranking the first walk does not settle is computed by one exact
    /// pass (about 1 ms at 384 dimensions).
    static let exactRankingLimit = 50_000

    func recall(_ query: RecallQuery, _ reader: borrowing IndexReader) throws -> [RecallResult] {
        let configuration = entry.configuration
        guard query.vector.count == configuration.dimension else {
            throw TradingMemoryError.dimensionMismatch(collection: entry.name, expected: configuration.dimension, actual: query.vector.count)
        }
        do { try validateVector(query.vector) } catch { throw TradingMemoryError.invalidVector("the query: \(error)") }
        guard (0...Self.maxK).contains(query.k) else { throw TradingMemoryError.invalidArgument("k must be between 0 and \(Self.maxK)") }
        if let ef = query.ef, !(1...10_000).contains(ef) { throw TradingMemoryError.invalidArgument("ef must be between 1 and 10000") }
        if let minimum = query.minSimilarity, !(minimum.isFinite && minimum >= -1 && minimum <= 1) {
            throw TradingMemoryError.invalidArgument("minSimilarity must be between -1 and 1")
        }
        let decay = query.decay ?? configuration.decay
        try decay.validate()
        if let asOf = query.asOf { try TimeBounds.check(asOf, "asOf") }
        try query.filter?.validate()

        let tickerCode = query.ticker.flatMap { entry.tickers[$0]?.code }
        switch query.mode {
        case .ticker, .tickerThenGlobal:
            guard query.ticker != nil else { throw TradingMemoryError.invalidArgument("this mode needs a ticker") }
        case .merged(let boost):
            guard boost.isFinite, boost > 0 else { throw TradingMemoryError.invalidArgument("the ticker boost must be a positive number") }
        case .global:
            break
        }
        var wanted = query.k
        if case .tickerThenGlobal(let kTicker, let kGlobal) = query.mode { wanted = kTicker + kGlobal }
        guard wanted > 0, let conditions = AttributeConditions(query: query, entry: entry) else { return [] }
        let retrieval = try self.retrieval(of: query)
        // Each kind's own decay, by kind code, unless the query names one decay for all.
        var kindDecays: [KindDecay?] = []
        if query.decay == nil, let byKind = configuration.kindDecay, !byKind.isEmpty, let codes = entry.kinds {
            kindDecays = Array(repeating: nil, count: Int(codes.values.max() ?? 0) + 1)
            for (kind, code) in codes {
                guard let function = byKind[kind] else { continue }
                kindDecays[Int(code)] = KindDecay(decay: function, calendar: try function.marketCalendar(ticker: query.ticker))
            }
        }
        let nowMs = (query.asOf ?? Date()).milliseconds
        var credit: CreditScoring?
        if query.useCredit, let settings = configuration.credit, settings.beta > 0, databases.memoryCredit != nil {
            credit = CreditScoring(settings: settings, ledger: CreditLedger(databases: databases), collection: entry.id, asOfMs: nowMs)
        }
        let context = RankingContext(query: query, decay: decay, calendar: try decay.marketCalendar(ticker: query.ticker),
                                     kindDecays: kindDecays, nowMs: nowMs,
                                     ef: query.ef ?? configuration.searchEf, conditions: conditions, retrieval: retrieval,
                                     terms: retrieval == .dense ? [] : Self.queryTerms(query.text ?? ""), credit: credit)

        switch query.mode {
        case .global:
            return try rank(layer: .global, graph: entry.globalGraphID, k: query.k, context: context, boostedTicker: nil, boost: 1,
                            excluding: [], reader)
        case .merged(let boost):
            return try rank(layer: .global, graph: entry.globalGraphID, k: query.k, context: context, boostedTicker: tickerCode,
                            boost: boost, excluding: [], reader)
        case .ticker:
            guard let ticker = query.ticker, let layer = entry.tickers[ticker] else { return [] }
            return try rank(layer: .ticker, graph: GraphID(rawValue: layer.graph), k: query.k, context: context, boostedTicker: nil,
                            boost: 1, excluding: [], reader)
        case .tickerThenGlobal(let kTicker, let kGlobal):
            guard kTicker >= 0, kGlobal >= 0, kTicker + kGlobal <= Self.maxK else {
                throw TradingMemoryError.invalidArgument("kTicker and kGlobal must be between 0 and \(Self.maxK)")
            }
            var results: [RecallResult] = []
            if let ticker = query.ticker, let layer = entry.tickers[ticker], kTicker > 0 {
                results = try rank(layer: .ticker, graph: GraphID(rawValue: layer.graph), k: kTicker, context: context,
                                   boostedTicker: nil, boost: 1, excluding: [], reader)
            }
            if kGlobal > 0 {
                let seen = Set(results.map(\.memory.id.rawValue))
                results += try rank(layer: .global, graph: entry.globalGraphID, k: kGlobal, context: context, boostedTicker: nil,
                                    boost: 1, excluding: seen, reader)
            }
            return results
        }
    }

    struct RankingContext {
        var query: RecallQuery
        var decay: DecayFunction
        /// The calendar whose sessions measure ages (nil: seconds).
        var calendar: MarketCalendar?
        /// The decay of each kind code that has its own (empty when none has).
        var kindDecays: [KindDecay?] = []
        var nowMs: Int64
        var ef: Int
        var conditions: AttributeConditions
        var retrieval: Retrieval = .dense
        /// The query's distinct terms, sorted (lexical and hybrid retrieval).
        var terms: [String] = []
        /// The credit factor, when the collection scores with credit.
        var credit: CreditScoring?
    }

    /// A memory's credit factor as of the query: `1 + β·tanh(Σ credit known by asOf / scale)`.
    struct CreditScoring {
        let settings: CreditSettings
        let ledger: CreditLedger
        let collection: UInt32
        let asOfMs: Int64

        /// The most a score can become once its factor is applied.
        func upperBound(_ score: Double) -> Double { score * (score >= 0 ? settings.maximumFactor : 1 - settings.beta) }

        func factor(_ id: UInt32, _ reader: borrowing IndexReader) throws -> Double {
            settings.factor(credit: try ledger.total(collection, id, asOfMs: asOfMs, reader.transaction))
        }
    }

    /// `candidate` with its credit factor applied (unchanged without credit), or nil when even the
    /// largest factor could not bring it into a full `top` (its credit is then not read).
    func credited(_ candidate: Scored, top: [Scored], k: Int, _ credit: CreditScoring?, _ reader: borrowing IndexReader) throws -> Scored? {
        guard let credit else { return candidate }
        if top.count == k, credit.upperBound(candidate.score) < top[k - 1].score { return nil }
        var scored = candidate
        scored.score *= try credit.factor(candidate.id, reader)
        return scored
    }

    struct Scored {
        var id: UInt32
        var similarity: Float
        var score: Double
        var lexicalScore: Double? = nil
        var matchedTerms: [String] = []
    }

    /// The top `k` of one layer by decayed cosine score (dense retrieval).
    ///
    /// Small layers (and small eligible sets) are scored exactly, every eligible memory once. Larger
    /// ones are walked: candidates in descending cosine, doubling the fetch until the k-th score
    /// reaches the bound. When the first walk does not settle the ranking (strong decay or a
    /// quality weight reorders far down the cosine order), a layer of up to
    /// ``exactRankingLimit`` eligible memories is scored exactly — cheaper than widening walks —
    /// and a larger one is walked wider until the next walk would cost more than the exact pass
    /// (a walk computes about 11 distances per unit of ef).
    func rankDense(layer: Layer, graph: GraphID, k: Int, context: RankingContext, boostedTicker: UInt32?, boost: Double,
                   excluding: Set<UInt32>, _ reader: borrowing IndexReader) throws -> [Scored] {
        let info = try reader.graph(graph)
        guard info.live > 0 else { return [] }
        let tickerCode = layer == .ticker ? self.tickerCode(of: graph) : nil
        var conditions = context.conditions
        let eligible = conditions.isOnlyLiveness ? info.live
            : conditions.countEligible(in: attributes, spaceCount: try reader.space(entry.spaceID).count, tickerCode: tickerCode)
        conditions.excluded = excluding
        guard eligible > 0 else { return [] }
        let filter = AttributeFilter(attributes: attributes, conditions: conditions,
                                     eligible: conditions.isOnlyLiveness ? nil : eligible)
        let scoring = Scoring(decay: context.decay, calendar: context.calendar, kindDecays: context.kindDecays, nowMs: context.nowMs, weightByQuality: context.query.weightByQuality,
                              boostedTicker: boostedTicker, boost: boost)
        let metadataConditions = context.query.filter?.metadata ?? []
        let minimum = context.query.minSimilarity

        var top: [Scored] = []
        if eligible > SearchOptions.defaultExactScanThreshold {
            var seen = Set<UInt32>()
            var fetch = max(4 * k, 32)
            var decided = false
            while !decided {
                let neighbors = try reader.search(graph, query: context.query.vector, k: fetch,
                                                  options: SearchOptions(ef: max(context.ef, fetch), strategy: .graph), filter: filter)
                var stoppedBySimilarity = false
                for neighbor in neighbors where seen.insert(neighbor.id.rawValue).inserted {
                    if let minimum, neighbor.similarity < minimum {
                        stoppedBySimilarity = true
                        break
                    }
                    guard let row = attributes.element(neighbor.id.rawValue).map(MemoryAttributes.init),
                          try passesMetadata(neighbor.id.rawValue, metadataConditions, reader) else { continue }
                    guard let candidate = try credited(Scored(id: neighbor.id.rawValue, similarity: neighbor.similarity,
                                                              score: scoring.score(similarity: neighbor.similarity, row)),
                                                       top: top, k: k, context.credit, reader) else { continue }
                    insert(candidate, into: &top, k: k)
                }
                if neighbors.count < fetch || stoppedBySimilarity { return top }
                let last = Double(neighbors.last!.similarity)
                let bound = last > 0 ? last * max(boost, 1) * (context.credit?.settings.maximumFactor ?? 1) : 0
                if top.count == k && top[k - 1].score >= bound { return top }
                fetch *= 2
                // When only credit's (1 + β) kept the walk from settling (the bound without it is met),
                // a wider walk or two usually settles it, cheaper than the exact pass; when decay or
                // quality reorders, widening rarely helps.
                let widerWalks = context.credit != nil && fetch <= 8 * max(4 * k, 32) && top.count == k
                    && top[k - 1].score >= (last > 0 ? last * max(boost, 1) : 0)
                decided = (eligible <= Self.exactRankingLimit && !widerWalks) || 22 * fetch >= eligible
            }
            top.removeAll()
        }
        // Exact: score every eligible memory, then keep the best k that pass the metadata conditions.
        var scored: [Scored] = []
        scored.reserveCapacity(min(eligible, 65_536))
        try reader.forEachSimilarity(graph, query: context.query.vector, filter: filter) { id, similarity in
            if let minimum, similarity < minimum { return }
            guard let row = attributes.element(id.rawValue).map(MemoryAttributes.init) else { return }
            scored.append(Scored(id: id.rawValue, similarity: similarity, score: scoring.score(similarity: similarity, row)))
        }
        if metadataConditions.isEmpty {
            // Unsorted: with credit, a candidate whose largest factor cannot reach the k-th so far is skipped unread.
            for candidate in scored {
                guard let withCredit = try credited(candidate, top: top, k: k, context.credit, reader) else { continue }
                insert(withCredit, into: &top, k: k)
            }
        } else {
            // Best base score first: a full top ends the scan, unless credit's largest factor could still
            // lift the candidate past the k-th.
            scored.sort { before($0, $1) }
            for candidate in scored {
                if top.count == k {
                    guard let credit = context.credit, credit.upperBound(candidate.score) >= top[k - 1].score else { break }
                }
                guard try passesMetadata(candidate.id, metadataConditions, reader),
                      let withCredit = try credited(candidate, top: top, k: k, context.credit, reader) else { continue }
                insert(withCredit, into: &top, k: k)
            }
        }
        return top
    }

    /// A kind's decay and the calendar that measures its ages.
    struct KindDecay {
        var decay: DecayFunction
        var calendar: MarketCalendar?
    }

    struct Scoring {
        let decay: DecayFunction
        let calendar: MarketCalendar?
        let kindDecays: [KindDecay?]
        let nowMs: Int64
        let weightByQuality: Bool
        let boostedTicker: UInt32?
        let boost: Double

        func score(similarity: Float, _ row: MemoryAttributes) -> Double {
            // In Double: a time stored by an older build may lie far outside TimeBounds, and an Int64
            // difference could overflow.
            var decay = self.decay, calendar = self.calendar
            let kind = Int(row.kindCode)
            if kind != 0, kind < kindDecays.count, let own = kindDecays[kind] { (decay, calendar) = (own.decay, own.calendar) }
            let age = calendar.map { Double($0.sessions(fromMs: row.timeMs, toMs: nowMs)) * 86_400 }
                ?? (Double(nowMs) - Double(row.timeMs)) / 1000
            var score = Double(similarity) * decay.factor(age: age)
            if weightByQuality, !row.quality.isNaN { score *= Double(row.quality) }
            if let boostedTicker, row.tickerCode == boostedTicker { score *= boost }
            return score
        }
    }

    func passesMetadata(_ id: UInt32, _ conditions: [MetadataCondition], _ reader: borrowing IndexReader) throws -> Bool {
        guard !conditions.isEmpty else { return true }
        guard let memory = try MemoryLookup.memory(MemoryID(rawValue: id), collection: entry.id, databases: databases,
                                                   reader.transaction) else { return false }
        return conditions.allSatisfy { $0.matches(memory.metadata[$0.key]) }
    }

    func results(_ top: [Scored], layer: Layer, _ reader: borrowing IndexReader) throws -> [RecallResult] {
        try top.map { scored in
            guard let memory = try MemoryLookup.memory(MemoryID(rawValue: scored.id), collection: entry.id, databases: databases,
                                                       reader.transaction) else {
                throw TradingMemoryError.storage("memory \(scored.id) is in the index but has no record")
            }
            return RecallResult(memory: memory, similarity: scored.similarity, score: scored.score, layer: layer,
                                lexicalScore: scored.lexicalScore, matchedTerms: scored.matchedTerms)
        }
    }

    /// Ranking order: higher score, then higher similarity, then lower id (reproducible ties).
    func before(_ a: Scored, _ b: Scored) -> Bool {
        a.score != b.score ? a.score > b.score : (a.similarity != b.similarity ? a.similarity > b.similarity : a.id < b.id)
    }

    func insert(_ candidate: Scored, into top: inout [Scored], k: Int) {
        if top.count == k, let last = top.last, !before(candidate, last) { return }
        let position = top.firstIndex { before(candidate, $0) } ?? top.count
        top.insert(candidate, at: position)
        if top.count > k { top.removeLast() }
    }

    func tickerCode(of graph: GraphID) -> UInt32? {
        entry.tickers.values.first { $0.graph == graph.rawValue }?.code
    }
}

/// The conditions checked on attribute rows during a search.
struct AttributeConditions {
    var asOfMs: Int64?
    var tickerCodes: Set<UInt32>?
    var actionCodes: Set<UInt32>?
    var timeFromMs: Int64?
    var timeBeforeMs: Int64?
    var outcomeMin: Double?
    var outcomeMax: Double?
    var excluded: Set<UInt32> = []

    /// Nil when the conditions can match nothing (an unknown ticker or action).
    init?(query: RecallQuery, entry: CatalogEntry) {
        asOfMs = query.asOf?.milliseconds
        // As of a time after every memory became known, nothing is hidden: no condition to check.
        if let asOf = asOfMs, let latest = entry.maxKnownAtMs, asOf >= latest { asOfMs = nil }
        if let filter = query.filter {
            if let tickers = filter.tickers {
                let codes = Set(tickers.compactMap { entry.tickers[$0]?.code })
                if codes.isEmpty { return nil }
                tickerCodes = codes
            }
            if let actions = filter.actions {
                let codes = Set(actions.compactMap { entry.actions[$0] })
                if codes.isEmpty { return nil }
                actionCodes = codes
            }
            timeFromMs = filter.timeFrom?.milliseconds
            timeBeforeMs = filter.timeBefore?.milliseconds
            outcomeMin = filter.outcomeMin
            outcomeMax = filter.outcomeMax
        }
    }

    /// Whether only liveness is checked (every live node of a graph is eligible).
    var isOnlyLiveness: Bool {
        asOfMs == nil && tickerCodes == nil && actionCodes == nil && timeFromMs == nil && timeBeforeMs == nil
            && outcomeMin == nil && outcomeMax == nil && excluded.isEmpty
    }

    @inline(__always)
    func allows(id: UInt32, row: UnsafeRawPointer) -> Bool {
        guard MemoryAttributes.flags(row) & MemoryAttributes.live != 0 else { return false }
        if let asOfMs, MemoryAttributes.knownAtMs(row) > asOfMs { return false }
        guard tickerCodes != nil || actionCodes != nil || timeFromMs != nil || timeBeforeMs != nil || outcomeMin != nil
            || outcomeMax != nil || !excluded.isEmpty else { return true }
        let attributes = MemoryAttributes(row)
        if let tickerCodes, !tickerCodes.contains(attributes.tickerCode) { return false }
        if let actionCodes, !actionCodes.contains(attributes.actionCode) { return false }
        if let timeFromMs, attributes.timeMs < timeFromMs { return false }
        if let timeBeforeMs, attributes.timeMs >= timeBeforeMs { return false }
        if outcomeMin != nil || outcomeMax != nil {
            if attributes.outcome.isNaN { return false }
            if let outcomeMin, attributes.outcome < outcomeMin { return false }
            if let outcomeMax, attributes.outcome > outcomeMax { return false }
        }
        return !excluded.contains(id)
    }

    /// How many memories of a layer pass, exclusions aside (for the planner); a linear pass over the rows.
    func countEligible(in attributes: ChunkStore, spaceCount: Int, tickerCode: UInt32?) -> Int {
        var count = 0
        attributes.forEachElement(count: spaceCount) { id, row in
            if let tickerCode, UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 28, as: UInt32.self)) != tickerCode { return }
            if allows(id: id, row: row) { count += 1 }
        }
        return count
    }
}

/// The search filter over attribute rows.
struct AttributeFilter: VectorFilter {
    let attributes: ChunkStore
    let conditions: AttributeConditions
    let eligible: Int?

    @inline(__always)
    func allows(_ id: VectorID) -> Bool {
        guard let row = attributes.element(id.rawValue) else { return false }
        return conditions.allows(id: id.rawValue, row: row)
    }

    var estimatedEligibleCount: Int? { eligible }
}
