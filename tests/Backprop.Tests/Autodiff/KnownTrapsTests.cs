namespace Backprop.Tests.Autodiff;

/// <summary>The classic ways a backpropagation implementation goes wrong, each pinned by a test.</summary>
public class KnownTrapsTests
{
    private static Tensor Leaf(params double[] values)
    {
        var t = Tensor.FromArray(values, [values.Length], DType.Float64);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void ValueUsedTwiceSumsItsGradients()
    {
        // y = 3x, c = 2y + 5y: dc/dx = 7 · 3 = 21. Overwriting instead of adding gives 6 or 15.
        var x = Leaf(2.0);
        var y = 3.0 * x;
        var c = 2.0 * y + 5.0 * y;
        c.Sum().Backward();
        Assert.Equal(21.0, x.Grad!.Item(), 12);
    }

    [Fact]
    public void SquareBySelfProductGivesTwoX()
    {
        var x = Leaf(-1.5, 0.25, 3.0);
        (x * x).Sum().Backward();
        Assert.Equal(new[] { -3.0, 0.5, 6.0 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void DiamondGraphAccumulatesThroughBothPaths()
    {
        // a feeds b and c, both feed d: dd/da = dd/db·db/da + dd/dc·dc/da.
        var a = Leaf(0.7);
        var b = a.Exp();
        var c = a.Sin2();
        var d = b * c;
        d.Sum().Backward();
        double av = 0.7, expected = Math.Exp(av) * (av * av) + Math.Exp(av) * (2 * av);
        Assert.Equal(expected, a.Grad!.Item(), 12);
    }

    [Fact]
    public void BackwardTwiceWithoutRetainingTheGraphIsAClearError()
    {
        var x = Leaf(1.0, 2.0);
        var loss = (x.Exp() * x).Sum();
        loss.Backward();
        var error = Assert.Throws<BackpropException>(() => loss.Backward());
        Assert.Contains("second time", error.Message);
        Assert.Contains("retainGraph", error.Message);
    }

    [Fact]
    public void BackwardTwiceWithRetainedGraphAccumulates()
    {
        var x = Leaf(1.0, 2.0);
        var loss = (x * x).Sum();
        loss.Backward(retainGraph: true);
        loss.Backward();
        Assert.Equal(new[] { 4.0, 8.0 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void ModifyingASavedTensorInPlaceBeforeBackwardIsAClearError()
    {
        var x = Leaf(1.0, 2.0);
        var y = x.Exp();          // Exp saves its output for the backward pass
        var loss = y.Sum();
        y.AsSpan<double>()[0] = 5; // in-place write after it was saved
        var error = Assert.Throws<BackpropException>(() => loss.Backward());
        Assert.Contains("modified in place", error.Message);
        Assert.Contains("Exp", error.Message);
    }

    [Fact]
    public void ReluDerivativeAtZeroIsZero()
    {
        var x = Leaf(-1.0, 0.0, 1.0);
        x.Relu().Sum().Backward();
        Assert.Equal(new[] { 0.0, 0.0, 1.0 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void LeakyReluDerivativeAtZeroIsTheSlope()
    {
        var x = Leaf(-1.0, 0.0, 1.0);
        x.LeakyRelu(0.1).Sum().Backward();
        Assert.Equal(new[] { 0.1, 0.1, 1.0 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void AbsDerivativeAtZeroIsZero()
    {
        var x = Leaf(-2.0, 0.0, 3.0);
        x.Abs().Sum().Backward();
        Assert.Equal(new[] { -1.0, 0.0, 1.0 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void MaxTiesShareTheGradientEqually()
    {
        var x = Tensor.FromArray(new double[] { 1, 3, 3, 2, 0, -1 }, [2, 3], DType.Float64);
        x.RequiresGrad = true;
        x.Max(1).Sum().Backward();
        Assert.Equal(new[] { 0, 0.5, 0.5, 1, 0, 0 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void LogAndSqrtAtZeroGiveInfiniteDerivativesNotNaN()
    {
        var x = Leaf(0.0);
        var y = x.Log();
        Assert.Equal(double.NegativeInfinity, y.Item());
        y.Sum().Backward();
        Assert.Equal(double.PositiveInfinity, x.Grad!.Item());

        var z = Leaf(0.0);
        z.Sqrt().Sum().Backward();
        Assert.Equal(double.PositiveInfinity, z.Grad!.Item());
    }

    [Theory]
    [InlineData(1e4)]
    [InlineData(-1e4)]
    [InlineData(100)]
    [InlineData(-100)]
    public void LogSigmoidThroughBceWithLogitsStaysFiniteAtExtremeLogits(double logit)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            foreach (double target in new[] { 0.0, 1.0 })
            {
                var z = Tensor.FromArray(new[] { logit }, [1, 1], dtype);
                z.RequiresGrad = true;
                var t = Tensor.FromArray(new[] { target }, [1, 1], dtype);
                var loss = Losses.BinaryCrossEntropyWithLogits(z, t);
                loss.Backward();
                // Exact: loss = softplus(z) − z·t; gradient = σ(z) − t.
                double expectedLoss = Math.Max(logit, 0) - logit * target + Math.Log(1 + Math.Exp(-Math.Abs(logit)));
                double expectedGrad = 1 / (1 + Math.Exp(-logit)) - target;
                Assert.True(double.IsFinite(loss.Item()), $"{dtype} z={logit} t={target}: loss {loss.Item()}");
                Assert.Equal(expectedLoss, loss.Item(), 1e-6 * Math.Max(1, Math.Abs(expectedLoss)));
                Assert.Equal(expectedGrad, z.Grad!.Item(), 1e-6);
            }
    }

    [Theory]
    [InlineData(1e4)]
    [InlineData(-1e4)]
    public void LogSoftmaxStaysFiniteAtExtremeLogits(double scale)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var z = Tensor.FromArray(new[] { scale, 0, -scale, 0.5 * scale }, [1, 4], dtype);
            z.RequiresGrad = true;
            var logp = z.LogSoftmax();
            Assert.All(logp.ToDoubleArray(), v => Assert.True(double.IsFinite(v), $"log softmax {v}"));
            var loss = Losses.SoftmaxCrossEntropy(z, [2]);
            loss.Backward();
            Assert.True(double.IsFinite(loss.Item()));
            // The gradient is softmax − onehot: finite and each row sums to 0.
            var g = z.Grad!.ToDoubleArray();
            Assert.All(g, v => Assert.True(double.IsFinite(v)));
            Assert.Equal(0, g.Sum(), 1e-6);
        }
    }

    [Fact]
    public void BceOnProbabilitiesIsFiniteAtZeroAndOne()
    {
        var p = Leaf(0.0, 1.0, 0.0, 1.0);
        var t = Tensor.FromArray(new double[] { 0, 1, 1, 0 }, [4], DType.Float64);
        var loss = Losses.BinaryCrossEntropy(p, t);
        loss.Backward();
        Assert.Equal(50.0, loss.Item(), 9); // two perfect, two with the −100 clamp: (0 + 0 + 100 + 100) / 4
        Assert.All(p.Grad!.ToDoubleArray(), v => Assert.False(double.IsNaN(v)));
    }

    [Fact]
    public void BroadcastOperandGetsItsGradientInItsOwnShape()
    {
        var w = Tensor.FromArray(new double[] { 1, 2, 3 }, [3, 1], DType.Float64);
        var b = Tensor.FromArray(new double[] { 10, 20, 30, 40 }, [1, 4], DType.Float64);
        w.RequiresGrad = true;
        b.RequiresGrad = true;
        (w * b).Sum().Backward();
        Assert.Equal(new[] { 3, 1 }, w.Grad!.Shape.ToArray());
        Assert.Equal(new[] { 100.0, 100, 100 }, w.Grad.ToDoubleArray());
        Assert.Equal(new[] { 1, 4 }, b.Grad!.Shape.ToArray());
        Assert.Equal(new[] { 6.0, 6, 6, 6 }, b.Grad.ToDoubleArray());
    }

    [Fact]
    public void NoGradRecordsNothingAndDetachCutsTheGraph()
    {
        var x = Leaf(1.0, 2.0);
        using (Backprop.Autodiff.NoGrad())
        {
            var y = x * 2.0;
            Assert.False(y.RequiresGrad);
            Assert.Null(y.GradFnName);
        }
        var z = x.Detach() * x;
        z.Sum().Backward();
        Assert.Equal(new[] { 1.0, 2.0 }, x.Grad!.ToDoubleArray()); // only the non-detached factor
    }

    [Fact]
    public void BackwardOnATensorThatNeedsNoGradientIsAClearError()
    {
        var x = Tensor.FromArray(new[] { 1.0 }, [1], DType.Float64);
        var error = Assert.Throws<BackpropException>(() => x.Exp().Sum().Backward());
        Assert.Contains("RequiresGrad", error.Message);
    }

    [Fact]
    public void NonScalarBackwardNeedsAnUpstreamGradient()
    {
        var x = Leaf(1.0, 2.0);
        var y = x * 3.0;
        Assert.Throws<ShapeException>(() => y.Backward());
        y.Backward(Tensor.FromArray(new[] { 1.0, 10.0 }, [2], DType.Float64));
        Assert.Equal(new[] { 3.0, 30.0 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void ZeroGradClearsAccumulatedGradients()
    {
        var x = Leaf(1.0);
        (x * 2.0).Sum().Backward();
        x.ZeroGrad();
        (x * 5.0).Sum().Backward();
        Assert.Equal(5.0, x.Grad!.Item());
    }

    [Fact]
    public void DeepChainsDoNotOverflowTheStack()
    {
        var x = Leaf(1.0);
        var y = x;
        for (int i = 0; i < 20000; i++) y = y * 1.0;
        y.Sum().Backward();
        Assert.Equal(1.0, x.Grad!.Item());
    }
}

internal static class TestFunctions
{
    /// <summary>x², through Mul, to build a second path in the diamond test.</summary>
    public static Tensor Sin2(this Tensor x) => x * x;
}

public class GradientAliasingTests
{
    [Fact]
    public void TwoLeavesNeverShareOneGradientTensor()
    {
        var a = Tensor.FromArray(new[] { 1.0, 2.0 }, [2], DType.Float64);
        var b = Tensor.FromArray(new[] { 3.0, 4.0 }, [2], DType.Float64);
        a.RequiresGrad = true;
        b.RequiresGrad = true;
        (a + b).Sum().Backward();
        Assert.NotSame(a.Grad, b.Grad);
        a.Grad!.AsSpan<double>()[0] = 100;
        Assert.Equal(1.0, b.Grad!.ToDoubleArray()[0]);
    }
}
