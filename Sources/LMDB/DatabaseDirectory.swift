import Foundation

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The files of a database directory, and every operation on them as files: the checks before
/// LMDB maps a directory, sizes, and the swap of a compacted copy. No other module names LMDB's files.
public struct DatabaseDirectory: Sendable {
    /// LMDB's data file: the whole database, memory-mapped by every process that opens it.
    public static let dataFileName = "data.mdb"
    /// LMDB's lock file: the reader table and the writer mutex.
    public static let lockFileName = "lock.mdb"
    /// The directory lock beside them (see ``DatabaseLock``).
    public static let directoryLockFileName = "hindsight.lock"
    /// Where ``CompactedCopy`` writes before it swaps.
    static let stagingDirectoryName = ".compacting"

    /// The directory.
    public let path: String

    public init(path: String) { self.path = path }

    var dataFilePath: String { path + "/" + Self.dataFileName }
    var lockFilePath: String { path + "/" + Self.lockFileName }

    /// Whether the directory holds an LMDB data file (it may still be damaged or not Hindsight's).
    public var holdsDataFile: Bool { FileManager.default.fileExists(atPath: dataFilePath) }

    /// The size of the data file in bytes (0 when there is none).
    public var dataFileBytes: Int {
        (try? FileManager.default.attributesOfItem(atPath: dataFilePath)[.size] as? Int) ?? 0
    }

    /// Whether the directory holds nothing but LMDB's own files (so it may be replaced wholesale).
    public var holdsOnlyDatabaseFiles: Bool {
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return Set(contents).isSubset(of: [Self.dataFileName, Self.lockFileName, Self.directoryLockFileName])
    }
}

/// Why a directory cannot be opened as a database; nothing on disk was changed.
public enum DirectoryProblem: Error, Hashable, Sendable, CustomStringConvertible {
    /// The directory holds something that is not a database (or is missing, or is a file).
    case notADatabase(path: String, reason: String)
    /// The data file is damaged: truncated, or without a valid meta page.
    case damaged(path: String, reason: String)

    public var description: String {
        switch self {
        case .notADatabase(let path, let reason): "\(path) is not a database: \(reason)"
        case .damaged(let path, let reason): "\(path): \(reason)"
        }
    }
}

/// The checks run on a directory before LMDB touches it, so that opening something that is not a
/// database (or a truncated one, which would fault when mapped) changes nothing on disk.
public struct DirectoryPreflight: Sendable {
    public let directory: DatabaseDirectory
    /// Whether `lock.mdb` was absent before opening (LMDB creates it).
    let lockFileWasMissing: Bool

    static let lmdbMagic: UInt32 = 0xBEEF_C0DE
    // Offsets in a meta page (64-bit LMDB 0.9): after the 16-byte page header come mm_magic,
    // mm_version, mm_address, mm_mapsize, two 48-byte MDB_db records (the first one's md_pad holds
    // the page size), mm_last_pg and mm_txnid.
    static let metaMagicOffset = 16
    static let metaPageSizeOffset = 16 + 4 + 4 + 8 + 8
    static let metaLastPageOffset = 16 + 4 + 4 + 8 + 8 + 2 * 48
    static let metaTransactionOffset = metaLastPageOffset + 8
    static let metaBytesRead = metaTransactionOffset + 8

