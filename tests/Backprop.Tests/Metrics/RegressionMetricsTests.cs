using Backprop.Metrics;

namespace Backprop.Tests.Metrics;

public class RegressionMetricsTests
{
    private static readonly double[] Actual = [3, -0.5, 2, 7];
    private static readonly double[] Predicted = [2.5, 0.0, 2, 8];

    [Fact]
    public void HandComputedValues()
    {
        Assert.Equal(0.375, RegressionMetrics.Mse(Actual, Predicted), 12);
        Assert.Equal(Math.Sqrt(0.375), RegressionMetrics.Rmse(Actual, Predicted), 12);
        Assert.Equal(0.5, RegressionMetrics.Mae(Actual, Predicted), 12);
        // Mean 2.875; SS_tot = 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875; SS_res = 1.5.
        Assert.Equal(1 - 1.5 / 29.1875, RegressionMetrics.R2(Actual, Predicted), 12);
    }

    [Fact]
    public void EdgeCases()
    {
        Assert.Equal(1.0, RegressionMetrics.R2([2, 2, 2], [2, 2, 2]));
        Assert.Equal(0.0, RegressionMetrics.R2([2, 2, 2], [2, 2, 3]));
        Assert.Equal(0.0, RegressionMetrics.R2([1, 2, 3], [2, 2, 2]));
        Assert.True(RegressionMetrics.R2([1, 2, 3], [3, 2, 1]) < 0);
        Assert.True(double.IsNaN(RegressionMetrics.Mse([], [])));
        Assert.True(double.IsNaN(RegressionMetrics.R2([], [])));
        Assert.Throws<BackpropException>(() => RegressionMetrics.Mae([1, 2], [1]));
    }
}
