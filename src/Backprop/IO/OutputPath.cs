namespace Backprop.IO;

/// <summary>
/// Checks an output path before any work starts, so that a missing folder or an output that would
/// overwrite an input is reported at once rather than after hours of training.
/// </summary>
public static class OutputPath
{
    private const int QuoteLimit = 60;

    /// <summary>
    /// Throws <see cref="BackpropException"/> unless <paramref name="path"/> can be written: "-"
    /// (standard output), a device or FIFO, or a file (or a link to one) whose folder exists and is
    /// writable, that is not a folder, not read-only, and not one of <paramref name="inputs"/>.
    /// </summary>
    public static void Check(string path, params string?[] inputs)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path == "-") return;
        if (path.Length == 0) throw new BackpropException("the output path is empty; give a file name or - for standard output.");
        var kind = FileIdentity.KindOf(path);
        if (kind == FileKind.Directory)
            throw new BackpropException($"'{Quote(path)}' is a folder; give a file name inside it.");
        foreach (var input in inputs)
        {
            if (string.IsNullOrEmpty(input) || input == "-") continue;
            if (FileIdentity.SameFile(path, input))
                throw new BackpropException($"the output '{Quote(path)}' is the input '{Quote(input)}'; writing it would destroy the input. Choose another output file.");
        }
        if (kind is FileKind.CharacterDevice or FileKind.BlockDevice or FileKind.Fifo or FileKind.Socket) return;
        var target = AtomicFile.ResolveFinalTarget(path);
        var folder = Path.GetDirectoryName(target) ?? ".";
        if (!Directory.Exists(folder))
            throw new BackpropException($"cannot write '{Quote(path)}': the folder '{Quote(folder)}' does not exist; create it first (mkdir -p).");
        if (kind == FileKind.Regular && !OperatingSystem.IsWindows() &&
            (File.GetUnixFileMode(target) & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) == 0)
            throw new BackpropException($"'{Quote(path)}' is read-only; remove it or make it writable (chmod u+w) to replace it.");
        ProbeWritable(folder, path);
    }

    /// <summary>At most about 60 characters of a value, for an error line (a 10 MB value is not echoed whole).</summary>
    public static string Quote(string value) =>
        value.Length <= QuoteLimit ? value : string.Concat(value.AsSpan(0, QuoteLimit - 1), "…");

    private static void ProbeWritable(string folder, string path)
    {
        var probe = Path.Combine(folder, $".probe.{Environment.ProcessId}.{Random.Shared.Next():x8}{AtomicFile.TempSuffix}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (UnauthorizedAccessException)
        {
            throw new BackpropException($"cannot write '{Quote(path)}': permission denied in the folder '{Quote(folder)}'.");
        }
        catch (IOException e)
        {
            throw new BackpropException($"cannot write '{Quote(path)}': {e.Message.TrimEnd('.')}.");
        }
    }
}
