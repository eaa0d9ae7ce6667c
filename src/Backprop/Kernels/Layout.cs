namespace Backprop.Kernels;

/// <summary>Kernels that move values without arithmetic: permutations, axis slices, broadcasts.</summary>
public static class Layout
{
    /// <summary>d = x with its dimensions reordered: d's dimension i is x's dimension perm[i].</summary>
    public static void Permute(Tensor x, int[] perm, Tensor d)
    {
        if (x.DType == DType.Float32) Permute(x.Span<float>(), x.Dims, perm, d.Span<float>());
        else Permute(x.Span<double>(), x.Dims, perm, d.Span<double>());
    }

    private static void Permute<T>(ReadOnlySpan<T> x, int[] xDims, int[] perm, Span<T> d)
    {
        int rank = xDims.Length;
        var xStrides = ShapeUtil.Strides(xDims);
        if (rank >= 2 && perm[rank - 1] == rank - 2 && perm[rank - 2] == rank - 1 && IsIdentityPrefix(perm, rank - 2))
        {
            // Batched matrix transpose in tiles, so both the reads and the writes stay within cache lines.
            int rows = xDims[rank - 2], cols = xDims[rank - 1], batch = x.Length / Math.Max(1, rows * cols);
            const int tile = 32;
            for (int b = 0; b < batch; b++)
            {
                var xs = x.Slice(b * rows * cols, rows * cols);
                var ds = d.Slice(b * rows * cols, rows * cols);
                for (int i0 = 0; i0 < rows; i0 += tile)
                    for (int j0 = 0; j0 < cols; j0 += tile)
                        for (int i = i0; i < Math.Min(rows, i0 + tile); i++)
                            for (int j = j0; j < Math.Min(cols, j0 + tile); j++)
                                ds[j * rows + i] = xs[i * cols + j];
            }
            return;
        }
        Span<int> srcStride = stackalloc int[rank];
        Span<int> dDims = stackalloc int[rank];
        for (int i = 0; i < rank; i++)
        {
            srcStride[i] = xStrides[perm[i]];
            dDims[i] = xDims[perm[i]];
        }
        Span<int> counter = stackalloc int[rank];
        counter.Clear();
        int src = 0;
        for (int flat = 0; flat < d.Length; flat++)
        {
            d[flat] = x[src];
            for (int k = rank - 1; k >= 0; k--)
            {
                counter[k]++;
                src += srcStride[k];
                if (counter[k] < dDims[k]) break;
                src -= srcStride[k] * dDims[k];
                counter[k] = 0;
            }
        }
    }

    private static bool IsIdentityPrefix(int[] perm, int count)
    {
        for (int i = 0; i < count; i++)
            if (perm[i] != i) return false;
        return true;
    }

    /// <summary>
    /// Copies the block [start, start + length) of x along <paramref name="axis"/> into d at
    /// [dStart, dStart + length) along the same axis: the one kernel behind slice, concat and their adjoints.
    /// </summary>
    public static void CopyAxisBlock(Tensor x, int axis, int start, int length, Tensor d, int dStart)
    {
        if (x.DType == DType.Float32) CopyAxisBlock(x.Span<float>(), x.Dims, axis, start, length, d.Span<float>(), d.Dims[axis], dStart);
        else CopyAxisBlock(x.Span<double>(), x.Dims, axis, start, length, d.Span<double>(), d.Dims[axis], dStart);
    }

    private static void CopyAxisBlock<T>(ReadOnlySpan<T> x, int[] xDims, int axis, int start, int length, Span<T> d, int dAxisLength, int dStart)
    {
        var (outer, n, inner) = ShapeUtil.AroundAxis(xDims, axis);
        int run = length * inner;
        for (int o = 0; o < outer; o++)
            x.Slice((o * n + start) * inner, run).CopyTo(d.Slice((o * dAxisLength + dStart) * inner, run));
    }

    /// <summary>d = x broadcast to d's shape.</summary>
    public static void BroadcastTo(Tensor x, Tensor d) =>
        Elementwise.Binary<CopyFirstOperator>(x, x.DType == DType.Float32 ? s_ignoredFloat : s_ignoredDouble, d);

    // The unread second operand of the broadcast copy: one per dtype, not one per call.
    private static readonly Tensor s_ignoredFloat = Tensor.Zeros([], DType.Float32);
    private static readonly Tensor s_ignoredDouble = Tensor.Zeros([], DType.Float64);
}

/// <summary>Reversal along axes: d = x with the coordinates of the flagged axes reversed.</summary>
public static class Reversal
{
    public static void Flip(Tensor x, bool[] flipped, Tensor d)
    {
        if (x.DType == DType.Float32) Flip(x.Span<float>(), x.Dims, flipped, d.Span<float>());
        else Flip(x.Span<double>(), x.Dims, flipped, d.Span<double>());
    }

    private static void Flip<T>(ReadOnlySpan<T> x, int[] dims, bool[] flipped, Span<T> d)
    {
        int rank = dims.Length;
        if (d.Length == 0) return;
        if (rank == 0)
        {
            d[0] = x[0];
            return;
        }
        var strides = ShapeUtil.Strides(dims);
        // The innermost axis is copied as a run, forwards or backwards; outer axes step an odometer
        // whose source offset moves by −stride along flipped axes.
        int inner = dims[rank - 1];
        bool innerFlipped = flipped[rank - 1];
        Span<int> counter = stackalloc int[rank];
        counter.Clear();
        int src = 0;
        for (int i = 0; i < rank - 1; i++)
            if (flipped[i]) src += (dims[i] - 1) * strides[i];
        for (int row = 0; row < d.Length / inner; row++)
        {
            var dRow = d.Slice(row * inner, inner);
            var xRow = x.Slice(src, inner);
            if (innerFlipped)
                for (int j = 0; j < inner; j++) dRow[j] = xRow[inner - 1 - j];
            else xRow.CopyTo(dRow);
            for (int k = rank - 2; k >= 0; k--)
            {
                int step = flipped[k] ? -strides[k] : strides[k];
                counter[k]++;
                src += step;
                if (counter[k] < dims[k]) break;
                src -= step * dims[k];
                counter[k] = 0;
            }
        }
    }
}
