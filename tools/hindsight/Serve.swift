import ArgumentParser
import Embedding
import RemoteEmbedding
import Foundation
import Hummingbird
import Logging
import Server
import TradingMemory
import WireFormat

extension Hindsight {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the database over HTTP (JSON API under /v1; see docs/http-api.md).",
            discussion: "Binds to loopback unless --host says otherwise. SIGTERM or SIGINT stops it gracefully: "
                + "requests in flight finish, then the database closes.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Address to bind (127.0.0.1: this machine only; 0.0.0.0: every interface).") var host: String = "127.0.0.1"
        @Option(help: "Port (0: any free port, printed at start).") var port: Int = 8765
        @Option(name: .customLong("token-file"), help: "File holding a bearer token that every route but /health requires.")
        var tokenFile: String?
        @Option(name: .customLong("max-body-mib"), help: "Largest request body, in MiB.") var maxBodyMiB: Int = 32
        @Option(name: .customLong("port-file"),
                help: "Write the bound address (http://host:port) to this file once listening (atomically), so that a server started with --port 0 can be found.")
        var portFile: String?
        @Option(name: .customLong("idle-timeout-seconds"),
                help: "Close a connection that sends no request part for this long: idle keep-alives, and request heads that have not fully arrived.")
        var idleTimeoutSeconds: Double = 30
        @OptionGroup var embedding: EmbedderOptions
        @OptionGroup var calendars: CalendarOptions

        func validate() throws {
            guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
            guard maxBodyMiB >= 1 else { throw ValidationError("--max-body-mib must be at least 1.") }
            guard idleTimeoutSeconds >= 0.1 && idleTimeoutSeconds <= 86_400 else {
                throw ValidationError("--idle-timeout-seconds must be between 0.1 and 86400.")
            }
        }

        func run() async throws {
            var token: String?
            if let tokenFile {
                guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                    throw ValidationError("cannot read the token file \(tokenFile).")
                }
                token = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard let token, !token.isEmpty else { throw ValidationError("the token file \(tokenFile) is empty.") }
            }
            try calendars.load()
            let store = try database.openStore()
            let server = HindsightServer(store: store, configuration: ServerConfiguration(
                host: host, port: port, token: token, maxBodyBytes: maxBodyMiB << 20, embedder: try embedding.makeEmbedder(),
                idleTimeoutSeconds: idleTimeoutSeconds))
            var logger = Logger(label: "hindsight.server")
            logger.logLevel = .notice
            let banner = "hindsight serving \(database.db) on http://\(host):"
            let suffix = token == nil ? "" : " (bearer token required)"
            if embedding.kind == "none" {
                logger.warning("serving without an embedder: requests that send texts instead of vectors will fail (start with --embedder local)")
            }
            let portFile = self.portFile, host = self.host
            let app = server.application(logger: logger) { port in
                if let portFile {
                    // Atomically: a reader never sees half an address.
                    try? Data("http://\(host):\(port)\n".utf8).write(to: URL(fileURLWithPath: portFile), options: .atomic)
                }
                FileHandle.standardOutput.write(Data("\(banner)\(port)\(suffix)\n".utf8))
            }
            try await app.runService()
            store.close()
            print("hindsight stopped; \(database.db) closed")
        }
    }
}

/// Choice of the engine-side embedder, shared by the commands that embed text.
struct EmbedderOptions: ParsableArguments {
    @Option(name: .customLong("embedder"),
            help: "Embedder for texts sent without vectors: none, local (a BERT model on this machine, see --model-dir), hashing (deterministic word hashing, for demos), or openai.")
    var kind: String = "none"
    @OptionGroup(title: "Local model") var local: LocalModelOptions
    @Option(name: .customLong("embedding-url"), help: "openai: base URL of an OpenAI-compatible API (…/v1).") var embeddingURL: String?
    @Option(name: .customLong("embedding-model"), help: "openai: the model name.") var embeddingModel: String?
    @Option(name: .customLong("embedding-key-file"), help: "openai: file holding the API key.") var embeddingKeyFile: String?
    @Option(name: .customLong("hashing-dimension"), help: "hashing: the dimension.") var hashingDimension: Int = 384

