import ArgumentParser
import DecisionLog
import Embedding
import Foundation
import TradingMemory

extension Hindsight {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a TradingAgents decision log (its markdown file) into a collection and back.",
            subcommands: [Import.self, Export.self])

        struct Import: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Add the entries of a TradingAgents memory log file (trading_memory.md) to a collection.",
                discussion: "Entries the collection already holds (matched per ticker and date, in order) are left out, so importing "
                    + "a file again adds only what is new. Pending entries become pending decisions; resolved ones live memories "
                    + "with their return as outcome, known the day after their holding period. Decisions are embedded by "
                    + "--embedder; the collection is made when missing. Blocks that are not entries are reported and not written.")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The markdown log file.") var file: String
            @Option(help: "The collection.") var collection: String
            @OptionGroup var embedding: EmbedderOptions

            func run() async throws {
                guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                    throw ValidationError("cannot read \(file) as UTF-8 text.")
                }
                guard let embedder = try embedding.makeEmbedder() else {
                    throw ValidationError("give an --embedder: the decisions are embedded for recall.")
                }
                let store = try database.openStore()
                defer { store.close() }
                var existing: [Memory] = []
                let info: CollectionInfo
                if try store.collections().contains(where: { $0.name == collection }) {
                    info = try store.collection(collection)
                    existing = try store.memories(in: collection)
                } else {
                    let dimension = try await embedder.embed(["dimension probe"])[0].count
                    info = try store.getOrCreateCollection(collection, configuration: CollectionConfiguration(dimension: dimension,
                                                                                                              embeddingModel: embedder.model,
                                                                                                              lexical: .standard))
                }
                var plan = DecisionLogRecords.importPlan(text: text, existing: existing)
                let vectors = try await embedTexts(plan.memories.map(\.memory.situation), with: embedder, for: info)
                for index in plan.memories.indices { plan.memories[index].memory.vector = vectors[index] }
                // In file order: a run of resolved entries in one transaction, each pending one in its own.
                var run: [NewMemory] = []
                for (memory, pending) in plan.memories {
                    if pending {
                        if !run.isEmpty { try store.add(run, to: collection) }
                        run = []
                        try store.recordDecision(memory, in: collection)
                    } else {
                        run.append(memory)
                    }
                }
                if !run.isEmpty { try store.add(run, to: collection) }
                let pending = plan.memories.filter(\.pending).count
                print("imported \(plan.memories.count - pending) resolved and \(pending) pending entries of \(file) into \(collection)"
                      + (existing.isEmpty ? "" : " (\(existing.count) already there)"))
                if !plan.unparsed.isEmpty {
                    FileHandle.standardError.write(Data("\(plan.unparsed.count) block(s) of \(file) are not entries with a YYYY-MM-DD date: not imported\n".utf8))
                }
            }
        }

        struct Export: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write a collection's decision log as a TradingAgents memory log file (trading_memory.md).",
                discussion: "Entries in the order they were added, in TradingAgents' format; the file is replaced atomically.")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The markdown file to write, or - for standard output.") var file: String
            @Option(help: "The collection.") var collection: String

            func run() throws {
                let store = try database.openStore()
                defer { store.close() }
                let memories = try store.memories(in: collection)
                let text = DecisionLogRecords.log(of: memories)
                if file == "-" {
                    FileHandle.standardOutput.write(Data(text.utf8))
                    return
                }
                try Data(text.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
                print("wrote \(memories.count) entries of \(collection) to \(file)")
            }
        }
    }
}
