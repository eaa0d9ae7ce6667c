using System.Diagnostics;
using Backprop.Cli;

namespace Backprop.Tests.Cli;

/// <summary>
/// Names that look like Spectre markup ('[', '[/]', '[red]') in folder and file names, column names and
/// labels, fed through every command: each runs, exits 0 and shows the names literally.
/// </summary>
public sealed class MarkupNamesTests : IDisposable
{
    private readonly string dir = Path.Combine(CliRunner.TempDir(), "run[red] [/]x[");

    public MarkupNamesTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);

    private string Data()
    {
        var path = Path.Combine(dir, "data[1].csv");
        var rng = new Rng(5);
        using var w = new StreamWriter(path);
        w.WriteLine("\"[bold]a\",b[/],\"lab[el\"");
        for (int i = 0; i < 120; i++)
        {
            double a = rng.NextNormal(), b = rng.NextNormal();
            w.WriteLine(FormattableString.Invariant($"{a},{b},{(a + b > 0 ? "[red]yes" : "no[/]")}"));
        }
        return path;
    }

    [Fact]
    public void EveryCommandShowsMarkupLikeNamesLiterally()
    {
        var data = Data();
        var model = Path.Combine(dir, "m[x].safetensors");
        void Ok(CliRunner.Result r, string what) => Assert.True(r.ExitCode == 0 && !r.Error.Contains("   at "), $"{what}: exit {r.ExitCode}\n{r.Error}");

        var train = CliRunner.Run("train", data, "--target", "lab[el", "--epochs", "3", "--out", model, "--plot", Path.Combine(dir, "c[1].png"));
        Ok(train, "train");
        Assert.Contains("m[x].safetensors", train.Output.ReplaceLineEndings(""));

        var evaluate = CliRunner.Run("evaluate", model, data);
        Ok(evaluate, "evaluate");
        Assert.Contains("data[1].csv", evaluate.Output);
        Assert.Contains("[red]yes", evaluate.Output);
        Assert.Contains("no[/]", evaluate.Output);

        var inspect = CliRunner.Run("inspect", model);
        Ok(inspect, "inspect");
        Assert.Contains("lab[el", inspect.Output);
        Assert.Contains("[bold]a", inspect.Output);

        var predict = CliRunner.Run("predict", model, data, "--out", Path.Combine(dir, "p[2].csv"));
        Ok(predict, "predict");
        Assert.Contains("p[2].csv", predict.Error);

        Ok(CliRunner.Run("explain", model, data, "--rows", "0"), "explain with a model");
        Ok(CliRunner.Run("explain", data, "--target", "lab[el", "--out", Path.Combine(dir, "e[3].md"), "--format", "markdown"), "explain --out");
        Ok(CliRunner.Run("grad", data, "--target", "lab[el"), "grad");
        Ok(CliRunner.Run("grad", data, "--target", "lab[el", "--out", Path.Combine(dir, "g[4].safetensors")), "grad --out");
        var demo = CliRunner.Run("demo", "--epochs", "2", "--samples", "40", "--plot", Path.Combine(dir, "d[5].png"));
        Ok(demo, "demo");
        Assert.Contains("d[5].png", demo.Output.ReplaceLineEndings(""));
        Ok(CliRunner.Run("modes", "--widths", "2,4", "--inputs", "2", "--batch-size", "4", "--repeats", "1", "--plot", Path.Combine(dir, "m[6].svg")), "modes");

        // Errors naming such files are plain lines too.
        var missing = CliRunner.Run("evaluate", model, Path.Combine(dir, "nope[.csv"));
        Assert.Equal(ExitCodes.Failure, missing.ExitCode);
        Assert.Contains("nope[.csv", missing.Error);
        Assert.DoesNotContain("   at ", missing.Error);
    }
}
