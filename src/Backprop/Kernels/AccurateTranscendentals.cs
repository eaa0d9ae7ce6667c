using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// SIMD tanh and sigmoid accurate to a few ulp over the whole float32 and float64 range, where
/// TensorPrimitives' versions are not: its tanh loses up to 2e-5 relative below |x| = 1e-3 and hundreds
/// of ulp up to 0.1, and its sigmoid flushes to 0 where the result is subnormal (x below about −87.3 in
/// float32, −708 in float64). float32 is widened and computed in float64, so it is rounded once at the
/// end (within about 0.5 ulp); float64 is computed directly (within about 3 ulp). Both bounds are
/// measured by <c>TranscendentalAccuracyTests</c> against float64 and double-double references.
/// </summary>
internal static class AccurateTranscendentals
{
    // tanh x = x + x·x²·Q(x²) with Q(s) = Σₖ aₖ sᵏ⁻¹ for |x| < Threshold: the Taylor series, whose
    // coefficients come from tanh′ = 1 − tanh², i.e. (2n + 1)·aₙ = −Σₖ₌₀ⁿ⁻¹ aₖ·aₙ₋₁₋ₖ with a₀ = 1. At
    // |x| = 0.625 successive terms shrink by (2x/π)² ≈ 0.16, so 22 terms reach 2e-18 (float64) and 12
    // reach 2e-10 (enough for float32). Above the threshold tanh |x| = 1 − 2/(e^2|x| + 1), where 2/(e + 1)
    // is at most 0.45, so the subtraction does not amplify the error of exp.
    private const double Threshold = 0.625;
    private const int Terms64 = 22;
    private const int Terms32 = 12;
    private static readonly double[] s_tanhSeries = TanhSeries(Terms64);

    private static double[] TanhSeries(int terms)
    {
        var a = new double[terms + 1];
        a[0] = 1;
        for (int n = 1; n <= terms; n++)
        {
            double sum = 0;
            for (int k = 0; k < n; k++) sum += a[k] * a[n - 1 - k];
            a[n] = -sum / (2 * n + 1);
        }
        return a[1..]; // Q's coefficients a₁, a₂, …
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> Tanh(Vector<double> x, int terms)
    {
        var ax = Vector.Abs(x);
        var s = x * x;
        var q = new Vector<double>(s_tanhSeries[terms - 1]);
        for (int k = terms - 2; k >= 0; k--) q = q * s + new Vector<double>(s_tanhSeries[k]);
        var small = x + x * (s * q);
        // exp overflows to ∞ for |x| > 355, giving 1 − 0 = 1; NaN stays NaN.
        var large = Vector<double>.One - new Vector<double>(2.0) / (Vector.Exp(ax + ax) + Vector<double>.One);
        var signBit = new Vector<double>(-0.0);
        large = Vector.ConditionalSelect(signBit, x, large);
        return Vector.ConditionalSelect(Vector.LessThan(ax, new Vector<double>(Threshold)), small, large);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> Sigmoid(Vector<double> x)
    {
        // e = e^−|x| never overflows; σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0, so tiny
        // results keep their digits instead of becoming 1/∞ = 0.
        var e = Vector.Exp(-Vector.Abs(x));
        var r = Vector<double>.One / (Vector<double>.One + e);
        return Vector.ConditionalSelect(Vector.LessThan(x, Vector<double>.Zero), e * r, r);
    }

    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Map32<TanhFunction>(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(d));
        else Map64<TanhFunction>(MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(d));
    }

    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Map32<SigmoidFunction>(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(d));
        else Map64<SigmoidFunction>(MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(d));
    }

    private interface IVectorFunction
    {
        static abstract Vector<double> Apply(Vector<double> x, bool forFloat32);
    }

    private readonly struct TanhFunction : IVectorFunction
    {
        public static Vector<double> Apply(Vector<double> x, bool forFloat32) => Tanh(x, forFloat32 ? Terms32 : Terms64);
    }

    private readonly struct SigmoidFunction : IVectorFunction
    {
        public static Vector<double> Apply(Vector<double> x, bool forFloat32) => Sigmoid(x);
    }

    private static void Map64<TF>(ReadOnlySpan<double> x, Span<double> d) where TF : IVectorFunction
    {
        int n = Vector<double>.Count, i = 0;
        for (; i <= x.Length - n; i += n) TF.Apply(new Vector<double>(x.Slice(i)), false).CopyTo(d.Slice(i));
        if (i == x.Length) return;
        // The tail goes through the same vector code, padded with zeros.
        Span<double> buffer = stackalloc double[n];
        buffer.Clear();
        int rest = x.Length - i;
        x.Slice(i).CopyTo(buffer);
        TF.Apply(new Vector<double>(buffer), false).CopyTo(buffer);
        buffer[..rest].CopyTo(d.Slice(i));
    }

    private static void Map32<TF>(ReadOnlySpan<float> x, Span<float> d) where TF : IVectorFunction
    {
        int n = Vector<float>.Count, i = 0;
        for (; i <= x.Length - n; i += n)
        {
            Vector.Widen(new Vector<float>(x.Slice(i)), out var lo, out var hi);
            Vector.Narrow(TF.Apply(lo, true), TF.Apply(hi, true)).CopyTo(d.Slice(i));
        }
        if (i == x.Length) return;
        Span<float> buffer = stackalloc float[n];
        buffer.Clear();
        int rest = x.Length - i;
        x.Slice(i).CopyTo(buffer);
        Vector.Widen(new Vector<float>(buffer), out var tlo, out var thi);
        Vector.Narrow(TF.Apply(tlo, true), TF.Apply(thi, true)).CopyTo(buffer);
        buffer[..rest].CopyTo(d.Slice(i));
    }
}
