import ArgumentParser
import Foundation
import TradingMemory
import VectorIndex
import WireFormat

extension Hindsight {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check vectors, graphs, layers and indexes; exit 0 when clean, 1 with the findings otherwise.",
            discussion: "Read-only: it opens the database read-only and runs beside a serving process.")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "Most findings to list.") var limit: Int = 1_000

        func run() throws {
            if try CrashGuard.ranInChild("verify") { return }
            let store = try database.openStore(readOnly: true)
            defer { store.close() }
            let progress = ProgressLine("verifying")
            let report = try store.verify(limit: limit) { progress.update($0, $1) }
            progress.finish()
            if json {
                try JSONOutput.print(report)
            } else if report.clean {
                print("clean: \(report.collections) collections, \(report.memories) memories, \(report.graphs) graphs checked")
            } else {
                print("\(report.findings.count) findings in \(report.collections) collections, \(report.memories) memories, \(report.graphs) graphs:")
                for finding in report.findings { print("  \(finding)") }
            }
            if !report.clean { throw ExitCode(1) }
        }
    }

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild the graphs of a collection (or all) from the stored vectors, optionally with new HNSW parameters.",
            discussion: "Each collection is rebuilt in one transaction: readers answer from the old graphs until it commits, "
                + "and an interrupted rebuild leaves them as they were. Writers wait meanwhile.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The collection (default: every collection).") var collection: String?
        @Option(help: "New links per node (M).") var m: Int?
        @Option(name: .customLong("ef-construction"), help: "New candidate list size while inserting.") var efConstruction: Int?
        @Option(help: "Convert the graphs' walk: int8 or bf16 (compressed copies, re-ranked exactly) or f32.") var walk: String?
        @Option(help: "Threads searching for each batch's links (1: the serial insert; more: a batch-parallel build).")
        var threads: Int = 1
        @Option(help: "Also turn lexical recall (BM25 beside the vectors) on or off: on builds the index of every live memory, off removes it.")
        var lexical: String?

        func validate() throws {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1.") }
            guard lexical == nil || lexical == "on" || lexical == "off" else { throw ValidationError("--lexical takes on or off.") }
        }

        func run() throws {
            let store = try database.openStore()
            defer { store.close() }
            if let lexical {
                for name in try collection.map({ [$0] }) ?? store.collections().map(\.name) {
                    let current = try store.collection(name).configuration.lexical
                    let indexed = try store.setLexical(lexical == "on" ? current ?? .standard : nil, for: name)
                    print(lexical == "on" ? "lexical recall on for \(name): \(indexed) memories indexed" : "lexical recall off for \(name)")
                }
            }
            let progress = ProgressLine("rebuilding")
            let walk = try self.walk.map(WalkPrecision.init(flag:))
            for report in try store.rebuild(collection: collection, m: m, efConstruction: efConstruction, walk: walk, threads: threads,
                                            progress: { name, done, total in
                progress.update(done, total)
                _ = name
            }) {
                progress.finish()
                print(String(format: "rebuilt %@: %d layers, %d memories, M=%d efConstruction=%d walk %@ in %.1f s", report.collection,
                             report.layers, report.memories, report.m, report.efConstruction, report.walk.rawValue, report.seconds))
            }
        }
    }

    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Repair or rebuild graphs with tombstones, drop dead vectors, and write a compacted copy of the database in its place.",
            discussion: "Refuses to run while another process has the database open for writing, and on a database that verify "
                + "does not pass (nothing is changed). The new file replaces the old one with an atomic rename; an interrupted "
                + "compaction leaves a database that opens and verifies.")
        @OptionGroup var database: DatabaseOptions
        @Option(name: .customLong("rebuild-threshold"), help: "Rebuild a graph whose tombstones are at least this fraction of its nodes; repair it otherwise.")
        var rebuildThreshold: Double = 0.2
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard (0...1).contains(rebuildThreshold) else { throw ValidationError("--rebuild-threshold must be between 0 and 1.") }
        }

        func run() throws {
            // The check that the database is sound runs in a guarded child, so that a file damaged badly
            // enough to abort a reader is refused too (the library's own check is then skipped).
            try CrashGuard.verifyInChild(database: database)
            let progress = ProgressLine("compacting")
            let report = try TradingMemoryStore.compact(path: database.db, rebuildThreshold: rebuildThreshold, verifyingFirst: false) {
                progress.step($0)
            }
            progress.finish()
            if json { try JSONOutput.print(report); return }
            let saved = report.bytesBefore - report.bytesAfter
            print(String(format: "compacted %@: %.1f MB → %.1f MB (%@%.1f%%), %d graphs rebuilt, %d repaired, %d vectors kept, %.1f s",
                         database.db, Double(report.bytesBefore) / 1e6, Double(report.bytesAfter) / 1e6, saved >= 0 ? "−" : "+",
                         abs(100 * Double(saved) / Double(max(report.bytesBefore, 1))), report.graphsRebuilt, report.graphsRepaired,
                         report.vectorsKept, report.seconds))
        }
    }

    struct Consolidate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge near-duplicate memories of the same ticker (the newest is kept; it counts the others and keeps the best outcome).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The collection.") var collection: String
        @Option(help: "Cosine similarity at or above which two memories are duplicates.") var threshold: Float = 0.97
        @Flag(name: .customLong("dry-run"), help: "Show what would be merged; change nothing.") var dryRun = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let store = try database.openStore(readOnly: dryRun)
            defer { store.close() }
            let report = try store.consolidate(collection: collection, threshold: threshold, dryRun: dryRun)
            if json { try JSONOutput.print(report); return }
            for group in report.groups {
                print("\(dryRun ? "would keep" : "kept") #\(group.kept)\(group.ticker.map { " (\($0))" } ?? ""), merging \(group.merged.map { "#\($0)" }.joined(separator: ", "))")
            }
            print("\(dryRun ? "would merge" : "merged") \(report.removed) memories into \(report.groups.count)")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every collection and memory (texts, vectors, times, statuses) as JSON Lines.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The file to write, or - for standard output.") var jsonl: String
        @Option(help: "Only this collection (repeatable).") var collection: [String] = []

        func run() throws {
            if try CrashGuard.ranInChild("export") { return }
            let store = try database.openStore(readOnly: true)
            defer { store.close() }
            let output: FileHandle
            if jsonl == "-" {
                output = FileHandle.standardOutput
            } else {
                guard FileManager.default.createFile(atPath: jsonl, contents: nil), let handle = FileHandle(forWritingAtPath: jsonl) else {
                    throw ValidationError("cannot write \(jsonl).")
                }
                output = handle
            }
            let progress = ProgressLine("exporting")
            var buffer = Data()
            let report = try JSONLines.export(store, collections: collection.isEmpty ? nil : collection, write: { data in
                buffer.append(data)
                if buffer.count >= 1 << 20 { try output.write(contentsOf: buffer); buffer.removeAll(keepingCapacity: true) }
            }, progress: { progress.update($0, $1) })
            try output.write(contentsOf: buffer)
            if jsonl != "-" { try output.synchronize(); try output.close() }
            progress.finish()
            FileHandle.standardError.write(Data(String(format: "exported %d collections, %d memories, %.1f MB in %.1f s\n", report.collections,
                                                      report.memories, Double(report.bytes) / 1e6, report.seconds).utf8))
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read an export: create its collections and add its memories, in batches of one transaction each.",
            discussion: "Every line is checked before anything is written: a refused file writes nothing. A collection that exists is an "
                + "error unless --merge; with --merge, a memory whose caller id the collection holds is an error unless --skip-existing, which "
                + "leaves it out (run an interrupted import again with --merge --skip-existing to complete it).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The export file, or - for standard input.") var jsonl: String
        @Flag(help: "Add to collections that exist (with the same dimension).") var merge = false
        @Flag(name: .customLong("skip-existing"), help: "With --merge: leave out memories whose caller id the collection already holds.")
        var skipExisting = false
        @Option(help: "Memories per transaction.") var batch: Int = 1_000

        func validate() throws {
            if skipExisting && !merge { throw ValidationError("--skip-existing goes with --merge.") }
        }

        func run() throws {
            let data: Data
            if jsonl == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let mapped = try? Data(contentsOf: URL(fileURLWithPath: jsonl), options: .alwaysMapped) else {
                    throw ValidationError("cannot read \(jsonl).")
                }
                data = mapped
            }
            let store = try database.openStore()
            defer { store.close() }
            let progress = ProgressLine("importing")
            let report = try JSONLines.importExport(data, into: store, merge: merge, skipExisting: skipExisting, batch: batch) {
                progress.update($0, $1)
            }
            progress.finish()
            print(String(format: "imported %d collections, %d memories in %.1f s", report.collections, report.memories, report.seconds))
        }
    }
}
