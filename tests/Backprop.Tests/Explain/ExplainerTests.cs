using Backprop.Explain;
using static Backprop.Tests.Explain.ExplainTestData;

namespace Backprop.Tests.Explain;

/// <summary>
/// The explained steps of math.md §1–3: every number equals the hand formulas (independent loops here),
/// the engine (the eager API, as a PyTorch user would run it) and central differences.
/// </summary>
public class ExplainerTests
{
    /// <summary>The math.md §3 network (ReLU hidden, sigmoid output, BCE) on rows of the shipped data.</summary>
    [Theory]
    [InlineData(ExplainLayout.Columns)]
    [InlineData(ExplainLayout.Rows)]
    public void BreastCancerRows_EveryNumberEqualsTheHandFormulasAndTheEngine(ExplainLayout layout)
    {
        var (x, y) = BreastCancerRows(0, 19, 20, 1);
        var layers = RandomLayers(3, [30, 4, 1], ["relu", "sigmoid"]);
        var e = Explainer.Explain(layers, ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta, Layout = layout });

        var hand = ReluSigmoidBceByHand(ToMatrix(layers[0].Weight), layers[0].Bias.ToDoubleArray(), ToMatrix(layers[1].Weight),
            layers[1].Bias.ToDoubleArray(), ToMatrix(x), y.ToDoubleArray());
        bool cols = layout == ExplainLayout.Columns;
        Tensor AsColumns(string name) => cols ? e.Step(name).Values : e.Step(name).Values.Transpose();
        const double tol = 1e-12;
        AssertClose(hand.Z1, AsColumns("z[1]"), tol, "z[1]");
        AssertClose(hand.A1, AsColumns("a[1]"), tol, "a[1]");
        AssertClose(hand.Z2, AsColumns("z[2]"), tol, "z[2]");
        AssertClose(hand.A2, AsColumns("a[2]"), tol, "a[2]");
        Assert.Equal(hand.Loss, e.Step("loss").Values.Item(), tol);
        AssertClose(hand.Delta2, AsColumns("delta[2]"), tol, "delta[2]");
        AssertClose(hand.DW2, e.Step("dW[2]").Values, tol, "dW[2]");
        AssertClose(hand.Db2, e.Step("db[2]").Values, tol, "db[2]");
        AssertClose(hand.DA1, AsColumns("da[1]"), tol, "da[1]");
        AssertClose(hand.Delta1, AsColumns("delta[1]"), tol, "delta[1]");
        AssertClose(hand.DW1, e.Step("dW[1]").Values, tol, "dW[1]");
        AssertClose(hand.Db1, e.Step("db[1]").Values, tol, "db[1]");

        var (dW, db, loss) = EagerGradients(layers, ExplainTask.Binary, x, y);
        Assert.Equal(loss, e.Step("loss").Values.Item(), tol);
        for (int l = 1; l <= 2; l++)
        {
            AssertClose(dW[l - 1].ToDoubleArray(), e.Step($"dW[{l}]").Values, tol, $"engine dW[{l}]");
            AssertClose(db[l - 1].ToDoubleArray(), e.Step($"db[{l}]").Values, tol, $"engine db[{l}]");
        }

