import Dispatch
import Dispatching
import Foundation
import Synchronization

/// What to do with a text longer than the model's sequence length.
public enum LongTextPolicy: Sendable, Hashable {
    /// Keep the first word pieces (sentence-transformers' behaviour): the tail of the text is ignored.
    case truncate
    /// Cover the text with windows of the model's length that overlap by `overlap` word pieces; the
    /// text's vector is the mean of the windows' vectors, re-normalised. At most
    /// ``LongTextPolicy/maxWindows`` windows: the rest of a longer text is ignored.
    case windows(overlap: Int)

    /// The most windows one text is cut into (about 50,000 word pieces of English at the default overlap).
    public static let maxWindows = 256

    /// The suffix this policy adds to a model's name, so that a collection records it and text
    /// embedded otherwise is refused: "" for truncation, "+windows(overlap:64)" for windows.
    public var modelSuffix: String {
        switch self {
        case .truncate: ""
        case .windows(let overlap): "+windows(overlap:\(overlap))"
        }
    }

    /// Splits a recorded model name into the base model and its policy.
    public static func parse(modelName: String) -> (base: String, policy: LongTextPolicy) {
        if modelName.hasSuffix(")"), let range = modelName.range(of: "+windows(overlap:", options: .backwards),
           let overlap = Int(modelName[range.upperBound...].dropLast()), overlap >= 0 {
            return (String(modelName[..<range.lowerBound]), .windows(overlap: overlap))
        }
        return (modelName, .truncate)
    }
}

/// The arithmetic of the embedder's dense layers (the four matrix products of each BERT layer, which
/// are about nine tenths of its work). Attention, layer norm, GELU and softmax run in f32 always.
public enum EmbeddingPrecision: String, Sendable, Hashable, CaseIterable {
    /// Single-precision floats (the reference).
    case f32
    /// Weights quantised to int8 per output channel and block of 32 inputs when the model loads,
    /// activations per row and block at run time, exact int32 sums per block (AVX-512 VNNI when the
    /// CPU has it, else portable C). About 1.6x faster than f32 on one core here; vectors keep a
    /// cosine of at least 0.998 to f32 on the fixture texts (docs/embedding.md), so it is not the default.
    case int8
    /// Weights rounded to bf16 when the model loads, activations per row at run time, float32 sums
    /// (AVX512-BF16 `vdpbf16ps` where the CPU has it, else a slow portable C kernel); attention,
    /// layer norm, GELU and softmax in f32 (docs/embedding.md).
    case bf16

    /// The default of the front ends (CLI, server, C API, Python): the fastest precision whose vectors
    /// keep a cosine of at least 0.999 to f32 on every fixture text, on this CPU — bf16 where it has
    /// AVX512-BF16 (lowest cosine 0.99997, 1.56× f32 on one core), else f32 (int8's lowest cosine,
    /// 0.9983, misses the bar; bf16 without the instruction is slower than f32). Setting
    /// `HINDSIGHT_DISABLE_AVX512_BF16` makes it f32. Collections keep the precision they recorded
    /// (``BertEmbedder/variant(forModel:)``), so a new default never changes an existing collection.
    public static var preferred: EmbeddingPrecision { BF16GemmKernel.best.name == "avx512bf16" ? .bf16 : .f32 }

    /// The suffix this precision adds to a model's name, so that a collection records it and is
    /// always embedded at it (``BertEmbedder/variant(forModel:)``): "" for f32, "+int8", "+bf16".
    public var modelSuffix: String { self == .f32 ? "" : "+" + rawValue }
}

