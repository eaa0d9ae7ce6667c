using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>The vectorised ReLU / leaky-ReLU derivative mask against the scalar rule it replaced, at every length around the vector width.</summary>
public class StepOperatorTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void MatchesTheScalarRuleIncludingZerosNaNAndInfinities(double slope)
    {
        var rng = new Rng(7);
        for (int n = 0; n <= 40; n++)
        {
            var xd = new double[n];
            for (int i = 0; i < n; i++)
                xd[i] = (i % 7) switch { 0 => 0.0, 1 => double.NaN, 2 => double.NegativeInfinity, 3 => double.PositiveInfinity, 4 => -0.0, _ => rng.NextNormal() };
            var xf = xd.Select(v => (float)v).ToArray();
            var dd = new double[n];
            var df = new float[n];
            StepOperator.Invoke<double>(xd, dd, slope);
            StepOperator.Invoke<float>(xf, df, (float)slope);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(xd[i] > 0 ? 1.0 : slope, dd[i]);
                Assert.Equal(xf[i] > 0 ? 1f : (float)slope, df[i]);
            }
        }
    }
}
