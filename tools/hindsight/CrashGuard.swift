import ArgumentParser
import Foundation

/// Runs the commands that read a whole database (verify, export, compact, query) in a child
/// process, so that a damaged file which makes LMDB abort (its assertions call `abort()`) or makes
/// a read fault is reported as an error with an exit code, never as a signal that kills the tool.
/// The child is this executable with the same arguments and `HINDSIGHT_GUARDED=1`; it inherits
/// standard input, output and error.
enum CrashGuard {
    static let variable = "HINDSIGHT_GUARDED"

    /// This executable.
    static var executable: URL {
        let linux = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return FileManager.default.isExecutableFile(atPath: linux.path) ? linux
            : URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
    }

    /// In the parent: runs the command in a child and returns true (the caller returns at once);
    /// throws the child's exit code when it failed, or exit code 70 (EX_SOFTWARE) with a message
    /// when it died on a signal. In the child: returns false (the caller does the work).
    static func ranInChild(_ command: String) throws -> Bool {
        let environment = ProcessInfo.processInfo.environment
        guard environment[variable] == nil else { return false }
        let child = Process()
        child.executableURL = executable
        child.arguments = Array(ProcessInfo.processInfo.arguments.dropFirst())
        child.environment = environment.merging([variable: "1"]) { $1 }
        child.standardInput = FileHandle.standardInput
        child.standardOutput = FileHandle.standardOutput
        child.standardError = FileHandle.standardError
        try child.run()
        child.waitUntilExit()
        switch child.terminationReason {
        case .exit:
            if child.terminationStatus != 0 { throw ExitCode(child.terminationStatus) }
            return true
        case .uncaughtSignal:
            FileHandle.standardError.write(Data(("Error: \(command) stopped on signal \(child.terminationStatus) while reading the database: "
                + "its data file is damaged. Nothing was changed. Run `hindsight verify`, then restore from a backup "
                + "(docs/operations.md#when-verify-finds-something).\n").utf8))
            throw ExitCode(70)
        @unknown default:
            throw ExitCode(70)
        }
    }

    /// Runs `hindsight verify` on the database in a guarded child, quietly; throws unless it finds
    /// the database clean (its findings, or the signal it died on, are printed).
    static func verifyInChild(database: DatabaseOptions) throws {
        let child = Process()
        child.executableURL = executable
        child.arguments = ["verify", "--db", database.db, "--limit", "5"]
        child.environment = ProcessInfo.processInfo.environment.merging([variable: "1"]) { $1 }
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        try child.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        guard child.terminationReason == .exit, child.terminationStatus == 0 else {
            let reason = child.terminationReason == .exit ? text.trimmingCharacters(in: .whitespacesAndNewlines)
                : "verify stopped on signal \(child.terminationStatus): the data file is damaged"
            FileHandle.standardError.write(Data(("Error: compact refuses a database that verify does not pass; nothing was changed.\n"
                + reason + "\n").utf8))
            throw ExitCode(child.terminationReason == .exit ? 1 : 70)
        }
    }
}
