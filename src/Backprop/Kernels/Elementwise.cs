using System.Numerics;

namespace Backprop.Kernels;

/// <summary>
/// Drivers that run an elementwise operator over whole tensors: the dtype is dispatched once here, and
/// NumPy broadcasting is reduced to a loop of span calls over the innermost contiguous run.
/// </summary>
public static class Elementwise
{
    /// <summary>d = op(x, y) with broadcasting; <paramref name="d"/> has the broadcast shape.</summary>
    public static void Binary<TOp>(Tensor x, Tensor y, Tensor d) where TOp : IBinaryOperator
    {
        if (d.DType == DType.Float32) Binary<TOp, float>(x, y, d);
        else Binary<TOp, double>(x, y, d);
    }

    /// <summary>d = op(x, parameter) elementwise.</summary>
    public static void Unary<TOp>(Tensor x, Tensor d, double parameter = 0) where TOp : IUnaryOperator
    {
        if (d.DType == DType.Float32) TOp.Invoke(x.Span<float>(), d.Span<float>(), (float)parameter);
        else TOp.Invoke(x.Span<double>(), d.Span<double>(), parameter);
    }

    private static void Binary<TOp, T>(Tensor x, Tensor y, Tensor d)
        where TOp : IBinaryOperator where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> xs = x.Span<T>(), ys = y.Span<T>();
        Span<T> ds = d.Span<T>();
        if (ds.Length == 0) return; // a zero-size result (an operand may still have elements)
        if (xs.Length == ds.Length && ys.Length == ds.Length)
        {
            TOp.Invoke(xs, ys, ds);
            return;
        }
        if (ys.Length == 1 && xs.Length == ds.Length)
        {
            TOp.Invoke(xs, ys[0], ds);
            return;
        }
        if (xs.Length == 1 && ys.Length == ds.Length)
        {
            TOp.Invoke(xs[0], ys, ds);
            return;
        }
        BroadcastLoop<TOp, T>(x.Dims, xs, y.Dims, ys, d.Dims, ds);
    }

    /// <summary>
    /// The general case. Dimensions are first coalesced (a run of dimensions along which both operands
    /// are contiguous, or both broadcast, acts as one), so e.g. (m, n) + (1, n) becomes m calls of a
    /// length-n span operation rather than m·n scalar steps.
    /// </summary>
    private static void BroadcastLoop<TOp, T>(int[] xDims, ReadOnlySpan<T> xs, int[] yDims, ReadOnlySpan<T> ys, int[] dDims, Span<T> ds)
        where TOp : IBinaryOperator where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = dDims.Length;
        Span<int> size = stackalloc int[rank];
        Span<int> xStride = stackalloc int[rank];
        Span<int> yStride = stackalloc int[rank];
        int n = 0;
        int xs0 = 1, ys0 = 1;
        // Walk from the innermost dimension outwards, building strides (0 where broadcast).
        for (int i = rank - 1; i >= 0; i--)
        {
            int dx = i - (rank - xDims.Length) >= 0 ? xDims[i - (rank - xDims.Length)] : 1;
            int dy = i - (rank - yDims.Length) >= 0 ? yDims[i - (rank - yDims.Length)] : 1;
            int sz = dDims[i];
            if (sz == 1) continue;
            int sx = dx == 1 ? 0 : xs0;
            int sy = dy == 1 ? 0 : ys0;
            if (n > 0 && sx == xStride[n - 1] * size[n - 1] && sy == yStride[n - 1] * size[n - 1])
            {
                size[n - 1] *= sz; // merge with the inner dimension
            }
            else
            {
                size[n] = sz;
                xStride[n] = sx;
                yStride[n] = sy;
                n++;
            }
            xs0 *= dx;
            ys0 *= dy;
        }
        if (n == 0)
        {
            TOp.Invoke(xs.Slice(0, 1), ys.Slice(0, 1), ds.Slice(0, 1));
            return;
        }
        // size[0] is now the innermost run; loop over the outer coalesced dimensions with an odometer.
        int inner = size[0];
        int outerCount = ds.Length / inner;
        Span<int> counter = stackalloc int[n];
        counter.Clear();
        int xOff = 0, yOff = 0;
        for (int o = 0; o < outerCount; o++)
        {
            var dRow = ds.Slice(o * inner, inner);
            bool xVaries = xStride[0] != 0, yVaries = yStride[0] != 0;
            if (xVaries && yVaries) TOp.Invoke(xs.Slice(xOff, inner), ys.Slice(yOff, inner), dRow);
            else if (xVaries) TOp.Invoke(xs.Slice(xOff, inner), ys[yOff], dRow);
            else if (yVaries) TOp.Invoke(xs[xOff], ys.Slice(yOff, inner), dRow);
            else TOp.Invoke(xs.Slice(xOff, 1), ys.Slice(yOff, 1), dRow.Slice(0, 1));
            if (!xVaries && !yVaries) dRow.Fill(dRow[0]);
            for (int k = 1; k < n; k++)
            {
                counter[k]++;
                xOff += xStride[k];
                yOff += yStride[k];
                if (counter[k] < size[k]) break;
                xOff -= xStride[k] * size[k];
                yOff -= yStride[k] * size[k];
                counter[k] = 0;
            }
        }
    }
}
