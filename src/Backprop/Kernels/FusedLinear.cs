using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// A fully connected layer with its activation, as an llm.c-style forward/backward pair over spans of
/// preallocated buffers (batches are rows, as in <c>Nn.Linear</c>: z = x·Wᵀ + b, a = f(z)). Neither
/// kernel allocates: the GEMM reuses its per-thread packing buffers, and everything else is a pass
/// over rows that are already in cache. <see cref="LinearForwardNaive{T, TAct}"/> and
/// <see cref="LinearBackwardNaive{T}"/> are the obvious loops, kept as the reference the tests compare against.
/// </summary>
public static class FusedLinear
{
    /// <summary>
    /// Whether a layer's products are small enough for <see cref="LinearForward{T, TAct}"/> and
    /// <see cref="LinearBackward{T}"/> to go through a transposed copy of the weights. Below this size the
    /// GEMM takes its unpacked direct path, which is about 3× faster on x·W′ with W′ = Wᵀ stored row-major
    /// (in, out) than on x·Wᵀ read through a transpose flag (measured with gemm-quick, 32×16×30: 0.34 µs
    /// against 1.34 µs; for dW, 30×16×32 then a transpose against 16×30×32: 0.41 against 0.91 µs), and a
    /// copy of a weight matrix this small costs less than the difference. Larger problems pack their
    /// operands anyway, so the flag is free there.
    /// </summary>
    public static bool PrefersTransposedWeights(int m, int inF, int outF) => outF >= 4 && (long)m * inF * outF <= 64 * 1024;

