import ArgumentParser
import Foundation
import TradingMemory

extension Hindsight {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show collections, layers, tombstones, bytes on disk, map size and format version.")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let store = try database.openStore(readOnly: true)
            defer { store.close() }
            let stats = try store.statistics()
            if json { try JSONOutput.print(stats); return }
            func mb(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
            print("database \(stats.path) · format version \(stats.format_version)")
            print("file \(mb(stats.file_bytes)) · map \(mb(stats.map_size_bytes)) (\(mb(stats.map_used_bytes)) used) · page \(stats.page_size) B"
                  + (stats.bytes_per_memory.map { String(format: " · %.0f B per memory", $0) } ?? ""))
            for collection in stats.collections {
                print("\ncollection \(collection.name): dim \(collection.dimension)\(collection.embedding_model.map { " (\($0))" } ?? ""), "
                      + "\(collection.memories) memories, \(collection.pending) pending, \(collection.vectors_live)/\(collection.vectors_allocated) vectors live")
                print("  layer            nodes     live  tombstones  levels  entry      M  efC")
                for layer in collection.layers {
                    print("  " + layer.layer.padded(14) + String(format: " %7d  %7d  %10d  %6d  ", layer.nodes, layer.live, layer.tombstones,
                                                                        layer.levels)
                          + (layer.entry_point.map { "#\($0)" } ?? "-").padded(8) + String(format: " %3d  %3d", layer.m, layer.ef_construction))
                }
            }
            print("\nnamed databases:")
            for storage in stats.databases {
                print("  " + storage.name.padded(14) + String(format: " %9d entries  ", storage.entries) + mb(storage.bytes))
            }
        }
    }
}

extension String {
    /// The string, space-padded on the right to `width` characters.
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
