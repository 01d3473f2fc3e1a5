import ArgumentParser
import Foundation
import LMDB
import VectorIndex

extension Hindsight {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a small index from generated vectors in a local database, query it and print the results.")

        @Option(help: "Database directory.") var db: String = "./hindsight-data"
        @Option(help: "Vectors to generate.") var count: Int = 5_000
        @Option(help: "Dimension of the vectors.") var dimension: Int = 384

        func run() throws {
            let store = try IndexStore(path: db)
            defer { store.close() }
            var rng = SystemRandomNumberGenerator()
            let centres = (0..<20).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) } }
            let vectors = (0..<count).map { index in centres[index % 20].map { $0 + Float.random(in: -0.3...0.3, using: &rng) } }
            let start = Date()
            let graph = try store.write { writer in
                let space = try writer.createSpace(dimension: dimension)
                let graph = try writer.createGraph(in: space)
                try writer.insert(try writer.addVectors(vectors, to: space), into: graph)
                return graph
            }
            print(String(format: "built %@ with %d vectors of dimension %d in %.2f s in %@", "\(graph)", count, dimension,
                         Date().timeIntervalSince(start), db))
            let query = vectors[7]
            let results = try store.read { reader in
                try reader.searchReport(graph, query: query, k: 5, options: SearchOptions(ef: 64, strategy: .graph))
            }
            print("5 nearest neighbours of vector 7 (\(results.strategy) search, \(results.distanceCount) distances):")
            for neighbor in results.neighbors {
                print(String(format: "  %@  cosine %.4f", "\(neighbor.id)", neighbor.similarity))
            }
        }
    }
}