    /// <summary>
    /// Effectively computes z = x·Wᵀ + b and a = f(z).
    /// x is (m, inF), w is (outF, inF) as <c>Linear.Weight</c>, b is (outF) or empty for no bias;
    /// z and a are (m, outF) and may be the same memory when <typeparamref name="TAct"/> does not need z.
    /// The bias add and the activation run in one pass per output row, right after the GEMM wrote it.
    /// <paramref name="weightTransposed"/>, when not empty, is (inF, outF) scratch that receives Wᵀ so the
    /// product runs untransposed (see <see cref="PrefersTransposedWeights"/>); the result is the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LinearForward<T, TAct>(Span<T> z, Span<T> a, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b,
        int m, int inF, int outF, T parameter, Span<T> weightTransposed = default)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TAct : IFusedActivation
    {
        if (weightTransposed.IsEmpty) Gemm.MultiplyCore(false, true, m, outF, inF, T.One, x, inF, w, inF, T.Zero, z, outF);
        else
        {
            Transpose(w, weightTransposed, outF, inF);
            Gemm.MultiplyCore(false, false, m, outF, inF, T.One, x, inF, weightTransposed, outF, T.Zero, z, outF);
        }
        // The bias is added after the product, as the engine's MatMul-then-Add does, so z matches it bit for bit.
        if (typeof(TAct) == typeof(ReluActivation) || typeof(TAct) == typeof(IdentityActivation))
        {
            BiasRelu(z, a, b, m, outF, typeof(TAct) == typeof(ReluActivation));
            return;
        }
        for (int i = 0; i < m; i++)
        {
            var zr = z.Slice(i * outF, outF);
            if (!b.IsEmpty) TensorPrimitives.Add(zr, b, zr);
            TAct.Forward<T>(zr, a.Slice(i * outF, outF), parameter);
        }
    }

    /// <summary>
    /// a = max(z + b, 0) (or z + b), row by row in one vector pass: for the cheap activations a library call
    /// per row costs more than the arithmetic on rows this short. Vector.Max propagates NaN as
    /// TensorPrimitives.Max does, so a diverging run still shows NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BiasRelu<T>(Span<T> z, Span<T> a, ReadOnlySpan<T> b, int m, int outF, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int vw = Vector<T>.Count;
        bool hasBias = !b.IsEmpty;
        for (int i = 0; i < m; i++)
        {
            var zr = z.Slice(i * outF, outF);
            var ar = a.Slice(i * outF, outF);
            int j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; j <= outF - vw; j += vw)
                {
                    var v = new Vector<T>(zr.Slice(j));
                    if (hasBias)
                    {
                        v += new Vector<T>(b.Slice(j));
                        v.CopyTo(zr.Slice(j));
                    }
                    if (relu) v = Vector.Max(v, Vector<T>.Zero);
                    v.CopyTo(ar.Slice(j));
                }
            }
            for (; j < outF; j++)
            {
                T v = hasBias ? zr[j] + b[j] : zr[j];
                zr[j] = v;
                ar[j] = relu ? T.Max(v, T.Zero) : v;
            }
        }
    }

    /// <summary>Effectively computes dst[j, i] = src[i, j] for src (rows, cols) and dst (cols, rows).</summary>
    /// <remarks>
    /// Writes dst in order and reads src with a stride: strided loads cost less than strided stores. The
    /// bounds are checked once up front, so the loop runs on references (with span indexing it took twice as long).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose<T>(ReadOnlySpan<T> src, Span<T> dst, int rows, int cols) where T : unmanaged
    {
        if (rows < 0 || cols < 0 || src.Length < rows * cols || dst.Length < rows * cols)
            throw new ArgumentException("Transpose: a buffer is smaller than rows × cols.");
        ref T s = ref MemoryMarshal.GetReference(src);
        ref T d = ref MemoryMarshal.GetReference(dst);
        for (int j = 0; j < cols; j++)
        {
            ref T column = ref Unsafe.Add(ref s, j);
            ref T row = ref Unsafe.Add(ref d, j * rows);
            for (int i = 0; i < rows; i++) Unsafe.Add(ref row, i) = Unsafe.Add(ref column, i * cols);
        }
    }

    /// <summary>
    /// From dz = dL/dz (m, outF), effectively computes dW = dzᵀ·x (outF, inF), db = Σ over rows of dz
    /// (outF), and dx = dz·W (m, inF). dW and db are overwritten, not accumulated (a training step owns its
    /// gradient buffers); pass an empty <paramref name="dx"/> for the first layer, whose input needs no
    /// gradient, and an empty <paramref name="db"/> for a layer without bias. The activation's backward
    /// (<see cref="IFusedActivation.Backward{T}"/>) is applied to dx by the caller, because dx belongs to the
    /// previous layer's activation. <paramref name="weightGradTransposed"/>, when not empty, is (inF, outF)
    /// scratch: dWᵀ = xᵀ·dz is computed there and transposed into dW (see <see cref="PrefersTransposedWeights"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LinearBackward<T>(Span<T> dx, Span<T> dw, Span<T> db, ReadOnlySpan<T> dz, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        int m, int inF, int outF, Span<T> weightGradTransposed = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // dW = dzᵀ·x: dz is stored (m, outF), so op(A) = dzᵀ is a transpose flag, not a copy.
        if (weightGradTransposed.IsEmpty) Gemm.MultiplyCore(true, false, outF, inF, m, T.One, dz, outF, x, inF, T.Zero, dw, inF);
        else
        {
            Gemm.MultiplyCore(true, false, inF, outF, m, T.One, x, inF, dz, outF, T.Zero, weightGradTransposed, outF);
            Transpose<T>(weightGradTransposed, dw, inF, outF);
        }
        if (!db.IsEmpty) SumRows(dz, db, m, outF);
        if (!dx.IsEmpty) Gemm.MultiplyCore(false, false, m, inF, outF, T.One, dz, outF, w, inF, T.Zero, dx, inF);
    }

    /// <summary>Effectively computes sum[j] = Σᵢ x[i, j] for x (m, n), rows added in order.</summary>
    /// <remarks>
    /// Blocks of four vectors of columns, summed down all m rows in registers. Four vectors per row read each
    /// cache line once: one vector at a time (as before) read every line twice at the row stride, a power of two
    /// for typical widths that aliases in L1 (98 µs for the wide bench's 256×1024 dz). Summing row by row into
    /// <paramref name="sum"/> read x in order but made every addition wait for the previous row's store, 3× slower
    /// on the small bench's 32×16 and 32×1. The additions per column are the same, in the same order, either way.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumRows<T>(ReadOnlySpan<T> x, Span<T> sum, int m, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m < 1 || x.Length < m * n || sum.Length < n) throw new ArgumentException("SumRows: x must hold m ≥ 1 rows of n and sum n values.");
        int vw = Vector<T>.Count, j = 0;
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T s = ref MemoryMarshal.GetReference(sum);
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= n - 4 * vw; j += 4 * vw)
            {
                ref T c = ref Unsafe.Add(ref x0, j);
                Vector<T> a0 = Vector.LoadUnsafe(ref c), a1 = Vector.LoadUnsafe(ref c, (nuint)vw);
                Vector<T> a2 = Vector.LoadUnsafe(ref c, (nuint)(2 * vw)), a3 = Vector.LoadUnsafe(ref c, (nuint)(3 * vw));
                for (int i = 1; i < m; i++)
                {
                    ref T r = ref Unsafe.Add(ref c, i * n);
                    a0 += Vector.LoadUnsafe(ref r);
                    a1 += Vector.LoadUnsafe(ref r, (nuint)vw);
                    a2 += Vector.LoadUnsafe(ref r, (nuint)(2 * vw));
                    a3 += Vector.LoadUnsafe(ref r, (nuint)(3 * vw));
                }
                a0.StoreUnsafe(ref s, (nuint)j);
                a1.StoreUnsafe(ref s, (nuint)(j + vw));
                a2.StoreUnsafe(ref s, (nuint)(j + 2 * vw));
                a3.StoreUnsafe(ref s, (nuint)(j + 3 * vw));
            }
            for (; j <= n - vw; j += vw)
            {
                ref T c = ref Unsafe.Add(ref x0, j);
                var acc = Vector.LoadUnsafe(ref c);
                for (int i = 1; i < m; i++) acc += Vector.LoadUnsafe(ref Unsafe.Add(ref c, i * n));
                acc.StoreUnsafe(ref s, (nuint)j);
            }
        }
        for (; j < n; j++)
        {
            T acc = Unsafe.Add(ref x0, j);
            for (int i = 1; i < m; i++) acc += Unsafe.Add(ref x0, i * n + j);
            Unsafe.Add(ref s, j) = acc;
        }
    }

    /// <summary>The reference for <see cref="LinearForward{T, TAct}"/>: triple loop, then f elementwise.</summary>
    public static void LinearForwardNaive<T, TAct>(Span<T> z, Span<T> a, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b,
        int m, int inF, int outF, T parameter)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TAct : IFusedActivation
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < outF; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < inF; p++) sum += x[i * inF + p] * w[j * inF + p];
                z[i * outF + j] = b.IsEmpty ? sum : sum + b[j];
            }
            TAct.Forward<T>(z.Slice(i * outF, outF), a.Slice(i * outF, outF), parameter);
        }
    }

    /// <summary>The reference for <see cref="LinearBackward{T}"/>.</summary>
    public static void LinearBackwardNaive<T>(Span<T> dx, Span<T> dw, Span<T> db, ReadOnlySpan<T> dz, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        int m, int inF, int outF)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < outF; j++)
        {
            for (int p = 0; p < inF; p++)
            {
                T sum = T.Zero;
                for (int i = 0; i < m; i++) sum += dz[i * outF + j] * x[i * inF + p];
                dw[j * inF + p] = sum;
            }
            if (!db.IsEmpty)
            {
                T sum = T.Zero;
                for (int i = 0; i < m; i++) sum += dz[i * outF + j];
                db[j] = sum;
            }
        }
        if (dx.IsEmpty) return;
        for (int i = 0; i < m; i++)
            for (int p = 0; p < inF; p++)
            {
                T sum = T.Zero;
                for (int j = 0; j < outF; j++) sum += dz[i * outF + j] * w[j * inF + p];
                dx[i * inF + p] = sum;
            }
    }
}
