import ArgumentParser
import Foundation

/// Runs the commands that read a whole database (verify, export, query, and compact's check) in a
/// child process, so that a damaged file which makes LMDB abort (its assertions call `abort()`) or
/// makes a read fault is reported as an error with an exit code, never as a signal that kills the
/// tool. The child is this executable with `HINDSIGHT_GUARDED=1`, which does the work itself.
enum CrashGuard {
    static let variable = "HINDSIGHT_GUARDED"

    /// The signals a damaged file can cause: an LMDB assertion, a fault reading the map.
    static let crashSignals: Set<Int32> = [SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP]

    /// In the parent: runs this command in a child sharing standard input, output and error, and
    /// returns true (the caller returns at once); throws the child's exit code when it failed, or 70
    /// (EX_SOFTWARE) with a message when it died on a signal. In the child: returns false (the
    /// caller does the work).
    static func ranInChild(_ command: String) throws -> Bool {
        guard ProcessInfo.processInfo.environment[variable] == nil else { return false }
        let child = try run(Array(ProcessInfo.processInfo.arguments.dropFirst()), output: FileHandle.standardOutput)
        guard child.terminationReason == .exit else { throw died(command, child.terminationStatus) }
        if child.terminationStatus != 0 { throw ExitCode(child.terminationStatus) }
        return true
    }

    /// Runs `hindsight verify` on the database in a guarded child, quietly; throws unless it finds
    /// the database clean (its findings, or the signal it died on, are printed).
    static func verifyInChild(database: DatabaseOptions) throws {
        // Into a file, not a pipe: the child's output is read only once it has ended.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("hindsight-verify-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: log.path, contents: nil), let output = FileHandle(forWritingAtPath: log.path) else {
            throw ValidationError("cannot create \(log.path).")
        }
        defer { try? FileManager.default.removeItem(at: log) }
        let child = try run(["verify", "--db", database.db, "--limit", "5"], output: output, errors: output)
        try? output.close()
        guard child.terminationReason == .exit, child.terminationStatus == 0 else {
            FileHandle.standardError.write(Data("Error: compact refuses a database that verify does not pass; nothing was changed.\n".utf8))
            if child.terminationReason == .exit {
                FileHandle.standardError.write((try? Data(contentsOf: log)) ?? Data())
                throw ExitCode(1)
            }
            throw died("verify", child.terminationStatus)
        }
    }

    /// This executable, run as a guarded child with `arguments`; returns once it has ended.
    private static func run(_ arguments: [String], output: FileHandle, errors: FileHandle = .standardError) throws -> Process {
        let child = Process()
        let linux = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.executableURL = FileManager.default.isExecutableFile(atPath: linux.path) ? linux
            : URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
        child.arguments = arguments
        child.environment = ProcessInfo.processInfo.environment.merging([variable: "1"]) { $1 }
        child.standardInput = FileHandle.standardInput
        child.standardOutput = output
        child.standardError = errors
        try child.run()
        child.waitUntilExit()
        return child
    }

    /// The error for a child that died on `signal`: a damaged file for the signals one causes.
    private static func died(_ command: String, _ signal: Int32) -> ExitCode {
        let cause = crashSignals.contains(signal)
            ? "while reading the database: its data file is damaged. Nothing was changed. Run `hindsight verify`, then restore from a "
                + "backup (docs/operations.md#when-verify-finds-something)."
            : "(it was stopped from outside)."
        FileHandle.standardError.write(Data("Error: \(command) stopped on signal \(signal) \(cause)\n".utf8))
        return ExitCode(70)
    }
}
