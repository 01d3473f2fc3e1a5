@testable import Embedding
import Testing

/// The BERT tokeniser's rules on a small vocabulary (the reference vocabulary is checked in
/// MiniLMReferenceTests when the model is present).
@Suite struct TokenizerTests {
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "stock", "stocks", "##s", "rose", "un", "##aff", "##able",
                             "cafe", "naive", "!", ",", "«", "»", "$", "1", ".", "5", "央", "行", "の", "x", "##x", "ab", "##c"]

    func tokenizer(_ normalization: WordPieceTokenizer.Normalization = .init(), maxCharactersPerWord: Int = 100) throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabulary: Dictionary(uniqueKeysWithValues: Self.vocabulary.enumerated().map { ($1, Int32($0)) }),
                               normalization: normalization, maxCharactersPerWord: maxCharactersPerWord)
    }

    @Test func greedyLongestMatchFirst() throws {
        let t = try tokenizer()
        #expect(t.tokens("stocks unaffable") == ["stocks", "un", "##aff", "##able"])
        #expect(t.tokens("stockss") == ["stocks", "##s"])
        #expect(t.tokens("unknown") == ["[UNK]"], "a word that cannot be covered is one [UNK]")
        #expect(t.tokens("xxx abc") == ["x", "##x", "##x", "ab", "##c"])
    }

    @Test func normalisationCleansLowercasesAndStripsAccents() throws {
        let t = try tokenizer()
        #expect(t.tokens("CAFÉ Naïve") == ["cafe", "naive"])
        #expect(t.tokens("Cafe\u{301}") == ["cafe"], "combining accents are dropped")
        #expect(t.tokens("sto\u{0}ck\u{200B}s\u{FFFD}") == ["stocks"], "NUL, format characters and U+FFFD are removed")
        #expect(t.tokens("rose\u{A0}rose\trose\nrose") == ["rose", "rose", "rose", "rose"], "all whitespace separates")
        #expect(t.tokens("sto\u{B}ck") == ["stock"], "control characters are removed, not separators")
        let keepCase = try tokenizer(.init(lowercase: false))
        #expect(keepCase.tokens("Stock") == ["[UNK]"])
        let keepAccents = try tokenizer(.init(stripAccents: false))
        #expect(keepAccents.tokens("café") == ["[UNK]"])
    }

    @Test func punctuationAndCJKAreSplit() throws {
        let t = try tokenizer()
        #expect(t.tokens("stock!rose,«cafe»") == ["stock", "!", "rose", ",", "«", "cafe", "»"])
        #expect(t.tokens("$1.5") == ["$", "1", ".", "5"])
        #expect(t.tokens("央行stock") == ["央", "行", "stock"], "each ideograph is a word")
        #expect(t.tokens("のの") == ["[UNK]"], "kana are not split like ideographs")
        let noChineseSplit = try tokenizer(.init(handleChineseCharacters: false))
        #expect(noChineseSplit.tokens("央行") == ["[UNK]"])
    }

    @Test func longWordsAndTruncation() throws {
        let t = try tokenizer(maxCharactersPerWord: 5)
        #expect(t.tokens("xxxxx xxxxxx") == ["x", "##x", "##x", "##x", "##x", "[UNK]"])
        let ids = try tokenizer().encode(String(repeating: "rose ", count: 10), maxLength: 5)
        #expect(ids == [2, 7, 7, 7, 3])
        #expect(try tokenizer().encode("", maxLength: 5) == [2, 3])
    }

    @Test func missingSpecialTokensAreAnError() {
        #expect(throws: EmbeddingError.self) { try WordPieceTokenizer(vocabulary: ["[UNK]": 0, "[CLS]": 1]) }
    }
}
