using System.CommandLine;
using Backprop.Cli.Commands;

namespace Backprop.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>
    /// Runs the command line in-process (tests call this). Every problem ends as one <c>error:</c> line
    /// on stderr, never a stack trace, with the exit code saying whose it is: <see cref="ExitCodes"/>.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = CreateRoot();
        var parse = root.Parse(args);
        if (args.Length == 0)
        {
            // A bare 'backprop' is a request for the overview, not a mistake.
            parse = root.Parse(["--help"]);
        }
        else if (UsageErrors.Describe(parse) is { } usage)
        {
            error.WriteLine($"error: {CliErrors.Shorten(usage)}");
            return ExitCodes.Usage;
        }
        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception e) when (CliErrors.IsUserFacing(e))
        {
            error.WriteLine($"error: {CliErrors.Shorten(CliErrors.Describe(e))}");
            return CliErrors.ExitCodeOf(e);
        }
    }

    /// <summary>The root command with every subcommand, its numeric options parsed one way (<see cref="NumberOptions"/>).</summary>
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand(
            "backprop: train, check and explain neural networks, with every derivative visible.\n" +
            "Run 'backprop COMMAND --help' for a command's options.\n" +
            "Files: '-' as an output writes to standard output; outputs are written atomically and never replace an input.\n" +
            ExitCodes.Help);
        foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
        NumberOptions.Apply(root);
        return root;
    }
}

/// <summary>What the process's exit code means; documented in the root --help and the README.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The command ran and failed: bad data, a file that cannot be read or written, a failed check.</summary>
    public const int Failure = 1;
    /// <summary>The command line itself is wrong: unknown command or option, missing or bad value.</summary>
    public const int Usage = 2;
    /// <summary>Interrupted (Ctrl-C, SIGINT); what was kept is said on stderr. 128 + SIGINT, as shells do.</summary>
    public const int Interrupted = 130;

    internal const string Help = "Exit codes: 0 success, 1 failure (bad data, unreadable or unwritable file, failed check), " +
        "2 usage error (unknown command or option, missing or bad value), 130 interrupted (Ctrl-C).";
}
