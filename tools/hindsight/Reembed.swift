import ArgumentParser
import Embedding
import Foundation
import TradingMemory

extension Hindsight {
    struct Reembed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Embed a collection's situations again with another model, in one durable pass.",
            discussion: "Every memory (live and pending) is embedded with --embedder; the memories are written with their new vectors "
                + "to a staging collection in batches, then one transaction replaces the collection, which records the new model and "
                + "dimension. Killed before that, the collection is unchanged. Caller ids, times, texts, outcomes, metadata and "
                + "statuses are kept; engine ids are assigned anew. Stop writers of the collection while it runs: memories added "
                + "meanwhile would be lost with the old collection.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The collection.") var collection: String
        @OptionGroup var embedding: EmbedderOptions
        @Option(help: "Texts embedded per call.") var batch: Int = 64

        func validate() throws {
            guard embedding.kind != "none" else { throw ValidationError("Give the new model with --embedder (e.g. --embedder local).") }
            guard batch >= 1 else { throw ValidationError("--batch must be at least 1.") }
        }

        func run() async throws {
            guard let embedder = try embedding.makeEmbedder() else { throw ValidationError("--embedder is required.") }
            let store = try database.openStore()
            defer { store.close() }
            let start = Date()
            var memories: [Memory] = []
            try store.export(collections: [collection], begin: { _ in }, collection: { _ in }, memory: { memory, _ in memories.append(memory) })
            let progress = ProgressLine("embedding")
            var vectors: [[Float]] = []
            for first in stride(from: 0, to: memories.count, by: batch) {
                vectors += try await embedder.embed(memories[first..<min(first + batch, memories.count)].map(\.situation))
                progress.update(vectors.count, memories.count)
            }
            progress.finish()
            var configuration = try store.collection(collection).configuration
            configuration.embeddingModel = embedder.model
            if let first = vectors.first {
                configuration.dimension = first.count
            } else {
                configuration.dimension = try await embedder.embed(["dimension probe"])[0].count
            }
            let imported = zip(memories, vectors).map { memory, vector in
                var new = NewMemory(callerID: memory.callerID, ticker: memory.ticker, time: memory.time, knownAt: memory.knownAt,
                                    situation: memory.situation, reflection: memory.reflection, action: memory.action, outcome: memory.outcome,
                                    quality: memory.quality, metadata: memory.metadata, vector: vector)
                new.reinforcements = memory.reinforcements
                return ImportedMemory(collection: collection, memory: new, status: memory.status)
            }
            let writing = ProgressLine("writing")
            let written = try store.replaceCollection(collection, configuration: configuration, memories: imported) { writing.update($0, $1) }
            writing.finish()
            print(String(format: "re-embedded %d memories of %@ with %@ (dimension %d) in %.1f s", written, collection, embedder.model,
                         configuration.dimension, Date().timeIntervalSince(start)))
        }
    }
}
