namespace Backprop.Metrics;

/// <summary>
/// Regression scores. An empty input gives NaN. R² = 1 − SS_res / SS_tot; when the true values are
/// constant (SS_tot = 0) it is 1 for a perfect prediction and 0 otherwise, as scikit-learn's r2_score
/// (force_finite), so a report never shows ±∞.
/// </summary>
public static class RegressionMetrics
{
    public static double Mse(ReadOnlySpan<double> actual, ReadOnlySpan<double> predicted)
    {
        MetricChecks.SameLength(actual.Length, predicted.Length, "true values", "predictions");
        if (actual.Length == 0) return double.NaN;
        double sum = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = actual[i] - predicted[i];
            sum += d * d;
        }
        return sum / actual.Length;
    }

    public static double Rmse(ReadOnlySpan<double> actual, ReadOnlySpan<double> predicted) => Math.Sqrt(Mse(actual, predicted));

    public static double Mae(ReadOnlySpan<double> actual, ReadOnlySpan<double> predicted)
    {
        MetricChecks.SameLength(actual.Length, predicted.Length, "true values", "predictions");
        if (actual.Length == 0) return double.NaN;
        double sum = 0;
        for (int i = 0; i < actual.Length; i++) sum += Math.Abs(actual[i] - predicted[i]);
        return sum / actual.Length;
    }

    public static double R2(ReadOnlySpan<double> actual, ReadOnlySpan<double> predicted)
    {
        MetricChecks.SameLength(actual.Length, predicted.Length, "true values", "predictions");
        if (actual.Length == 0) return double.NaN;
        double mean = 0;
        foreach (double a in actual) mean += a;
        mean /= actual.Length;
        double ssRes = 0, ssTot = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double r = actual[i] - predicted[i];
            double t = actual[i] - mean;
            ssRes += r * r;
            ssTot += t * t;
        }
        if (ssTot == 0) return ssRes == 0 ? 1.0 : 0.0;
        return 1 - ssRes / ssTot;
    }
}
