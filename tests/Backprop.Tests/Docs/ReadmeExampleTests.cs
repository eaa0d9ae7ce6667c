namespace Backprop.Tests.Docs;

/// <summary>The README's library example, verbatim, with the values it promises.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void TheLibraryTourRunsAndGivesWhatTheReadmeSays()
    {
        var x = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }, 3);   // float32: Tensor.DefaultDType, as in PyTorch
        x.RequiresGrad = true;
        var y = (x * x).Sum();          // y = Σ x²
        y.Backward();                   // x.Grad = 2x = [2, 4, 6]
        Assert.Equal(new[] { 2.0, 4.0, 6.0 }, x.Grad!.ToDoubleArray());

        Tensor f(Tensor t) => (t.Sigmoid() * t).Sum();
        var g = Transforms.Grad(f, x.Detach());
        var (fx, jv) = Transforms.Jvp(f, x.Detach(), Tensor.OnesLike(x));
        var hv = Transforms.HessianVectorProduct(f, x.Detach(), Tensor.OnesLike(x));
        var report = GradCheck.Check(f, x.Detach());

        Assert.True(report.Passed, report.ToString());
        Assert.Equal(DType.Float32, x.DType);
        Assert.Equal(g.ToDoubleArray().Sum(), jv.Item(), 5); // ⟨∇f, 1⟩ = J·1, to float32 rounding
        Assert.Equal(f(x.Detach()).Item(), fx.Item(), 5);
        Assert.Equal(3, hv.Length);
    }
}
