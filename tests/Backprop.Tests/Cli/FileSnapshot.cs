using System.Runtime.InteropServices;

namespace Backprop.Tests.Cli;

/// <summary>Every file under a folder with its bytes, to assert that a failed command changed nothing.</summary>
internal sealed class FileSnapshot
{
    private readonly string _root;
    private readonly Dictionary<string, byte[]> _files;

    private FileSnapshot(string root, Dictionary<string, byte[]> files) { _root = root; _files = files; }

    public static FileSnapshot Of(string root) => new(root, Read(root));

    private static Dictionary<string, byte[]> Read(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(IsRegular)
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);

    private static bool IsRegular(string path) => Backprop.IO.FileIdentity.KindOf(path) == Backprop.IO.FileKind.Regular;

    /// <summary>Asserts every file is still there, byte for byte, and no file was added.</summary>
    public void AssertUnchanged(string because)
    {
        var now = Read(_root);
        Assert.True(now.Keys.Order().SequenceEqual(_files.Keys.Order()),
            $"{because}: files before [{string.Join(", ", _files.Keys.Order())}], after [{string.Join(", ", now.Keys.Order())}]");
        foreach (var (name, bytes) in _files)
            Assert.True(bytes.AsSpan().SequenceEqual(now[name]), $"{because}: {name} changed ({bytes.Length} bytes before, {now[name].Length} after)");
    }
}

/// <summary>libc calls the tests need: kill(2) for signals other than SIGKILL, and mount(2) for tmpfs.</summary>
internal static class Libc
{
    public const int SIGINT = 2;

    [DllImport("libc", SetLastError = true)]
    public static extern int kill(int pid, int sig);

    [DllImport("libc", SetLastError = true)]
    public static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    public static extern int link(string existing, string created);
}
