namespace Backprop.Cli;

/// <summary>Which exceptions are the user's to fix, how to say them in one line, and with which exit code.</summary>
internal static class CliErrors
{
    /// <summary>An error line longer than this is cut in the middle (a value echoed whole can be megabytes).</summary>
    private const int LineLimit = 600;

    public static bool IsUserFacing(Exception e) => e is BackpropException or IOException or UnauthorizedAccessException or CliUsageException
        or InterruptedException or OutOfMemoryException or InsufficientExecutionStackException;

    public static int ExitCodeOf(Exception e) => e switch
    {
        CliUsageException => ExitCodes.Usage,
        InterruptedException => ExitCodes.Interrupted,
        _ => ExitCodes.Failure,
    };

    public static string Describe(Exception e) => e switch
    {
        FileNotFoundException f => $"file not found: {Quote(f.FileName ?? f.Message)}",
        DirectoryNotFoundException d => $"folder not found: {d.Message}",
        UnauthorizedAccessException u => $"permission denied: {u.Message}",
        // Thrown by an allocation too large for what the process can get; the allocations Backprop
        // makes for tensors say their shape (MemoryException), this covers the rest.
        OutOfMemoryException => $"out of memory: an allocation failed with {Bytes(GC.GetTotalMemory(false))} already in use " +
            $"and {Bytes(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)} available to this process. Use a smaller input or network.",
        InsufficientExecutionStackException => "the input is nested too deeply to process (the call stack would overflow); simplify it.",
        _ => e.Message,
    };

    /// <summary>At most about 60 characters of a user's value, for an error line: the one helper every message uses.</summary>
    public static string Quote(string value) => Backprop.IO.OutputPath.Quote(value);

    /// <summary>A whole error line kept to a readable length, its start and end intact.</summary>
    public static string Shorten(string line)
    {
        line = line.ReplaceLineEndings(" ");
        return line.Length <= LineLimit ? line : string.Concat(line.AsSpan(0, LineLimit - 200), " … ", line.AsSpan(line.Length - 197));
    }

    public static string Bytes(long bytes) => MemoryException.Format(bytes);

    /// <summary>A divergence's message with the command's option for the setting it blames, e.g. "(--lr)".</summary>
    public static BackpropException NameTheOption(Backprop.Training.DivergenceException e, Func<Backprop.Training.DivergenceCause, string> option) =>
        new($"{e.Message.TrimEnd('.')} ({option(e.Cause)}).", e);
}

/// <summary>An option value that parses but makes no sense (a learning rate of 0, negative epochs): exit code 2.</summary>
public sealed class CliUsageException(string message) : Exception(message);

/// <summary>The run was stopped by Ctrl-C after saving what it says it kept: exit code 130.</summary>
public sealed class InterruptedException(string message) : Exception(message);