/// A sentence-transformers BERT model run on the CPU: no network, no API, nothing per query.
///
/// Loads any BERT-family model directory (``ModelDirectory``): all-MiniLM-L6-v2 (mean pooling,
/// 384-d), BGE (CLS pooling), Chinese BERT models. Texts are tokenised (``WordPieceTokenizer``),
/// sorted by length and packed into batches without padding; batches run on up to `threads`
/// threads. Output vectors are L2-normalised.
///
/// The model's ``model`` name is the directory's name plus the precision's and the long-text policy's suffixes
/// (``LongTextPolicy/modelSuffix``). Wrap it in ``CachingEmbedder`` to embed repeated texts once.
public final class BertEmbedder: Embedder {
    public let directory: ModelDirectory
    /// The name without the precision's and the long-text policy's suffixes.
    public let baseName: String
    public let longText: LongTextPolicy
    /// Threads used by one call.
    public let threads: Int
    /// Word pieces per batch (the sum of the sequences' lengths).
    public let tokensPerBatch: Int
    private let encoder: BertEncoder
    /// The model's weights at every precision loaded so far, shared with every variant.
    private let family: WeightsFamily
    /// Scratch memory of this precision's forward passes, shared with every variant at it (so a
    /// variant made per request reuses the workspaces of earlier requests).
    private let workspaces: WorkspacePool
    private let queue = DispatchQueue(label: "hindsight.embedding", attributes: .concurrent)

    public var model: String { baseName + precision.modelSuffix + longText.modelSuffix }
    /// The dimension of the vectors.
    public var dimension: Int { directory.configuration.hiddenSize }
    /// The longest token sequence the model reads at once.
    public var maxSequenceLength: Int { directory.maxSequenceLength }
    /// The name of the matrix-product kernel in use ("avx512", "avx2" or "portable"; in int8,
    /// "avx512vnni" or "portable" for the dense layers, then the attention kernel after a "+").
    public var kernel: String {
        let weights = encoder.weights
        switch weights.precision {
        case .f32: return weights.kernel.name
        case .int8: return weights.integerKernel.name + "+" + weights.kernel.name
        case .bf16: return "bf16-" + weights.bf16Kernel.name + "+" + weights.kernel.name
        }
    }
    /// The arithmetic of the dense layers.
    public var precision: EmbeddingPrecision { encoder.weights.precision }

    /// Loads the model in `directory`. `name` overrides ``ModelDirectory/defaultName``.
    /// With `precision` `.int8` the dense layers' weights are quantised while loading.
    public convenience init(directory path: String, name: String? = nil, longText: LongTextPolicy = .truncate,
                            threads: Int? = nil, tokensPerBatch: Int = 2048, precision: EmbeddingPrecision = .f32) throws(EmbeddingError) {
        try self.init(directory: path, name: name, longText: longText, threads: threads, tokensPerBatch: tokensPerBatch, kernel: .best,
                      precision: precision)
    }

    /// Loads the model with given kernels (tests and benchmarks compare them).
    package convenience init(directory path: String, name: String? = nil, longText: LongTextPolicy = .truncate,
                             threads: Int? = nil, tokensPerBatch: Int = 2048, kernel: GemmKernel, precision: EmbeddingPrecision = .f32,
                             integerKernel: IntegerGemmKernel = .best, bf16Kernel: BF16GemmKernel = .best) throws(EmbeddingError) {
        let directory = try ModelDirectory(path: path)
        let file = try SafeTensorsFile(path: directory.safetensorsPath)
        let weights = try BertWeights(file: file, configuration: directory.configuration, kernel: kernel, precision: precision,
                                      integerKernel: integerKernel, bf16Kernel: bf16Kernel)
        let family = WeightsFamily(file: file, weights: weights)
        self.init(directory: directory, weights: weights, workspaces: family.workspaces(of: weights), name: name ?? directory.defaultName,
                  longText: longText, threads: threads, tokensPerBatch: tokensPerBatch, family: family)
    }

