#if canImport(Glibc)
internal import Glibc
#endif

/// An advisory lock on a database directory (`flock` on `hindsight.lock`): processes that open the
/// database for writing hold it shared; compaction, which swaps the data file, holds it exclusively.
/// Read-only processes take no lock. Released when the object is closed or freed (and by the kernel
/// when the process dies).
public final class DatabaseLock: Sendable {
    /// Why a lock could not be taken.
    public enum LockError: Error, Hashable, Sendable, CustomStringConvertible {
        /// Another process holds the database open for writing (for an exclusive lock).
        case inUse(String)
        /// The database is being compacted (for a shared lock).
        case compacting(String)
        case io(String, Int32)

        public var description: String {
            switch self {
            case .inUse(let path):
                "another process has \(path) open for writing (a running `hindsight serve`?); stop it and try again"
            case .compacting(let path): "\(path) is being compacted; try again when it is done"
            case .io(let path, let code): "cannot lock \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    private let descriptor: Int32
    public let isExclusive: Bool

    private init(directory: String, exclusive: Bool) throws {
        let path = directory + "/" + DatabaseDirectory.directoryLockFileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw LockError.io(path, errno) }
        if flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK { throw exclusive ? LockError.inUse(directory) : LockError.compacting(directory) }
            throw LockError.io(path, code)
        }
        self.descriptor = descriptor
        isExclusive = exclusive
    }

    /// The lock every writing process holds while it has the database open.
    public static func shared(directory: String) throws -> DatabaseLock { try DatabaseLock(directory: directory, exclusive: false) }

    /// The lock compaction needs: nobody else may have the database open for writing.
    public static func exclusive(directory: String) throws -> DatabaseLock { try DatabaseLock(directory: directory, exclusive: true) }

    deinit { close(descriptor) }
}
