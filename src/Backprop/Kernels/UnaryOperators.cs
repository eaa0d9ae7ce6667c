using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Kernels;

public readonly struct NegateOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Negate(x, d);
}

public readonly struct ExpOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Exp(x, d);
}

public readonly struct LogOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Log(x, d);
}

public readonly struct SqrtOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sqrt(x, d);
}

public readonly struct AbsOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Abs(x, d);
}

/// <summary>sign(x) with sign(0) = 0 (and NaN kept), the subgradient convention for |x|.</summary>
public readonly struct SignOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++) d[i] = x[i] > T.Zero ? T.One : x[i] < T.Zero ? -T.One : x[i];
    }
}

public readonly struct SquareOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(x, x, d);
}

/// <summary>x^p for a scalar exponent p.</summary>
public readonly struct PowOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Pow(x, p, d);
}

/// <summary>σ(x), accurate to a few ulp everywhere, subnormal results included (see <see cref="AccurateTranscendentals"/>).</summary>
public readonly struct SigmoidOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => AccurateTranscendentals.Sigmoid(x, d);
}

/// <summary>tanh x within a few ulp over the whole range (TensorPrimitives.Tanh is not near 0; see <see cref="AccurateTranscendentals"/>).</summary>
public readonly struct TanhOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => AccurateTranscendentals.Tanh(x, d);
}

public readonly struct ReluOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(x, T.Zero, d);
}

/// <summary>x if x &gt; 0, else p·x.</summary>
public readonly struct LeakyReluOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++) d[i] = x[i] > T.Zero ? x[i] : p * x[i];
    }
}

/// <summary>1 where x &gt; 0, else p: the derivative of leaky ReLU (p = 0 gives ReLU's, with relu'(0) = 0).</summary>
/// <remarks>
/// A vector select rather than a branch per element: on activations the sign is close to random, and the
/// mispredicted branches made this mask the slowest part of a CNN's backward pass (1.4 of 5.3 ms a step
/// on the LeNet workload). NaN compares false, so it maps to p in both loops.
/// </remarks>
public readonly struct StepOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length < d.Length) throw new ArgumentException("StepOperator: the input is shorter than the output.");
        int i = 0;
        if (Vector.IsHardwareAccelerated && d.Length >= Vector<T>.Count)
        {
            var fill = new Vector<T>(p);
            for (; i <= d.Length - Vector<T>.Count; i += Vector<T>.Count)
                Vector.ConditionalSelect(Vector.GreaterThan(new Vector<T>(x.Slice(i)), Vector<T>.Zero), Vector<T>.One, fill).CopyTo(d.Slice(i));
        }
        for (; i < d.Length; i++) d[i] = x[i] > T.Zero ? T.One : p;
    }
}

/// <summary>
/// log(1 + eˣ) computed as max(x, 0) + log1p(e^−|x|): the naive form overflows to ∞ for x ≳ 89 in
/// float32, and loses everything to rounding for very negative x.
/// </summary>
public readonly struct SoftplusOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++)
        {
            T v = x[i];
            d[i] = T.Max(v, T.Zero) + Log1pOperator.Log1p(T.Exp(-T.Abs(v)));
        }
    }
}

/// <summary>
/// log(1 + x), accurate for small x: with u = 1 + x rounded, log(u)·x/(u − 1) cancels the rounding of
/// u (Goldberg, "What every computer scientist should know about floating-point", thm. 4). .NET's
/// LogP1 evaluates log(x + 1) directly and loses small x entirely.
/// </summary>
public readonly struct Log1pOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++) d[i] = Log1p(x[i]);
    }

    public static T Log1p<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.One + x;
        if (u == T.One) return x;
        if (T.IsPositiveInfinity(u)) return u;
        // x/(u − 1) first: it is near 1, whereas log(u)·x overflows for x near the largest value.
        return T.Log(u) * (x / (u - T.One));
    }
}

public readonly struct SinOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sin(x, d);
}

public readonly struct CosOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Cos(x, d);
}

/// <summary>1/√x as a correctly rounded square root and a division (never the approximate rsqrt instruction).</summary>
public readonly struct RsqrtOperator : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> d, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Sqrt(x, d);
        TensorPrimitives.Divide(T.One, d, d);
    }
}