    private init(directory: ModelDirectory, weights: BertWeights, workspaces: WorkspacePool, name: String, longText: LongTextPolicy,
                 threads: Int?, tokensPerBatch: Int, family: WeightsFamily) {
        self.family = family
        self.workspaces = workspaces
        self.directory = directory
        self.baseName = name
        self.longText = longText
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.tokensPerBatch = max(directory.maxSequenceLength, tokensPerBatch)
        self.encoder = BertEncoder(weights: weights)
    }

    /// The same model (weights shared) with another long-text policy or thread count.
    public func with(longText: LongTextPolicy? = nil, threads: Int? = nil) -> BertEmbedder {
        BertEmbedder(directory: directory, weights: encoder.weights, workspaces: workspaces, name: baseName,
                     longText: longText ?? self.longText, threads: threads ?? self.threads, tokensPerBatch: tokensPerBatch, family: family)
    }

    /// The variant of this model that a collection recorded as `modelName` — its long-text policy
    /// and its precision — or nil when it names another model. A collection recorded at another
    /// precision than this embedder's is served at its own: that precision's weights are prepared
    /// from the same file the first time (then shared by every variant), so its queries are
    /// embedded exactly as its memories were.
    public func variant(forModel modelName: String) -> BertEmbedder? {
        let (base, policy) = LongTextPolicy.parse(modelName: modelName)
        guard let recorded = EmbeddingPrecision.allCases.first(where: { base == baseName + $0.modelSuffix }) else { return nil }
        if recorded == precision { return policy == longText ? self : with(longText: policy) }
        guard let weights = try? family.weights(recorded, like: encoder.weights) else { return nil }
        return BertEmbedder(directory: directory, weights: weights, workspaces: family.workspaces(of: weights), name: baseName,
                            longText: policy, threads: threads, tokensPerBatch: tokensPerBatch, family: family)
    }

    public func embedder(forModel model: String) -> (any Embedder)? { variant(forModel: model) }

    /// The token ids the model reads for `text`: `[CLS]`, word pieces, `[SEP]`, truncated to the
    /// model's sequence length.
    public func tokenize(_ text: String) -> [Int32] {
        directory.tokenizer.encode(text, maxLength: maxSequenceLength)
    }

    /// The token sequences of `text` under the long-text policy (one unless it is windowed).
    func sequences(_ text: String) -> [[Int32]] {
        let tokenizer = directory.tokenizer
        let pieces = tokenizer.wordPieces(text)
        let window = maxSequenceLength - 2
        guard case .windows(let overlap) = longText, pieces.count > window else {
            return [[tokenizer.classifierID] + pieces.prefix(window) + [tokenizer.separatorID]]
        }
        let stride = max(1, window - min(max(0, overlap), window - 1))
        var starts = Array(Swift.stride(from: 0, to: pieces.count - window, by: stride))
        starts.append(pieces.count - window)  // the last window ends with the text
        if starts.count > LongTextPolicy.maxWindows { starts = Array(starts.prefix(LongTextPolicy.maxWindows)) }
        return starts.map { [tokenizer.classifierID] + pieces[$0..<($0 + window)] + [tokenizer.separatorID] }
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        return await queue.run { self.embedSynchronously(texts) }
    }

    /// ``embed(_:)`` on the calling thread (and `threads - 1` helpers).
    public func embedSynchronously(_ texts: [String]) -> [[Float]] {
        var sequences: [[Int32]] = []
        var owner: [Int] = []
        for (index, text) in texts.enumerated() {
            for sequence in self.sequences(text) {
                sequences.append(sequence)
                owner.append(index)
            }
        }
        let vectors = encode(sequences)
        // A text's vector is the mean of its windows' vectors, re-normalised.
        var sums = [[Float]](repeating: [], count: texts.count)
        var counts = [Int](repeating: 0, count: texts.count)
        for (index, vector) in zip(owner, vectors) {
            if sums[index].isEmpty { sums[index] = vector } else { for j in vector.indices { sums[index][j] += vector[j] } }
            counts[index] += 1
        }
        return zip(sums, counts).map { $1 == 1 ? $0 : normalized($0) }
    }

