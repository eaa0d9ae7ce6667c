using System.Globalization;
using Backprop.Kernels;
using Xunit.Abstractions;

namespace Backprop.Tests.Kernels;

/// <summary>
/// The largest error, in units in the last place, of every transcendental elementwise kernel over a
/// dense sweep of its whole domain: float32 against a float64 reference (whose own error is ~2⁻²⁹ of a
/// float32 ulp), float64 against a double-double reference (~2⁻⁵⁰ of a float64 ulp). The sweep takes
/// every 1021st float32 bit pattern (every binade, subnormals included), random float64 bit patterns
/// of every exponent, a fine grid where the functions bend, and ±0, ±∞, NaN, the extremes. (Sin and
/// cos in float64 are measured against the C library's, itself within 1 ulp: there is no
/// double-double range reduction here.)
/// </summary>
public class TranscendentalAccuracyTests(ITestOutputHelper output)
{
    /// <summary>A kernel under test with its references and the ulp bound it is held to.</summary>
    public sealed record Kernel(string Name, Action<float[], float[]> F32, Action<double[], double[]> F64,
        Func<double, double> Reference64, Func<double, DoubleDouble> ReferenceDD, double MaxUlp)
    {
        public override string ToString() => Name;
    }

    private static Action<float[], float[]> K32<TOp>(float p = 0) where TOp : IUnaryOperator => (x, d) => TOp.Invoke<float>(x, d, p);
    private static Action<double[], double[]> K64<TOp>(double p = 0) where TOp : IUnaryOperator => (x, d) => TOp.Invoke<double>(x, d, p);

    /// <summary>log(1 + x) in float64 (Goldberg's form): far more accurate than float32 needs.</summary>
    private static double Log1p64(double x) => Log1pOperator.Log1p(x);

    private static double Softplus64(double x) => Math.Max(x, 0) + Log1p64(Math.Exp(-Math.Abs(x)));

    public static TheoryData<Kernel> Kernels() =>
    [
        new Kernel("exp", K32<ExpOperator>(), K64<ExpOperator>(), Math.Exp, x => DoubleDouble.Exp(x), 4),
        new Kernel("log", K32<LogOperator>(), K64<LogOperator>(), Math.Log, x => DoubleDouble.Log(x), 4),
        new Kernel("log1p", K32<Log1pOperator>(), K64<Log1pOperator>(), Log1p64, x => DoubleDouble.Log1p(x), 4),
        new Kernel("sqrt", K32<SqrtOperator>(), K64<SqrtOperator>(), Math.Sqrt, x => x < 0 ? double.NaN : (DoubleDouble)Math.Sqrt(x), 0.5),
        new Kernel("sigmoid", K32<SigmoidOperator>(), K64<SigmoidOperator>(), x => 1 / (1 + Math.Exp(-x)), DoubleDouble.Sigmoid, 4),
        new Kernel("tanh", K32<TanhOperator>(), K64<TanhOperator>(), Math.Tanh, DoubleDouble.Tanh, 4),
        new Kernel("softplus", K32<SoftplusOperator>(), K64<SoftplusOperator>(), Softplus64, DoubleDouble.Softplus, 4),
        new Kernel("rsqrt", K32<RsqrtOperator>(), K64<RsqrtOperator>(), x => 1 / Math.Sqrt(x), x => x < 0 ? double.NaN : x == 0 ? double.PositiveInfinity : double.IsPositiveInfinity(x) ? 0 : 1.0 / DoubleDouble.Sqrt(x), 1.5),
        new Kernel("sin", K32<SinOperator>(), K64<SinOperator>(), Math.Sin, x => Math.Sin(x), 4),
        new Kernel("cos", K32<CosOperator>(), K64<CosOperator>(), Math.Cos, x => Math.Cos(x), 4),
        new Kernel("pow 0.5", K32<PowOperator>(0.5f), K64<PowOperator>(0.5), x => Math.Pow(x, 0.5), x => DoubleDouble.Pow(x, 0.5), 4),
        new Kernel("pow 3", K32<PowOperator>(3), K64<PowOperator>(3), x => Math.Pow(x, 3), x => x < 0 ? -DoubleDouble.Pow(-x, 3) : DoubleDouble.Pow(x, 3), 4),
        new Kernel("pow -1.5", K32<PowOperator>(-1.5f), K64<PowOperator>(-1.5), x => Math.Pow(x, -1.5), x => DoubleDouble.Pow(x, -1.5), 4),
    ];

    private static float[] Float32Sweep()
    {
        var values = new List<float>();
        for (long bits = 0; bits <= uint.MaxValue; bits += 1021)
        {
            float f = BitConverter.UInt32BitsToSingle((uint)bits);
            if (!float.IsNaN(f)) values.Add(f);
        }
        for (int i = -40000; i <= 40000; i++) values.Add(i * 1e-3f);
        values.AddRange([0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, float.PositiveInfinity,
            float.NegativeInfinity, float.NaN, 1e-3f, -1e-3f, 0.1f, -0.1f, 88.72f, -87.33f, -103.97f]);
        return values.ToArray();
    }

