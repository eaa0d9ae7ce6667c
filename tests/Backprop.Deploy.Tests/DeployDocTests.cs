using static Backprop.Deploy.Tests.DeployTestFiles;

namespace Backprop.Deploy.Tests;

/// <summary>The .NET program in docs/deploy.md, taken from the page and run with dotnet run, predicts what backprop predict does.</summary>
public sealed class DeployDocTests
{
    /// <summary>The page's first csharp block.</summary>
    private static string Program()
    {
        var page = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "deploy.md"));
        int start = page.IndexOf("```csharp\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/deploy.md has no csharp block");
        start += "```csharp\n".Length;
        int end = page.IndexOf("```", start, StringComparison.Ordinal);
        return page[start..end];
    }

    [Fact]
    public void TheProgramIsTenLinesAndNeedsOnlyOnnxRuntime()
    {
        var code = Program().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)).ToArray();
        Assert.True(code.Length <= 10, $"the program has {code.Length} lines");
        Assert.DoesNotContain(code, l => l.Contains("Backprop", StringComparison.Ordinal));
        Assert.StartsWith("#:package Microsoft.ML.OnnxRuntime@1.31.1", code[0]);
    }

    [Fact]
    public void TheProgramPredictsWhatPredictPrints()
    {
        var dir = TempDir();
        var model = Path.Combine(dir, "model.safetensors");
        var onnx = Path.Combine(dir, "model.onnx");
        var train = RunBackprop("train", DataFile("iris.csv"), "--target", "species", "--hidden", "8", "--epochs", "60", "--out", model, "--json");
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.Equal(0, RunBackprop("export", model, "--onnx", onnx).ExitCode);
        var predictions = Path.Combine(dir, "predictions.csv");
        Assert.Equal(0, RunBackprop("predict", model, DataFile("iris.csv"), "--out", predictions).ExitCode);
        var (header, expected) = ReadSimpleCsv(predictions);
        var (dataHeader, rows) = ReadSimpleCsv(DataFile("iris.csv"));

        File.WriteAllText(Path.Combine(dir, "predict.cs"), Program());
        const int row = 100;
        var features = rows[row][..^1];                                  // the four measurements; species is last
        Assert.Equal("species", dataHeader[^1]);
        var run = Run("dotnet", ["run", "predict.cs", "--", onnx, .. features], dir, 600);
        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l[..l.IndexOf(':')], l => l[(l.IndexOf(':') + 2)..].Trim());
        Assert.Equal(expected[row][0], lines["label"]);
        var probabilities = lines["probabilities"].Split(' ').Select(ParseDouble).ToArray();
        var labels = header.Where(h => h.StartsWith("p_", StringComparison.Ordinal)).ToArray();
        Assert.Equal(labels.Length, probabilities.Length);
        for (int c = 0; c < labels.Length; c++)
            Assert.True(Math.Abs(probabilities[c] - ParseDouble(expected[row][Array.IndexOf(header, labels[c])])) <= 1e-5, $"{labels[c]}: {probabilities[c]} vs {expected[row][Array.IndexOf(header, labels[c])]}");
        Directory.Delete(dir, recursive: true);
    }
}
