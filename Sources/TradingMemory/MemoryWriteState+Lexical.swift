import Foundation
import Lexical
import LMDB
import VectorIndex

/// The lexical index's writes: a live memory of a collection with lexical recall has one posting
/// per distinct term of its situation and one length row, written in the transaction that makes it
/// live (add or resolve) and removed in the one that deletes it. Pending decisions are not indexed.
extension MemoryWriteState {
    func indexLexically(_ id: MemoryID, situation: String, knownAtMs: Int64, in entry: inout CatalogEntry,
                        _ writer: borrowing IndexWriter) throws {
        guard entry.configuration.lexical != nil else { return }
        let (postings, lengths) = try lexicalDatabases()
        let (counts, length) = LexicalTokenizer.termCounts(of: situation)
        for (term, count) in counts {
            try writer.transaction.put(LexicalPosting(termFrequency: count, length: length, knownAtMs: knownAtMs).encoded,
                                       for: Keys.posting(entry.id, term: term, memory: id), in: postings)
        }
        try writer.transaction.put(LexicalLength(length: length, knownAtMs: knownAtMs).encoded, for: Key(entry.id, id.rawValue), in: lengths)
        entry.lexicalDocuments = (entry.lexicalDocuments ?? 0) + 1
        entry.lexicalLengthSum = (entry.lexicalLengthSum ?? 0) + length
    }

    func unindexLexically(_ id: MemoryID, situation: String, in entry: inout CatalogEntry, _ writer: borrowing IndexWriter) throws {
        guard entry.configuration.lexical != nil else { return }
        let (postings, lengths) = try lexicalDatabases()
        guard try writer.transaction.withValue(for: Key(entry.id, id.rawValue), in: lengths, { $0 != nil }) else { return }
        let (counts, length) = LexicalTokenizer.termCounts(of: situation)
        for term in counts.keys { try writer.transaction.delete(Keys.posting(entry.id, term: term, memory: id), in: postings) }
        try writer.transaction.delete(Key(entry.id, id.rawValue), in: lengths)
        entry.lexicalDocuments = (entry.lexicalDocuments ?? 1) - 1
        entry.lexicalLengthSum = (entry.lexicalLengthSum ?? length) - length
    }

    /// Removes a dropped collection's postings and lengths.
    func dropLexical(_ collection: UInt32, _ writer: borrowing IndexWriter) throws {
        for database in [databases.lexicalPostings, databases.lexicalLengths].compactMap({ $0 }) {
            try writer.transaction.deleteAll(in: database, prefix: Key(collection))
        }
    }

    private func lexicalDatabases() throws -> (Database, Database) {
        guard let postings = databases.lexicalPostings, let lengths = databases.lexicalLengths else {
            throw TradingMemoryError.storage("the lexical index's databases are missing (opened read-only?)")
        }
        return (postings, lengths)
    }
}
