import ArgumentParser
import Embedding
import Foundation

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
                var output = "{\"model\":\(jsonString(embedder.model)),\"dimension\":\(embedder.dimension),\"embeddings\":["
                for (index, vector) in vectors.enumerated() {
                    if index > 0 { output += "," }
                    output += "[" + vector.map { "\($0)" }.joined(separator: ",") + "]"
                }
                output += "]}\n"
                FileHandle.standardOutput.write(Data(output.utf8))
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

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out + "\""
}
