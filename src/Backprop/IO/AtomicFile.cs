using System.Runtime.InteropServices;
using System.Text;

namespace Backprop.IO;

/// <summary>
/// The one way Backprop writes a file. A reader (or a crash, or a full disk) sees either the old file
/// whole or the new file whole, never a mixture or a truncated file: the content goes to a temporary
/// file in the same folder, which is flushed and fsynced, renamed over the target, and then the
/// folder itself is fsynced so the rename survives a power cut.
/// </summary>
/// <remarks>
/// What the path names decides how it is written:
/// <list type="bullet">
/// <item>"-": standard output.</item>
/// <item>a character or block device, a FIFO or a socket (<c>/dev/null</c>, a named pipe,
/// <c>/dev/stdout</c>): written straight through; replacing it with a regular file would break it.</item>
/// <item>a symbolic link: followed to its final target, which is replaced; the link stays a link.</item>
/// <item>a folder: refused.</item>
/// </list>
/// Temporary files are named <c>.NAME.PID.RANDOM.backprop-tmp</c>. One left behind by a killed
/// process is removed the next time Backprop writes into that folder.
/// </remarks>
public static class AtomicFile
{
    internal const string TempSuffix = ".backprop-tmp";

    /// <summary>Writes the file through <paramref name="write"/>, which receives a writable stream.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        if (path == "-")
        {
            using var stdout = Console.OpenStandardOutput();
            write(stdout);
            stdout.Flush();
            return;
        }
        var kind = FileIdentity.KindOf(path);
        if (kind == FileKind.Directory)
            throw new BackpropException($"cannot write '{OutputPath.Quote(path)}': it is a folder; give a file name inside it.");
        if (kind is FileKind.CharacterDevice or FileKind.BlockDevice or FileKind.Fifo or FileKind.Socket || IsProcessStream(path))
        {
            WriteThrough(path, write);
            return;
        }
        ReplaceAtomically(ResolveFinalTarget(path), write);
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            writer.Write(text);
        });

    /// <summary>Writes <paramref name="bytes"/> as they are.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray(); // a span cannot be captured by the callback
        Write(path, stream => stream.Write(copy));
    }

    // /dev/stdout, /dev/fd/N and /proc/self/fd/N name an already-open stream of this process (often a
    // file the shell opened for `>`); writing through keeps the shell's file, renaming would not.
    private static bool IsProcessStream(string path)
    {
        var full = Path.GetFullPath(path);
        return full is "/dev/stdout" or "/dev/stderr" || full.StartsWith("/dev/fd/", StringComparison.Ordinal) ||
               full.StartsWith("/proc/self/fd/", StringComparison.Ordinal);
    }

    private static void WriteThrough(string path, Action<Stream> write)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None);
        write(stream);
        stream.Flush();
    }

    /// <summary>A symbolic link's final target (the path itself when it is no link).</summary>
    internal static string ResolveFinalTarget(string path)
    {
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        if (info.LinkTarget is null) return full;
        var target = info.ResolveLinkTarget(returnFinalTarget: true);
        return target is null ? full : Path.GetFullPath(target.FullName);
    }

    private static void ReplaceAtomically(string target, Action<Stream> write)
    {
        var folder = Path.GetDirectoryName(target) ?? ".";
        if (!Directory.Exists(folder))
            throw new BackpropException($"cannot write '{OutputPath.Quote(target)}': the folder '{OutputPath.Quote(folder)}' does not exist; create it first.");
        RemoveStaleTemporaries(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(target)}.{Environment.ProcessId}.{Random.Shared.Next():x8}{TempSuffix}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            KeepPermissions(target, temp);
            File.Move(temp, target, overwrite: true);
            FsyncFolder(folder);
        }
        catch (IOException e)
        {
            TryDelete(temp);
            throw new BackpropException($"could not write '{OutputPath.Quote(target)}': {e.Message.TrimEnd('.')}; any previous file there is unchanged.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            TryDelete(temp);
            throw new BackpropException($"could not write '{OutputPath.Quote(target)}': permission denied in '{OutputPath.Quote(folder)}'.", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    // A file replaced in place keeps its mode (a 0600 model stays private).
    private static void KeepPermissions(string target, string temp)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(target)) return;
        try { File.SetUnixFileMode(temp, File.GetUnixFileMode(target)); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Removes temporary files of Backprop's naming whose writer is gone: its process no longer runs,
    /// or the file is over a day old (process ids are reused).
    /// </summary>
    internal static void RemoveStaleTemporaries(string folder)
    {
        string[] candidates;
        try { candidates = Directory.GetFiles(folder, "." + "*" + TempSuffix); }
        catch (IOException) { return; }
        catch (UnauthorizedAccessException) { return; }
        foreach (var file in candidates)
        {
            var parts = Path.GetFileName(file).Split('.');
            // "", NAME…, PID, RANDOM, "backprop-tmp"
            if (parts.Length < 5 || !int.TryParse(parts[^3], out int pid)) continue;
            bool writerGone = pid != Environment.ProcessId && !ProcessIsRunning(pid);
            bool old = DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > TimeSpan.FromDays(1);
            if (writerGone || old) TryDelete(file);
        }
    }

    private static bool ProcessIsRunning(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);

    // The rename is only durable once the folder's entry is on disk (fsync of the folder, as
    // PostgreSQL and SQLite do). .NET cannot open a folder as a stream, hence libc.
    private static void FsyncFolder(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = Open(folder, 0 /* O_RDONLY */);
        if (fd < 0) return; // some file systems do not allow it; the rename has happened either way
        try { Fsync(fd); }
        finally { Close(fd); }
    }
}
