using Backprop.Functional;

namespace Backprop.Tests.Functional;

/// <summary>The library side of <c>backprop modes</c>: the three gradients agree; no timing assertions (the machine is noisy).</summary>
public class ModeCostMeasurementTests
{
    [Theory]
    [InlineData(MlpLoss.MeanSquaredError)]
    [InlineData(MlpLoss.BinaryCrossEntropy)]
    public void ReverseForwardModeAndForwardGradientAreConsistent(MlpLoss loss)
    {
        var problem = MlpProblem.Create([3, 5, 4, 2], batchSize: 6, loss, seed: 4, DType.Float64);
        Assert.Equal(3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2, problem.ParameterCount);
        var result = ModeCostMeasurement.Gradients(problem, directionsPerPass: 16, new Rng(1));
        Assert.True(result.ForwardVsReverseMaxRelError < 1e-12, $"forward-mode and reverse gradients differ by {result.ForwardVsReverseMaxRelError:E2}");
        Assert.True(result.DirectionalRelError < 1e-12, $"the forward gradient's ∇L·v differs from the reverse gradient's by {result.DirectionalRelError:E2}");
        for (int i = 0; i < result.Reverse.Length; i++)
            TestUtil.AssertClose(result.Reverse[i], Transforms.Grad(problem.Loss, problem.Parameters)[i], 0);
    }

    [Fact]
    public void MeasureReportsEveryModeForTheNetwork()
    {
        var report = ModeCostMeasurement.Measure([4, 8, 1], batchSize: 8, MlpLoss.BinaryCrossEntropy, repeats: 1, dtype: DType.Float64, directionsPerPass: 10);
        Assert.Equal(4 * 8 + 8 + 8 + 1, report.ParameterCount);
        Assert.Equal(["forward pass", "reverse-mode gradient", "forward-mode full gradient", "forward gradient (1 estimate)"], report.Costs.Select(c => c.Mode));
        Assert.Equal(5, report.Costs[2].Passes);
        Assert.All(report.Costs, c => Assert.True(c.AllocatedBytes > 0 && c.MedianMilliseconds >= 0));
        Assert.True(report.ForwardVsReverseMaxRelError < 1e-12);
        Assert.Contains("P = 49", report.ToTable());
    }

    [Fact]
    public void RejectsAnInvalidNetwork()
    {
        Assert.Throws<BackpropException>(() => MlpProblem.Create([4], 2, MlpLoss.MeanSquaredError, 1));
        Assert.Throws<BackpropException>(() => ModeCostMeasurement.Measure([2, 2], repeats: 0));
    }
}
