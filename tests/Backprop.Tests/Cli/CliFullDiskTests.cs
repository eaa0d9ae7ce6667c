using System.Diagnostics;
using Backprop.Cli;
using Backprop.IO;
using Backprop.Serialization;

namespace Backprop.Tests.Cli;

/// <summary>A small tmpfs this test mounts (root only) to make a disk full or read-only on purpose.</summary>
internal sealed class Tmpfs : IDisposable
{
    private static readonly Lazy<string?> s_unavailable = new(Probe);

    /// <summary>Why a tmpfs cannot be mounted here (the reason a test is skipped), or null when it can.</summary>
    public static string? Unavailable => s_unavailable.Value;

    public string Path { get; }

    public Tmpfs(int kilobytes)
    {
        Path = Directory.CreateTempSubdirectory("backprop-tmpfs-").FullName;
        Run("mount", "-t", "tmpfs", "-o", $"size={kilobytes}k", "tmpfs", Path);
    }

    /// <summary>Fills the file system until a write fails with "no space left".</summary>
    public void Fill()
    {
        using var handle = File.OpenHandle(System.IO.Path.Combine(Path, "filler"), FileMode.CreateNew, FileAccess.Write);
        var chunk = new byte[4096];
        long offset = 0;
        try
        {
            while (true) { RandomAccess.Write(handle, chunk, offset); offset += chunk.Length; }
        }
        catch (IOException) { }
        // Pages are allocated whole; a last small write fills any partial one.
        try { RandomAccess.Write(handle, new byte[1], offset); } catch (IOException) { }
    }

    public void MakeReadOnly() => Run("mount", "-o", "remount,ro", Path);

    public void Dispose()
    {
        Run("umount", "-l", Path);
        Directory.Delete(Path, recursive: true);
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "tmpfs tests need Linux";
        if (Libc.geteuid() != 0) return "not running as root: the full-disk and read-only tests mount a small tmpfs, which needs root (CI runs as root)";
        var probe = Directory.CreateTempSubdirectory("backprop-tmpfs-probe-").FullName;
        try
        {
            Run("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", probe);
            Run("umount", probe);
            return null;
        }
        catch (InvalidOperationException e)
        {
            return $"cannot mount a tmpfs here ({e.Message}); the container does not allow mounts";
        }
        finally { Directory.Delete(probe); }
    }

    private static void Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {err.Trim()}");
    }
}

/// <summary>A fact that needs a mountable tmpfs; skipped with the reason otherwise.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (Tmpfs.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>
/// Every writer on a full disk and on a read-only one: one error line, exit 1, the previous file byte
/// for byte, and no temporary file left. On a read-only disk the error comes before any work.
/// </summary>
public sealed class CliFullDiskTests(TrainedIris iris) : IClassFixture<TrainedIris>
{
    private static readonly string Iris = CliRunner.DataFile("iris.csv");

    /// <summary>Each writer: its output's file name and the command writing it ({o} is the output).</summary>
    private static readonly (string Name, string File, string Command)[] Writers =
    [
        ("train --out", "model.safetensors", "train {data} --target species --epochs 2 --json --out {o}"),
        ("train --plot", "curves.png", "train {data} --target species --epochs 2 --json --out /dev/null --plot {o}"),
        ("predict --out", "predictions.csv", "predict {model} {data} --out {o}"),
        ("explain --out", "explain.html", "explain {data} --target species --format html --out {o}"),
        ("grad --out", "grad.safetensors", "grad {data} --target species --out {o}"),
        ("demo --plot", "demo.png", "demo --epochs 2 --samples 40 --plot {o}"),
        ("demo --plot svg", "demo.svg", "demo --epochs 2 --samples 40 --plot {o}"),
        ("modes --plot", "modes.png", "modes --widths 2,4 --inputs 2 --batch-size 4 --repeats 1 --plot {o}"),
        ("train --checkpoint", "run.checkpoint.safetensors", "train {data} --target species --epochs 2 --json --out /dev/null --checkpoint-every 1 --checkpoint {o}"),
        ("export --onnx", "model.onnx", "export {model} --onnx {o}"),
    ];

    private string[] Args(string command, string output) =>
        command.Split(' ').Select(a => a.Replace("{data}", Iris).Replace("{model}", iris.Model).Replace("{o}", output)).ToArray();

    private static readonly byte[] Old = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("the previous file, which must survive. ", 50)));

    [TmpfsFact]
    public void OnAFullDiskEveryWriterFailsCleanlyAndKeepsThePreviousFile()
    {
        foreach (var (name, file, command) in Writers)
        {
            using var disk = new Tmpfs(256);
            var output = Path.Combine(disk.Path, file);
            File.WriteAllBytes(output, Old);
            disk.Fill();
            var r = CliRunner.Run(Args(command, output));
            Assert.True(r.ExitCode == ExitCodes.Failure, $"{name}: exit {r.ExitCode}: {r.Error}");
            var errorLine = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
            Assert.Matches("^error: .*(could not write|cannot write).*(No space left|space)", errorLine);
            Assert.Equal(Old, File.ReadAllBytes(output));
            Assert.Empty(Directory.GetFiles(disk.Path, "*.backprop-tmp"));
        }
    }

    [TmpfsFact]
    public void OnAReadOnlyDiskEveryWriterIsRefusedBeforeTheWork()
    {
        foreach (var (name, file, command) in Writers)
        {
            using var disk = new Tmpfs(256);
            var output = Path.Combine(disk.Path, file);
            File.WriteAllBytes(output, Old);
            disk.MakeReadOnly();
            var r = CliRunner.Run(Args(command, output));
            Assert.True(r.ExitCode == ExitCodes.Failure, $"{name}: exit {r.ExitCode}: {r.Error}");
            Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Matches("^error: cannot write .*(Read-only|read-only)", r.Error);
            Assert.Equal(Old, File.ReadAllBytes(output));
        }
    }

    [TmpfsFact]
    public void TheLibraryWritersOnAFullDiskThrowAndKeepThePreviousFile()
    {
        using var disk = new Tmpfs(128);
        var model = Path.Combine(disk.Path, "m.safetensors");
        var text = Path.Combine(disk.Path, "t.txt");
        File.WriteAllBytes(model, Old);
        File.WriteAllBytes(text, Old);
        disk.Fill();
        var big = new TensorEntry("w", new float[64 * 1024], 64 * 1024);
        var e = Assert.Throws<ModelFileException>(() => SafeTensors.Write(model, [big]));
        Assert.Contains("No space left", e.Message);
        Assert.Throws<BackpropException>(() => AtomicFile.WriteAllText(text, new string('x', 200_000)));
        Assert.Equal(Old, File.ReadAllBytes(model));
        Assert.Equal(Old, File.ReadAllBytes(text));
        Assert.Empty(Directory.GetFiles(disk.Path, "*.backprop-tmp"));
    }
}
