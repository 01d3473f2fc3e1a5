import Foundation

/// BERT's tokenizer: the `BertNormalizer` (clean text, space around CJK ideographs, strip accents,
/// lower-case), the `BertPreTokenizer` (split on whitespace and punctuation) and greedy
/// longest-match-first WordPiece, as in Hugging Face `tokenizers` and the original BERT code.
///
/// ``wordPieces(_:)`` returns a text's word pieces without the special tokens; ``encode(_:maxLength:)``
/// adds `[CLS]` and `[SEP]` and truncates.
public struct WordPieceTokenizer: Sendable {
    /// Normalisation settings (`tokenizer.json`'s `normalizer`, or `tokenizer_config.json`).
    public struct Normalization: Sendable, Hashable {
        public var cleanText = true
        public var handleChineseCharacters = true
        /// nil: strip accents when lower-casing (BERT's rule).
        public var stripAccents: Bool? = nil
        public var lowercase = true

        public init(cleanText: Bool = true, handleChineseCharacters: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true) {
            self.cleanText = cleanText
            self.handleChineseCharacters = handleChineseCharacters
            self.stripAccents = stripAccents
            self.lowercase = lowercase
        }
    }

    public let normalization: Normalization
    private let vocabulary: [String: Int32]
    /// The longest vocabulary entry, in Unicode scalars (bounds the longest-match search).
    private let longestEntry: Int
    public let unknownID: Int32
    public let classifierID: Int32
    public let separatorID: Int32
    public let continuingPrefix: String
    /// Words longer than this (in Unicode scalars) become `[UNK]`.
    public let maxCharactersPerWord: Int

    /// The number of entries in the vocabulary.
    public var vocabularySize: Int { vocabulary.count }
    /// The largest id in the vocabulary.
    public var largestID: Int32 { vocabulary.values.max() ?? 0 }

    /// A tokenizer over `vocabulary` (token → id). Throws when a special token is missing.
    public init(vocabulary: [String: Int32], normalization: Normalization = Normalization(), unknownToken: String = "[UNK]",
                classifierToken: String = "[CLS]", separatorToken: String = "[SEP]", continuingPrefix: String = "##",
                maxCharactersPerWord: Int = 100) throws(EmbeddingError) {
        func id(_ token: String) throws(EmbeddingError) -> Int32 {
            guard let id = vocabulary[token] else { throw EmbeddingError.invalidArgument("the vocabulary has no \(token) token") }
            return id
        }
        self.vocabulary = vocabulary
        self.normalization = normalization
        self.unknownID = try id(unknownToken)
        self.classifierID = try id(classifierToken)
        self.separatorID = try id(separatorToken)
        self.continuingPrefix = continuingPrefix
        self.maxCharactersPerWord = maxCharactersPerWord
        self.longestEntry = vocabulary.keys.reduce(0) { max($0, $1.unicodeScalars.count) }
    }