    /// The vectors of token sequences, in order.
    func encode(_ sequences: [[Int32]]) -> [[Float]] {
        // Sort by length and cut into batches of at most `tokensPerBatch` tokens.
        let order = sequences.indices.sorted { sequences[$0].count < sequences[$1].count }
        var batches: [[Int]] = []
        var current: [Int] = []
        var currentTokens = 0
        for index in order {
            let length = sequences[index].count
            if !current.isEmpty && currentTokens + length > tokensPerBatch {
                batches.append(current)
                current = []
                currentTokens = 0
            }
            current.append(index)
            currentTokens += length
        }
        if !current.isEmpty { batches.append(current) }

        let batchList = batches
        let results = Mutex([[Float]](repeating: [], count: sequences.count))
        let next = Atomic<Int>(0)
        // Several batches: one thread each. One batch (a single text, or a few short ones): all the
        // threads inside it, so that one long text also gets every core.
        let workers = min(threads, batchList.count)
        let threadsPerBatch = batchList.count == 1 ? threads : 1
        let work = { @Sendable () in
            let workspace = self.takeWorkspace()
            defer { self.returnWorkspace(workspace) }
            while true {
                let batch = next.add(1, ordering: .relaxed).oldValue
                guard batch < batchList.count else { return }
                let vectors = self.encoder.encode(batchList[batch].map { sequences[$0] }, pooling: self.directory.pooling,
                                                  workspace: workspace, threads: threadsPerBatch)
                results.withLock { results in
                    for (index, vector) in zip(batchList[batch], vectors) { results[index] = vector }
                }
            }
        }
        if workers <= 1 {
            work()
        } else {
            DispatchQueue.concurrentPerform(iterations: workers) { _ in work() }
        }
        return results.withLock { $0 }
    }

    private func takeWorkspace() -> EncoderWorkspace {
        workspaces.free.withLock { $0.popLast() } ?? EncoderWorkspace()
    }

    private func returnWorkspace(_ workspace: EncoderWorkspace) {
        workspaces.free.withLock { $0.append(workspace) }
    }
}

/// Idle forward-pass workspaces of one precision (they only grow, and are taken one per pass).
private final class WorkspacePool: Sendable {
    let free = Mutex<[EncoderWorkspace]>([])
}

/// One model file's weights at each precision loaded so far (packing is per precision), shared by an
/// embedder and its variants, so that a precision is prepared once per process.
private final class WeightsFamily: Sendable {
    private let file: SafeTensorsFile
    private let loaded: Mutex<[EmbeddingPrecision: BertWeights]>
    private let pools: Mutex<[EmbeddingPrecision: WorkspacePool]> = Mutex([:])

    init(file: SafeTensorsFile, weights: BertWeights) {
        self.file = file
        loaded = Mutex([weights.precision: weights])
    }

    /// The workspace pool of `weights`' precision (a workspace reserves scratch for one precision).
    func workspaces(of weights: BertWeights) -> WorkspacePool {
        pools.withLock { pools in
            if let pool = pools[weights.precision] { return pool }
            let pool = WorkspacePool()
            pools[weights.precision] = pool
            return pool
        }
    }

    /// The weights at `precision`, packed with the kernels of `template` (the integer and bf16 ones
    /// the CPU's best).
    func weights(_ precision: EmbeddingPrecision, like template: BertWeights) throws(EmbeddingError) -> BertWeights {
        let result: Result<BertWeights, EmbeddingError> = loaded.withLock { loaded in
            if let weights = loaded[precision] { return .success(weights) }
            do throws(EmbeddingError) {
                let weights = try BertWeights(file: file, configuration: template.configuration, kernel: template.kernel,
                                              precision: precision, integerKernel: template.integerKernel, bf16Kernel: template.bf16Kernel)
                loaded[precision] = weights
                return .success(weights)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
