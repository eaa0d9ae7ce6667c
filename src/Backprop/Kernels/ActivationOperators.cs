using System.Numerics;

namespace Backprop.Kernels;

// Elementwise kernels of the activations that PyTorch users reach for (GELU, SiLU, ELU, LogSigmoid)
// and of the error function GELU is defined with. Each is evaluated in double and rounded once, so the
// float32 result is correctly rounded up to the double evaluation's error.

/// <summary>
/// The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt to about 1 ulp of double. For |x| &lt; 3 the series
/// erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) (Abramowitz and Stegun 7.1.6), whose terms are
/// all positive, so nothing cancels; beyond, 1 − erfc(x) with erfc from its continued fraction
/// (A&amp;S 7.1.14) evaluated by the modified Lentz method. Both converge to full precision in their range.
/// </summary>
public readonly struct ErfOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++) d[i] = T.CreateTruncating(Erf(double.CreateTruncating(x[i])));
    }

    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double a = Math.Abs(x);
        double r = a < 3 ? ErfSeries(a) : 1 - ErfcContinuedFraction(a);
        return x < 0 ? -r : r;
    }

    /// <summary>erfc(x) = 1 − erf(x), accurate also where erf(x) rounds to 1.</summary>
    public static double Erfc(double x) => x < 3 ? 1 - Erf(x) : ErfcContinuedFraction(x);

    private static double ErfSeries(double a)
    {
        double a2 = a * a;
        double term = a, sum = a;
        for (int n = 1; n < 200; n++)
        {
            term *= 2 * a2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return 2 / Math.Sqrt(Math.PI) * Math.Exp(-a2) * sum;
    }

    /// <summary>erfc(a) = e^(−a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + …))))) for a ≥ 3.</summary>
    private static double ErfcContinuedFraction(double a)
    {
        if (a > 27) return 0;   // e^(−a²) underflows
        const double tiny = 1e-300;
        double f = a, c = a, dd = 0;
        for (int k = 1; k < 300; k++)
        {
            double ak = k * 0.5;
            dd = a + ak * dd;
            if (dd == 0) dd = tiny;
            c = a + ak / c;
            if (c == 0) c = tiny;
            dd = 1 / dd;
            double delta = c * dd;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Math.Exp(-a * a) / Math.Sqrt(Math.PI) / f;
    }
}

/// <summary>GELU, exact: x·Φ(x) = x/2 · (1 + erf(x/√2)), PyTorch's <c>gelu(approximate='none')</c>.</summary>
public readonly struct GeluOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++)
        {
            double v = double.CreateTruncating(x[i]);
            // For v ≪ 0, 1 + erf(v/√2) cancels; erfc(−v/√2) keeps the tail's relative accuracy.
            d[i] = T.CreateTruncating(0.5 * v * ErfOperator.Erfc(-v / Math.Sqrt(2)));
        }
    }
}

/// <summary>GELU, tanh approximation: x/2 · (1 + tanh(√(2/π)·(x + 0.044715x³))), PyTorch's <c>approximate='tanh'</c>.</summary>
public readonly struct GeluTanhOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++)
        {
            double v = double.CreateTruncating(x[i]);
            d[i] = T.CreateTruncating(0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))));
        }
    }
}

/// <summary>SiLU (swish): x·σ(x), with σ evaluated without overflow for either sign.</summary>
public readonly struct SiluOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++)
        {
            double v = double.CreateTruncating(x[i]);
            double s = v >= 0 ? 1 / (1 + Math.Exp(-v)) : Math.Exp(v) / (1 + Math.Exp(v));
            d[i] = T.CreateTruncating(v * s);
        }
    }
}

/// <summary>ELU: x for x &gt; 0, else α(eˣ − 1) with α = p, computed with expm1 accuracy near 0.</summary>
public readonly struct EluOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double alpha = double.CreateTruncating(p);
        for (int i = 0; i < d.Length; i++)
        {
            double v = double.CreateTruncating(x[i]);
            d[i] = v > 0 ? x[i] : T.CreateTruncating(alpha * ExpM1(v));
        }
    }

    /// <summary>eˣ − 1 without the cancellation of the naive form for small |x| (same trick as log1p: u = eˣ rounded, (u − 1)·x / log u).</summary>
    internal static double ExpM1(double v)
    {
        double u = Math.Exp(v);
        if (u == 1) return v;
        double um1 = u - 1;
        if (um1 == -1) return -1;
        return um1 * v / Math.Log(u);
    }
}

/// <summary>log σ(x) = min(x, 0) − log1p(e^(−|x|)), finite for every finite x.</summary>
public readonly struct LogSigmoidOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++)
        {
            double v = double.CreateTruncating(x[i]);
            d[i] = T.CreateTruncating(Math.Min(v, 0) - Log1pOperator.Log1p(Math.Exp(-Math.Abs(v))));
        }
    }
}

/// <summary>1 where lo &lt; x &lt; hi, else 0: Hardtanh's derivative, which PyTorch makes 0 at the bounds (unlike clamp).</summary>
public static class OpenIntervalMask
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> mask, T lo, T hi) where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < x.Length; i++) mask[i] = x[i] > lo && x[i] < hi ? T.One : T.Zero;
    }
}
