import Foundation
import VectorIndex

/// What happened after situations like this one: statistics over the `n` most similar resolved
/// memories (live, with an outcome) that a query may see, by cosine similarity alone (no decay, no
/// quality, no fusion), from the query's ticker layer in `ticker` mode and from the whole
/// collection otherwise, with the query's point in time and filters. Exact whenever the dense
/// search is (always on the exact-scan path).
public struct AnalogueStatistics: Sendable, Hashable {
    /// The distribution of one quantity over a group of analogues.
    public struct Distribution: Sendable, Hashable {
        public var count: Int
        /// The share above 0 (similarity-weighted when asked).
        public var hitRate: Double
        /// The mean (similarity-weighted when asked).
        public var mean: Double
        /// Percentiles by linear interpolation between order statistics (numpy's default); never weighted.
        public var median: Double
        public var p10: Double
        public var p90: Double
    }

    /// One action's analogues (`action` nil: all of them).
    public struct Group: Sendable, Hashable {
        public var action: String?
        public var outcome: Distribution
        /// Over the analogues whose metadata has a numeric `alpha_return`; nil when none has.
        public var alpha: Distribution?
    }

    /// The analogues found (at most `n`).
    public var count: Int
    public var weighted: Bool
    public var all: Group?
    /// One group per action, by action name; memories without an action are left out of these.
    public var byAction: [Group]

    /// The statistics of `analogues` (memories with an outcome, and their cosine similarities).
    public init(_ analogues: [(memory: Memory, similarity: Float)], weighted: Bool) {
        count = analogues.count
        self.weighted = weighted
        all = Self.group(nil, analogues, weighted: weighted)
        let actions = Set(analogues.compactMap(\.memory.action)).sorted()
        byAction = actions.compactMap { action in Self.group(action, analogues.filter { $0.memory.action == action }, weighted: weighted) }
    }

    private static func group(_ action: String?, _ analogues: [(memory: Memory, similarity: Float)], weighted: Bool) -> Group? {
        let outcomes = analogues.compactMap { entry in entry.memory.outcome.map { ($0, Double(entry.similarity)) } }
        guard let outcome = distribution(outcomes, weighted: weighted) else { return nil }
        let alphas = analogues.compactMap { entry -> (Double, Double)? in
            guard case .number(let alpha) = entry.memory.metadata["alpha_return"], alpha.isFinite else { return nil }
            return (alpha, Double(entry.similarity))
        }
        return Group(action: action, outcome: outcome, alpha: distribution(alphas, weighted: weighted))
    }

    /// (value, similarity) pairs → their distribution; weights are the similarities clamped at 0
    /// (equal weights when they sum to 0).
    static func distribution(_ values: [(value: Double, similarity: Double)], weighted: Bool) -> Distribution? {
        guard !values.isEmpty else { return nil }
        var weights = values.map { weighted ? max(0, $0.similarity) : 1 }
        if weights.reduce(0, +) <= 0 { weights = Array(repeating: 1, count: values.count) }
        let total = weights.reduce(0, +)
        let mean = zip(values, weights).reduce(0.0) { $0 + $1.0.value * $1.1 } / total
        let hitRate = zip(values, weights).reduce(0.0) { $0 + ($1.0.value > 0 ? $1.1 : 0) } / total
        let sorted = values.map(\.value).sorted()
        func percentile(_ p: Double) -> Double {
            let position = p * Double(sorted.count - 1)
            let low = Int(position.rounded(.down)), high = Int(position.rounded(.up))
            return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
        }
        return Distribution(count: values.count, hitRate: hitRate, mean: mean, median: percentile(0.5), p10: percentile(0.1),
                            p90: percentile(0.9))
    }
}

extension TradingMemoryStore {
    /// The query that finds a query's `n` analogues: dense, by cosine alone (no decay, no quality),
    /// in its ticker's layer in `ticker` mode and in the whole collection otherwise, keeping its
    /// point in time and filters, and requiring an outcome.
    public static func analogueQuery(_ query: RecallQuery, n: Int) -> RecallQuery {
        var analogue = query
        analogue.k = n
        if case .ticker = query.mode {} else { analogue.mode = .global }
        analogue.decay = DecayFunction.none  // not `.none`: that would be Optional.none, the collection's decay
        analogue.weightByQuality = false
        analogue.retrieval = .dense
        analogue.text = nil
        analogue.useCredit = false
        analogue.decisionID = nil
        var filter = query.filter ?? MemoryFilter()
        filter.outcomeMin = filter.outcomeMin ?? -Double.greatestFiniteMagnitude  // an outcome condition: resolved memories with an outcome
        analogue.filter = filter
        return analogue
    }

    /// Each query's results and, for `n` > 0, its analogue statistics — from one snapshot.
    public func recall(_ queries: [RecallQuery], analogues n: Int, weighted: Bool = false,
                       in collection: String) throws -> [(results: [RecallResult], analogues: AnalogueStatistics?)] {
        guard (0...RecallEngine.maxK).contains(n) else {
            throw TradingMemoryError.invalidArgument("analogues must be between 0 and \(RecallEngine.maxK)")
        }
        let answers: [(results: [RecallResult], analogues: AnalogueStatistics?)] = try withRecallEngine(collection) { engine, reader in
            try queries.map { query in
                let results = try engine.recall(query, reader)
                guard n > 0 else { return (results, nil as AnalogueStatistics?) }
                let found = try engine.recall(Self.analogueQuery(query, n: n), reader)
                return (results, AnalogueStatistics(found.map { ($0.memory, $0.similarity) }, weighted: weighted))
            }
        }
        try recordProvenance(queries, answers.map(\.results), collection: collection)
        return answers
    }
}
