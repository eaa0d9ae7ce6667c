using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// An activation as a forward/backward pair over one row of a layer's output, for the fused MLP kernels
/// (<see cref="FusedLinear"/>). Each backward uses the same derivative formula as the autodiff op of the
/// same name (Ops/Activations.cs), so the fused path gives the engine's gradients to rounding.
/// </summary>
public interface IFusedActivation
{
    /// <summary>
    /// Whether <see cref="Backward{T}"/> reads the pre-activation z. When false, z and a may be the same
    /// memory (the activation runs in place and the caller keeps one buffer per layer instead of two).
    /// </summary>
    static abstract bool NeedsPreActivation { get; }

    /// <summary>Effectively computes a[i] = f(z[i]); <paramref name="a"/> may alias <paramref name="z"/>.</summary>
    static abstract void Forward<T>(ReadOnlySpan<T> z, Span<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Effectively computes g[i] = g[i] · f′(z[i]), in place: dL/da becomes dL/dz.</summary>
    static abstract void Backward<T>(Span<T> g, ReadOnlySpan<T> z, ReadOnlySpan<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>f(z) = z: forward copies only if the buffers differ, backward is a no-op.</summary>
public readonly struct IdentityActivation : IFusedActivation
{
    public static bool NeedsPreActivation => false;

    public static void Forward<T>(ReadOnlySpan<T> z, Span<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (z.Length > 0 && !Unsafe.AreSame(ref Unsafe.AsRef(in z[0]), ref a[0])) z.CopyTo(a);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<T>(Span<T> g, ReadOnlySpan<T> z, ReadOnlySpan<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T> { }
}

/// <summary>
/// max(0, z). Backward masks by a &gt; 0, which equals z &gt; 0 here, so z need not be kept; relu′(0) = 0
/// as in <c>ReluOp</c>. The mask selects g or 0 instead of multiplying by 1 or 0, which differs from the
/// engine only in the sign of a zero and for infinite g.
/// </summary>
public readonly struct ReluActivation : IFusedActivation
{
    public static bool NeedsPreActivation => false;

    public static void Forward<T>(ReadOnlySpan<T> z, Span<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T> =>
        TensorPrimitives.Max(z, T.Zero, a);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<T>(Span<T> g, ReadOnlySpan<T> z, ReadOnlySpan<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && g.Length >= Vector<T>.Count)
        {
            for (; i <= g.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var av = new Vector<T>(a.Slice(i));
                var gv = new Vector<T>(g.Slice(i));
                Vector.ConditionalSelect(Vector.GreaterThan(av, Vector<T>.Zero), gv, Vector<T>.Zero).CopyTo(g.Slice(i));
            }
        }
        for (; i < g.Length; i++) g[i] = a[i] > T.Zero ? g[i] : T.Zero;
    }
}

/// <summary>z if z &gt; 0 else slope·z; the slope is the parameter. Keeps z because a negative slope would make a's sign ambiguous.</summary>
public readonly struct LeakyReluActivation : IFusedActivation
{
    public static bool NeedsPreActivation => true;

    public static void Forward<T>(ReadOnlySpan<T> z, Span<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T> =>
        LeakyReluOperator.Invoke(z, a, parameter);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<T>(Span<T> g, ReadOnlySpan<T> z, ReadOnlySpan<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < g.Length; i++) g[i] *= z[i] > T.Zero ? T.One : parameter;
    }
}

/// <summary>tanh z, with tanh′ = 1 − a² from the output, as <c>TanhOp</c>.</summary>
public readonly struct TanhActivation : IFusedActivation, IOutputDerivative
{
    public static bool NeedsPreActivation => false;

    public static void Forward<T>(ReadOnlySpan<T> z, Span<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T> =>
        TanhOperator.Invoke(z, a, parameter);

    public static void Backward<T>(Span<T> g, ReadOnlySpan<T> z, ReadOnlySpan<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T> =>
        OutputDerivative.Scale<T, TanhActivation>(g, a);

    public static Vector<T> Of<T>(Vector<T> a) where T : unmanaged, IFloatingPointIeee754<T> => Vector<T>.One - a * a;
    public static T Of<T>(T a) where T : unmanaged, IFloatingPointIeee754<T> => T.One - a * a;
}

/// <summary>σ(z), with σ′ = a(1 − a) from the output, as <c>SigmoidOp</c>.</summary>
public readonly struct SigmoidActivation : IFusedActivation, IOutputDerivative
{
    public static bool NeedsPreActivation => false;

    public static void Forward<T>(ReadOnlySpan<T> z, Span<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T> =>
        SigmoidOperator.Invoke(z, a, parameter);

    public static void Backward<T>(Span<T> g, ReadOnlySpan<T> z, ReadOnlySpan<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T> =>
        OutputDerivative.Scale<T, SigmoidActivation>(g, a);

    public static Vector<T> Of<T>(Vector<T> a) where T : unmanaged, IFloatingPointIeee754<T> => a * (Vector<T>.One - a);
    public static T Of<T>(T a) where T : unmanaged, IFloatingPointIeee754<T> => a * (T.One - a);
}

/// <summary>log(1 + eᶻ), computed stably as <see cref="SoftplusOperator"/>; softplus′ = σ(z), so z is kept.</summary>
public readonly struct SoftplusActivation : IFusedActivation
{
    public static bool NeedsPreActivation => true;

    public static void Forward<T>(ReadOnlySpan<T> z, Span<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T> =>
        SoftplusOperator.Invoke(z, a, parameter);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<T>(Span<T> g, ReadOnlySpan<T> z, ReadOnlySpan<T> a, T parameter) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < g.Length; i++) g[i] *= T.One / (T.One + T.Exp(-z[i]));
    }
}

/// <summary>An activation whose derivative is a function of its output a (tanh′ = 1 − a², σ′ = a(1 − a)).</summary>
public interface IOutputDerivative
{
    static abstract Vector<T> Of<T>(Vector<T> a) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract T Of<T>(T a) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>The one loop behind every derivative-from-output backward: g[i] *= f′(a[i]), vectorised.</summary>
internal static class OutputDerivative
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale<T, TDerivative>(Span<T> g, ReadOnlySpan<T> a)
        where T : unmanaged, IFloatingPointIeee754<T> where TDerivative : IOutputDerivative
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && g.Length >= Vector<T>.Count)
        {
            for (; i <= g.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(g.Slice(i)) * TDerivative.Of(new Vector<T>(a.Slice(i)))).CopyTo(g.Slice(i));
        }
        for (; i < g.Length; i++) g[i] *= TDerivative.Of(a[i]);
    }
}
