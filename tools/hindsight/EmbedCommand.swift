import ArgumentParser
import Embedding
import Foundation
import WireFormat

extension Hindsight {
    struct Embed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Embed texts with a local model (no network) and print the vectors.",
            discussion: "With --json: {\"model\": …, \"dimension\": …, \"embeddings\": [[…], …]}, one vector per text, in order.")
        @OptionGroup var model: LocalModelOptions
        @Option(help: "A file with one text per line, or - for standard input (after the arguments' texts).") var file: String?
        @Flag(help: "Print JSON.") var json = false
        @Argument(help: "Texts to embed.") var texts: [String] = []

        func validate() throws {
            guard !texts.isEmpty || file != nil else { throw ValidationError("Give texts to embed, or --file.") }
        }

        func run() throws {
            var all = texts
            if let file {
                let data = try readInput(file)
                guard let text = String(data: data, encoding: .utf8) else { throw ValidationError("\(file) is not UTF-8 text.") }
                all += text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                if all.last == "" { all.removeLast() }
            }
            let embedder = try model.load()
            let vectors = embedder.embedSynchronously(all)
            if json {
                try JSONOutput.print(EmbedResponse(model: embedder.model, embeddings: vectors))
                return
            }
            print("\(embedder.model): \(embedder.dimension) dimensions, kernel \(embedder.kernel)")
            for (text, vector) in zip(all, vectors) {
                let pieces = embedder.directory.tokenizer.wordPieces(text).count
                let head = vector.prefix(4).map { String(format: "%.4f", $0) }.joined(separator: ", ")
                print("\(pieces) word pieces  [\(head), …]  \(text.prefix(60))\(text.count > 60 ? "…" : "")")
            }
        }
    }
}