        Assert.True(e.AllPassed, e.ToText());
        Assert.True(e.MaxEngineError < 1e-13, $"engine error {e.MaxEngineError}");
        Assert.True(e.MaxFiniteDifferenceError < 1e-7, $"finite-difference error {e.MaxFiniteDifferenceError}");
        foreach (var step in e.Backward)
        {
            Assert.NotNull(step.Check.FiniteDifferenceMaxAbsError);
            Assert.Equal("✓", step.Check.Mark);
        }
        Assert.Equal(new[] { "a[0]", "z[1]", "a[1]", "z[2]", "a[2]", "loss" }, e.Forward.Select(s => s.Name));
        Assert.Equal(new[] { "delta[2]", "dW[2]", "db[2]", "da[1]", "delta[1]", "dW[1]", "db[1]" }, e.Backward.Select(s => s.Name));
    }

    [Fact]
    public void TheShapesMultipliedAreTheCourseShapes()
    {
        var (x, y) = BreastCancerRows(0, 19);
        var layers = RandomLayers(3, [30, 3, 1], ["relu", "sigmoid"]);
        var columns = Explainer.Explain(layers, ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta });
        Assert.Equal("(3, 30)·(30, 2) + (3, 1) → (3, 2)", columns.Step("z[1]").ShapeText);
        Assert.Equal("(3, 2)·(2, 30) → (3, 30)", columns.Step("dW[1]").ShapeText);
        Assert.Equal("(3, 1)·(1, 2) → (3, 2)", columns.Step("da[1]").ShapeText);
        Assert.Equal("z[1] = W[1] a[0] + b[1]", columns.Step("z[1]").Formula.Text);
        Assert.Equal("dW[1] = δ[1] a[0]ᵀ", columns.Step("dW[1]").Formula.Text);
        Assert.Equal("da[1] = W[2]ᵀ δ[2]", columns.Step("da[1]").Formula.Text);
        Assert.Equal("δ[1] = da[1] ⊙ 1[z[1] > 0]", columns.Step("delta[1]").Formula.Text);
        Assert.Equal("δ[2] = (ŷ − y) / m", columns.Step("delta[2]").Formula.Text);
        Assert.Contains(columns.Step("delta[2]").Notes, n => n.Contains("cancels to ∂ℓ/∂z = ŷ − y"));
        Assert.Contains(columns.Step("delta[2]").Notes, n => n.Contains("1/m") && n.Contains("m = 2"));

        var rows = Explainer.Explain(layers, ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta, Layout = ExplainLayout.Rows });
        Assert.Equal("(2, 30)·(30, 3) + (3,) → (2, 3)", rows.Step("z[1]").ShapeText);
        Assert.Equal("z[1] = a[0] W[1]ᵀ + b[1]", rows.Step("z[1]").Formula.Text);
        Assert.Equal("dW[1] = δ[1]ᵀ a[0]", rows.Step("dW[1]").Formula.Text);
        Assert.Equal("da[1] = δ[2] W[2]", rows.Step("da[1]").Formula.Text);
        Assert.Equal("(2, 1)·(1, 3) → (2, 3)", rows.Step("da[1]").ShapeText);
    }

    [Theory]
    [InlineData(DType.Float64, 0.0)]
    [InlineData(DType.Float32, 0.0)]
    public void ColumnsAndRowsGiveTheSameNumbersTransposed(DType dtype, double tolerance)
    {
        var (x, y) = BreastCancerRows(2, 21, 7);
        var layers = RandomLayers(11, [30, 5, 3, 1], ["tanh", "relu", "sigmoid"]);
        var cols = Explainer.Explain(layers, ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta, DType = dtype });
        var rows = Explainer.Explain(layers, ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta, DType = dtype, Layout = ExplainLayout.Rows });
        Assert.Equal(cols.Steps.Select(s => s.Name), rows.Steps.Select(s => s.Name));
        foreach (var (c, r) in cols.Steps.Zip(rows.Steps))
        {
            Assert.Equal(dtype, c.Values.DType);
            // Weights and their gradients are (out, in) in both layouts; biases are columns or flat.
            Tensor expected = c.Name.StartsWith("dW") || c.Name.StartsWith("W[") || c.Values.Rank == 0 ? c.Values
                : c.Name.StartsWith("db") || c.Name.StartsWith("b[") ? c.Values.Reshape(-1)
                : c.Values.Transpose();
            Assert.Equal(expected.Shape.ToArray(), r.Values.Shape.ToArray());
            // Same products, only stored transposed: float64 agrees to rounding of the summation order.
            AssertClose(expected.ToDoubleArray(), r.Values, dtype == DType.Float64 ? 1e-14 : 1e-6 + tolerance, c.Name);
        }
        Assert.True(cols.AllPassed, cols.ToText());
        Assert.True(rows.AllPassed, rows.ToText());
    }

    [Fact]
    public void DeeperNetwork_ThreeHiddenLayersOfEveryActivation()
    {
        var rng = new Rng(5);
        var x = Tensor.RandomNormal([5, 4], rng, dtype: DType.Float64);
        var y = Tensor.FromArray(new double[] { 1, 0, 0, 1, 1 }, [5], DType.Float64);
        var layers = RandomLayers(21, [4, 6, 5, 4, 3, 1], ["tanh", "sigmoid", "leaky_relu", "softplus", "identity"]);
        layers[2] = layers[2] with { LeakySlope = 0.2 };
        foreach (var layout in new[] { ExplainLayout.Columns, ExplainLayout.Rows })
        {
            var e = Explainer.Explain(layers, ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta, Layout = layout });
            Assert.True(e.AllPassed, e.ToText());
            Assert.True(e.MaxEngineError < 1e-13);
            Assert.Equal(5 * 2 + 2, e.Forward.Count);
            Assert.Equal(1 + 5 * 2 + 4 * 2, e.Backward.Count);
            var (dW, db, _) = EagerGradients(layers, ExplainTask.Binary, x, y);
            for (int l = 1; l <= 5; l++)
            {
                AssertClose(dW[l - 1].ToDoubleArray(), e.Step($"dW[{l}]").Values, 1e-12, $"dW[{l}]");
                AssertClose(db[l - 1].ToDoubleArray(), e.Step($"db[{l}]").Values, 1e-12, $"db[{l}]");
            }
            Assert.Equal("δ[1] = da[1] ⊙ (1 − a[1]²)", e.Step("delta[1]").Formula.Text);
            Assert.Equal("δ[2] = da[2] ⊙ a[2] ⊙ (1 − a[2])", e.Step("delta[2]").Formula.Text);
            Assert.Equal("δ[3] = da[3] ⊙ (1[z[3] > 0] + 0.2 1[z[3] ≤ 0])", e.Step("delta[3]").Formula.Text);
            Assert.Equal("δ[4] = da[4] ⊙ σ(z[4])", e.Step("delta[4]").Formula.Text);
            Assert.Equal("ŷ = a[5] = σ(z[5])", e.Step("a[5]").Formula.Text);
        }
    }

    [Fact]
    public void Multiclass_DeltaIsSoftmaxMinusOneHotOverM()
    {
        var rng = new Rng(8);
        var x = Tensor.RandomNormal([4, 3], rng, dtype: DType.Float64);
        int[] classes = [2, 0, 1, 2];
        var layers = RandomLayers(9, [3, 5, 3], ["relu", "softmax"]);
        var e = Explainer.Explain(layers, x, classes, new ExplainOptions { Convention = ExplainConvention.MeanInDelta, Layout = ExplainLayout.Rows });
        Assert.True(e.AllPassed, e.ToText());

        var z = e.Step("z[2]").Values.ToDoubleArray();
        var delta = e.Step("delta[2]").Values.ToDoubleArray();
        for (int i = 0; i < 4; i++)
        {
            double max = Enumerable.Range(0, 3).Max(k => z[i * 3 + k]);
            double sum = Enumerable.Range(0, 3).Sum(k => Math.Exp(z[i * 3 + k] - max));
            for (int k = 0; k < 3; k++)
            {
                double p = Math.Exp(z[i * 3 + k] - max) / sum;
                Assert.Equal((p - (classes[i] == k ? 1 : 0)) / 4, delta[i * 3 + k], 1e-14);
            }
        }
        var (dW, db, loss) = EagerGradients(layers, ExplainTask.Multiclass, x, Tensor.FromArray(classes.Select(c => (double)c).ToArray(), [4], DType.Float64));
        Assert.Equal(loss, e.Step("loss").Values.Item(), 1e-14);
        AssertClose(dW[0].ToDoubleArray(), e.Step("dW[1]").Values, 1e-12, "dW[1]");
        AssertClose(db[1].ToDoubleArray(), e.Step("db[2]").Values, 1e-12, "db[2]");
        Assert.Contains(e.Step("delta[2]").Notes, n => n.Contains("ŷₖ − yₖ"));
    }

    [Fact]
    public void Regression_DeltaCarriesTwoOverMTimesOutputs()
    {
        var rng = new Rng(12);
        var x = Tensor.RandomNormal([3, 4], rng, dtype: DType.Float64);
        var y = Tensor.RandomNormal([3, 2], rng, dtype: DType.Float64);
        var layers = RandomLayers(13, [4, 3, 2], ["tanh", "identity"]);
        var e = Explainer.Explain(layers, ExplainTask.Regression, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta });
        Assert.True(e.AllPassed, e.ToText());
        var yHat = e.Step("a[2]").Values.Transpose().ToDoubleArray();
        var delta = e.Step("delta[2]").Values.Transpose().ToDoubleArray();
        var t = y.ToDoubleArray();
        for (int i = 0; i < t.Length; i++) Assert.Equal(2 * (yHat[i] - t[i]) / (3 * 2), delta[i], 1e-15);
        Assert.Equal("δ[2] = 2(ŷ − y) / (m·n_L)", e.Step("delta[2]").Formula.Text);
        var (dW, db, loss) = EagerGradients(layers, ExplainTask.Regression, x, y);
        Assert.Equal(loss, e.Step("loss").Values.Item(), 1e-14);
        for (int l = 1; l <= 2; l++)
        {
            AssertClose(dW[l - 1].ToDoubleArray(), e.Step($"dW[{l}]").Values, 1e-12, $"dW[{l}]");
            AssertClose(db[l - 1].ToDoubleArray(), e.Step($"db[{l}]").Values, 1e-12, $"db[{l}]");
        }
    }

    [Fact]
    public void Float32_ShowsFloat32NumbersCheckedInFloat64()
    {
        var (x, y) = BreastCancerRows(0, 19);
        var layers = RandomLayers(3, [30, 3, 1], ["relu", "sigmoid"]);
        var e = Explainer.Explain(layers, ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta, DType = DType.Float32 });
        Assert.All(e.Steps, s => Assert.Equal(DType.Float32, s.Values.DType));
        Assert.True(e.AllPassed, e.ToText());
        // Float32 rounding shows up in the comparison with the float64 engine, but stays small.
        Assert.InRange(e.MaxEngineError, 1e-12, 1e-5);
        Assert.Contains("float32 (numbers shown); checks in float64", e.ToText());
    }

    [Fact]
    public void LargeLayers_AreSummarisedAndSampledForFiniteDifferences()
    {
        var rng = new Rng(1);
        var x = Tensor.RandomNormal([3, 60], rng, dtype: DType.Float64);
        var y = Tensor.FromArray(new double[] { 1, 0, 1 }, [3], DType.Float64);
        var layers = RandomLayers(2, [60, 40, 1], ["tanh", "sigmoid"]);
        var e = Explainer.Explain(layers, ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta });
        var dW1 = e.Step("dW[1]").Check;
        Assert.True(dW1.Sampled);
        Assert.Equal(50, dW1.FiniteDifferenceEntries);
        Assert.Equal(2400, dW1.Entries);
        Assert.True(e.AllPassed, e.ToText());
        var text = e.ToText();
        Assert.Contains("50 of 2400 entries, evenly spaced", text);
        Assert.Contains("dW[1]: min ", text);
        Assert.Contains("top-left 4×6 corner", text);
        Assert.Contains("at most 50 evenly spaced entries per large tensor", e.CheckSummary);
    }

    [Fact]
    public void ColourIsOnlyAddedWhenAsked()
    {
        var (x, y) = BreastCancerRows(0, 19);
        var e = Explainer.Explain(RandomLayers(3, [30, 2, 1], ["relu", "sigmoid"]), ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta });
        Assert.DoesNotContain("\u001b[", e.ToText());
        var coloured = e.ToText(ansiColour: true);
        Assert.Contains("\u001b[32m✓", coloured);
        Assert.Equal(e.ToText(), System.Text.RegularExpressions.Regex.Replace(coloured, "\u001b\\[[0-9;]*m", ""));
    }

    [Fact]
    public void AFailedCheckIsMarkedAndReported()
    {
        var bad = new StepCheck(1e-3, 1e-10, 2e-3, 1e-8, 5, 5);
        Assert.False(bad.Passed);
        Assert.Equal("✗", bad.Mark);
        Assert.Equal("✓", (bad with { EngineMaxAbsError = 0, FiniteDifferenceMaxAbsError = 1e-9 }).Mark);
        Assert.Equal("—", StepCheck.None(3).Mark);
    }

    [Fact]
    public void BadInputsGiveClearErrors()
    {
        var x = Tensor.Zeros([2, 3], DType.Float64);
        var y = Tensor.FromArray(new double[] { 0, 1 }, [2], DType.Float64);
        var ok = RandomLayers(1, [3, 2, 1], ["relu", "sigmoid"]);
        var ex = Assert.Throws<ShapeException>(() => Explainer.Explain(RandomLayers(1, [4, 2, 1], ["relu", "sigmoid"]), ExplainTask.Binary, x, y));
        Assert.Contains("W[1] has shape (2, 4)", ex.Message);
        Assert.Contains("unknown activation 'gelu'",
            Assert.Throws<BackpropException>(() => Explainer.Explain([ok[0] with { Activation = "gelu" }, ok[1]], ExplainTask.Binary, x, y)).Message);
        Assert.Contains("output layer 2",
            Assert.Throws<BackpropException>(() => Explainer.Explain([ok[0], ok[1] with { Activation = "relu" }], ExplainTask.Binary, x, y)).Message);
        Assert.Throws<ShapeException>(() => Explainer.Explain(ok, ExplainTask.Binary, x, Tensor.Zeros([3], DType.Float64)));
        Assert.Contains("not a class index",
            Assert.Throws<BackpropException>(() => Explainer.Explain(RandomLayers(1, [3, 2, 3], ["relu", "softmax"]), x, [0, 3])).Message);
        // "identity" on the output layer is the logits convention and means the task's output.
        Assert.True(Explainer.Explain([ok[0], ok[1] with { Activation = "identity" }], ExplainTask.Binary, x, y).AllPassed);
    }
}
