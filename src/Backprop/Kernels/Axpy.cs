using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// y ← α·x + y in place, the update of plain SGD. TensorPrimitives.MultiplyAdd computes the same thing
/// with the same rounding (a multiply, then an add, no FMA), but when the destination is also the addend
/// it measured about 4× slower on a 480-element span (0.18 µs against 0.047 µs with gemm-quick's
/// machine), which is a fifth of a whole training step of a small network.
/// </summary>
public static class Axpy
{
    /// <summary>Effectively computes y[i] = x[i]·alpha + y[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyAddInPlace<T>(ReadOnlySpan<T> x, T alpha, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length != y.Length) throw new ArgumentException("Axpy: x and y must have the same length.");
        int i = 0;
        if (Vector.IsHardwareAccelerated && y.Length >= Vector<T>.Count)
        {
            var a = new Vector<T>(alpha);
            for (; i <= y.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(x.Slice(i)) * a + new Vector<T>(y.Slice(i))).CopyTo(y.Slice(i));
        }
        for (; i < y.Length; i++) y[i] = x[i] * alpha + y[i];
    }
}
