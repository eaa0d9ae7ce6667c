using System.CommandLine;

namespace Backprop.Cli.Commands;

/// <summary>Every subcommand of the backprop tool, in the order --help lists them.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return TrainCommand.Create();
        yield return ModelCommands.Evaluate();
        yield return ModelCommands.Predict();
        yield return ModelCommands.Inspect();
        yield return ExportCommand.Create();
        yield return DemoCommand.Create();
        yield return GradCommand.Create();
        yield return ModesCommand.Create();
        yield return ExplainCommand.Create();
        yield return BenchCommand.Create();
        yield return OdeCommand.Create();
        yield return FlowCommand.Create();
        yield return PlaygroundCommand.Create();
    }
}
