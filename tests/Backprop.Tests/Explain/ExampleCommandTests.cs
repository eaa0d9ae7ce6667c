using System.Text.Json;
using System.Text.RegularExpressions;
using Backprop.Tests.Cli;

namespace Backprop.Tests.Explain;

/// <summary>
/// Every `explain` and `demo` example in the README and in their --help runs and gives a meaningful,
/// non-degenerate result: an explanation whose checks pass with 0 &lt; ŷ &lt; 1 and a non-zero backward
/// pass, a demo that learns. Examples that need a trained model file (model.safetensors) are run
/// against one trained here.
/// </summary>
public partial class ExampleCommandTests
{
    public static TheoryData<string> Examples()
    {
        var lines = new List<string>();
        string readme = File.ReadAllText(Path.Combine(ExplainTestData.RepoRoot(), "README.md"));
        foreach (Match block in ShellBlock().Matches(readme))
            lines.AddRange(block.Groups[1].Value.Split('\n').Select(l => l.Split(" # ")[0].Trim()));
        foreach (var command in new[] { "explain", "demo" })
        {
            string help = CliRunner.Run(command, "--help").Output;
            lines.AddRange(HelpExample().Matches(help).Select(m => m.Groups[1].Value.Trim()));
        }
        var data = new TheoryData<string>();
        foreach (var l in lines.Where(l => l.StartsWith("backprop explain ", StringComparison.Ordinal) || l.StartsWith("backprop demo ", StringComparison.Ordinal)).Distinct())
            data.Add(l);
        return data;
    }

    [Fact]
    public void TheExamplesAreFound() => Assert.True(Examples().Count >= 8, $"only {Examples().Count} examples found");

    [Theory]
    [MemberData(nameof(Examples))]
    public void TheExampleRunsAndIsNotDegenerate(string line)
    {
        string dir = CliRunner.TempDir();
        var args = Tokens().Matches(line["backprop ".Length..]).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Value).ToList();
        for (int i = 0; i < args.Count; i++)
            if (args[i].StartsWith("data/", StringComparison.Ordinal)) args[i] = CliRunner.DataFile(args[i]["data/".Length..]);
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "model.safetensors") args[i] = TrainedModel(dir, args.FirstOrDefault(a => a.EndsWith(".csv", StringComparison.Ordinal)) ?? "");
            if (args[i] is "--plot" or "--animate" or "--out" or "-o") args[i + 1] = Path.Combine(dir, Path.GetFileName(args[i + 1]));
        }
        if (args[0] == "explain")
        {
            int format = args.IndexOf("--format");
            bool graphOrPage = format >= 0 && args[format + 1] is not "json";
            if (!graphOrPage)
            {
                if (format >= 0) args.RemoveRange(format, 2);
                args.AddRange(["--format", "json"]);
                int o = args.IndexOf("--out");
                if (o >= 0) args.RemoveRange(o, 2);
            }
            var r = CliRunner.Run([.. args]);
            Assert.True(r.ExitCode == 0, $"{line}\n{r.Error}");
            if (graphOrPage) return;
            var root = JsonDocument.Parse(r.Output).RootElement;
            Assert.True(root.GetProperty("header").GetProperty("all_passed").GetBoolean(), line);
            var backward = root.GetProperty("backward").EnumerateArray().ToList();
            foreach (var step in backward.Where(s => s.GetProperty("name").GetString()!.StartsWith("dW", StringComparison.Ordinal)))
                Assert.True(Flatten(step.GetProperty("values")).Max(Math.Abs) > 1e-4, $"{line}: {step.GetProperty("name").GetString()} is all zeros");
            var output = root.GetProperty("forward").EnumerateArray().Where(s => s.GetProperty("name").GetString()!.StartsWith("a[", StringComparison.Ordinal)).Last();
            if (root.GetProperty("header").GetProperty("task").GetString() != "regression")
                Assert.All(Flatten(output.GetProperty("values")), p => Assert.InRange(p, 1e-4, 1 - 1e-4));
        }
        else
        {
            if (!args.Contains("--plot")) args.AddRange(["--plot", Path.Combine(dir, "demo.png")]);
            var r = CliRunner.Run([.. args]);
            Assert.True(r.ExitCode == 0, $"{line}\n{r.Error}");
            var accuracy = double.Parse(Regex.Match(Regex.Replace(r.Output, @"\s+", " "), @"test accuracy (\d+(\.\d+)?) ?%").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(accuracy >= 90, $"{line}: test accuracy {accuracy} %");
        }
    }

    private static string TrainedModel(string dir, string csv)
    {
        string target = Path.GetFileName(csv) switch { "iris.csv" => "species", "breast-cancer.csv" => "diagnosis", _ => "progression" };
        string model = Path.Combine(dir, "model.safetensors");
        var r = CliRunner.Run("train", csv, "--target", target, "--hidden", "8", "--epochs", "30", "--out", model);
        Assert.True(r.ExitCode == 0, r.Error);
        return model;
    }

    private static double[] Flatten(JsonElement e) => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flatten).ToArray() : [e.GetDouble()];

    [GeneratedRegex(@"```sh\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlock();

    [GeneratedRegex(@"(?:Examples?:|^)\s*(backprop (?:explain|demo) [^\n]*)", RegexOptions.Multiline)]
    private static partial Regex HelpExample();

    [GeneratedRegex(@"""([^""]*)""|\S+")]
    private static partial Regex Tokens();
}
