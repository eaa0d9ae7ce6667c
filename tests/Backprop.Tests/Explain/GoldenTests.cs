using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using Backprop.Explain;

namespace Backprop.Tests.Explain;

/// <summary>
/// Golden files for the text and Markdown output of a tiny fixed network. A change in the output fails
/// with the first differing lines; to accept a change on purpose, run the tests with
/// BACKPROP_UPDATE_GOLDEN=1 and review the diff of tests/Backprop.Tests/Explain/Golden/.
/// </summary>
public partial class GoldenTests
{
    /// <summary>2 inputs, 2 ReLU units, 1 sigmoid output; m = 2, one example of each class.</summary>
    internal static MlpExplanation Tiny(ExplainLayout layout) =>
        Explainer.Explain(
            [
                new ExplainLayer(Tensor.FromArray(new double[,] { { 0.5, -0.25 }, { -1.0, 0.75 } }, DType.Float64), Tensor.FromArray(new double[] { 0.1, -0.2 }, [2], DType.Float64), "relu"),
                new ExplainLayer(Tensor.FromArray(new double[,] { { 1.5, -2.0 } }, DType.Float64), Tensor.FromArray(new double[] { 0.25 }, [1], DType.Float64), "sigmoid"),
            ],
            ExplainTask.Binary,
            Tensor.FromArray(new double[,] { { 1.0, 2.0 }, { -0.5, 1.0 } }, DType.Float64),
            Tensor.FromArray(new double[] { 1, 0 }, [2], DType.Float64),
            new ExplainOptions { Layout = layout, Source = "a fixed example" });

    [Fact]
    public void TextColumns() => AssertGolden("tiny-columns.txt", Tiny(ExplainLayout.Columns).ToText());

    [Fact]
    public void TextRows() => AssertGolden("tiny-rows.txt", Tiny(ExplainLayout.Rows).ToText());

    [Fact]
    public void MarkdownColumns() => AssertGolden("tiny-columns.md", Tiny(ExplainLayout.Columns).ToMarkdown());

    /// <summary>
    /// The sizes of the check errors (1e-16, 3e-11) depend on the order of floating-point sums, which the
    /// vectorised kernels choose by CPU; they are replaced by a placeholder here and tested elsewhere.
    /// </summary>
    internal static string Normalize(string s) => ErrorSize().Replace(s.Replace("\r\n", "\n"), "${label}‹err›");

    [GeneratedRegex(@"(?<label>(max \|error\||largest error) )[-0-9.e]+")]
    private static partial Regex ErrorSize();

    private static void AssertGolden(string file, string actual, [CallerFilePath] string thisFile = "")
    {
        actual = Normalize(actual);
        string sourcePath = Path.Combine(Path.GetDirectoryName(thisFile)!, "Golden", file);
        if (Environment.GetEnvironmentVariable("BACKPROP_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(sourcePath, actual);
            return;
        }
        string expectedPath = Path.Combine(AppContext.BaseDirectory, "Explain", "Golden", file);
        Assert.True(File.Exists(expectedPath), $"Golden file {file} is missing; run with BACKPROP_UPDATE_GOLDEN=1 to create it.");
        string expected = File.ReadAllText(expectedPath).Replace("\r\n", "\n");
        if (expected == actual) return;
        Assert.Fail($"Output differs from Golden/{file} (run with BACKPROP_UPDATE_GOLDEN=1 to accept):\n{Diff(expected, actual)}");
    }

    /// <summary>The first differing line with two lines of context, as "-expected" / "+actual".</summary>
    internal static string Diff(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        int i = 0;
        while (i < e.Length && i < a.Length && e[i] == a[i]) i++;
        var sb = new StringBuilder($"first difference at line {i + 1}\n");
        for (int k = Math.Max(0, i - 2); k < i; k++) sb.Append("  ").Append(e[k]).Append('\n');
        for (int k = i; k < Math.Min(e.Length, i + 3); k++) sb.Append("- ").Append(e[k]).Append('\n');
        for (int k = i; k < Math.Min(a.Length, i + 3); k++) sb.Append("+ ").Append(a[k]).Append('\n');
        return sb.ToString();
    }

    [Fact]
    public void TheDiffShowsTheFirstChangedLine()
    {
        var diff = Diff("a\nb\nc\nd", "a\nb\nX\nd");
        Assert.Contains("first difference at line 3", diff);
        Assert.Contains("- c", diff);
        Assert.Contains("+ X", diff);
    }
}
