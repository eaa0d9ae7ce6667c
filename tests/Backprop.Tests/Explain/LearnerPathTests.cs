using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Backprop.Explain;
using Backprop.Tests.Cli;

namespace Backprop.Tests.Explain;

/// <summary>Issue #11: the parameters, the update, one entry's chain, the forward-mode scheme, the conventions, readable inputs.</summary>
public class LearnerPathTests
{
    private static MlpExplanation Iris(ExplainOptions options)
    {
        var rng = new Rng(5);
        var x = Tensor.RandomNormal([3, 4], rng, dtype: DType.Float64);
        return Explainer.Explain(ExplainTestData.RandomLayers(4, [4, 5, 4, 3], ["tanh", "relu", "softmax"]), x, [0, 1, 2], options);
    }

    [Theory]
    [InlineData(ExplainLayout.Columns)]
    [InlineData(ExplainLayout.Rows)]
    public void BothConventionsGiveIdenticalDwAndDb_AndDzIsMTimesDelta(ExplainLayout layout)
    {
        var course = Iris(new ExplainOptions { Layout = layout });
        var mean = Iris(new ExplainOptions { Layout = layout, Convention = ExplainConvention.MeanInDelta });
        Assert.True(course.AllPassed, course.ToText());
        Assert.True(mean.AllPassed, mean.ToText());
        foreach (var l in new[] { 1, 2, 3 })
        {
            AssertEqual(mean.Step($"dW[{l}]").Values.ToDoubleArray(), course.Step($"dW[{l}]").Values.ToDoubleArray(), 1e-14);
            AssertEqual(mean.Step($"db[{l}]").Values.ToDoubleArray(), course.Step($"db[{l}]").Values.ToDoubleArray(), 1e-14);
            AssertEqual(mean.Step($"delta[{l}]").Values.ToDoubleArray().Select(v => 3 * v).ToArray(), course.Step($"dZ[{l}]").Values.ToDoubleArray(), 1e-14);
        }
        Assert.Equal("dZ[3] = A[3] − Y", course.Step("dZ[3]").Formula.Text);
        Assert.Equal(layout == ExplainLayout.Columns ? "dW[2] = (1/m) dZ[2] A[1]ᵀ" : "dW[2] = (1/m) dZ[2]ᵀ A[1]", course.Step("dW[2]").Formula.Text);
        Assert.Equal(layout == ExplainLayout.Columns ? "dA[1] = W[2]ᵀ dZ[2]" : "dA[1] = dZ[2] W[2]", course.Step("dA[1]").Formula.Text);
        Assert.Contains(course.Step("dZ[3]").Notes, n => n.Contains("Where the 1/m went") && n.Contains("dW and db"));
        Assert.Contains(mean.Step("delta[3]").Notes, n => n.Contains("Where the 1/m went") && n.Contains("m = 3 times smaller"));
        // A[L] − Y per example: the columns of a softmax minus one-hot sum to zero.
        var dz = course.Step("dZ[3]").Values.ToDoubleArray();
        Assert.Equal(0, dz.Sum(), 1e-12);
    }

    [Fact]
    public void TheParametersAreShownBeforeTheForwardPassInEveryFormat()
    {
        var e = Iris(new ExplainOptions());
        Assert.Equal(["W[1]", "b[1]", "W[2]", "b[2]", "W[3]", "b[3]"], e.Parameters.Select(p => p.Name));
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"], e.Parameters.Select(p => p.ParameterName!));
        string text = e.ToText();
        Assert.True(text.IndexOf("W[1] (0.weight)", StringComparison.Ordinal) is > 0 and var i && i < text.IndexOf("FORWARD PASS", StringComparison.Ordinal));
        Assert.Contains("0.weight", e.ToMarkdown());
        Assert.Contains("<code>4.bias</code>", e.ToHtml());
        var json = JsonDocument.Parse(e.ToJson()).RootElement;
        var w2 = json.GetProperty("parameters")[2];
        Assert.Equal("2.weight", w2.GetProperty("pytorch_name").GetString());
        Assert.Equal(4, w2.GetProperty("values").GetArrayLength());
        Assert.Equal(5, w2.GetProperty("values")[0].GetArrayLength());
        Assert.Equal(3, json.GetProperty("parameters")[5].GetProperty("values").GetArrayLength()); // b[3] flat, as PyTorch
    }

