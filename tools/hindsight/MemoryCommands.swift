import ArgumentParser
import Foundation
import TradingMemory
import WireFormat
import Embedding

extension Hindsight {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add memories from a JSON Lines file (one record per line; see docs/records.md).",
            discussion: "Every line is checked first: a bad line is reported with its number and nothing is written. "
                + "Lines without a vector have their situation embedded by --embedder, with the collection's model.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The collection.") var collection: String
        @Option(help: "JSON Lines file, or - for standard input.") var jsonl: String
        @Flag(help: "Replace memories whose id is taken instead of failing.") var upsert = false
        @OptionGroup var embedding: EmbedderOptions

        func run() async throws {
            let store = try database.openStore()
            defer { store.close() }
            let info = try store.collection(collection)
            let embedder = try embedding.makeEmbedder()
            var lines = try JSONLines.parseMemories(try readInput(jsonl), dimension: info.configuration.dimension,
                                                        requireVectors: embedder == nil)
            let unembedded = lines.indices.filter { lines[$0].memory.vector == nil }
            if !unembedded.isEmpty, let embedder {
                let vectors = try await embedTexts(unembedded.map { lines[$0].memory.situation }, with: embedder, for: info)
                for (index, vector) in zip(unembedded, vectors) { lines[index].memory.vector = vector }
            }
            let live = lines.filter { $0.memory.status != .pending }.map { $0.memory.newMemory(vector: $0.memory.vector!) }
            let pending = lines.filter { $0.memory.status == .pending }
            try store.add(live, to: collection, upsert: upsert)
            for line in pending {
                do { try store.recordDecision(line.memory.newMemory(vector: line.memory.vector!), in: collection) } catch {
                    throw ValidationError("line \(line.line): \(error)")
                }
            }
            let embedded = unembedded.isEmpty ? "" : " (\(unembedded.count) situations embedded)"
            print("added \(live.count) memories and \(pending.count) pending decisions to \(collection)\(embedded)")
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recall the memories most like a vector, or like a text (with --embedder).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The collection.") var collection: String
        @Option(name: .customLong("vector-file"), help: "A file holding the query vector as a JSON array.") var vectorFile: String?
        @Option(help: "The query vector as a JSON array.") var vector: String?
        @Option(help: "The query situation as text, embedded by --embedder with the collection's model.") var text: String?
        @OptionGroup var embedding: EmbedderOptions
        @Option(parsing: .unconditional, help: "Results to return.") var k: Int = 5
        @Option(help: "The ticker of the situation.") var ticker: String?
        @Option(help: "ticker, global, ticker-then-global or merged.") var mode: String?
        @Option(name: .customLong("k-ticker"), help: "ticker-then-global: results from the ticker's layer (default k).") var kTicker: Int?
        @Option(name: .customLong("k-global"), help: "ticker-then-global: results from the whole collection (default k).") var kGlobal: Int?
        @Option(help: "merged: score multiplier for the query's ticker.") var boost: Double = 1
        @Option(name: .customLong("as-of"), help: "The simulated now: nothing known later is returned.") var asOf: String?
        @OptionGroup var decay: DecayOptions
        @Option(name: .customLong("min-similarity"), help: "Drop results below this cosine similarity.") var minSimilarity: Float?
        @Option(help: "dense, lexical or hybrid (default: the collection's for --text, dense for vectors).") var retrieval: String?
        @Option(help: "Also print statistics over this many most similar resolved memories (what happened after situations like this).")
        var analogues: Int = 0
        @Flag(name: .customLong("analogues-weighted"), help: "Weight the analogues' hit rate and mean by similarity.") var analoguesWeighted = false
        @Flag(name: .customLong("weight-by-quality"), help: "Multiply scores by each memory's quality.") var weightByQuality = false
        @Option(name: .customLong("where-action"), help: "Only memories with this action (repeatable).") var whereAction: [String] = []
        @Option(name: .customLong("where-ticker"), help: "Only memories of this ticker (repeatable).") var whereTicker: [String] = []
        @Option(name: .customLong("from"), help: "Only situations at or after this date.") var from: String?
        @Option(name: .customLong("before"), help: "Only situations before this date.") var before: String?
        @Option(help: "Search candidate list size.") var ef: Int?
        @Option(help: "The decision this recall informs: what it returns is recorded as the decision's provenance (the query then writes).")
        var decision: String?
        @Flag(name: .customLong("no-credit"), help: "Score without the collection's credit.") var noCredit = false
        @Flag(help: "Print JSON: an object with a results array.") var json = false

        func validate() throws {
            guard [vectorFile != nil, vector != nil, text != nil].filter({ $0 }).count == 1 else {
                throw ValidationError("Give exactly one of --vector-file, --vector and --text.")
            }
            if text != nil && embedding.kind == "none" { throw ValidationError("--text needs an --embedder (e.g. --embedder local).") }
            guard k >= 0 else { throw ValidationError("--k must not be negative.") }
        }

        func queryVector(_ store: TradingMemoryStore) async throws -> [Float] {
            if let text, let embedder = try embedding.makeEmbedder() {
                return try await embedTexts([text], with: embedder, for: try store.collection(collection))[0]
            }
            let data = try vector.map { Data($0.utf8) } ?? readInput(vectorFile!)
            guard let values = try? JSONDecoder().decode([Float].self, from: data) else {
                throw ValidationError("the query vector must be a JSON array of numbers.")
            }
            return values
        }

        func recallMode() throws -> RecallMode {
            switch mode ?? (ticker == nil ? "global" : "ticker-then-global") {
            case "ticker": return .ticker
            case "global": return .global
            case "ticker-then-global": return .tickerThenGlobal(kTicker: kTicker ?? k, kGlobal: kGlobal ?? k)
            case "merged": return .merged(tickerBoost: boost)
            default: throw ValidationError("--mode takes ticker, global, ticker-then-global or merged.")
            }
        }

        func run() async throws {
            if try CrashGuard.ranInChild("query") { return }
            let store = try database.openStore(readOnly: decision == nil)
            defer { store.close() }
            var filter = MemoryFilter()
            if !whereAction.isEmpty { filter.actions = Set(whereAction) }
            if !whereTicker.isEmpty { filter.tickers = Set(whereTicker) }
            filter.timeFrom = try from.map { try Arguments.date($0, option: "--from") }
            filter.timeBefore = try before.map { try Arguments.date($0, option: "--before") }
            let query = RecallQuery(vector: try await queryVector(store), k: k, ticker: ticker, mode: try recallMode(),
                                    asOf: try asOf.map { try Arguments.date($0, option: "--as-of") }, decay: try decay.decayFunction(),
                                    minSimilarity: minSimilarity, weightByQuality: weightByQuality, filter: filter, ef: ef,
                                    text: text, retrieval: try retrieval.map { (name) throws -> Retrieval in
                                        guard let value = Retrieval(rawValue: name) else { throw ValidationError("--retrieval takes dense, lexical or hybrid.") }
                                        return value
                                    }, decisionID: decision, useCredit: !noCredit)
            let answer = try store.recall([query], analogues: analogues, weighted: analoguesWeighted, in: collection)[0]
            let results = answer.results
            if json {
                JSONOutput.print(QueryResponse(results: [results.map(WireRecallResult.init)], analogues: answer.analogues.map { [WireAnalogues($0)] }))
                return
            }
            if let statistics = answer.analogues {
                print("analogues: \(statistics.count) most similar resolved memories" + (statistics.weighted ? " (weighted by similarity)" : ""))
                for group in (statistics.all.map { [$0] } ?? []) + statistics.byAction {
                    let o = group.outcome
                    print("  " + (group.action ?? "all").padding(toLength: 8, withPad: " ", startingAt: 0)
                          + String(format: " n=%-4d hit rate %.2f  mean %+.4f  median %+.4f  p10 %+.4f  p90 %+.4f",
                                   o.count, o.hitRate, o.mean, o.median, o.p10, o.p90)
                          + (group.alpha.map { String(format: "  alpha mean %+.4f (n=%d)", $0.mean, $0.count) } ?? ""))
                }
            }
            if results.isEmpty { print("no memories match") }
            for (rank, result) in results.enumerated() {
                let memory = result.memory
                print(String(format: "%2d. %@  score %.4f  cosine %.4f  %@ %@ %@", rank + 1, memory.callerID ?? "#\(memory.id)", result.score,
                             result.similarity, memory.ticker ?? "-", WireTime.format(memory.time), result.layer.rawValue))
                if let lexical = result.lexicalScore {
                    print(String(format: "    lexical %.3f, matched: ", lexical) + result.matchedTerms.joined(separator: ", "))
                }
                print("    situation:  \(memory.situation.prefix(120))\(memory.situation.count > 120 ? "…" : "")")
                print("    reflection: \(memory.reflection)")
            }
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve a pending decision with its outcome and reflection.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The collection.") var collection: String
        @Option(help: "The decision's caller id.") var id: String?
        @Option(name: .customLong("engine-id"), help: "The decision's engine id (instead of --id).") var engineID: UInt32?
        @Option(parsing: .unconditional, help: "The realised return (negative values need no = sign).") var outcome: Double?
        @Option(help: "The reflection written about the decision.") var reflection: String
        @Option(name: .customLong("known-at"), help: "When the outcome became known (default: now).") var knownAt: String?
        @Option(help: "A quality weight in [0, 1].") var quality: Double?

        func run() throws {
            let store = try database.openStore()
            defer { store.close() }
            let memoryID = try resolveID(callerID: id, engineID: engineID, in: collection, store: store)
            let memory = try store.resolve(memoryID, in: collection, outcome: outcome, reflection: reflection,
                                           knownAt: try knownAt.map { try Arguments.date($0, option: "--known-at") }, quality: quality)
            print("resolved \(memory.callerID ?? "#\(memory.id)"): known at \(WireTime.format(memory.knownAt))")
        }
    }

    struct Pending: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pending decisions.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The collection.") var collection: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let store = try database.openStore(readOnly: true)
            defer { store.close() }
            let pending = try store.pendingDecisions(in: collection)
            if json { JSONOutput.print(MemoriesResponse(pending: pending.map(WireMemory.init))); return }
            if pending.isEmpty { print("no pending decisions") }
            for memory in pending {
                print("\(memory.callerID ?? "#\(memory.id)")\t\(memory.ticker ?? "-")\t\(WireTime.format(memory.time))\t\(memory.action ?? "-")")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete memories by id, ticker or date.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The collection.") var collection: String
        @Option(help: "A memory's caller id; repeatable.") var id: [String] = []
        @Option(name: .customLong("engine-id"), help: "A memory's engine id; repeatable.") var engineID: [UInt32] = []
        @Option(help: "Every memory of this ticker.") var ticker: String?
        @Option(help: "Every memory whose situation is before this date.") var before: String?

        func validate() throws {
            let chosen = [!id.isEmpty, !engineID.isEmpty, ticker != nil, before != nil].filter { $0 }.count
            guard chosen == 1 else { throw ValidationError("Give exactly one of --id, --engine-id, --ticker and --before.") }
        }

        func run() throws {
            let store = try database.openStore()
            defer { store.close() }
            let deleted: Int
            if !id.isEmpty {
                deleted = try store.delete(try id.map { try resolveID(callerID: $0, engineID: nil, in: collection, store: store) }, from: collection)
            } else if !engineID.isEmpty {
                deleted = try store.delete(try engineID.map { try resolveID(callerID: nil, engineID: $0, in: collection, store: store) }, from: collection)
            } else if let ticker {
                deleted = try store.delete(matching: MemoryFilter(tickers: [ticker]), from: collection)
            } else {
                deleted = try store.delete(matching: MemoryFilter(timeBefore: try Arguments.date(before!, option: "--before")), from: collection)
            }
            print("deleted \(deleted) memories from \(collection)")
        }
    }
}

/// A memory named on the command line by exactly one of its caller id and its engine id.
func resolveID(callerID: String?, engineID: UInt32?, in collection: String, store: TradingMemoryStore) throws -> MemoryID {
    switch (callerID, engineID) {
    case (let text?, nil):
        guard let id = try store.memoryID(callerID: text, in: collection) else { throw TradingMemoryError.unknownMemory(text) }
        return id
    case (nil, let raw?):
        guard try store.memory(MemoryID(rawValue: raw), in: collection) != nil else { throw TradingMemoryError.unknownMemory("engine id \(raw)") }
        return MemoryID(rawValue: raw)
    default:
        throw ValidationError("Give exactly one of --id (a caller id) and --engine-id.")
    }
}

/// Embeds `texts` for a collection: with the variant of `embedder` for the model the collection
/// recorded (refused when it is another model), checking the dimension.
func embedTexts(_ texts: [String], with embedder: any Embedder, for info: CollectionInfo) async throws -> [[Float]] {
    var chosen = embedder
    if let model = info.configuration.embeddingModel {
        guard let variant = embedder.embedder(forModel: model) else {
            throw TradingMemoryError.embeddingModelMismatch(collection: info.name, expected: model, actual: embedder.model)
        }
        chosen = variant
    }
    let vectors = try await chosen.embed(texts)
    if let first = vectors.first, first.count != info.configuration.dimension {
        throw TradingMemoryError.dimensionMismatch(collection: info.name, expected: info.configuration.dimension, actual: first.count)
    }
    return vectors
}

extension Hindsight {
    struct Provenance: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a decision was shown (recalls run with --decision) and how each memory's credit stands.",
            discussion: "With --outcome, first credit the decision's memories with the outcome of a decision kept outside this database "
                + "(a pending decision recorded here is credited when it is resolved). Credit counts as of --as-of (default now).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The decision id.") var decision: String
        @Option(name: .customLong("as-of"), help: "Count only credit known by then.") var asOf: String?
        @Option(parsing: .unconditional, help: "Credit the decision with this outcome first.") var outcome: Double?
        @Option(help: "With --outcome: the decision's action, which signs the outcome (BUY +1, SELL -1, HOLD 0).") var action: String?
        @Option(name: .customLong("known-at"), help: "With --outcome: when the outcome became known (default now).") var knownAt: String?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if outcome == nil && (action != nil || knownAt != nil) { throw ValidationError("--action and --known-at go with --outcome.") }
        }

        func run() throws {
            let store = try database.openStore(readOnly: outcome == nil)
            defer { store.close() }
            if let outcome {
                try store.creditDecision(decision, outcome: outcome, action: action,
                                         knownAt: try knownAt.map { try Arguments.date($0, option: "--known-at") })
            }
            guard let provenance = try store.provenance(decisionID: decision, asOf: try asOf.map { try Arguments.date($0, option: "--as-of") }) else {
                throw ValidationError("no recall recorded decision '\(decision)' and it was never credited")
            }
            if json {
                JSONOutput.print(WireProvenance(provenance))
                return
            }
            if let resolution = provenance.resolution {
                print(String(format: "decision %@: outcome %+.4f", decision, resolution.outcome) + (resolution.action.map { " (\($0))" } ?? "")
                      + String(format: ", credit %+.4f to %d memories, known %@", resolution.credit, resolution.memoriesCredited,
                               WireTime.format(resolution.knownAt)) + (resolution.collection.map { ", resolved in \($0)" } ?? ""))
            } else {
                print("decision \(decision): not resolved")
            }
            for shown in provenance.shown {
                let name = shown.memory.map { $0.callerID ?? "#\($0.id)" } ?? "#\(shown.memoryID) (deleted)"
                print(String(format: "  %@/%@  rank %d  score %.4f  cosine %.4f  as of %@  credit %+.4f (%d events)",
                             shown.collection, name, shown.rank + 1, shown.score, shown.similarity,
                             shown.asOf.map { WireTime.format($0) } ?? "now", shown.totalCredit, shown.credits.count)
                      + (shown.factor.map { String(format: "  factor %.4f", $0) } ?? ""))
            }
        }
    }
}
