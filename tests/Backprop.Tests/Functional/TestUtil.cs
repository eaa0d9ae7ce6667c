namespace Backprop.Tests.Functional;

internal static class TestUtil
{
    public static double Dot(Tensor a, Tensor b)
    {
        var x = a.ToDoubleArray();
        var y = b.ToDoubleArray();
        Assert.Equal(x.Length, y.Length);
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }

    /// <summary>Σ|aᵢbᵢ|: the scale against which a dot product's rounding error is measured.</summary>
    public static double AbsDot(Tensor a, Tensor b)
    {
        var x = a.ToDoubleArray();
        var y = b.ToDoubleArray();
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += Math.Abs(x[i] * y[i]);
        return sum;
    }

    public static Tensor Normal(ReadOnlySpan<int> shape, Rng rng) => Tensor.RandomNormal(shape.ToArray(), rng, dtype: DType.Float64);

    /// <summary>Asserts equal shapes and |a − b| ≤ tol·(1 + max|b|) elementwise.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double tol, string context = "")
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape),
            $"{context}: shape {string.Join(",", actual.Shape.ToArray())} but expected {string.Join(",", expected.Shape.ToArray())}");
        var e = expected.ToDoubleArray();
        var a = actual.ToDoubleArray();
        double scale = 1;
        foreach (var v in e) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tol * scale, $"{context}: element {i}: expected {e[i]:R}, got {a[i]:R}");
    }

    public static Tensor Scalar(double v) => Tensor.Scalar(v, DType.Float64);
}