    /// Inspects `path`. A missing directory, or an empty one, passes only when `create` is set.
    ///
    /// Another process may be creating the database at this moment (several back-test workers
    /// opening a fresh directory at once): with `create`, a directory that holds only the lock
    /// files passes (LMDB serialises the creation itself), and a data file too short to hold its
    /// two meta pages, or without LMDB's magic yet, is looked at again for up to two seconds before
    /// it is called damaged.
    /// - Throws: ``DirectoryProblem``.
    public static func inspect(path: String, create: Bool) throws(DirectoryProblem) -> DirectoryPreflight {
        let directory = DatabaseDirectory(path: path)
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: path, isDirectory: &isDirectory) else {
            if create { return DirectoryPreflight(directory: directory, lockFileWasMissing: true) }
            throw .notADatabase(path: path, reason: "the directory does not exist")
        }
        guard isDirectory.boolValue else { throw .notADatabase(path: path, reason: "it is a file, not a directory") }
        let lockMissing = !files.fileExists(atPath: directory.lockFilePath)
        // One listing decides: a data file that appears between two looks (another process creating
        // the database) is then checked like any other, never called missing.
        let contents = Set((try? files.contentsOfDirectory(atPath: path)) ?? [])
        guard contents.contains(DatabaseDirectory.dataFileName) else {
            // Only lock files: a database being created by another process, or one whose creation never got further.
            let onlyLocks = contents.isSubset(of: [DatabaseDirectory.lockFileName, DatabaseDirectory.directoryLockFileName])
            if onlyLocks && create { return DirectoryPreflight(directory: directory, lockFileWasMissing: lockMissing) }
            throw .notADatabase(path: path, reason: contents.isEmpty ? "the directory is empty" : "it has no \(DatabaseDirectory.dataFileName)")
        }
        var attempt = 0
        while true {
            do {
                try checkDataFile(directory.dataFilePath, path: path)
                return DirectoryPreflight(directory: directory, lockFileWasMissing: lockMissing)
            } catch {
                let size = ((try? files.attributesOfItem(atPath: directory.dataFilePath))?[.size] as? Int) ?? 0
                // A file of a few pages may be half-written by its creator; a larger one is what it is.
                guard create, size < 2 * 65_536, attempt < 200 else { throw error }
                attempt += 1
                usleep(10_000)
            }
        }
    }

    /// The checks of a data file: LMDB's magic, a sane page size, and no meta page naming a page
    /// past the end of the file (mapping a truncated file would fault).
    private static func checkDataFile(_ dataPath: String, path: String) throws(DirectoryProblem) {
        guard let handle = FileHandle(forReadingAtPath: dataPath) else {
            throw .notADatabase(path: path, reason: "\(DatabaseDirectory.dataFileName) cannot be read")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: metaBytesRead)) ?? Data()
        guard head.count >= metaBytesRead else {
            throw .notADatabase(path: path, reason: "\(DatabaseDirectory.dataFileName) is truncated (\(head.count) bytes)")
        }
        guard MetaPage(head)?.magic == lmdbMagic else {
            throw .notADatabase(path: path, reason: "\(DatabaseDirectory.dataFileName) is not an LMDB file")
        }
        // LMDB's two meta pages (page 0 and page 1) name the last page in use: a file shorter than
        // that was truncated, and reading it would fault.
        let pageSize = MetaPage(head)!.pageSize
        let fileSize = (try? handle.seekToEnd()).map(Int.init) ?? 0
        guard pageSize >= 512, pageSize <= 65_536, pageSize.nonzeroBitCount == 1, fileSize >= 2 * pageSize else {
            throw .damaged(path: dataPath, reason: "truncated or damaged (\(fileSize) bytes)")
        }
        try? handle.seek(toOffset: UInt64(pageSize))
        let second = (try? handle.read(upToCount: metaBytesRead)) ?? Data()
        let metas = [MetaPage(head), MetaPage(second)].compactMap { $0 }.filter { $0.magic == lmdbMagic }
        guard let newest = metas.max(by: { $0.transaction < $1.transaction }) else {
            throw .damaged(path: dataPath, reason: "no valid LMDB meta page")
        }
        guard newest.lastPage >= 0, newest.lastPage < Int.max / pageSize, fileSize >= (newest.lastPage + 1) * pageSize else {
            throw .damaged(path: dataPath, reason: "truncated: its last page is \(newest.lastPage) but it holds \(fileSize / pageSize) pages")
        }
    }

    /// Removes the lock file LMDB created while opening a directory that turned out unusable.
    public func undoLockFile() {
        if lockFileWasMissing { try? FileManager.default.removeItem(atPath: directory.lockFilePath) }
    }

    /// The fields of an LMDB meta page that the checks read.
    private struct MetaPage {
        var magic: UInt32
        var pageSize: Int
        var lastPage: Int
        var transaction: UInt64

        init?(_ page: Data) {
            guard page.count >= DirectoryPreflight.metaBytesRead else { return nil }
            (magic, pageSize, lastPage, transaction) = page.withUnsafeBytes { bytes in
                (UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: DirectoryPreflight.metaMagicOffset, as: UInt32.self)),
                 Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: DirectoryPreflight.metaPageSizeOffset, as: UInt32.self))),
                 Int(truncatingIfNeeded: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: DirectoryPreflight.metaLastPageOffset, as: UInt64.self))),
                 UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: DirectoryPreflight.metaTransactionOffset, as: UInt64.self)))
            }
        }
    }
}

/// A compacted copy of an environment (`mdb_env_copy2` with `MDB_CP_COMPACT`) written beside its
/// data file and then swapped in with one atomic rename. Killed at any point, the directory holds
/// either the old data file or the new one; a staging folder left by an interrupted run is removed
/// by the next.
public struct CompactedCopy: Sendable {
    public let directory: DatabaseDirectory
    var stagingPath: String { directory.path + "/" + DatabaseDirectory.stagingDirectoryName }

    /// Prepares a copy of the database in `path`, clearing what an interrupted run left.
    public init(path: String) {
        directory = DatabaseDirectory(path: path)
        try? FileManager.default.removeItem(atPath: stagingPath)
    }

    /// Writes the compacted copy of `environment` (the one open on this directory) to the staging folder.
    public func write(from environment: Environment) throws {
        try FileManager.default.createDirectory(atPath: stagingPath, withIntermediateDirectories: true)
        try environment.copy(to: stagingPath, compact: true)
    }

    /// Flushes the copy and renames it over the data file; removes the old lock file (readers of the
    /// old file keep theirs; the next opener makes a fresh one). Call after the environment is closed.
    public func swapIn() throws {
        let staged = stagingPath + "/" + DatabaseDirectory.dataFileName
        try Self.syncFile(staged)
        guard rename(staged, directory.dataFilePath) == 0 else {
            throw LMDBError(code: errno, context: "replace \(directory.dataFilePath)")
        }
        unlink(directory.lockFilePath)
        Self.syncDirectory(directory.path)
        try? FileManager.default.removeItem(atPath: stagingPath)
    }

    private static func syncFile(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw LMDBError(code: errno, context: "open \(path) to flush it") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw LMDBError(code: errno, context: "flush \(path)") }
    }

    private static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }
}
