using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// Kernels whose result for one row depends on that row alone: not on how many rows are in the batch,
/// nor on where the row sits in it. The GEMM (<see cref="Gemm"/>) chooses its path, blocking, tiles and
/// threads from the batch shape, so a row predicted alone and among 17 others can differ in the last
/// bits; inference that promises "the same row gives the same numbers" runs through here instead.
/// Every output element is one dot product in a fixed order: <see cref="Vector{T}"/> lanes over
/// k = 0, V, 2V, … in two accumulators, their sum reduced by <see cref="Vector.Sum{T}(Vector{T})"/>,
/// then the scalar tail in order. Unaligned loads read the same values wherever the row starts.
/// </summary>
public static class RowIndependent
{
    /// <summary>
    /// Effectively computes y[i, j] = bias[j] + Σ_p x[i, p] · w[j, p]: x is m×k, w is n×k (PyTorch's
    /// nn.Linear layout), bias has n elements or none, y is m×n; all row-major and contiguous.
    /// </summary>
    public static void Linear<T>(ReadOnlySpan<T> x, int m, int k, ReadOnlySpan<T> w, int n, ReadOnlySpan<T> bias, Span<T> y)
        where T : unmanaged, INumber<T>
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), "RowIndependent.Linear: sizes must be non-negative.");
        if (x.Length < (long)m * k || w.Length < (long)n * k || y.Length < (long)m * n || (bias.Length != 0 && bias.Length < n))
            throw new ArgumentException($"RowIndependent.Linear: spans too short for x ({m}×{k}), w ({n}×{k}), y ({m}×{n}).");
        for (int i = 0; i < m; i++)
        {
            var row = x.Slice(i * k, k);
            var outRow = y.Slice(i * n, n);
            for (int j = 0; j < n; j++)
            {
                T dot = Dot(row, w.Slice(j * k, k));
                outRow[j] = bias.Length == 0 ? dot : dot + bias[j];
            }
        }
    }

    /// <summary>Σ a[p] · b[p] in the fixed order described on the class; depends only on the values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, INumber<T>
    {
        int k = a.Length;
        int v = Vector<T>.Count;
        int p = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && k >= 2 * v)
        {
            var acc0 = Vector<T>.Zero;
            var acc1 = Vector<T>.Zero;
            for (; p + 2 * v <= k; p += 2 * v)
            {
                acc0 += new Vector<T>(a.Slice(p, v)) * new Vector<T>(b.Slice(p, v));
                acc1 += new Vector<T>(a.Slice(p + v, v)) * new Vector<T>(b.Slice(p + v, v));
            }
            sum = Vector.Sum(acc0 + acc1);
        }
        for (; p < k; p++) sum += a[p] * b[p];
        return sum;
    }
}
