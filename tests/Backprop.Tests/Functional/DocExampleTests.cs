using Backprop.Functional;

namespace Backprop.Tests.Functional;

/// <summary>The code snippets of docs/forward-vs-reverse.md, verbatim, so the document cannot drift from the API.</summary>
public class DocExampleTests
{
    [Fact]
    public void ForwardVsReverseSnippets()
    {
        // --- snippet: modes ---
        var w = Tensor.RandomNormal([4, 3], seed: 1, DType.Float64);
        Func<Tensor, Tensor> loss = x => x.MatMul(w, transposeB: true).Tanh().Square().Mean();
        var x = Tensor.RandomNormal([5, 3], seed: 2, DType.Float64);
        var v = Tensor.RandomNormal([5, 3], seed: 3, DType.Float64);

        var (value, directional) = Transforms.Jvp(loss, x, v);                 // forward: ∇L·v, one pass, no graph
        var gradient = Transforms.Grad(loss, x);                               // reverse: all of ∇L, one backward pass
        var (_, sameGradient) = Transforms.FullGradientForwardMode(loss, x);   // forward: 15 directions in one batched pass
        var estimate = ForwardGradient.Estimate(loss, x, new Rng(4));          // (∇L·v)v with v ~ N(0, I)
        // --- end ---

        // --- snippet: transforms ---
        var hv = Transforms.HessianVectorProduct(loss, x, v);                  // forward over reverse
        var hessian = Transforms.Hessian(loss, x);                             // shape (5, 3, 5, 3)
        var jacobian = Transforms.JacobianForward(t => t.Softmax(), x);        // shape (5, 3, 5, 3)
        var secondDerivative = Transforms.Grad(Transforms.Grad((Tensor t) => t * t * t));  // t ↦ 6t
        var tangents = Transforms.JvpMany(loss, x, Tensor.RandomNormal([8, 5, 3], seed: 5, DType.Float64)).Tangents;  // 8 JVPs, f runs once
        // --- end ---

        // --- snippet: modes-report ---
        var report = ModeCostMeasurement.Measure([8, 16, 1], batchSize: 32, MlpLoss.MeanSquaredError, repeats: 3);
        Console.WriteLine(report.ToTable());
        // --- end ---

        Assert.Equal(TestUtil.Dot(gradient, v), directional.Item(), 12);
        TestUtil.AssertClose(gradient, sameGradient, 1e-14);
        Assert.Equal(value.Item(), estimate.Value.Item(), 14);
        TestUtil.AssertClose(hessian.Reshape(15, 15).MatMul(v.Reshape(15, 1)).Reshape(5, 3), hv, 1e-12);
        Assert.Equal(new[] { 5, 3, 5, 3 }, jacobian.Shape.ToArray());
        Assert.Equal(12.0, secondDerivative(TestUtil.Scalar(2)).Item(), 12);
        Assert.Equal(new[] { 8 }, tangents.Shape.ToArray());
        Assert.True(report.ForwardVsReverseMaxRelError < 1e-4);
    }
}
