using System.CommandLine;

namespace Backprop.Cli.Commands;

/// <summary>Every subcommand of the backprop tool, in the order --help lists them.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield break;
    }
}