    private static double[] Float64Sweep()
    {
        var values = new List<double>();
        var rng = new Random(20261201);
        for (int i = 0; i < 40000; i++) values.Add(BitConverter.UInt64BitsToDouble((ulong)rng.NextInt64() ^ ((ulong)rng.Next(2) << 63)));
        for (int i = -15000; i <= 15000; i++) values.Add(i * 2e-3);
        for (int i = 0; i < 5000; i++) values.Add((rng.NextDouble() - 0.5) * 1e-2);
        values.AddRange([0.0, -0.0, double.Epsilon, -double.Epsilon, 2.2250738585072014E-308, double.MaxValue, double.MinValue,
            double.PositiveInfinity, double.NegativeInfinity, 1e-3, -1e-3, 0.1, -0.1, 709.78, -708.39, -745.1]);
        return values.Where(v => !double.IsNaN(v)).Append(double.NaN).ToArray();
    }

    private static readonly Lazy<float[]> s_float32 = new(Float32Sweep);
    private static readonly Lazy<double[]> s_float64 = new(Float64Sweep);

    /// <summary>|y − r| in ulps of r at float32 precision (the spacing at subnormals is float.Epsilon).</summary>
    private static double UlpError32(float y, double r)
    {
        if (double.IsNaN(r)) return float.IsNaN(y) ? 0 : double.PositiveInfinity;
        float rf = (float)r;
        if (float.IsInfinity(rf)) return y == rf || (float.IsInfinity(y) && Math.Sign(y) == Math.Sign(rf)) ? 0 : Math.Abs(y) >= float.MaxValue ? 1 : double.PositiveInfinity;
        if (float.IsNaN(y) || float.IsInfinity(y)) return double.PositiveInfinity;
        float a = Math.Abs(rf);
        double ulp = Math.Max(MathF.BitIncrement(a) - a, float.Epsilon);
        if (a == float.MaxValue) ulp = a - MathF.BitDecrement(a);
        return Math.Abs(y - r) / ulp;
    }

    private static double UlpError64(double y, DoubleDouble r)
    {
        if (double.IsNaN(r.Hi)) return double.IsNaN(y) ? 0 : double.PositiveInfinity;
        double rd = r.ToDouble();
        if (double.IsInfinity(rd)) return y == rd ? 0 : Math.Abs(y) >= double.MaxValue ? 1 : double.PositiveInfinity;
        if (double.IsNaN(y) || double.IsInfinity(y)) return double.PositiveInfinity;
        double a = Math.Abs(rd);
        double ulp = Math.Max(Math.BitIncrement(a) - a, double.Epsilon);
        if (a == double.MaxValue) ulp = a - Math.BitDecrement(a);
        double diff = (y - r.Hi) - r.Lo; // y − r.Hi is exact when y is close to r
        return Math.Abs(diff) / ulp;
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Float32KernelIsWithinItsUlpBoundOverTheWholeRange(Kernel kernel)
    {
        var x = s_float32.Value;
        var y = new float[x.Length];
        kernel.F32(x, y);
        double worst = 0;
        int at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double e = UlpError32(y[i], kernel.Reference64(x[i]));
            if (e > worst) (worst, at) = (e, i);
        }
        float worstX = x[at];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{kernel.Name} float32: max {worst:G4} ulp at x = {worstX:R} over {x.Length} values"));
        Assert.True(worst <= kernel.MaxUlp, string.Create(CultureInfo.InvariantCulture,
            $"{kernel.Name} float32: {worst:G4} ulp at x = {worstX:R} (got {y[at]:R}, reference {kernel.Reference64(worstX):R}); bound {kernel.MaxUlp}"));
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Float64KernelIsWithinItsUlpBoundOverTheWholeRange(Kernel kernel)
    {
        var x = s_float64.Value;
        var y = new double[x.Length];
        kernel.F64(x, y);
        double worst = 0;
        int at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double e = UlpError64(y[i], kernel.ReferenceDD(x[i]));
            if (e > worst) (worst, at) = (e, i);
        }
        double worstX = x[at];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{kernel.Name} float64: max {worst:G4} ulp at x = {worstX:R} over {x.Length} values"));
        Assert.True(worst <= kernel.MaxUlp, string.Create(CultureInfo.InvariantCulture,
            $"{kernel.Name} float64: {worst:G4} ulp at x = {worstX:R} (got {y[at]:R}, reference {kernel.ReferenceDD(worstX).ToDouble():R}); bound {kernel.MaxUlp}"));
    }

    [Fact]
    public void DoubleDoubleReferenceAgreesWithKnownValues()
    {
        // The doubles nearest to 50-digit values (mpmath, of the same double arguments): they pin the reference itself down.
        Assert.Equal(Math.E, DoubleDouble.Exp(1).ToDouble());
        Assert.Equal(0.7615941559557649, DoubleDouble.Tanh(1).ToDouble());
        Assert.Equal(1e-10, DoubleDouble.Tanh(1e-10).ToDouble());
        Assert.Equal(0.9999999958776927, DoubleDouble.Tanh(10).ToDouble());
        Assert.Equal(0.6931471805599453, DoubleDouble.Log(2).ToDouble());
        Assert.Equal(9.999999999500001e-11, DoubleDouble.Log1p(1e-10).ToDouble());
        Assert.Equal(4.5397868702434395e-05, DoubleDouble.Sigmoid(-10).ToDouble());
        Assert.Equal(2.302585092994046, DoubleDouble.Log(10).ToDouble());
    }
}
