import ArgumentParser

@main
struct Hindsight: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hindsight",
        abstract: "A vector database for the memory of LLM trading agents.",
        version: "0.1.0",
        subcommands: [Demo.self, Collection.self, Add.self, Query.self, Resolve.self, Pending.self, Delete.self,
                      Stats.self, Verify.self, Rebuild.self, Compact.self, Consolidate.self, Export.self,
                      Import.self, Log.self, Provenance.self, Reembed.self, Serve.self, Embed.self, ModelCommand.self, Bench.self, BenchEmbed.self, BenchOpen.self, BenchPasses.self, Stress.self])
}