    func makeEmbedder() throws -> (any Embedder)? {
        switch kind {
        case "none": return nil
        case "local", "minilm", "bert": return CachingEmbedder(try local.load())
        case "hashing": return CachingEmbedder(HashingEmbedder(dimension: hashingDimension))
        case "openai":
            guard let embeddingURL, let url = URL(string: embeddingURL), let embeddingModel else {
                throw ValidationError("--embedder openai needs --embedding-url and --embedding-model.")
            }
            let key = try embeddingKeyFile.map { path -> String in
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path).") }
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return CachingEmbedder(OpenAICompatibleEmbedder(baseURL: url, model: embeddingModel, apiKey: key))
        default:
            throw ValidationError("--embedder takes none, local, hashing or openai.")
        }
    }
}

/// A sentence-transformers model directory on this machine and how to run it.
struct LocalModelOptions: ParsableArguments {
    @Option(name: .customLong("model-dir"),
            help: "A sentence-transformers BERT model directory (default: $HINDSIGHT_MODEL_DIR, else ./models/all-MiniLM-L6-v2, where `hindsight model fetch` puts it).")
    var modelDir: String?
    @Option(name: .customLong("model-name"), help: "The model name collections record (default: the directory's name).")
    var modelName: String?
    @Option(name: .customLong("long-text"),
            help: "Texts past the model's 256 word pieces: truncate (ignore the rest) or windows (average overlapping windows).")
    var longText: String = "truncate"
    @Option(name: .customLong("window-overlap"), help: "windows: word pieces shared by consecutive windows.")
    var windowOverlap: Int = 64
    @Option(name: .customLong("embedding-threads"), help: "Threads one embedding call may use (default: all cores).")
    var embeddingThreads: Int?
    @Option(help: "Arithmetic of the model's dense layers for new collections: f32 (the reference), int8 or bf16 (faster; recorded as +int8 or +bf16 models; existing collections keep theirs). Default: bf16 on CPUs with AVX512-BF16, else f32.")
    var precision: String = EmbeddingPrecision.preferred.rawValue

    /// The settings as the library checks and loads them.
    var settings: LocalModelSettings {
        LocalModelSettings(directory: modelDir, name: modelName, longText: longText, windowOverlap: windowOverlap, threads: embeddingThreads,
                           precision: precision)
    }

    /// The model directory: --model-dir, $HINDSIGHT_MODEL_DIR, or ./models/all-MiniLM-L6-v2.
    var directory: String { settings.resolvedDirectory }

    /// `explicit` when given, else $HINDSIGHT_MODEL_DIR, else ./models/all-MiniLM-L6-v2.
    static func directory(_ explicit: String?) -> String { ModelFetch.directory(explicit) }

    func policy() throws -> LongTextPolicy {
        do { return try settings.policy() } catch { throw Self.refusal(error) }
    }

    func arithmetic() throws -> EmbeddingPrecision {
        do { return try settings.arithmetic() } catch { throw Self.refusal(error) }
    }

    func load() throws -> BertEmbedder {
        do { return try settings.load() } catch let problem as LocalModelSettings.Problem { throw Self.refusal(problem) }
    }

    /// A refused setting, named by its flag.
    private static func refusal(_ problem: LocalModelSettings.Problem) -> ValidationError {
        switch problem {
        case .longText: ValidationError("--long-text takes truncate or windows.")
        case .windowOverlap: ValidationError("--window-overlap must not be negative.")
        case .threads: ValidationError("--embedding-threads must be at least 1.")
        case .precision: ValidationError("--precision takes \(LocalModelSettings.Problem.precisions).")
        }
    }
}
