import ArgumentParser

@main
struct Hindsight: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hindsight",
        abstract: "A vector database for the memory of LLM trading agents.",
        version: "0.1.0",
        subcommands: [Demo.self, Bench.self, BenchOpen.self])
}
