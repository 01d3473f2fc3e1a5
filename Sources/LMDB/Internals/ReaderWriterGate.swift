#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A writer-preferring reader–writer lock around every transaction of one environment.
///
/// Transactions hold it shared; changing the map size (which LMDB allows only while no transaction of
/// the process is active) holds it exclusively. Writer preference keeps a steady stream of readers
/// from starving a map resize.
final class ReaderWriterGate: @unchecked Sendable {
    // Sendable: the lock is only touched through pthread calls, which synchronise themselves.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        let rc = pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        precondition(rc == 0, "pthread_rwlock_init failed: \(rc)")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func lockShared() { precondition(pthread_rwlock_rdlock(lock) == 0) }
    func lockExclusive() { precondition(pthread_rwlock_wrlock(lock) == 0) }
    func unlock() { precondition(pthread_rwlock_unlock(lock) == 0) }

    func withExclusive<R>(_ body: () throws -> R) rethrows -> R {
        lockExclusive()
        defer { unlock() }
        return try body()
    }
}
