using Backprop.Explain;

namespace Backprop.Tests.Explain;

/// <summary>The op-by-op trace of a general function, and its export as DOT and Mermaid.</summary>
public class GraphTraceTests
{
    private static readonly Tensor A = Tensor.FromArray(new double[] { 0.5, -1 }, [2], DType.Float64);
    private static readonly Tensor B = Tensor.FromArray(new double[] { 2, 3 }, [2], DType.Float64);

    /// <summary>out = Σ tanh(a·b + a): a is used twice, so its gradient is the sum of two paths.</summary>
    private static Tensor F(Tensor[] x) => (x[0] * x[1] + x[0]).Tanh().Sum();

    [Fact]
    public void TraceVisitsOpsInReverseTopologicalOrderAndSumsGradientsOfAValueUsedTwice()
    {
        var trace = GraphTrace.Explain(F, [A, B], ["a", "b"]);
        Assert.Equal(new[] { "Sum", "Tanh", "Add", "Mul" }, trace.Nodes.Select(n => n.Op));
        Assert.Equal(new[] { "out", "t3", "t2", "t1" }, trace.Nodes.Select(n => n.Name));
        Assert.Equal(new[] { "t1", "a" }, trace.Nodes[2].InputNames);

        var a = A.ToDoubleArray();
        var b = B.ToDoubleArray();
        var leafA = trace.Leaves.Single(l => l.Name == "a");
        var leafB = trace.Leaves.Single(l => l.Name == "b");
        Assert.Equal(2, leafA.Uses);
        for (int i = 0; i < 2; i++)
        {
            double dt = 1 - Math.Pow(Math.Tanh(a[i] * b[i] + a[i]), 2);
            Assert.Equal(dt * (b[i] + 1), leafA.Gradient!.ToDoubleArray()[i], 1e-15); // both paths: through Mul and through Add
            Assert.Equal(dt * a[i], leafB.Gradient!.ToDoubleArray()[i], 1e-15);
            // The two uses' VJP contributions, shown separately in the trace, add up to the total.
            double viaAdd = trace.Nodes[2].InputGradients[1]!.ToDoubleArray()[i];
            double viaMul = trace.Nodes[3].InputGradients[0]!.ToDoubleArray()[i];
            Assert.Equal(leafA.Gradient!.ToDoubleArray()[i], viaAdd + viaMul, 1e-15);
        }
        Assert.True(trace.AllPassed);
        Assert.True(leafA.EngineMaxAbsError < 1e-15);
        Assert.True(leafA.FiniteDifferenceMaxAbsError < 1e-8);

        var text = trace.ToText();
        Assert.Contains("[4] out = Sum(t3)", text);
        Assert.Contains("[1] t1 = Mul(a, b)", text);
        Assert.Contains("∂out/∂a +=", text);
        Assert.Contains("used 2×: the gradients of all uses add up", text);
        Assert.Contains("✓ engine max |error|", text);
        Assert.Contains("**`t2 = Add(t1, a)`**", trace.ToMarkdown());
    }

    [Fact]
    public void ScalarConstantsAreLabelledByValue()
    {
        var trace = GraphTrace.Explain(x => (x * 3.0).Square().Sum(), A);
        Assert.Equal(new[] { "x", "3" }, trace.Nodes.Last().InputNames);
        Assert.True(trace.Leaves.Single(l => l.Name == "3").IsConstant);
        Assert.Contains("Constants (no gradient): 3 ()", trace.ToText());
    }

    [Fact]
    public void DotAndMermaidLabelNodesWithOpShapeAndGradientNorm()
    {
        var trace = GraphTrace.Explain(F, [A, B], ["a", "b"]);
        var dot = GraphExport.ToDot(trace);
        Assert.StartsWith("digraph backprop {", dot);
        Assert.Contains("v_t1 [label=\"t1 = Mul\\n(2,)\\n‖grad‖ = 0.1807\"", dot);
        Assert.Contains("v_out [label=\"out = Sum\\n()\\n‖grad‖ = 1\"", dot);
        Assert.Contains("v_a [label=\"a\\n(2,)\\n‖grad‖ = 0.5421\"", dot);
        Assert.Contains("v_a -> v_t1 [label=", dot);
        Assert.Contains("v_a -> v_t2 [label=", dot);
        Assert.Contains("v_t3 -> v_out [label=", dot);
        Assert.EndsWith("}\n", dot);

        var mermaid = GraphExport.ToMermaid(trace);
        Assert.StartsWith("flowchart LR\n", mermaid);
        Assert.Contains("v_t3[\"t3 = Tanh<br/>(2,)<br/>‖grad‖ = 1.414\"]", mermaid);
        Assert.Contains("v_a[/\"a<br/>(2,)<br/>‖grad‖ = 0.5421\"/]", mermaid);
        Assert.Matches(@"v_a -->\|""[^""]*""\| v_t2", mermaid);
        Assert.Matches(@"v_b -->\|""[^""]*""\| v_t1", mermaid);
    }

    [Fact]
    public void TheEagerGraphOfALossCanBeTracedWithoutTouchingGrad()
    {
        var w = Tensor.FromArray(new double[,] { { 0.5, -1 }, { 2, 0.25 } }, DType.Float64);
        var bias = Tensor.FromArray(new double[] { 0.1, -0.1 }, [2], DType.Float64);
        w.RequiresGrad = true;
        bias.RequiresGrad = true;
        var x = Tensor.FromArray(new double[,] { { 1, 2 } }, DType.Float64);
        var loss = Losses.MeanSquaredError((x.MatMul(w, transposeB: true) + bias).Relu(), Tensor.FromArray(new double[,] { { 1, 0 } }, DType.Float64));
        var trace = GraphTrace.FromTensor(loss, [("W", w), ("b", bias)]);
        Assert.Null(w.Grad);
        Assert.Equal("Mul", trace.Nodes[0].Op);
        Assert.Contains(trace.Nodes, n => n.Op == "MatMul(a·bᵀ)" && n.InputNames.SequenceEqual(new[] { "c0", "W" }));
        Assert.Contains("v_W -> v_t1 [label=", GraphExport.ToDot(loss, [("W", w), ("b", bias)]));
        loss.Backward();
        ExplainTestData.AssertClose(w.Grad!.ToDoubleArray(), trace.Leaves.Single(l => l.Name == "W").Gradient!, 1e-15, "W");
        ExplainTestData.AssertClose(bias.Grad!.ToDoubleArray(), trace.Leaves.Single(l => l.Name == "b").Gradient!, 1e-15, "b");
        Assert.Contains("Trace the loss before calling Backward()", Assert.Throws<BackpropException>(() => GraphTrace.FromTensor(loss)).Message);
    }
}