    [Fact]
    public void TheUpdateStepsAgainstTheGradientAndTheLossFalls()
    {
        var e = Iris(new ExplainOptions { LearningRate = 0.1 });
        var u = e.Update!;
        Assert.True(e.AllPassed, e.ToText());
        for (int l = 1; l <= 3; l++)
        {
            var w = e.Step($"W[{l}]").Values.ToDoubleArray();
            var dw = e.Step($"dW[{l}]").Values.ToDoubleArray();
            var after = u.Steps.Single(s => s.Name == $"W[{l}] updated").Values.ToDoubleArray();
            AssertEqual(w.Select((v, i) => v - 0.1 * dw[i]).ToArray(), after, 1e-15);
        }
        Assert.True(u.LossAfter < u.LossBefore, u.Verdict);
        Assert.Equal(e.Step("loss").Values.Item(), u.LossBefore, 1e-15);
        Assert.StartsWith("The loss on these rows fell", u.Verdict);
        // A small step changes the loss by about −α‖∇L‖².
        var small = Iris(new ExplainOptions { LearningRate = 1e-4 }).Update!;
        Assert.Equal(small.PredictedChange, small.LossAfter - small.LossBefore, Math.Abs(small.PredictedChange) * 0.02);
        var json = JsonDocument.Parse(e.ToJson()).RootElement.GetProperty("update");
        Assert.Equal(u.LossAfter, json.GetProperty("loss_after").GetDouble(), 1e-15);
        Assert.True(json.GetProperty("fell").GetBoolean());

        // Far too large a step overshoots, and the text says why.
        var big = Iris(new ExplainOptions { LearningRate = 50 }).Update!;
        Assert.True(big.LossAfter > big.LossBefore);
        Assert.Contains("too large", big.Verdict);
    }

