/// The terms of a text for lexical recall (BM25), the same for documents and queries.
///
/// - Letters and digits outside CJK scripts form words, lower-cased; a `.` between two of them
///   stays inside the word, so tickers (`600519.sh`, `brk.b`) and decimals (`3.5`) are one term.
/// - CJK text (Han, kana, Hangul) has no spaces: each character is a term and so is each pair of
///   neighbouring characters (bigrams), the usual index of CJK search engines.
/// - Everything else (spaces, punctuation, markdown) separates terms. Terms longer than
///   ``maxTermBytes`` are dropped (they are not words: hashes, base64).
///
/// Versioned: a collection records the version its index was built with (see ``version``).
public enum LexicalTokenizer {
    /// Changes whenever the terms of some text would change.
    public static let version = 1
    /// The longest term kept, in UTF-8 bytes.
    public static let maxTermBytes = 64

    /// The terms of `text`, in order (with repeats).
    public static func terms(of text: String) -> [String] {
        var terms: [String] = []
        var word = String.UnicodeScalarView()
        var previousCJK: Unicode.Scalar?
        var scalars = Array(text.unicodeScalars)
        scalars.append(" ")  // flushes the last word

        func flushWord() {
            if !word.isEmpty {
                let term = String(word)
                if term.utf8.count <= maxTermBytes { terms.append(term) }
                word = String.UnicodeScalarView()
            }
        }

        for (index, scalar) in scalars.enumerated() {
            if isCJK(scalar) {
                flushWord()
                terms.append(String(Character(scalar)))
                if let previousCJK {
                    var pair = String.UnicodeScalarView()
                    pair.append(previousCJK)
                    pair.append(scalar)
                    terms.append(String(pair))
                }
                previousCJK = scalar
                continue
            }
            previousCJK = nil
            if isWordScalar(scalar) {
                for lower in String(Character(scalar)).lowercased().unicodeScalars { word.append(lower) }
            } else if scalar == ".", !word.isEmpty, index + 1 < scalars.count, isWordScalar(scalars[index + 1]), !isCJK(scalars[index + 1]) {
                word.append(scalar)
            } else {
                flushWord()
            }
        }
        return terms
    }

    /// Each distinct term of `text` with how often it occurs, and the number of terms (the
    /// document length of BM25).
    public static func termCounts(of text: String) -> (counts: [String: Int], length: Int) {
        let all = terms(of: text)
        var counts: [String: Int] = [:]
        for term in all { counts[term, default: 0] += 1 }
        return (counts, all.count)
    }

    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        return properties.isAlphabetic || properties.numericType != nil
    }

    /// Han (with extensions and compatibility ideographs), Hiragana, Katakana and Hangul.
    static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3040...0x30FF,   // Hiragana, Katakana
             0x3400...0x4DBF,   // CJK Extension A
             0x4E00...0x9FFF,   // CJK Unified Ideographs
             0xAC00...0xD7AF,   // Hangul syllables
             0xF900...0xFAFF,   // CJK Compatibility Ideographs
             0x20000...0x323AF: // CJK Extensions B–H
            true
        default:
            false
        }
    }
}
