import ArgumentParser
import Embedding
import Foundation
import TradingMemory
import WireFormat
import VectorIndex

extension Hindsight {
    struct Collection: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, list and drop collections.", subcommands: [Create.self, List.self, Drop.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a collection.")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The collection's name (letters, digits, _ - . :).") var name: String
            @Option(help: "Dimension of the vectors (default: the --embedder's).") var dim: Int?
            @Option(help: "Embedding model label (text from another model is refused; default: the --embedder's, with its long-text policy).")
            var model: String?
            @OptionGroup var embedding: EmbedderOptions
            @OptionGroup var decay: DecayOptions
            @Option(name: .customLong("max-memories"), help: "Most live memories kept (oldest or lowest-score evicted).") var maxMemories: Int?
            @Option(name: .customLong("max-per-ticker"), help: "Most live memories kept per ticker.") var maxPerTicker: Int?
            @Option(name: .customLong("max-age"), help: "Oldest memory kept, relative to the newest (365d, …).") var maxAge: String?
            @Option(help: "Eviction order: oldest-first or lowest-score.") var eviction: String = "oldest-first"
            @Option(help: "HNSW links per node.") var m: Int = 16
            @Option(name: .customLong("ef-construction"), help: "HNSW candidate list size while inserting.") var efConstruction: Int = 200
            @Option(help: "What the search walks: int8 (an int8 copy of each vector in its node record, re-ranked exactly; the default), bf16 (a bfloat16 copy, likewise) or f32 (the vectors).")
            var walk: String?
            @Flag(name: .customLong("if-missing"), help: "Succeed without change when the collection exists (get-or-create).")
            var ifMissing = false
            @Option(help: "Lexical recall (BM25 beside the vectors, hybrid by default): on or off. Default: on for a collection of text (with --embedder or --model).")
            var lexical: String?
            @Option(name: .customLong("kind-decay"),
                    help: #"Each memory kind's own decay: finmem (news 14 days, quarterly 90, annual and reflection 365: e^(-days/Q)), or JSON such as '{"news": {"half_life": "7d"}}'."#)
            var kindDecay: String?
            @Option(help: "Score with the credit of resolved decisions: BETA or BETA,SCALE (score × (1 + BETA·tanh(credit / SCALE)); SCALE defaults to 0.05).")
            var credit: String?

            func run() async throws {
                var dim = self.dim, model = self.model
                if let embedder = try embedding.makeEmbedder() {
                    model = model ?? embedder.model
                    if dim == nil { dim = try await embedder.embed(["dimension probe"])[0].count }
                }
                guard let dim else { throw ValidationError("Give --dim, or an --embedder to take it from.") }
                guard let order = EvictionOrder(rawValue: eviction) else {
                    throw ValidationError("--eviction takes oldest-first or lowest-score.")
                }
                let capacity = CapacityPolicy(maxMemories: maxMemories, maxPerTicker: maxPerTicker,
                                              maxAgeSeconds: try maxAge.map { try Arguments.duration($0, option: "--max-age") }, eviction: order)
                let lexicalOn: Bool
                switch lexical {
                case nil: lexicalOn = model != nil
                case "on": lexicalOn = true
                case "off": lexicalOn = false
                case let other?: throw ValidationError("--lexical takes on or off, not '\(other)'.")
                }
                var byKind: [String: DecayFunction]?
                if let kindDecay {
                    let json = kindDecay == "finmem" ? #""finmem""# : kindDecay
                    do { byKind = try JSONDecoder().decode(WireKindDecay.self, from: Data(json.utf8)).functions() } catch {
                        throw ValidationError("--kind-decay takes finmem or a JSON object of decays by kind: \(error)")
                    }
                }
                var creditSettings: CreditSettings?
                if let credit {
                    let parts = credit.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                    guard (1...2).contains(parts.count), let beta = parts[0], parts.count == 1 || parts[1] != nil else {
                        throw ValidationError("--credit takes BETA or BETA,SCALE, such as 0.2 or 0.2,0.05.")
                    }
                    creditSettings = CreditSettings(beta: beta, scale: parts.count == 2 ? parts[1]! : CreditSettings().scale)
                }
                var index = GraphParameters(m: m, efConstruction: efConstruction)
                if let walk { index.walk = try WalkPrecision(flag: walk) }
                let configuration = CollectionConfiguration(dimension: dim, embeddingModel: model, decay: try decay.decayFunction() ?? .none,
                                                            capacity: capacity, index: index,
                                                            lexical: lexicalOn ? .standard : nil, kindDecay: byKind, credit: creditSettings)
                let store = try database.openStore()
                defer { store.close() }
                let info = ifMissing ? try store.getOrCreateCollection(name, configuration: configuration)
                    : try store.createCollection(name, configuration: configuration)
                print("collection \(info.name): dimension \(info.configuration.dimension), \(info.count) memories")
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List collections.")
            @OptionGroup var database: DatabaseOptions
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let store = try database.openStore(readOnly: true)
                defer { store.close() }
                let collections = try store.collections()
                if json {
                    try JSONOutput.print(WireCollections(collections: collections.map(WireCollection.init)))
                    return
                }
                if collections.isEmpty { print("no collections") }
                for info in collections {
                    print("\(info.name)\tdim \(info.configuration.dimension)\t\(info.count) memories\t\(info.pending) pending\t\(info.tickers.count) tickers")
                }
            }
        }

        struct Drop: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a collection and every memory in it.")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The collection's name.") var name: String

            func run() throws {
                let store = try database.openStore()
                defer { store.close() }
                try store.dropCollection(name)
                print("dropped \(name)")
            }
        }
    }
}
