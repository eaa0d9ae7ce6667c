namespace Backprop.Cli;

/// <summary>Which exceptions are the user's to fix, and how to say them in one line.</summary>
internal static class CliErrors
{
    public static bool IsUserFacing(Exception e) => e is BackpropException or IOException or UnauthorizedAccessException or CliUsageException;

    public static string Describe(Exception e) => e switch
    {
        FileNotFoundException f => $"file not found: {f.FileName ?? f.Message}",
        DirectoryNotFoundException d => $"folder not found: {d.Message}",
        UnauthorizedAccessException u => $"permission denied: {u.Message}",
        _ => e.Message,
    };
}

/// <summary>An option value that parses but makes no sense (a learning rate of 0, negative epochs).</summary>
public sealed class CliUsageException(string message) : Exception(message);
