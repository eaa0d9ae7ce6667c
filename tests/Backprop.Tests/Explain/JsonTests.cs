using System.Text.Json;
using Backprop.Explain;
using static Backprop.Tests.Explain.ExplainTestData;

namespace Backprop.Tests.Explain;

/// <summary>The JSON schema, and that its dW and db are the gradients PyTorch would report.</summary>
public class JsonTests
{
    private static readonly string[] StepKeys = ["name", "symbol", "formula", "shape", "values", "check"];

    [Theory]
    [InlineData(ExplainLayout.Columns)]
    [InlineData(ExplainLayout.Rows)]
    public void SchemaAndPyTorchConventionGradients(ExplainLayout layout)
    {
        var (x, y) = BreastCancerRows(0, 19, 20);
        var layers = RandomLayers(4, [30, 4, 3, 1], ["relu", "tanh", "sigmoid"]);
        var e = Explainer.Explain(layers, ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta, Layout = layout });
        using var doc = JsonDocument.Parse(e.ToJson());
        var root = doc.RootElement;
        Assert.Equal(new[] { "header", "parameters", "forward", "backward" }, root.EnumerateObject().Select(p => p.Name));

        var steps = root.GetProperty("forward").EnumerateArray().Concat(root.GetProperty("backward").EnumerateArray()).ToList();
        Assert.Equal(e.Forward.Concat(e.Backward).Select(s => s.Name), steps.Select(s => s.GetProperty("name").GetString()));
        foreach (var step in steps)
        {
            Assert.Equal(StepKeys, step.EnumerateObject().Select(p => p.Name));
            Assert.False(string.IsNullOrEmpty(step.GetProperty("formula").GetString()));
            var check = step.GetProperty("check");
            Assert.True(check.GetProperty("passed").GetBoolean());
            Assert.Contains(check.GetProperty("mark").GetString(), new[] { "✓", "—" });
            var result = step.GetProperty("shape").GetProperty("result").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            Assert.Equal(result, ShapeOf(step.GetProperty("values")));
        }

        var (dW, db, loss) = EagerGradients(layers, ExplainTask.Binary, x, y);
        for (int l = 1; l <= 3; l++)
        {
            var w = steps.Single(s => s.GetProperty("name").GetString() == $"dW[{l}]").GetProperty("values");
            Assert.Equal(dW[l - 1].Shape.ToArray(), ShapeOf(w)); // (out, in) in both layouts
            AssertClose(Flatten(w), dW[l - 1], 1e-12, $"dW[{l}]");
            var b = steps.Single(s => s.GetProperty("name").GetString() == $"db[{l}]").GetProperty("values");
            Assert.Equal(db[l - 1].Shape.ToArray(), ShapeOf(b)); // a flat (out) vector in both layouts
            AssertClose(Flatten(b), db[l - 1], 1e-12, $"db[{l}]");
        }
        Assert.Equal(loss, steps.Single(s => s.GetProperty("name").GetString() == "loss").GetProperty("values").GetDouble(), 1e-12);

        // z, a, delta and da follow the layout: (m, n) as rows, (n, m) as columns.
        var z1 = ShapeOf(steps.Single(s => s.GetProperty("name").GetString() == "z[1]").GetProperty("values"));
        Assert.Equal(layout == ExplainLayout.Rows ? new[] { 3, 4 } : new[] { 4, 3 }, z1);
        var delta2 = steps.Single(s => s.GetProperty("name").GetString() == "delta[2]");
        Assert.Equal(new[] { 3, 3 }, ShapeOf(delta2.GetProperty("values"))); // n_2 = m = 3
        Assert.True(delta2.GetProperty("check").GetProperty("finite_difference_max_abs_error").GetDouble() < 1e-7);
        Assert.Equal(JsonValueKind.Null, steps[0].GetProperty("check").GetProperty("engine_max_abs_error").ValueKind);
    }

    [Fact]
    public void Float32ValuesAreWrittenAsFloat32()
    {
        var x = Tensor.FromArray(new double[] { 0.1, 0.2 }, [1, 2], DType.Float64);
        var layers = new List<ExplainLayer>
        {
            new(Tensor.FromArray(new double[] { 0.3, -0.7 }, [1, 2], DType.Float64), Tensor.FromArray(new double[] { 0.1 }, [1], DType.Float64), "sigmoid"),
        };
        var json = Explainer.Explain(layers, ExplainTask.Binary, x, Tensor.FromArray(new double[] { 1 }, [1], DType.Float64), new ExplainOptions { Convention = ExplainConvention.MeanInDelta, DType = DType.Float32 }).ToJson();
        Assert.Contains("[[0.1],[0.2]]", json); // a[0] as columns, float32 0.1f written as 0.1
    }

    private static int[] ShapeOf(JsonElement v)
    {
        var shape = new List<int>();
        while (v.ValueKind == JsonValueKind.Array)
        {
            shape.Add(v.GetArrayLength());
            v = v[0];
        }
        return shape.ToArray();
    }

    private static double[] Flatten(JsonElement v) =>
        v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().SelectMany(Flatten).ToArray() : [v.GetDouble()];
}
