namespace Backprop.Tests.Functional;

/// <summary>
/// The forward gradient g = (∇f·v)·v, v ~ N(0, I), is unbiased. Its components have variance
/// Var(gᵢ) = E[(Σⱼ aⱼvⱼ)² vᵢ²] − aᵢ² = (3aᵢ² + Σ_{j≠i} aⱼ²) − aᵢ² = aᵢ² + |a|² (a = ∇f, using
/// E[vᵢ⁴] = 3), so the mean of N estimates has standard error sqrt((aᵢ² + |a|²)/N) per component.
/// The check allows 5 standard errors: with 8 components a correct estimator fails it with
/// probability below 8·6e-7, while a bias larger than that shows up.
/// </summary>
public class ForwardGradientTests
{
    private const int Samples = 4000;
    private const double StandardErrors = 5;

    private static readonly Tensor W = Tensor.FromArray([0.3, -1.2, 0.8, 0.1, -0.5, 1.5, -0.9, 0.4], [8], DType.Float64);

    private static Tensor F(Tensor x) => (x * W).Tanh().Sum() + 0.25 * x.Square().Sum() + x.Sum(0, keepDims: true).Exp().Sum() * 0.1;

    private static Tensor Point => Tensor.FromArray([0.2, -0.4, 0.6, -0.8, 1.0, 0.1, -0.3, 0.5], [8], DType.Float64);

    /// <summary>The largest |mean − ∇f|ᵢ over the allowed error (5 standard errors); at most 1 passes.</summary>
    private static double WorstDeviation(Func<Tensor> drawEstimate, double[] trueGradient)
    {
        var sum = new double[trueGradient.Length];
        for (int n = 0; n < Samples; n++)
        {
            var g = drawEstimate().ToDoubleArray();
            for (int i = 0; i < sum.Length; i++) sum[i] += g[i];
        }
        double normSquared = trueGradient.Sum(a => a * a);
        double worst = 0;
        for (int i = 0; i < sum.Length; i++)
        {
            double standardError = Math.Sqrt((trueGradient[i] * trueGradient[i] + normSquared) / Samples);
            worst = Math.Max(worst, Math.Abs(sum[i] / Samples - trueGradient[i]) / (StandardErrors * standardError));
        }
        return worst;
    }

    [Fact]
    public void MeanOfManyEstimatesConvergesToTheGradient()
    {
        var x = Point;
        var truth = Transforms.Grad(F, x).ToDoubleArray();
        var rng = new Rng(2024);
        double worst = WorstDeviation(() => ForwardGradient.Estimate(F, x, rng).Gradient, truth);
        Assert.True(worst <= 1, $"the mean of {Samples} forward gradients is {worst:F2} times the allowed {StandardErrors} standard errors from the true gradient");
    }

    [Fact]
    public void ABiasedEstimatorFailsTheSameCheck()
    {
        // v ~ U(0, 1) has E[v vᵀ] = I/12 + 𝟙𝟙ᵀ/4, not I, so E[g] = ∇f/12 + (Σ∇f)/4 ≠ ∇f.
        var x = Point;
        var truth = Transforms.Grad(F, x).ToDoubleArray();
        var rng = new Rng(2024);
        double worst = WorstDeviation(() =>
        {
            var v = Tensor.RandomUniform([8], rng, dtype: DType.Float64);
            return ForwardGradient.FromDirections(xs => F(xs[0]), [x], [v]).Gradients[0];
        }, truth);
        Assert.True(worst > 1, $"a biased estimator passed the unbiasedness check (worst deviation {worst:F2} of the allowed)");
    }

    [Fact]
    public void AnEstimateIsTheDirectionalDerivativeTimesTheDirection()
    {
        var x = Point;
        var gradient = Transforms.Grad(F, x);
        var e = ForwardGradient.Estimate(xs => F(xs[0]), [x], new Rng(3));
        var v = e.Directions[0];
        Assert.Equal(TestUtil.Dot(gradient, v), e.DirectionalDerivative.Item(), 12);
        TestUtil.AssertClose(v * e.DirectionalDerivative, e.Gradients[0], 1e-15);
        Assert.Equal(F(x).Item(), e.Value.Item(), 14);
    }
}
