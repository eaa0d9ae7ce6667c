using System.Diagnostics;
using Backprop.Cli;
using Backprop.IO;
using Backprop.Serialization;

namespace Backprop.Tests.Cli;

/// <summary>A model trained once for the file tests (iris, a few epochs) and a gradient file in PyTorch names.</summary>
public sealed class TrainedIris : IDisposable
{
    public string Folder { get; } = CliRunner.TempDir();
    public string Model => Path.Combine(Folder, "iris.safetensors");
    public string Weights => Path.Combine(Folder, "weights.safetensors");

    public TrainedIris()
    {
        var r = CliRunner.Run("train", CliRunner.DataFile("iris.csv"), "--target", "species", "--epochs", "3", "--hidden", "4", "--json", "--out", Model);
        Assert.True(r.ExitCode == 0, r.Error);
        var g = CliRunner.Run("grad", CliRunner.DataFile("iris.csv"), "--target", "species", "--hidden", "16", "--out", Weights);
        Assert.True(g.ExitCode == 0, g.Error);
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

/// <summary>
/// Every file Backprop writes: outputs checked before the work starts, an output naming an input
/// refused, "-" for stdout and stdin, devices, FIFOs and symlinks kept, and on failure every file that
/// was there before byte-identical.
/// </summary>
public sealed class CliFileTests(TrainedIris iris) : IClassFixture<TrainedIris>, IDisposable
{
    private readonly string dir = CliRunner.TempDir();

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>A folder with d.csv (iris), m.safetensors (a model) and w.safetensors (grad weights).</summary>
    private (string Data, string Model, string Weights) Inputs()
    {
        var data = Path.Combine(dir, "d.csv");
        File.Copy(CliRunner.DataFile("iris.csv"), data);
        var model = Path.Combine(dir, "m.safetensors");
        File.Copy(iris.Model, model);
        var weights = Path.Combine(dir, "w.safetensors");
        File.Copy(iris.Weights, weights);
        return (data, model, weights);
    }

    public static TheoryData<string, string, int> RefusedOutputs() => new()
    {
        // name, command template ({d} data, {m} model, {w} weights, {x} a missing folder), message pattern, exit code
        { "train --out the data", "train {d} --target species --out {d}", 1 },
        { "train --plot the data", "train {d} --target species --plot {dir}/d.csv", 1 },
        { "train --out and --plot the same", "train {d} --target species --out {dir}/a.png --plot {dir}/a.png", 2 },
        { "train --out a missing folder", "train {d} --target species --epochs 20000 --out {x}/m.safetensors", 1 },
        { "train --plot a missing folder", "train {d} --target species --epochs 20000 --plot {x}/c.png", 1 },
        { "train --out a folder", "train {d} --target species --out {dir}", 1 },
        { "predict --out the model", "predict {m} {d} --out {m}", 1 },
        { "predict --out the data", "predict {m} {d} --out {d}", 1 },
        { "predict --out a missing folder", "predict {m} {d} --out {x}/p.csv", 1 },
        { "explain --out the model", "explain {m} {d} --out {m}", 1 },
        { "explain --out the data", "explain {d} --target species --out {d}", 1 },
        { "explain --out the weights", "explain {d} --target species --hidden 16 --weights {w} --out {w}", 1 },
        { "explain --out a missing folder", "explain {d} --target species --out {x}/e.txt", 1 },
        { "grad --out the data", "grad {d} --target species --out {d}", 1 },
        { "grad --out the weights", "grad {d} --target species --weights {w} --out {w}", 1 },
        { "grad --out a missing folder", "grad {d} --target species --out {x}/g.safetensors", 1 },
        { "demo --plot a missing folder", "demo --epochs 2000 --plot {x}/demo.png", 1 },
        { "demo --plot a folder", "demo --epochs 2000 --plot {dir}", 1 },
        { "modes --plot a missing folder", "modes --widths 4,8 --repeats 50 --plot {x}/modes.png", 1 },
        { "train --checkpoint the data", "train {d} --target species --checkpoint-every 1 --checkpoint {d}", 1 },
        { "train --checkpoint a missing folder", "train {d} --target species --epochs 20000 --checkpoint-every 1 --checkpoint {x}/c.safetensors", 1 },
        { "export --onnx the model", "export {m} --onnx {m}", 1 },
        { "export --onnx a missing folder", "export {m} --onnx {x}/m.onnx", 1 },
    };

    [Theory]
    [MemberData(nameof(RefusedOutputs))]
    public void ABadOutputIsRefusedBeforeTheWorkStartsAndNothingChanges(string name, string template, int exitCode)
    {
        var (data, model, weights) = Inputs();
        var missing = Path.Combine(dir, "no", "such");
        var args = template.Split(' ').Select(a => a.Replace("{dir}", dir).Replace("{d}", data).Replace("{m}", model).Replace("{w}", weights).Replace("{x}", missing)).ToArray();
        var before = FileSnapshot.Of(dir);
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == exitCode, $"{name}: exit {r.ExitCode}: {r.Error}");
        Assert.Matches("^error: .*(is the input|does not exist|is a folder|the same file)", r.Error);
        Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // Refused before any work: no epoch was trained, no output written.
        Assert.DoesNotContain("epoch", r.Error);
        before.AssertUnchanged(name);
    }

    [Fact]
    public void TheOutputIsRecognisedAsAnInputThroughASymlinkAndAHardLink()
    {
        var (data, model, _) = Inputs();
        var link = Path.Combine(dir, "link.csv");
        File.CreateSymbolicLink(link, data);
        var hard = Path.Combine(dir, "hard.safetensors");
        Assert.Equal(0, Libc.link(model, hard));
        var before = FileSnapshot.Of(dir);
        var viaLink = CliRunner.Run("train", data, "--target", "species", "--out", link);
        Assert.Equal(ExitCodes.Failure, viaLink.ExitCode);
        Assert.Contains("is the input", viaLink.Error);
        var viaHardLink = CliRunner.Run("predict", model, data, "--out", hard);
        Assert.Equal(ExitCodes.Failure, viaHardLink.ExitCode);
        Assert.Contains("is the input", viaHardLink.Error);
        before.AssertUnchanged("outputs that are inputs under another name");
    }

    [Fact]
    public void DashMeansStandardOutputForTextOutputs()
    {
        var (data, model, _) = Inputs();
        var predict = CliRunner.Run("predict", model, data, "--out", "-");
        Assert.True(predict.ExitCode == 0, predict.Error);
        Assert.StartsWith("species,p_", predict.Output); // the prediction column is named after the target
        Assert.Equal(151, predict.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.False(File.Exists("-"));
        var explain = CliRunner.Run("explain", data, "--target", "species", "--format", "json", "--out", "-");
        Assert.True(explain.ExitCode == 0, explain.Error);
        Assert.StartsWith("{", explain.Output.TrimStart());
    }

    [Fact]
    public void TrainWritesTheModelToStandardOutputAndReadsDataFromStandardInput()
    {
        var data = CliRunner.DataFile("iris.csv");
        var (code, stdout, stderr) = RunBinary(["train", "-", "--target", "species", "--epochs", "2", "--out", "-"], stdin: data);
        Assert.True(code == 0, stderr);
        var copy = Path.Combine(dir, "from-stdout.safetensors");
        File.WriteAllBytes(copy, stdout);
        var model = SafeTensors.Read(copy);
        Assert.Equal("backprop-mlp/2", model.Metadata["format"]);
        Assert.Contains("model saved to standard output", stderr.ReplaceLineEndings(" "));
    }

    [Fact]
    public async Task DevicesFifosAndSymlinksSurviveBeingOutputs()
    {
        var (data, model, _) = Inputs();
        // A character device is written through, not replaced by a regular file.
        var toNull = CliRunner.Run("predict", model, data, "--out", "/dev/null");
        Assert.True(toNull.ExitCode == 0, toNull.Error);
        Assert.Equal(FileKind.CharacterDevice, FileIdentity.KindOf("/dev/null"));
        var plotToNull = CliRunner.Run("demo", "--epochs", "2", "--samples", "40", "--plot", "/dev/null");
        Assert.True(plotToNull.ExitCode == 0, plotToNull.Error);
        Assert.Equal(FileKind.CharacterDevice, FileIdentity.KindOf("/dev/null"));

        // A symlink stays a link; its target gets the content.
        var target = Path.Combine(dir, "real.csv");
        File.WriteAllText(target, "old");
        var link = Path.Combine(dir, "predictions.csv");
        File.CreateSymbolicLink(link, "real.csv");
        var viaLink = CliRunner.Run("predict", model, data, "--out", link);
        Assert.True(viaLink.ExitCode == 0, viaLink.Error);
        Assert.Equal("real.csv", new FileInfo(link).LinkTarget);
        Assert.StartsWith("species,", File.ReadAllText(target));
        var modelLink = Path.Combine(dir, "latest.safetensors");
        File.CreateSymbolicLink(modelLink, "m2.safetensors");
        File.WriteAllText(Path.Combine(dir, "m2.safetensors"), "old");
        var train = CliRunner.Run("train", data, "--target", "species", "--epochs", "2", "--json", "--out", modelLink);
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.Equal("m2.safetensors", new FileInfo(modelLink).LinkTarget);
        Assert.Equal("backprop-mlp/2", SafeTensors.Read(Path.Combine(dir, "m2.safetensors")).Metadata["format"]);

        // A FIFO is written through: a reader on the other end gets the whole CSV.
        var fifo = Path.Combine(dir, "pipe");
        using (var mk = Process.Start("mkfifo", [fifo])!) mk.WaitForExit();
        var reader = Task.Run(() => File.ReadAllText(fifo));
        var viaFifo = CliRunner.Run("predict", model, data, "--out", fifo);
        Assert.True(viaFifo.ExitCode == 0, viaFifo.Error);
        var received = await reader.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(151, received.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(FileKind.Fifo, FileIdentity.KindOf(fifo));
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".backprop-tmp", StringComparison.Ordinal));
    }

    /// <summary>
    /// kill -9 while the model file is being written: the old file stays whole (or the new one is whole,
    /// when the kill came after the rename), and the next write into the folder removes the temporary
    /// file the killed process left.
    /// </summary>
    [Fact]
    public void AKillDuringTheSaveLeavesTheOldFileWholeAndTheNextWriteCleansUp()
    {
        var data = CliRunner.DataFile("iris.csv");
        var output = Path.Combine(dir, "g.safetensors");
        File.WriteAllBytes(output, File.ReadAllBytes(iris.Weights));
        var old = File.ReadAllBytes(output);
        bool killedMidSave = false;
        for (int attempt = 0; attempt < 5 && !killedMidSave; attempt++)
        {
            File.WriteAllBytes(output, old);
            // 4-2500-2500-3 in float64: 6.3 M parameters, a 50 MB gradient file; saving it takes long enough to be caught.
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll"), "grad", data, "--target", "species", "--hidden", "2500,2500", "--dtype", "float64", "--out", output })
                start.ArgumentList.Add(a);
            using var child = Process.Start(start)!;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!child.HasExited && DateTime.UtcNow < deadline)
            {
                var temporaries = Directory.GetFiles(dir, ".g.safetensors.*.backprop-tmp");
                if (temporaries.Length > 0 && new FileInfo(temporaries[0]).Length > 0)
                {
                    child.Kill(); // SIGKILL
                    killedMidSave = true;
                    break;
                }
                Thread.SpinWait(1000);
            }
            child.WaitForExit();
            // Whatever the moment of the kill, the file is one whole file: the old one, or a complete new one.
            var now = File.ReadAllBytes(output);
            if (!now.AsSpan().SequenceEqual(old)) Assert.NotNull(SafeTensors.Read(output).Metadata["mode"]);
            else Assert.Equal(old, now);
            if (killedMidSave && !now.AsSpan().SequenceEqual(old)) killedMidSave = false; // the rename had happened: try again
        }
        Assert.True(killedMidSave, "the save was never caught in progress in 5 attempts");
        Assert.Equal(old, File.ReadAllBytes(output));
        Assert.NotEmpty(Directory.GetFiles(dir, "*.backprop-tmp"));

        // The next write into the folder removes the dead process's temporary file.
        var next = CliRunner.Run("predict", iris.Model, data, "--out", Path.Combine(dir, "p.csv"));
        Assert.True(next.ExitCode == 0, next.Error);
        Assert.Empty(Directory.GetFiles(dir, "*.backprop-tmp"));
        Assert.Equal(old, File.ReadAllBytes(output));
    }

    /// <summary>The CLI in a child process with binary stdout and, optionally, a file on stdin.</summary>
    internal static (int Code, byte[] Stdout, string Stderr) RunBinary(string[] args, string? stdin = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var output = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(output);
        var err = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            using (var input = File.OpenRead(stdin)) input.CopyTo(p.StandardInput.BaseStream);
            p.StandardInput.Close();
        }
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("backprop did not finish in 120 s"); }
        copy.Wait();
        return (p.ExitCode, output.ToArray(), err.Result);
    }
}
