using static Backprop.Deploy.Tests.DeployTestFiles;

namespace Backprop.Deploy.Tests;

/// <summary>backprop export: help, the file it writes, and one error line for each kind of bad input.</summary>
public sealed class ExportCommandTests
{
    private static string TrainSmall(string dir)
    {
        var model = Path.Combine(dir, "model.safetensors");
        var train = RunBackprop("train", DataFile("iris.csv"), "--target", "species", "--hidden", "4", "--epochs", "2", "--out", model, "--json");
        Assert.True(train.ExitCode == 0, train.Error);
        return model;
    }

    [Fact]
    public void HelpExplainsEveryOptionAndTheLayout()
    {
        var help = RunBackprop("export", "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var word in new[] { "--onnx", "MODEL", "features", "probabilities", "label", "class_index", "prediction", "opset 17", "docs/deploy.md" })
            Assert.Contains(word, help.Output);
        Assert.Contains("export", RunBackprop("--help").Output);
    }

    [Fact]
    public void WritesAnOnnxFileAndReplacesAnOldOne()
    {
        var dir = TempDir();
        var model = TrainSmall(dir);
        var onnx = Path.Combine(dir, "model.onnx");
        File.WriteAllText(onnx, "old");
        var export = RunBackprop("export", model, "--onnx", onnx);
        Assert.True(export.ExitCode == 0, export.Error);
        Assert.Contains("4-4-3 relu network", export.Error);
        var bytes = File.ReadAllBytes(onnx);
        Assert.True(bytes.Length > 500);
        Assert.Equal(0x08, bytes[0]);                                  // field 1 (ir_version), varint
        Assert.Equal(8, bytes[1]);                                     // IR version 8
        Assert.DoesNotContain(Directory.GetFiles(dir), f => Path.GetFileName(f).Contains("tmp", StringComparison.OrdinalIgnoreCase));
        // The same model exports to the same bytes.
        var again = Path.Combine(dir, "again.onnx");
        Assert.Equal(0, RunBackprop("export", model, "--onnx", again).ExitCode);
        Assert.Equal(bytes, File.ReadAllBytes(again));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void BadInputGetsOneErrorLine()
    {
        var dir = TempDir();
        var model = TrainSmall(dir);
        var notAModel = Path.Combine(dir, "data.csv");
        File.WriteAllText(notAModel, "a,b\n1,2\n");
        var cases = new (string[] Args, string Expected)[]
        {
            (["export", Path.Combine(dir, "missing.safetensors"), "--onnx", Path.Combine(dir, "x.onnx")], "file not found"),
            (["export", model, "--onnx", Path.Combine(dir, "no-such-folder", "x.onnx")], "does not exist"),
            (["export", model, "--onnx", model], "is the input"),
            (["export", model, "--onnx", dir], "is a folder"),
            (["export", notAModel, "--onnx", Path.Combine(dir, "x.onnx")], "data.csv"),
        };
        foreach (var (args, expected) in cases)
        {
            var result = RunBackprop(args);
            Assert.NotEqual(0, result.ExitCode);
            var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.StartsWith("error: ", lines[0]);
            Assert.Contains(expected, lines[0]);
            Assert.DoesNotContain("   at ", result.Error);
        }
        Assert.False(File.Exists(Path.Combine(dir, "x.onnx")));
        var missingOption = RunBackprop("export", model);
        Assert.NotEqual(0, missingOption.ExitCode);
        Assert.Contains("--onnx", missingOption.Error);
        Directory.Delete(dir, recursive: true);
    }
}
