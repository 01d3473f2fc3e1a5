import Foundation
import LMDB
import VectorIndex

extension TradingMemoryStore {
    /// Turns a collection's lexical recall on (indexing every live memory), changes its settings, or
    /// turns it off (removing the index) — in one write transaction: readers see the old state until
    /// it commits, and an interrupted call changes nothing. Returns the memories indexed.
    @discardableResult
    public func setLexical(_ settings: LexicalSettings?, for collection: String) throws -> Int {
        try settings?.validate()
        return try write { writer, state in
            var entry = try state.collection(collection, writer)
            let wasOn = entry.configuration.lexical != nil
            guard let settings else {
                if wasOn { try state.dropLexical(entry.id, writer) }
                entry.configuration.lexical = nil
                entry.lexicalDocuments = nil
                entry.lexicalLengthSum = nil
                state.save(entry)
                return 0
            }
            entry.configuration.lexical = settings
            var indexed = 0
            if !wasOn {
                entry.lexicalDocuments = 0
                entry.lexicalLengthSum = 0
                for memory in try state.memories(of: entry, writer) where memory.status == .live {
                    try state.indexLexically(memory.id, situation: memory.situation, knownAtMs: memory.knownAt.milliseconds, in: &entry, writer)
                    indexed += 1
                }
            }
            state.save(entry)
            return indexed
        }
    }
}