    /// `[CLS]`, the first `maxLength - 2` word pieces of `text`, `[SEP]`.
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        let pieces = wordPieces(text)
        return [classifierID] + pieces.prefix(max(0, maxLength - 2)) + [separatorID]
    }

    /// The ids of the word pieces of `text`, without special tokens and without truncation.
    public func wordPieces(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3)
        forEachWord(in: text) { word in appendPieces(of: word, to: &ids) }
        return ids
    }

    /// The word pieces of `text` as strings (for inspection and tests).
    public func tokens(_ text: String) -> [String] {
        let names = Dictionary(uniqueKeysWithValues: vocabulary.map { ($1, $0) })
        return wordPieces(text).map { names[$0] ?? "?" }
    }

    // MARK: Normalisation and pre-tokenisation

    /// Calls `body` with each word of the normalised text: runs of letters split at whitespace, with
    /// each punctuation character and each CJK ideograph a word of its own.
    private func forEachWord(in text: String, _ body: ([Unicode.Scalar]) -> Void) {
        let stripAccents = normalization.stripAccents ?? normalization.lowercase
        let isASCII = text.utf8.allSatisfy { $0 < 0x80 }
        // Accents are stripped by decomposing (NFD) and dropping non-spacing marks; the decomposition
        // is done once for the whole text (it keeps control characters, whitespace and CJK ideographs
        // what they were, so the cleaning below sees the same classes).
        let source = stripAccents && !isASCII ? text.decomposedStringWithCanonicalMapping : text
        var word: [Unicode.Scalar] = []
        func flush() {
            guard !word.isEmpty else { return }
            body(word)
            word.removeAll(keepingCapacity: true)
        }
        for scalar in source.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                // ASCII fast path: the same rules restricted to ASCII.
                if value == 0x20 || value == 0x09 || value == 0x0A || value == 0x0D { flush(); continue }
                if value < 0x20 || value == 0x7F {
                    // Control characters are dropped by cleaning; otherwise vertical tab and form
                    // feed are whitespace and the rest are letters.
                    if normalization.cleanText { continue }
                    if value == 0x0B || value == 0x0C { flush() } else { word.append(scalar) }
                    continue
                }
                if Self.isASCIIPunctuation(value) {
                    flush()
                    word.append(scalar)
                    flush()
                    continue
                }
                word.append(normalization.lowercase && value >= 0x41 && value <= 0x5A ? Unicode.Scalar(value + 0x20)! : scalar)
                continue
            }
            let properties = scalar.properties
            if normalization.cleanText {
                if value == 0xFFFD || Self.isControl(properties) { continue }
            }
            if properties.isWhitespace { flush(); continue }
            if normalization.handleChineseCharacters && Self.isChineseCharacter(value) {
                flush()
                word.append(scalar)
                flush()
                continue
            }
            if stripAccents && properties.generalCategory == .nonspacingMark { continue }
            if Self.isPunctuation(properties) {
                flush()
                word.append(scalar)
                flush()
                continue
            }
            if normalization.lowercase, properties.changesWhenLowercased {
                word.append(contentsOf: properties.lowercaseMapping.unicodeScalars)
            } else {
                word.append(scalar)
            }
        }
        flush()
    }

    // MARK: WordPiece

    private func appendPieces(of scalars: [Unicode.Scalar], to ids: inout [Int32]) {
        guard scalars.count <= maxCharactersPerWord else {
            ids.append(unknownID)
            return
        }
        let start = ids.count
        var begin = 0
        var candidate = String.UnicodeScalarView()
        while begin < scalars.count {
            var end = min(scalars.count, begin + longestEntry)
            var found: Int32?
            while end > begin {
                candidate.removeAll(keepingCapacity: true)
                if begin > 0 { candidate.append(contentsOf: continuingPrefix.unicodeScalars) }
                candidate.append(contentsOf: scalars[begin..<end])
                if let id = vocabulary[String(candidate)] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.removeSubrange(start...)
                ids.append(unknownID)
                return
            }
            ids.append(id)
            begin = end
        }
    }

    // MARK: Character classes (as in Hugging Face tokenizers' BERT normaliser and pre-tokeniser)

    private static func isASCIIPunctuation(_ value: UInt32) -> Bool {
        (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value) || (123...126).contains(value)
    }

    /// Categories Cc, Cf, Cs, Co and Cn (tab, newline and carriage return count as whitespace).
    private static func isControl(_ properties: Unicode.Scalar.Properties) -> Bool {
        switch properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }

    private static func isPunctuation(_ properties: Unicode.Scalar.Properties) -> Bool {
        switch properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: true
        default: false
        }
    }

    /// The CJK Unified Ideographs blocks and their extensions and compatibility blocks (not Hiragana,
    /// Katakana or Hangul, which are written with spaces).
    static func isChineseCharacter(_ value: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value) || (0x20000...0x2A6DF).contains(value)
            || (0x2A700...0x2B73F).contains(value) || (0x2B740...0x2B81F).contains(value) || (0x2B820...0x2CEAF).contains(value)
            || (0xF900...0xFAFF).contains(value) || (0x2F800...0x2FA1F).contains(value)
    }
}
