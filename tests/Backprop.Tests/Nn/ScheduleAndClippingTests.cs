using Backprop.Nn;

namespace Backprop.Tests.Nn;

public class ScheduleAndClippingTests
{
    private static Sgd NewSgd(double lr)
    {
        var w = Tensor.Ones([2]);
        w.RequiresGrad = true;
        return new Sgd([w], lr);
    }

    private static double[] LearningRates(LearningRateScheduler scheduler, int epochs)
    {
        var rates = new double[epochs + 1];
        rates[0] = scheduler.Optimizer.LearningRate;
        for (int e = 1; e <= epochs; e++)
        {
            scheduler.Step();
            rates[e] = scheduler.Optimizer.LearningRate;
        }
        return rates;
    }

    [Fact]
    public void StepLRDecaysEveryStepSizeEpochs()
    {
        var rates = LearningRates(new StepLR(NewSgd(0.1), stepSize: 3, gamma: 0.5), 7);
        double[] expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025];
        for (int e = 0; e < expected.Length; e++) Assert.Equal(expected[e], rates[e], 1e-15);
    }

    [Fact]
    public void ExponentialLRMultipliesByGammaEachEpoch()
    {
        var rates = LearningRates(new ExponentialLR(NewSgd(0.2), gamma: 0.9), 4);
        for (int e = 0; e <= 4; e++) Assert.Equal(0.2 * Math.Pow(0.9, e), rates[e], 1e-15);
    }

    [Fact]
    public void CosineAnnealingFollowsTheHalfCosine()
    {
        var rates = LearningRates(new CosineAnnealingLR(NewSgd(0.1), tMax: 10, etaMin: 0.001), 10);
        Assert.Equal(0.1, rates[0], 1e-15);
        Assert.Equal(0.001 + 0.5 * 0.099 * (1 + Math.Cos(Math.PI * 3 / 10)), rates[3], 1e-15);
        Assert.Equal(0.0505, rates[5], 1e-15);
        Assert.Equal(0.001, rates[10], 1e-15);
    }

    [Fact]
    public void SchedulerStateRoundTrips()
    {
        var scheduler = new CosineAnnealingLR(NewSgd(0.1), tMax: 10);
        for (int e = 0; e < 4; e++) scheduler.Step();
        var restored = new CosineAnnealingLR(NewSgd(0.7), tMax: 10);
        restored.LoadStateDict(scheduler.StateDict());
        Assert.Equal(4, restored.Epoch);
        Assert.Equal(0.1, restored.BaseLearningRate);
        scheduler.Step();
        restored.Step();
        Assert.Equal(scheduler.Optimizer.LearningRate, restored.Optimizer.LearningRate);
    }

    [Fact]
    public void ClipGradNormScalesToTheMaxNormAndReturnsThePreClipNorm()
    {
        var a = Tensor.Zeros([2], DType.Float64);
        var b = Tensor.Zeros([2, 1], DType.Float64);
        var unused = Tensor.Zeros([3], DType.Float64);
        a.RequiresGrad = b.RequiresGrad = unused.RequiresGrad = true;
        a.Grad = Tensor.FromArray([3.0, 0.0], [2], DType.Float64);
        b.Grad = Tensor.FromArray([0.0, 4.0], [2, 1], DType.Float64);

        double norm = GradientClipping.ClipGradNorm([a, b, unused], maxNorm: 1.0);

        Assert.Equal(5.0, norm, 1e-15);
        double scale = 1.0 / (5.0 + 1e-6);
        Assert.Equal([3 * scale, 0], a.Grad!.ToDoubleArray());
        Assert.Equal([0, 4 * scale], b.Grad!.ToDoubleArray());
        Assert.Null(unused.Grad);
        double clippedNorm = Math.Sqrt(a.Grad.ToDoubleArray().Concat(b.Grad.ToDoubleArray()).Sum(x => x * x));
        Assert.Equal(1.0, clippedNorm, 1e-6);
    }

    [Fact]
    public void ClipGradNormLeavesSmallGradientsAlone()
    {
        var a = Tensor.Zeros([2], DType.Float64);
        a.RequiresGrad = true;
        var g = Tensor.FromArray([0.3, 0.4], [2], DType.Float64);
        a.Grad = g;
        Assert.Equal(0.5, GradientClipping.ClipGradNorm([a], maxNorm: 1.0), 1e-15);
        Assert.Same(g, a.Grad);
    }

    [Fact]
    public void ClipGradNormClipsGradientsSharedByTwoParametersOnce()
    {
        // d(a + b)/da and d(a + b)/db are both the upstream gradient: the engine may hand over one tensor.
        var a = Tensor.Zeros([2], DType.Float64);
        var b = Tensor.Zeros([2], DType.Float64);
        a.RequiresGrad = b.RequiresGrad = true;
        ((a + b) * Tensor.FromArray([3.0, 4.0], [2], DType.Float64)).Sum().Backward();
        double norm = GradientClipping.ClipGradNorm([a, b], maxNorm: 1.0);
        Assert.Equal(Math.Sqrt(50), norm, 1e-12);
        double scale = 1.0 / (Math.Sqrt(50) + 1e-6);
        Assert.Equal(3 * scale, a.Grad![0], 1e-15);
        Assert.Equal(3 * scale, b.Grad![0], 1e-15);
    }
}