    [Theory]
    [InlineData("W[1][0,2]", ExplainConvention.Course)]
    [InlineData("W[1][4,3]", ExplainConvention.MeanInDelta)]
    [InlineData("b[2][1]", ExplainConvention.Course)]
    [InlineData("W[3][2,0]", ExplainConvention.Course)]
    public void OneEntrysChainOfFactorsSumsToThatEntryOfDw(string entry, ExplainConvention convention)
    {
        var e = Iris(new ExplainOptions { Entry = entry, Convention = convention });
        var chain = e.Entry!;
        Assert.True(chain.Check.Passed, e.ToText());
        var m = Regex.Match(entry, @"(W|b)\[(\d)\]\[(\d)(?:,(\d))?\]");
        int l = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), i = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        bool weight = m.Groups[1].Value == "W";
        var grad = e.Step(weight ? $"dW[{l}]" : $"db[{l}]").Values.ToDoubleArray();
        int flat = weight ? i * e.LayerSizes[l - 1] + int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture) : i;
        Assert.Equal(grad[flat], chain.Total, 1e-14);
        Assert.Equal(grad[flat], chain.Gradient, 1e-15);
        // m × Π later widths terms; each shown term is the product of its factors.
        long paths = 1;
        for (int t = l + 1; t <= 3; t++) paths *= e.LayerSizes[t];
        Assert.Equal(3 * paths, chain.TermCount);
        foreach (var term in chain.Terms)
            Assert.Equal(term.Factors.Aggregate(1.0, (p, f) => p * f.Value), term.Product, 1e-15);
        Assert.Equal(chain.Total, chain.Scale * chain.ExampleSums.Sum(), 1e-14);
        Assert.Equal(convention == ExplainConvention.Course ? 1.0 / 3 : 1.0, chain.Scale);
        Assert.Equal(2 * (3 - l) + 1 + (weight ? 1 : 0), chain.Terms[0].Factors.Count);
        var json = JsonDocument.Parse(e.ToJson()).RootElement.GetProperty("entry");
        Assert.Equal(chain.TermCount, json.GetProperty("term_count").GetInt64());
        Assert.True(json.GetProperty("terms")[0].GetProperty("factors").GetArrayLength() >= 2);
    }

    [Theory]
    [InlineData("W[4][0,0]", "layer 4 does not exist")]
    [InlineData("W[1][5,0]", "unit 5 is past layer 1's 5 units")]
    [InlineData("W[1][0]", "give two indices")]
    [InlineData("b[1][0,1]", "give one index")]
    [InlineData("w1", "is not a parameter entry")]
    public void ABadEntrySaysWhatIsWrong(string entry, string message) =>
        Assert.Contains(message, Assert.Throws<BackpropException>(() => Iris(new ExplainOptions { Entry = entry })).Message);

    [Fact]
    public void ForwardModeCarriesTangentsAndArrivesAtTheSameDw()
    {
        var e = Iris(new ExplainOptions { ForwardMode = true });
        var fm = e.ForwardMode!;
        Assert.True(e.AllPassed, e.ToText());
        for (int l = 1; l <= 3; l++)
        {
            AssertEqual(e.Step($"dW[{l}]").Values.ToDoubleArray(), fm.Gradients.Single(g => g.Name == $"dW[{l}] forward mode").Values.ToDoubleArray(), 1e-14);
            AssertEqual(e.Step($"db[{l}]").Values.ToDoubleArray(), fm.Gradients.Single(g => g.Name == $"db[{l}] forward mode").Values.ToDoubleArray(), 1e-14);
        }
        // For one example and layer k, ∂a[l]/∂W[k] is (n_l, n_k, n_{k−1}).
        Assert.Equal(new[] { 4, 5, 4 }, fm.Layers[1].Tangents[0].Shape);
        Assert.Equal("∂a[2]/∂W[1]", fm.Layers[1].Tangents[0].Name);
        Assert.Equal(new[] { 3, 4, 5 }, fm.Layers[2].Tangents[1].Shape);
        Assert.True(fm.Costs[1].DerivativeMultiplyAdds > fm.Costs[0].DerivativeMultiplyAdds);
        Assert.Contains("P = ", fm.Answer);
        Assert.Contains("numbers held", e.ToText());
        var json = JsonDocument.Parse(e.ToJson()).RootElement.GetProperty("forward_mode");
        Assert.Equal(2, json.GetProperty("costs").GetArrayLength());
    }

    [Fact]
    public void ForwardModeMultiplyAddsMatchACountByHand()
    {
        // 2 → 2 (tanh) → 1, m = 2. Per example: layer 1 scales (2 rows × 2·3 columns) = 12; layer 2 multiplies
        // W[2] (1×2) into the layer-1 block (2 × 6) = 12; combining 1 output with blocks of 6 and 3 = 9: 33.
        var x = Tensor.FromArray(new double[,] { { 0.5, -1 }, { 2, 0.25 } });
        var layers = ExplainTestData.RandomLayers(2, [2, 2, 1], ["tanh", "sigmoid"]);
        var fm = Explainer.Explain(layers, ExplainTask.Binary, x, Tensor.FromArray(new double[] { 1, 0 }, 2), new ExplainOptions { ForwardMode = true }).ForwardMode!;
        Assert.Equal(2 * 33, fm.Costs[1].DerivativeMultiplyAdds);
        Assert.Equal(2 * (2 * 2 + 2 * 1), fm.Costs[0].ForwardMultiplyAdds);
        // Reverse: dW[2] 2 + db[2] 1 + dA[1] 2 + ⊙ 2, then dW[1] 4 + db[1] 2: 13 per example.
        Assert.Equal(2 * 13, fm.Costs[0].DerivativeMultiplyAdds);
    }

    [Fact]
    public void TheJsonHeaderCarriesWhatACheckerNeeds()
    {
        var r = CliRunner.Run("explain", CliRunner.DataFile("iris.csv"), "--target", "species", "--hidden", "4", "--format", "json", "--lr", "0.1", "--entry", "W[1][0,2]", "--mode", "forward");
        Assert.True(r.ExitCode == 0, r.Error);
        var root = JsonDocument.Parse(r.Output).RootElement;
        var h = root.GetProperty("header");
        Assert.Equal("4 → 4 (ReLU) → 3 (softmax)", h.GetProperty("network").GetString());
        Assert.Equal(["ReLU", "softmax"], h.GetProperty("activations").EnumerateArray().Select(a => a.GetString()!));
        Assert.Contains("cross-entropy", h.GetProperty("loss").GetString());
        Assert.Equal(["sepal_length_(cm)", "sepal_width_(cm)", "petal_length_(cm)", "petal_width_(cm)"], h.GetProperty("feature_names").EnumerateArray().Select(a => a.GetString()!));
        Assert.Equal("float64", h.GetProperty("dtype").GetString());
        Assert.Contains("standardised", h.GetProperty("preprocessing").GetString());
        Assert.Equal("course", h.GetProperty("convention").GetString());
        // Default rows: the first row of each class, so the batch never holds one class only.
        Assert.Equal([0, 50, 100], h.GetProperty("rows").EnumerateArray().Select(v => v.GetInt32()));
        foreach (var section in new[] { "parameters", "forward", "backward", "update", "entry", "forward_mode" }) Assert.True(root.TryGetProperty(section, out _), section);
        Assert.True(h.GetProperty("all_passed").GetBoolean());
    }

    [Fact]
    public void TheHelpExampleGivesANonDegenerateBackwardPass()
    {
        // explain --help's first example: standardised inputs and rows of both classes give 0 < ŷ < 1 and a non-zero dZ.
        var r = CliRunner.Run("explain", CliRunner.DataFile("breast-cancer.csv"), "--target", "diagnosis", "--hidden", "3", "--format", "json");
        Assert.True(r.ExitCode == 0, r.Error);
        var root = JsonDocument.Parse(r.Output).RootElement;
        var yHat = root.GetProperty("forward").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "a[2]").GetProperty("values")[0].EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.All(yHat, p => Assert.InRange(p, 0.01, 0.99));
        var targets = root.GetProperty("header").GetProperty("source").GetString()!;
        Assert.Contains("malignant", targets);
        Assert.Contains("benign", targets);
        foreach (var name in new[] { "dZ[2]", "dW[1]", "dZ[1]" })
        {
            var values = Flatten(root.GetProperty("backward").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name).GetProperty("values"));
            Assert.True(values.Max(Math.Abs) > 1e-3, $"{name} is (nearly) all zeros");
        }
        var help = CliRunner.Run("explain", "--help").Output;
        Assert.Contains("backprop explain data/breast-cancer.csv --target diagnosis --hidden 3", help);
        foreach (var option in new[] { "--convention", "--lr", "--entry", "--mode", "--raw", "--rows" }) Assert.Contains(option, help);
    }

    [Fact]
    public void RowRangesAndFeatureNamesAndRawInputs()
    {
        Assert.Equal([0, 1, 2, 3, 4, 50], Backprop.Cli.Commands.ExplainCommand.ParseRows("0-4,50"));
        Assert.Equal([7], Backprop.Cli.Commands.ExplainCommand.ParseRows(" 7 "));
        var bad = CliRunner.Run("explain", CliRunner.DataFile("iris.csv"), "--target", "species", "--rows", "4-2");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("error:", bad.Error);
        Assert.Contains("runs backwards", bad.Error);

        var text = CliRunner.Run("explain", CliRunner.DataFile("iris.csv"), "--target", "species", "--hidden", "2", "--rows", "0-1,50");
        Assert.True(text.ExitCode == 0, text.Error);
        Assert.Contains("⎤  sepal_length_(cm)", text.Output);
        Assert.Contains("petal_width", text.Output);
        Assert.Contains("rows 0, 1, 50", text.Output);
        Assert.Contains("standardised: (x − mean)/sd per feature, mean and sd of the", text.Output);

        var raw = CliRunner.Run("explain", CliRunner.DataFile("iris.csv"), "--target", "species", "--hidden", "2", "--rows", "0", "--raw", "--format", "json");
        var a0 = JsonDocument.Parse(raw.Output).RootElement.GetProperty("forward")[0].GetProperty("values");
        Assert.Equal(5.1, a0[0][0].GetDouble(), 1e-12); // iris row 0 as given
        Assert.StartsWith("raw", JsonDocument.Parse(raw.Output).RootElement.GetProperty("header").GetProperty("preprocessing").GetString());
    }

    [Fact]
    public void GradCheckOnAScalarFunctionReportsTheGradientItself()
    {
        // f(x, y) = x² y at (2, 3): ∂f/∂x = 2xy = 12, ∂f/∂y = x² = 4.
        var result = GradCheck.Check(v => v[0] * v[0] * v[1], [Tensor.Scalar(2.0, DType.Float64), Tensor.Scalar(3.0, DType.Float64)]);
        Assert.True(result.Passed, result.ToString());
        Assert.True(result.ScalarOutput);
        Assert.Equal(12, result.Inputs[0].AnalyticValues[0], 1e-12);
        Assert.Equal(4, result.Inputs[1].AnalyticValues[0], 1e-12);
        Assert.Equal(12, result.Inputs[0].NumericValues[0], 1e-6);
        Assert.Equal(4, result.Inputs[1].Analytic, 1e-12);
        Assert.Contains("analytic ∂f/∂x = [12]", result.ToString());
    }

    [Theory]
    [InlineData("dot")]
    [InlineData("mermaid")]
    [InlineData("trace")]
    public void GraphExportsUseTheCoursesNamesAndLabelEveryLine(string format)
    {
        var r = CliRunner.Run("explain", CliRunner.DataFile("iris.csv"), "--target", "species", "--hidden", "3", "--format", format);
        Assert.True(r.ExitCode == 0, r.Error);
        foreach (var name in new[] { "x", "W[1]", "b[1]", "z[1]", "a[1]", "W[2]", "b[2]", "z[2]", "L" })
            Assert.Contains(format == "trace" ? $"{name}" : $"\"{name}", r.Output.Replace("[/\"", "\"").Replace("([\"", "\"").Replace("[label=\"", "\""));
        Assert.DoesNotContain("0.weight", r.Output);
        if (format == "trace")
        {
            // Every VJP line is labelled, also after a constant input (y in y · log softmax).
            var lines = r.Output.Split('\n');
            Assert.All(lines.Where(l => l.Contains("+=")), l => Assert.Contains("VJP", l));
        }
        else
        {
            var edges = r.Output.Split('\n').Where(l => l.Contains(format == "dot" ? " -> " : " -->")).ToList();
            Assert.NotEmpty(edges);
            Assert.All(edges, e => Assert.True(e.Contains("VJP") || e.Contains("constant input"), e));
        }
    }

    [Fact]
    public void TheHtmlHeadsStepsWithSymbolsAndWritesNotesInMathMl()
    {
        string html = Iris(new ExplainOptions { Convention = ExplainConvention.MeanInDelta }).ToHtml();
        Assert.Contains("<h3><math><mrow><msup><mi>δ</mi>", html);
        Assert.DoesNotContain("<h3>delta[", html);
        Assert.DoesNotContain("e^{", html);
        Assert.Contains("<li>The transpose gives <math><mi mathvariant=\"normal\">d</mi><msup><mi>a</mi>", html);
        Assert.Contains("\"DejaVu Math TeX Gyre\"", html);
    }

    [Fact]
    public void LogAxesGetRoundTicks()
    {
        var labels = Backprop.Cli.Plots.LogTickLabels(1, 4, fine: false).Where(t => t.Label is not null).Select(t => t.Label!).ToArray();
        Assert.Equal(new[] { "10", "100", "1,000", "10,000" }, labels);
        var fine = Backprop.Cli.Plots.LogTickLabels(0, 1, fine: true).Where(t => t.Label is not null).Select(t => t.Label!).ToArray();
        Assert.Equal(new[] { "1", "2", "5", "10" }, fine);
    }

    private static double[] Flatten(JsonElement e) => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flatten).ToArray() : [e.GetDouble()];

    private static void AssertEqual(double[] expected, double[] actual, double tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"[{i}] {expected[i]} vs {actual[i]}");
    }
}
