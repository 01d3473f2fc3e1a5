import ArgumentParser
import Foundation
import TradingMemory
import VectorIndex
import WireFormat

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
            print("database \(stats.path) · format version \(stats.formatVersion)")
            print("file \(mb(stats.fileBytes)) · map \(mb(stats.mapSizeBytes)) (\(mb(stats.mapUsedBytes)) used) · page \(stats.pageSize) B"
                  + (stats.bytesPerMemory.map { String(format: " · %.0f B per memory", $0) } ?? ""))
            for collection in stats.collections {
                print("\ncollection \(collection.name): dim \(collection.dimension)\(collection.embeddingModel.map { " (\($0))" } ?? ""), "
                      + "\(collection.memories) memories, \(collection.pending) pending, \(collection.vectorsLive)/\(collection.vectorsAllocated) vectors live")
                print("  layer            nodes     live  tombstones  levels  entry      M  efC  walk")
                for layer in collection.layers {
                    print("  " + layer.layer.padded(14) + String(format: " %7d  %7d  %10d  %6d  ", layer.nodes, layer.live, layer.tombstones,
                                                                        layer.levels)
                          + (layer.entryPoint.map { "#\($0)" } ?? "-").padded(8) + String(format: " %3d  %3d  ", layer.m, layer.efConstruction) + layer.walk.rawValue)
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
