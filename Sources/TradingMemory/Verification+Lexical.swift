import Foundation
import Lexical
import LMDB
import VectorIndex

extension TradingMemoryStore {
    /// The lexical index of a collection agrees with its live memories: each has a length row with
    /// its length and known time and one posting per distinct term of its situation, with its term
    /// frequency; there is nothing else; the catalog's totals are the sums.
    func verifyLexical(_ entry: CatalogEntry, liveMemories: [Memory], _ reader: borrowing IndexReader,
                       report: (String?, String, String) -> Void) throws {
        let name = entry.name
        guard let postings = databases.lexicalPostings, let lengths = databases.lexicalLengths else {
            report(name, "lexical", "the collection has lexical recall but the database has no lexical index")
            return
        }
        var expectedPostings = 0
        var lengthSum = 0
        for memory in liveMemories {
            let (counts, length) = LexicalTokenizer.termCounts(of: memory.situation)
            expectedPostings += counts.count
            lengthSum += length
            guard let row = try reader.transaction.withValue(for: Key(entry.id, memory.id.rawValue), in: lengths, { $0.flatMap(LexicalLength.init) })
            else {
                report(name, "lexical", "memory \(memory.id) has no length row")
                continue
            }
            if row.length != length || row.knownAtMs != memory.knownAt.milliseconds {
                report(name, "lexical", "memory \(memory.id)'s length row differs from its situation or known time")
            }
            // Spot-check every posting of the memory (a missing one would change scores).
            for (term, count) in counts {
                let posting = try reader.transaction.withValue(for: Keys.posting(entry.id, term: term, memory: memory.id), in: postings,
                                                               { $0.flatMap(LexicalPosting.init) })
                if posting?.termFrequency != count {
                    report(name, "lexical", "memory \(memory.id): the posting of '\(term)' is missing or has another frequency")
                    break
                }
            }
        }
        var postingCount = 0
        try reader.transaction.forEach(in: postings, prefix: Key(entry.id)) { _, _ in
            postingCount += 1
            return true
        }
        var lengthRows = 0
        try reader.transaction.forEach(in: lengths, prefix: Key(entry.id)) { _, _ in
            lengthRows += 1
            return true
        }
        if postingCount != expectedPostings { report(name, "lexical", "\(postingCount) postings for \(expectedPostings) expected") }
        if lengthRows != liveMemories.count { report(name, "lexical", "\(lengthRows) length rows for \(liveMemories.count) live memories") }
        if (entry.lexicalDocuments ?? 0) != liveMemories.count || (entry.lexicalLengthSum ?? 0) != lengthSum {
            report(name, "lexical", "the catalog's lexical totals differ from the index")
        }
    }
}
