import Distance
import Foundation
import Lexical
import LMDB
import VectorIndex

/// Lexical and hybrid ranking of one layer.
///
/// Lexical: every eligible memory that shares a term with the query's text is scored exactly by BM25
/// (``BM25``) over the corpus the query may see — the collection's live memories known at the query's
/// point in time — times the same decay, quality and boost factors as the dense score. Hybrid: the
/// top ``LexicalSettings/window`` of the dense and of the lexical ranking, fused by reciprocal rank.
extension RecallEngine {
    /// The retrieval a query uses, or an error when it asks for one the collection cannot give.
    func retrieval(of query: RecallQuery) throws -> Retrieval {
        let lexical = entry.configuration.lexical
        let retrieval = query.retrieval ?? (lexical != nil && query.text != nil ? lexical!.retrieval : .dense)
        guard retrieval != .dense else { return .dense }
        guard lexical != nil else {
            throw TradingMemoryError.invalidArgument("collection '\(entry.name)' has no lexical index: \(retrieval.rawValue) retrieval needs "
                                                        + "one (create the collection with lexical recall, or rebuild it with --lexical)")
        }
        guard let text = query.text, !text.isEmpty else {
            throw TradingMemoryError.invalidArgument("\(retrieval.rawValue) retrieval needs the query's text")
        }
        return retrieval
    }

    static func queryTerms(_ text: String) -> [String] {
        Array(Set(LexicalTokenizer.terms(of: text))).sorted()
    }

    /// The top `k` of a layer by the context's retrieval.
    func rank(layer: Layer, graph: GraphID, k: Int, context: RankingContext, boostedTicker: UInt32?, boost: Double,
              excluding: Set<UInt32>, _ reader: borrowing IndexReader) throws -> [RecallResult] {
        switch context.retrieval {
        case .dense:
            return try results(rankDense(layer: layer, graph: graph, k: k, context: context, boostedTicker: boostedTicker, boost: boost,
                                         excluding: excluding, reader), layer: layer, reader)
        case .lexical:
            let hits = try lexicalHits(layer: layer, graph: graph, context: context, excluding: excluding, reader)
            let top = try rankLexical(hits, k: k, context: context, boostedTicker: boostedTicker, boost: boost, reader)
            return try results(try explained(top, hits, reader), layer: layer, reader)
        case .hybrid:
            let settings = entry.configuration.lexical ?? .standard
            let window = max(k, settings.window)
            let dense = try rankDense(layer: layer, graph: graph, k: window, context: context, boostedTicker: boostedTicker, boost: boost,
                                      excluding: excluding, reader)
            let hits = try lexicalHits(layer: layer, graph: graph, context: context, excluding: excluding, reader)
            let lexical = try rankLexical(hits, k: window, context: context, boostedTicker: boostedTicker, boost: boost, reader)
            var fused: [UInt32: Scored] = [:]
            for (rank, candidate) in dense.enumerated() {
                var entry = candidate
                entry.score = settings.denseWeight / (settings.rrfK + Double(rank + 1))
                entry.lexicalScore = hits.scores[candidate.id]
                fused[candidate.id] = entry
            }
            for (rank, candidate) in lexical.enumerated() {
                let share = 1 / (settings.rrfK + Double(rank + 1))
                if fused[candidate.id] != nil {
                    fused[candidate.id]!.score += share
                } else {
                    var entry = candidate
                    entry.score = share
                    fused[candidate.id] = entry
                }
            }
            let top = fused.values.sorted { before($0, $1) }.prefix(k)
            return try results(try explained(Array(top), hits, reader), layer: layer, reader)
        }
    }

    /// The BM25 scores of a query's hits and what is needed to explain one (which terms gave it).
    struct LexicalHits {
        var scores: [UInt32: Double] = [:]
        var bm25 = BM25.standard
        var averageLength: Double = 0
        /// (term, idf) of each query term some visible memory has.
        var terms: [(term: String, idf: Double)] = []
    }

    /// `top` with each memory's lexical score and its matched terms: the (at most 8) query terms that
    /// gave most of its score, read back from their postings for these few memories only.
    func explained(_ top: [Scored], _ hits: LexicalHits, _ reader: borrowing IndexReader) throws -> [Scored] {
        guard let postings = databases.lexicalPostings, !hits.terms.isEmpty else { return top }
        var explained = top
        for index in explained.indices {
            let id = explained[index].id
            guard let score = hits.scores[id] else { continue }
            explained[index].lexicalScore = score
            var contributions: [(term: String, score: Double)] = []
            for (term, idf) in hits.terms {
                guard let posting = try reader.transaction.withValue(for: Keys.posting(entry.id, term: term, memory: MemoryID(rawValue: id)),
                                                                      in: postings, { $0.flatMap(LexicalPosting.init) }) else { continue }
                contributions.append((term, hits.bm25.termScore(idf: idf, termFrequency: posting.termFrequency, documentLength: posting.length,
                                                                averageLength: hits.averageLength)))
            }
            explained[index].matchedTerms = contributions.sorted { $0.score != $1.score ? $0.score > $1.score : $0.term < $1.term }
                .prefix(8).map(\.term)
        }
        return explained
    }

