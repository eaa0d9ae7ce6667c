namespace Backprop.Tests.Kernels;

/// <summary>
/// A number held as an unevaluated sum hi + lo of two doubles (about 106 bits, relative error near
/// 1e-32): the high-precision reference the float64 kernels are measured against. The algorithms are
/// the classic ones (Dekker 1971; Hida, Li and Bailey's QD library): error-free TwoSum and a fused
/// multiply-add TwoProduct, exp by argument reduction and squaring, log by one Newton step on exp.
/// </summary>
public readonly record struct DoubleDouble(double Hi, double Lo)
{
    public static implicit operator DoubleDouble(double x) => new(x, 0);

    public double ToDouble() => Hi + Lo;

    private static DoubleDouble TwoSum(double a, double b)
    {
        double s = a + b;
        double bb = s - a;
        return new(s, (a - (s - bb)) + (b - bb));
    }

    private static DoubleDouble QuickTwoSum(double a, double b)
    {
        double s = a + b;
        return new(s, b - (s - a));
    }

    public static DoubleDouble operator +(DoubleDouble a, DoubleDouble b)
    {
        var s = TwoSum(a.Hi, b.Hi);
        var t = TwoSum(a.Lo, b.Lo);
        var u = QuickTwoSum(s.Hi, s.Lo + t.Hi);
        return QuickTwoSum(u.Hi, u.Lo + t.Lo);
    }

    public static DoubleDouble operator -(DoubleDouble a) => new(-a.Hi, -a.Lo);
    public static DoubleDouble operator -(DoubleDouble a, DoubleDouble b) => a + -b;

    public static DoubleDouble operator *(DoubleDouble a, DoubleDouble b)
    {
        double p = a.Hi * b.Hi;
        double e = Math.FusedMultiplyAdd(a.Hi, b.Hi, -p);
        e += a.Hi * b.Lo + a.Lo * b.Hi;
        return QuickTwoSum(p, e);
    }

    public static DoubleDouble operator /(DoubleDouble a, DoubleDouble b)
    {
        double q1 = a.Hi / b.Hi;
        var r = a - q1 * b;
        double q2 = r.Hi / b.Hi;
        r -= q2 * b;
        double q3 = r.Hi / b.Hi;
        return QuickTwoSum(q1, q2) + q3;
    }

    private static DoubleDouble Scale(DoubleDouble a, int k) => new(Math.ScaleB(a.Hi, k), Math.ScaleB(a.Lo, k));

    private static readonly DoubleDouble Ln2 = new(0.6931471805599453, 2.3190468138462996e-17);

    /// <summary>e^r − 1 for |r| ≤ ~0.35: the Taylor series of r/2¹⁰, then (1 + m)² − 1 = 2m + m² ten times.</summary>
    private static DoubleDouble Expm1Reduced(DoubleDouble r)
    {
        var s = Scale(r, -10);
        DoubleDouble sum = 0, term = s;
        for (int n = 1; n <= 14; n++)
        {
            sum += term;
            term = term * s / (n + 1);
        }
        for (int i = 0; i < 10; i++) sum = sum * sum + Scale(sum, 1);
        return sum;
    }

    public static DoubleDouble Exp(DoubleDouble x)
    {
        if (double.IsNaN(x.Hi)) return double.NaN;
        if (x.Hi > 709.8) return double.PositiveInfinity;
        if (x.Hi < -746) return 0;
        int k = (int)Math.Round(x.Hi / Ln2.Hi);
        var r = x - Ln2 * k;
        var e = Expm1Reduced(r) + 1.0;
        // Scale in two steps so that neither overflows nor loses the low part before the result needs to.
        int k1 = k / 2;
        return Scale(Scale(e, k1), k - k1);
    }

    /// <summary>e^x − 1, accurate also where the result is far below 1.</summary>
    public static DoubleDouble Expm1(DoubleDouble x)
    {
        if (Math.Abs(x.Hi) < 0.3) return Expm1Reduced(x);
        return Exp(x) - 1.0;
    }

    public static DoubleDouble Log(DoubleDouble a)
    {
        if (double.IsNaN(a.Hi) || a.Hi < 0) return double.NaN;
        if (a.Hi == 0) return double.NegativeInfinity;
        if (double.IsPositiveInfinity(a.Hi)) return double.PositiveInfinity;
        int e = Math.ILogB(a.Hi);
        var m = Scale(a, -e);
        DoubleDouble y = Math.Log(m.Hi);
        y += m * Exp(-y) - 1.0; // one Newton step on exp(y) = m doubles the correct digits
        return y + Ln2 * e;
    }

    /// <summary>log(1 + u): the series for small u (where 1 + u would round u away), log otherwise.</summary>
    public static DoubleDouble Log1p(DoubleDouble u)
    {
        if (double.IsNaN(u.Hi) || u.Hi < -1) return double.NaN;
        if (u.Hi == -1 && u.Lo == 0) return double.NegativeInfinity;
        if (Math.Abs(u.Hi) < 1e-3)
        {
            DoubleDouble sum = 0, power = u;
            for (int n = 1; n <= 14; n++)
            {
                sum += (n % 2 == 1 ? power : -power) / n;
                power *= u;
            }
            return sum;
        }
        if (double.IsPositiveInfinity(u.Hi)) return double.PositiveInfinity;
        return Log(u + 1.0);
    }

    /// <summary>√x by one Newton step from the double square root.</summary>
    public static DoubleDouble Sqrt(double x)
    {
        if (!(x > 0) || double.IsInfinity(x)) return Math.Sqrt(x);
        double s = Math.Sqrt(x);
        return (DoubleDouble)s + ((DoubleDouble)x - (DoubleDouble)s * s) / (2 * s);
    }

    public static DoubleDouble Tanh(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        double ax = Math.Abs(x);
        if (ax < 1e-10) return (DoubleDouble)x - (DoubleDouble)x * x * x / 3.0;
        if (ax > 40) return Math.CopySign(1.0, x);
        var em1 = Expm1((DoubleDouble)ax * 2.0);
        var t = em1 / (em1 + 2.0);
        return x < 0 ? -t : t;
    }

    public static DoubleDouble Sigmoid(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < -700) return Exp(x); // σ(x) = eˣ/(1 + eˣ), and eˣ is below 1e-304 here
        return 1.0 / (Exp(-(DoubleDouble)x) + 1.0);
    }

    public static DoubleDouble Softplus(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (double.IsInfinity(x)) return x > 0 ? x : 0;
        if (x > 40) return (DoubleDouble)x + Exp(-(DoubleDouble)x);
        return Log1p(Exp(x));
    }

    /// <summary>xᵖ for x ≥ 0; 0 and ∞ are exact cases.</summary>
    public static DoubleDouble Pow(double x, double p) =>
        x == 0 || double.IsInfinity(x) || double.IsNaN(x) ? Math.Pow(x, p) : Exp(Log(x) * p);
}
