/// How to load the local model, in the words the CLI's flags and the C API's options both use: the
/// one place that checks them and loads the model. Front ends name a refused setting their own way
/// (a flag, a JSON key) from ``Problem``.
public struct LocalModelSettings: Sendable, Hashable {
    /// The model directory; nil: $HINDSIGHT_MODEL_DIR, else ./models/all-MiniLM-L6-v2 (``ModelFetch/directory(_:)``).
    public var directory: String?
    /// The name collections record; nil: the directory's name.
    public var name: String?
    /// "truncate" or "windows" (``LongTextPolicy``).
    public var longText: String
    /// Word pieces shared by consecutive windows, for "windows".
    public var windowOverlap: Int
    /// Threads one embedding call may use; nil: all cores.
    public var threads: Int?
    /// "f32", "int8" or "bf16" (``EmbeddingPrecision``).
    public var precision: String

    public init(directory: String? = nil, name: String? = nil, longText: String = "truncate", windowOverlap: Int = 64,
                threads: Int? = nil, precision: String = EmbeddingPrecision.preferred.rawValue) {
        self.directory = directory
        self.name = name
        self.longText = longText
        self.windowOverlap = windowOverlap
        self.threads = threads
        self.precision = precision
    }

    /// A setting that cannot be honoured.
    public enum Problem: Error, Hashable, Sendable {
        /// Not "truncate" or "windows".
        case longText(String)
        /// A negative window overlap.
        case windowOverlap(Int)
        /// Fewer than one thread.
        case threads(Int)
        /// Not a precision's name.
        case precision(String)

        /// The accepted values of a precision, "f32, int8 or bf16".
        public static var precisions: String {
            let names = EmbeddingPrecision.allCases.map(\.rawValue)
            return names.dropLast().joined(separator: ", ") + " or " + names.last!
        }
    }

    /// The model directory these settings name.
    public var resolvedDirectory: String { ModelFetch.directory(directory) }

    /// The long-text policy.
    public func policy() throws(Problem) -> LongTextPolicy {
        switch longText {
        case "truncate": return .truncate
        case "windows":
            guard windowOverlap >= 0 else { throw .windowOverlap(windowOverlap) }
            return .windows(overlap: windowOverlap)
        default: throw .longText(longText)
        }
    }

    /// The precision.
    public func arithmetic() throws(Problem) -> EmbeddingPrecision {
        guard let value = EmbeddingPrecision(rawValue: precision) else { throw .precision(precision) }
        return value
    }

    /// Checks every setting (``Problem``), then loads the model (``EmbeddingError``).
    public func load() throws -> BertEmbedder {
        let policy = try policy(), arithmetic = try arithmetic()
        if let threads, threads < 1 { throw Problem.threads(threads) }
        return try BertEmbedder(directory: resolvedDirectory, name: name, longText: policy, threads: threads, precision: arithmetic)
    }
}
