using System.CommandLine;
using Backprop.Cli.Commands;

namespace Backprop.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>
    /// Runs the command line in-process (tests call this). Errors Backprop reports on purpose become
    /// one line on stderr and exit code 1, never a stack trace; usage errors are System.CommandLine's
    /// (with a pointer to --help) and exit code 1 as well.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand(
            "backprop: train, check and explain neural networks, with every derivative visible.\n" +
            "Run 'backprop COMMAND --help' for a command's options.");
        foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
        var parse = root.Parse(args);
        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception e) when (CliErrors.IsUserFacing(e))
        {
            error.WriteLine($"error: {CliErrors.Describe(e)}");
            return 1;
        }
    }
}
