public import Dispatch

extension DispatchQueue {
    /// Runs `body` on this queue and awaits its result: blocking work (an LMDB transaction, which
    /// may wait for the writer lock; a forward pass of the embedder) leaves the cooperative thread
    /// pool. The one queue hop of the package.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// ``run(_:)`` for work that cannot fail.
    package func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            async { continuation.resume(returning: body()) }
        }
    }
}
