using System.Diagnostics;
using Backprop.IO;

namespace Backprop.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("backprop-atomic-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string PathOf(string name) => Path.Combine(folder, name);

    [Fact]
    public void ReplacesAFileWholeAndLeavesNoTemporaryBehind()
    {
        var path = PathOf("out.txt");
        File.WriteAllText(path, "old content that is longer than the new one");
        AtomicFile.WriteAllText(path, "new");
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(folder));
    }

    [Fact]
    public void AFailingWriterLeavesThePreviousFileUnchanged()
    {
        var path = PathOf("model.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("writer failed half way");
        }));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(folder));
    }

    [Fact]
    public void ASymlinkStaysALinkAndItsTargetGetsTheContent()
    {
        var target = PathOf("target.txt");
        File.WriteAllText(target, "old");
        var link = PathOf("link.txt");
        File.CreateSymbolicLink(link, "target.txt"); // relative, as `ln -s` makes it
        AtomicFile.WriteAllText(link, "new");
        Assert.Equal("target.txt", new FileInfo(link).LinkTarget);
        Assert.Equal("new", File.ReadAllText(target));
    }

    [Fact]
    public void ACharacterDeviceIsWrittenThroughNotReplaced()
    {
        if (!OperatingSystem.IsLinux()) return;
        AtomicFile.WriteAllText("/dev/null", "discarded");
        Assert.Equal(FileKind.CharacterDevice, FileIdentity.KindOf("/dev/null"));
    }

    [Fact]
    public async Task AFifoIsWrittenThrough()
    {
        if (!OperatingSystem.IsLinux()) return;
        var fifo = PathOf("pipe");
        using (var mk = Process.Start("mkfifo", fifo)) mk.WaitForExit();
        Assert.Equal(FileKind.Fifo, FileIdentity.KindOf(fifo));
        var reader = Task.Run(() => File.ReadAllText(fifo));
        AtomicFile.WriteAllText(fifo, "through the pipe");
        Assert.Equal("through the pipe", await reader.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(FileKind.Fifo, FileIdentity.KindOf(fifo));
    }

    [Fact]
    public void AStaleTemporaryOfADeadProcessIsRemovedOnTheNextWrite()
    {
        // A process id that cannot be running: above the kernel's pid_max (at most 2^22).
        var stale = PathOf($".model.safetensors.{(1 << 22) + 5}.0badf00d{".backprop-tmp"}");
        File.WriteAllBytes(stale, new byte[4096]);
        var unrelated = PathOf(".keep.backprop-tmp-like");
        File.WriteAllText(unrelated, "not ours");
        AtomicFile.WriteAllText(PathOf("model.safetensors"), "x");
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(unrelated));
    }

    [Fact]
    public void AFolderIsRefused()
    {
        var e = Assert.Throws<BackpropException>(() => AtomicFile.WriteAllText(folder, "x"));
        Assert.Contains("is a folder", e.Message);
    }

    [Fact]
    public void KeepsTheModeOfTheFileItReplaces()
    {
        if (OperatingSystem.IsWindows()) return;
        var path = PathOf("private.bin");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        AtomicFile.WriteAllText(path, "new");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void OutputPathRefusesAnInputEvenThroughALinkOrAHardLink()
    {
        var input = PathOf("data.csv");
        File.WriteAllText(input, "a,b\n1,2\n");
        Assert.Contains("is the input", Assert.Throws<BackpropException>(() => OutputPath.Check(input, input)).Message);
        var link = PathOf("alias.csv");
        File.CreateSymbolicLink(link, input);
        Assert.Contains("is the input", Assert.Throws<BackpropException>(() => OutputPath.Check(link, input)).Message);
        if (OperatingSystem.IsLinux())
        {
            var hard = PathOf("hard.csv");
            using (var ln = Process.Start("ln", [input, hard])) ln.WaitForExit();
            Assert.Contains("is the input", Assert.Throws<BackpropException>(() => OutputPath.Check(hard, input)).Message);
        }
        OutputPath.Check(PathOf("other.csv"), input); // a different file is fine
        Assert.Equal("a,b\n1,2\n", File.ReadAllText(input));
    }

    [Fact]
    public void OutputPathReportsAMissingFolderAFolderAndAReadOnlyFile()
    {
        Assert.Contains("does not exist", Assert.Throws<BackpropException>(() => OutputPath.Check(PathOf("no/such/dir/out.png"))).Message);
        Assert.Contains("is a folder", Assert.Throws<BackpropException>(() => OutputPath.Check(folder)).Message);
        if (!OperatingSystem.IsWindows())
        {
            var ro = PathOf("ro.txt");
            File.WriteAllText(ro, "keep");
            File.SetUnixFileMode(ro, UnixFileMode.UserRead);
            Assert.Contains("read-only", Assert.Throws<BackpropException>(() => OutputPath.Check(ro)).Message);
        }
        OutputPath.Check("-");
        OutputPath.Check(PathOf("fine.txt"));
        Assert.Empty(Directory.GetFiles(folder, "*.backprop-tmp"));
    }

    [Fact]
    public void QuoteShortensLongValues()
    {
        Assert.Equal("short", OutputPath.Quote("short"));
        var q = OutputPath.Quote(new string('x', 10_000_000));
        Assert.True(q.Length <= 60);
        Assert.EndsWith("…", q);
    }
}
