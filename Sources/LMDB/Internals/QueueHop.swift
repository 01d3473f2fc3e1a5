import Dispatch

extension DispatchQueue {
    /// Runs `body` on this queue and awaits its result: blocking work (an LMDB transaction, which
    /// may wait for the writer lock) leaves the cooperative thread pool. For the package's modules.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            async { continuation.resume(with: Result { try body() }) }
        }
    }
}
