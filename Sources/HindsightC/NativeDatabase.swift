import Embedding
import FastJSON
import Foundation
import LMDB
import MemoryAPI
import Synchronization
import TradingMemory
import WireFormat

/// The options of `hindsight_open` (include/hindsight.h lists them).
struct OpenOptions: Decodable, Sendable {
    var readOnly: Bool?
    var mapSizeMiB: Int?
    var embedder: String?
    var modelDir: String?
    var modelName: String?
    var longText: String?
    var precision: String?
    var embeddingThreads: Int?
    var hashingDimension: Int?
    var calendarFiles: [String]?

    enum CodingKeys: String, CodingKey {
        case readOnly = "read_only", mapSizeMiB = "map_size_mib", embedder, modelDir = "model_dir", modelName = "model_name"
        case longText = "long_text", precision, embeddingThreads = "embedding_threads", hashingDimension = "hashing_dimension"
        case calendarFiles = "calendar_files"
    }

    /// Registers the calendar files' calendars in this process.
    func loadCalendars() throws {
        do { try MarketCalendar.register(files: calendarFiles ?? []) } catch {
            throw APIError.badRequest("options: calendar_files: \(error)")
        }
    }

    static func parse(_ json: [UInt8]?) throws(APIError) -> OpenOptions {
        guard let json, !json.isEmpty else { return OpenOptions() }
        do {
            return try FastJSONDecoder(rejectsUnknownKeys: true).decode(OpenOptions.self, from: Data(json))
        } catch let error as DecodingError {
            throw APIError.badRequest("options: \(WireDecoding.describe(error))")
        } catch {
            throw APIError.badRequest("options: \(error)")
        }
    }

    func makeEmbedder() throws -> (any Embedder)? {
        switch embedder ?? "none" {
        case "none": return nil
        case "local":
            // The C API's windows always overlap by the default 64 pieces.
            let settings = LocalModelSettings(directory: modelDir, name: modelName, longText: longText ?? "truncate",
                                              threads: embeddingThreads, precision: precision ?? EmbeddingPrecision.preferred.rawValue)
            do {
                return CachingEmbedder(try settings.load())
            } catch let problem as LocalModelSettings.Problem {
                switch problem {
                case .longText(let other): throw APIError.badRequest("options: long_text is truncate or windows, not '\(other)'")
                case .windowOverlap: throw APIError.badRequest("options: the window overlap must not be negative")
                case .threads: throw APIError.badRequest("options: embedding_threads must be at least 1")
                case .precision(let other): throw APIError.badRequest("options: precision is \(LocalModelSettings.Problem.precisions), not '\(other)'")
                }
            } catch {
                throw APIError(status: 422, code: "no_model",
                               message: "cannot load the local model in \(settings.resolvedDirectory): \(error) (fetch it with `hindsight model fetch` or hindsight.fetch_model())")
            }
        case "hashing":
            let dimension = hashingDimension ?? 384
            guard (1...65_536).contains(dimension) else { throw APIError.badRequest("options: hashing_dimension must be between 1 and 65536") }
            return CachingEmbedder(HashingEmbedder(dimension: dimension))
        case let other:
            throw APIError.badRequest("options: embedder is none, local or hashing, not '\(other)'")
        }
    }
}

/// A database directory opened through the C API: the store and the service that answers requests.
final class NativeDatabase: Sendable {
    let path: String
    let service: MemoryService

    /// Directories open in this process (LMDB must not open one environment twice in a process).
    private static let openPaths = Mutex<Set<String>>([])

    private init(path: String, service: MemoryService) {
        self.path = path
        self.service = service
    }

    static func open(path: String, options: OpenOptions) throws -> NativeDatabase {
        guard !path.isEmpty else { throw APIError.badRequest("the database path is empty") }
        let readOnly = options.readOnly ?? false
        if let mapSizeMiB = options.mapSizeMiB, !(1...(1 << 24)).contains(mapSizeMiB) {
            throw APIError.badRequest("options: map_size_mib must be between 1 and 16777216")
        }
        try options.loadCalendars()
        let embedder = try options.makeEmbedder()
        if readOnly && !DatabaseDirectory(path: path).holdsDataFile {
            throw APIError(status: 404, code: "no_database", message: "\(path) holds no database (read_only opens only an existing one)")
        }
        if !readOnly { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        let key = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        let claimed = openPaths.withLock { $0.insert(key).inserted }
        guard claimed else {
            throw APIError(status: 409, code: "already_open", message: "\(path) is already open in this process: share that handle")
        }
        do {
            var environment = EnvironmentOptions(readOnly: readOnly, createIfMissing: !readOnly)
            if let mapSizeMiB = options.mapSizeMiB { environment.mapSizeBytes = mapSizeMiB << 20 }
            let store = try TradingMemoryStore(path: path, options: environment)
            return NativeDatabase(path: key, service: MemoryService(store: store, embedder: embedder, blockingWork: .inline))
        } catch {
            openPaths.withLock { _ = $0.remove(key) }
            throw error
        }
    }

    func close() {
        service.store.close()
        _ = Self.openPaths.withLock { $0.remove(path) }
    }

    /// Answers a request, waiting for it on the caller's (foreign) thread.
    func respond(to request: APIRequest) -> APIResponse {
        waitFor { await self.service.respond(to: request) }
    }
}

/// An error of opening as the C API reports it.
func openError(_ error: any Error) -> APIError {
    switch error {
    case let error as APIError: return error
    case let error as DatabaseLock.LockError: return APIError(status: 409, code: "locked", message: error.description)
    case let error as LMDBError: return APIError(status: 500, code: "storage", message: "cannot open the database: \(error)")
    case let error as TradingMemoryError: return APIError(status: 500, code: "storage", message: "cannot open the database: \(error)")
    default: return APIError(status: 500, code: "storage", message: "cannot open the database: \(error)")
    }
}

/// Runs the jobs of tasks on the one thread that waits for them: a C caller's thread runs its own
/// request from start to end (LMDB transactions included, the service being `.inline`), with no
/// hand-off to Swift's thread pool and back. Jobs that other threads resume (an embedding's
/// forward pass finishing on its queue) are queued here and run by the waiting thread.
private final class CallerThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` and `finished` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// Runs queued jobs on this thread until ``finish()`` has been called.
    func runUntilFinished() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            if jobs.isEmpty && finished {
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}

/// A value filled in by a task and read after it finished.
private final class Outcome<Value: Sendable>: @unchecked Sendable {
    // @unchecked: written once by the task before the executor is finished, read only after that.
    var value: Value?
}

/// Runs async work to completion on the calling thread, which is outside Swift's concurrency pool
/// (a C caller's).
func waitFor<Value: Sendable>(_ work: @escaping @Sendable () async -> Value) -> Value {
    let executor = CallerThreadExecutor()
    let outcome = Outcome<Value>()
    Task(executorPreference: executor) {
        outcome.value = await work()
        executor.finish()
    }
    executor.runUntilFinished()
    return outcome.value!
}