    /// BM25 scores of the layer's eligible memories that share a term with the query.
    func lexicalHits(layer: Layer, graph: GraphID, context: RankingContext, excluding: Set<UInt32>,
                     _ reader: borrowing IndexReader) throws -> LexicalHits {
        guard let settings = entry.configuration.lexical, let postings = databases.lexicalPostings,
              let lengths = databases.lexicalLengths, !context.terms.isEmpty else { return LexicalHits() }
        let bm25 = BM25(k1: settings.k1, b: settings.b)
        var conditions = context.conditions
        conditions.excluded = excluding
        let layerTicker = layer == .ticker ? tickerCode(of: graph) : nil
        let asOfMs = conditions.asOfMs

        // The corpus the query may see: live memories known at its point in time.
        var documents = entry.lexicalDocuments ?? 0
        var lengthSum = entry.lexicalLengthSum ?? 0
        if let asOfMs {
            documents = 0
            lengthSum = 0
            try reader.transaction.forEach(in: lengths, prefix: Key(entry.id)) { _, value in
                if let row = LexicalLength(value), row.knownAtMs <= asOfMs {
                    documents += 1
                    lengthSum += row.length
                }
                return true
            }
        }
        guard documents > 0 else { return LexicalHits() }
        let averageLength = Double(lengthSum) / Double(documents)

        var hits = LexicalHits(scores: [:], bm25: bm25, averageLength: averageLength, terms: [])
        var visible: [(id: UInt32, frequency: Int, length: Int)] = []
        for term in context.terms {
            visible.removeAll(keepingCapacity: true)
            let prefix = Keys.posting(entry.id, term: term)
            try reader.transaction.forEach(in: postings, from: prefix) { key, value in
                guard key.count == prefix.count + 4, memcmp(key.baseAddress!, prefix, prefix.count) == 0 else { return false }
                guard let posting = LexicalPosting(value) else { return true }
                if let asOfMs, posting.knownAtMs > asOfMs { return true }
                let id = UInt32(bigEndian: key.loadUnaligned(fromByteOffset: prefix.count, as: UInt32.self))
                visible.append((id, posting.termFrequency, posting.length))
                return true
            }
            guard !visible.isEmpty else { continue }
            let idf = bm25.idf(documentFrequency: visible.count, documents: documents)
            hits.terms.append((term, idf))
            for posting in visible {
                guard let row = attributes.element(posting.id), conditions.allows(id: posting.id, row: row) else { continue }
                if let layerTicker, MemoryAttributes(row).tickerCode != layerTicker { continue }
                hits.scores[posting.id, default: 0] += bm25.termScore(idf: idf, termFrequency: posting.frequency, documentLength: posting.length,
                                                                      averageLength: averageLength)
            }
        }
        return hits
    }

    /// The top `k` of `hits` by decayed BM25 score, each with its exact cosine similarity; metadata
    /// conditions and the minimum similarity apply as for dense retrieval.
    func rankLexical(_ hits: LexicalHits, k: Int, context: RankingContext, boostedTicker: UInt32?, boost: Double,
                     _ reader: borrowing IndexReader) throws -> [Scored] {
        guard k > 0, !hits.scores.isEmpty else { return [] }
        let scoring = Scoring(decay: context.decay, calendar: context.calendar, kindDecays: context.kindDecays, nowMs: context.nowMs, weightByQuality: context.query.weightByQuality,
                              boostedTicker: boostedTicker, boost: boost)
        var ranked: [Scored] = []
        ranked.reserveCapacity(hits.scores.count)
        for (id, score) in hits.scores {
            guard let row = attributes.element(id).map(MemoryAttributes.init) else { continue }
            // The lexical score takes the place of the similarity in the dense formula.
            ranked.append(Scored(id: id, similarity: 0, score: scoring.score(similarity: 1, row) * score, lexicalScore: score))
        }
        ranked.sort { a, b in a.score != b.score ? a.score > b.score : a.id < b.id }
        let query = try normalized(context.query.vector)
        let metadataConditions = context.query.filter?.metadata ?? []
        var top: [Scored] = []
        for var candidate in ranked {
            if let credit = context.credit, top.count == k, credit.upperBound(candidate.score) < top[k - 1].score { break }
            guard try passesMetadata(candidate.id, metadataConditions, reader),
                  let vector = try reader.vector(VectorID(rawValue: candidate.id), in: entry.spaceID) else { continue }
            candidate.similarity = query.withUnsafeBytes { q in vector.withUnsafeBytes { v in dotProduct(q, v) } }
            if let minimum = context.query.minSimilarity, candidate.similarity < minimum { continue }
            if let credit = context.credit {
                // With credit the order can change below the first k: keep the best k by credited score.
                guard let withCredit = try credited(candidate, top: top, k: k, credit, reader) else { continue }
                insert(withCredit, into: &top, k: k)
                continue
            }
            top.append(candidate)
            if top.count == k { break }
        }
        return top
    }
}
