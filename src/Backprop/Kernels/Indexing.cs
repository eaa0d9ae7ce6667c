using System.Numerics;

namespace Backprop.Kernels;

/// <summary>
/// Kernels that read or write values at given indices along one axis: gather (PyTorch's torch.gather)
/// and its adjoint scatter-add. Indices have already been checked against the axis length.
/// </summary>
public static class Indexing
{
    /// <summary>
    /// d[p] = x[p with its <paramref name="axis"/> coordinate replaced by index[p]] for every position
    /// p of the index shape (which d has); the index shape is at most x's shape in the other dimensions.
    /// </summary>
    public static void Gather(Tensor x, int axis, ReadOnlySpan<int> index, int[] indexDims, Tensor d)
    {
        if (x.DType == DType.Float32) Walk<float>(x.Span<float>(), x.Dims, axis, index, indexDims, d.Span<float>(), scatter: false);
        else Walk<double>(x.Span<double>(), x.Dims, axis, index, indexDims, d.Span<double>(), scatter: false);
    }

    /// <summary>d (shape dDims, zeroed by the caller) += g at the gathered positions: the transpose of gather.</summary>
    public static void ScatterAdd(Tensor g, int axis, ReadOnlySpan<int> index, int[] indexDims, Tensor d)
    {
        if (g.DType == DType.Float32) Walk<float>(d.Span<float>(), d.Dims, axis, index, indexDims, g.Span<float>(), scatter: true);
        else Walk<double>(d.Span<double>(), d.Dims, axis, index, indexDims, g.Span<double>(), scatter: true);
    }

    /// <summary>
    /// One odometer over the index shape; for each position, the flat offset into the full tensor
    /// <paramref name="full"/>. Gathering copies full → packed; scattering adds packed → full.
    /// </summary>
    private static void Walk<T>(Span<T> full, int[] fullDims, int axis, ReadOnlySpan<int> index, int[] indexDims, Span<T> packed, bool scatter)
        where T : unmanaged, INumberBase<T>
    {
        int rank = indexDims.Length;
        if (index.Length == 0) return;
        var strides = ShapeUtil.Strides(fullDims);
        Span<int> counter = stackalloc int[rank];
        counter.Clear();
        int baseOffset = 0; // offset of the current position with the axis coordinate taken as 0
        for (int flat = 0; flat < index.Length; flat++)
        {
            int offset = baseOffset + index[flat] * strides[axis];
            if (scatter) full[offset] += packed[flat];
            else packed[flat] = full[offset];
            for (int k = rank - 1; k >= 0; k--)
            {
                counter[k]++;
                if (k != axis) baseOffset += strides[k];
                if (counter[k] < indexDims[k]) break;
                if (k != axis) baseOffset -= strides[k] * indexDims[k];
                counter[k] = 0;
            }
        }
    }

    /// <summary>full[p] = value where mask[p] ≠ 0 (mask already broadcast to full's shape).</summary>
    public static void MaskedFill(Tensor x, Tensor mask, double value, Tensor d)
    {
        if (x.DType == DType.Float32) MaskedFill(x.Span<float>(), mask.Span<float>(), (float)value, d.Span<float>());
        else MaskedFill(x.Span<double>(), mask.Span<double>(), value, d.Span<double>());
    }

    private static void MaskedFill<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> mask, T value, Span<T> d) where T : unmanaged, INumberBase<T>
    {
        for (int i = 0; i < d.Length; i++) d[i] = T.IsZero(mask[i]) ? x[i] : value;
    }
}
