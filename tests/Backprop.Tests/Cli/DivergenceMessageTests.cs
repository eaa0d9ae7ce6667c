using Backprop.Cli;

namespace Backprop.Tests.Cli;

/// <summary>A diverged run names the op or update that made the non-finite value and the setting most likely responsible.</summary>
public class DivergenceMessageTests
{
    private static readonly string Iris = CliRunner.DataFile("iris.csv");

    public static TheoryData<string, string[], string> Cases() => new()
    {
        { "rk4 step too large", ["train", Iris, "--target", "species", "--optimizer", "rk4", "--lr", "50", "--epochs", "50"],
            @"the optimizer's update \(Rk4GradientFlow\) left the weights '[0-9.a-z]+' non-finite\. Most likely cause: the integration step 50 is too large for Rk4GradientFlow's gradient flow.*\(--lr, the integration step\)\.$" },
        { "weight decay", ["train", Iris, "--target", "species", "--optimizer", "sgd", "--weight-decay", "1e6", "--epochs", "50"],
            @"op '[^']+' produced .* Most likely cause: weight decay 1E\+06 times learning rate 0\.05 .* lower the weight decay below 20 \(--weight-decay\)\.$" },
        { "learning rate", ["train", Iris, "--target", "species", "--optimizer", "sgd", "--lr", "100", "--epochs", "50"],
            @"op '[^']+' produced .* Most likely cause: lower the learning rate \(now 100\).*\(--lr\)\.$" },
        { "demo noise", ["demo", "--noise", "1e200", "--epochs", "5"],
            @"the inputs of the batch hold a non-finite value\. Most likely cause: .*\(--noise 1E\+200 made the points; use a smaller --noise\)\.$" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void DivergenceNamesTheOpAndTheSetting(string name, string[] args, string pattern)
    {
        var dir = CliRunner.TempDir();
        try
        {
            var withOutput = args[0] == "demo" ? [.. args, "--plot", Path.Combine(dir, "d.png")] : args.Concat(["--out", Path.Combine(dir, "m.safetensors")]).ToArray();
            var r = CliRunner.Run(withOutput);
            Assert.True(r.ExitCode == ExitCodes.Failure, $"{name}: exit {r.ExitCode}: {r.Error}");
            var line = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
            Assert.StartsWith("error: training diverged in epoch ", line);
            Assert.Matches(pattern, line);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
