using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Kernels;

/// <summary>
/// Reductions along one axis. The tensor is viewed as (outer, n, inner) around the axis; when the axis
/// is the last one (inner = 1) each output is one vectorised reduction of a contiguous row, otherwise
/// rows of length inner are accumulated with vectorised adds.
/// </summary>
public static class Reduce
{
    public static double SumAll(Tensor x) =>
        x.DType == DType.Float32 ? TensorPrimitives.Sum(x.Span<float>()) : TensorPrimitives.Sum(x.Span<double>());

    /// <summary>d = sum of x over <paramref name="axis"/> (d has the reduced shape, kept or not).</summary>
    public static void SumAxis(Tensor x, int axis, Tensor d)
    {
        if (x.DType == DType.Float32) SumAxis(x.Span<float>(), x.Dims, axis, d.Span<float>());
        else SumAxis(x.Span<double>(), x.Dims, axis, d.Span<double>());
    }

    private static void SumAxis<T>(ReadOnlySpan<T> x, int[] dims, int axis, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = ShapeUtil.AroundAxis(dims, axis);
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++) d[o] = TensorPrimitives.Sum(x.Slice(o * n, n));
            return;
        }
        d.Clear();
        for (int o = 0; o < outer; o++)
        {
            var dRow = d.Slice(o * inner, inner);
            for (int j = 0; j < n; j++) TensorPrimitives.Add(dRow, x.Slice((o * n + j) * inner, inner), dRow);
        }
    }

    /// <summary>d = max of x over <paramref name="axis"/>. NaN propagates.</summary>
    public static void MaxAxis(Tensor x, int axis, Tensor d)
    {
        if (x.DType == DType.Float32) MaxAxis(x.Span<float>(), x.Dims, axis, d.Span<float>());
        else MaxAxis(x.Span<double>(), x.Dims, axis, d.Span<double>());
    }

    private static void MaxAxis<T>(ReadOnlySpan<T> x, int[] dims, int axis, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = ShapeUtil.AroundAxis(dims, axis);
        if (n == 0) throw new ShapeException($"Max over an empty axis of shape {ShapeUtil.Format(dims)}.");
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++) d[o] = TensorPrimitives.Max(x.Slice(o * n, n));
            return;
        }
        for (int o = 0; o < outer; o++)
        {
            var dRow = d.Slice(o * inner, inner);
            x.Slice(o * n * inner, inner).CopyTo(dRow);
            for (int j = 1; j < n; j++) TensorPrimitives.Max(dRow, x.Slice((o * n + j) * inner, inner), dRow);
        }
    }

    /// <summary>
    /// d = log Σ exp(x) over <paramref name="axis"/>, computed as m + log Σ exp(x − m) with m the max, so
    /// it neither overflows for large logits nor underflows to log 0 for very negative ones.
    /// </summary>
    public static void LogSumExpAxis(Tensor x, int axis, Tensor d)
    {
        if (x.DType == DType.Float32) LogSumExpAxis(x.Span<float>(), x.Dims, axis, d.Span<float>());
        else LogSumExpAxis(x.Span<double>(), x.Dims, axis, d.Span<double>());
    }

    private static void LogSumExpAxis<T>(ReadOnlySpan<T> x, int[] dims, int axis, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = ShapeUtil.AroundAxis(dims, axis);
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int start = o * n * inner + i;
                T max = T.NegativeInfinity;
                for (int j = 0; j < n; j++) max = T.Max(max, x[start + j * inner]);
                if (T.IsInfinity(max))
                {
                    // All −∞ gives −∞; any +∞ gives +∞. Subtracting an infinite max would make NaN.
                    d[o * inner + i] = max;
                    continue;
                }
                T sum = T.Zero;
                for (int j = 0; j < n; j++) sum += T.Exp(x[start + j * inner] - max);
                d[o * inner + i] = max + T.Log(sum);
            }
        }
    }

    /// <summary>d = the product of x over <paramref name="axis"/>; the product of no elements is 1.</summary>
    public static void ProdAxis(Tensor x, int axis, Tensor d)
    {
        if (x.DType == DType.Float32) ProdAxis(x.Span<float>(), x.Dims, axis, d.Span<float>());
        else ProdAxis(x.Span<double>(), x.Dims, axis, d.Span<double>());
    }

    private static void ProdAxis<T>(ReadOnlySpan<T> x, int[] dims, int axis, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = ShapeUtil.AroundAxis(dims, axis);
        d.Fill(T.One);
        for (int o = 0; o < outer; o++)
        {
            var dRow = d.Slice(o * inner, inner);
            for (int j = 0; j < n; j++) TensorPrimitives.Multiply(dRow, x.Slice((o * n + j) * inner, inner), dRow);
        }
    }

    /// <summary>
    /// d = log softmax(x) along <paramref name="axis"/> = (x − m) − log Σ exp(x − m), m the max. The
    /// shifted value x − m is formed first and stays exact, so [1e8, 1e8, 1e8] in float32 gives −log 3
    /// each; subtracting a computed logsumexp instead would lose everything below the ulp of 1e8.
    /// </summary>
    public static void LogSoftmaxAxis(Tensor x, int axis, Tensor d)
    {
        if (x.DType == DType.Float32) SoftmaxAxis(x.Span<float>(), x.Dims, axis, d.Span<float>(), log: true);
        else SoftmaxAxis(x.Span<double>(), x.Dims, axis, d.Span<double>(), log: true);
    }

    /// <summary>d = softmax(x) along <paramref name="axis"/> = exp(x − m) / Σ exp(x − m), m the max.</summary>
    public static void SoftmaxAxis(Tensor x, int axis, Tensor d)
    {
        if (x.DType == DType.Float32) SoftmaxAxis(x.Span<float>(), x.Dims, axis, d.Span<float>(), log: false);
        else SoftmaxAxis(x.Span<double>(), x.Dims, axis, d.Span<double>(), log: false);
    }

    private static void SoftmaxAxis<T>(ReadOnlySpan<T> x, int[] dims, int axis, Span<T> d, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = ShapeUtil.AroundAxis(dims, axis);
        if (n == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var row = x.Slice(o * n, n);
                var dRow = d.Slice(o * n, n);
                // An all −∞ row gives NaN (−∞ − −∞), as in PyTorch: no distribution has zero mass.
                TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), dRow);
                if (log)
                {
                    T sum = T.Zero;
                    for (int j = 0; j < n; j++) sum += T.Exp(dRow[j]);
                    TensorPrimitives.Subtract(dRow, T.Log(sum), dRow);
                }
                else
                {
                    TensorPrimitives.Exp(dRow, dRow);
                    TensorPrimitives.Divide(dRow, TensorPrimitives.Sum<T>(dRow), dRow);
                }
            }
            return;
        }
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int start = o * n * inner + i;
                T max = T.NegativeInfinity;
                for (int j = 0; j < n; j++) max = T.Max(max, x[start + j * inner]);
                T sum = T.Zero;
                for (int j = 0; j < n; j++)
                {
                    T shifted = x[start + j * inner] - max;
                    d[start + j * inner] = log ? shifted : T.Exp(shifted);
                    sum += log ? T.Exp(shifted) : d[start + j * inner];
                }
                T logSum = T.Log(sum);
                for (int j = 0; j < n; j++) d[start + j * inner] = log ? d[start + j * inner] - logSum : d[start + j * inner] / sum;
            }
        }
    }

    /// <summary>
    /// d = the sum of x down to <paramref name="d"/>'s shape, which x's shape broadcasts from: the
    /// adjoint of broadcasting, and how a gradient comes back in its input's shape.
    /// </summary>
    public static void SumTo(Tensor x, Tensor d)
    {
        if (x.DType == DType.Float32) SumTo(x.Span<float>(), x.Dims, d.Span<float>(), d.Dims);
        else SumTo(x.Span<double>(), x.Dims, d.Span<double>(), d.Dims);
    }

    private static void SumTo<T>(ReadOnlySpan<T> x, int[] xDims, Span<T> d, int[] dDims) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length == d.Length)
        {
            x.CopyTo(d);
            return;
        }
        if (d.Length == 1)
        {
            d[0] = TensorPrimitives.Sum(x);
            return;
        }
        int rank = xDims.Length;
        int lead = rank - dDims.Length;
        // Fast path for the bias gradient: (m, n) summed to (n) or (1, n).
        int inner = 1;
        int k = rank - 1;
        while (k >= 0 && k - lead >= 0 && dDims[k - lead] == xDims[k]) inner *= xDims[k--];
        bool restReduced = true;
        for (int i = 0; i <= k; i++)
            if (i - lead >= 0 && dDims[i - lead] != 1) restReduced = false;
        if (restReduced)
        {
            d.Clear();
            int outer = x.Length / inner;
            for (int o = 0; o < outer; o++) TensorPrimitives.Add(d, x.Slice(o * inner, inner), d);
            return;
        }
        // General case: accumulate each x element into its d position.
        d.Clear();
        var xStrides = ShapeUtil.Strides(xDims);
        Span<int> dStride = stackalloc int[rank];
        int s = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int dd = i - lead >= 0 ? dDims[i - lead] : 1;
            dStride[i] = dd == 1 ? 0 : s;
            s *= dd;
        }
        for (int flat = 0; flat < x.Length; flat++)
        {
            int rem = flat, dOff = 0;
            for (int i = 0; i < rank; i++)
            {
                int idx = rem / xStrides[i];
                rem -= idx * xStrides[i];
                dOff += idx * dStride[i];
            }
            d[dOff] += x[flat];
        }
    }
}

/// <summary>Scans and index-of-extremum along one axis, viewed as (outer, n, inner) like <see cref="Reduce"/>.</summary>
public static class Scan
{
    /// <summary>d = running sum of x along <paramref name="axis"/>, from the end when <paramref name="reverse"/>.</summary>
    public static void CumSum(Tensor x, int axis, bool reverse, Tensor d)
    {
        if (x.DType == DType.Float32) CumSum(x.Span<float>(), x.Dims, axis, reverse, d.Span<float>());
        else CumSum(x.Span<double>(), x.Dims, axis, reverse, d.Span<double>());
    }

    private static void CumSum<T>(ReadOnlySpan<T> x, int[] dims, int axis, bool reverse, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = ShapeUtil.AroundAxis(dims, axis);
        if (n == 0 || inner == 0) return;
        for (int o = 0; o < outer; o++)
        {
            int first = reverse ? n - 1 : 0, step = reverse ? -1 : 1;
            int start = o * n * inner;
            x.Slice(start + first * inner, inner).CopyTo(d.Slice(start + first * inner, inner));
            for (int j = first + step, c = 1; c < n; j += step, c++)
                TensorPrimitives.Add(d.Slice(start + (j - step) * inner, inner), x.Slice(start + j * inner, inner), d.Slice(start + j * inner, inner));
        }
    }

    /// <summary>
    /// d = the index of the first maximum (or minimum) of x along <paramref name="axis"/>, as a whole
    /// number; a NaN counts as the extremum, as in PyTorch.
    /// </summary>
    public static void ArgExtremum(Tensor x, int axis, bool max, Span<double> d)
    {
        if (x.DType == DType.Float32) ArgExtremum(x.Span<float>(), x.Dims, axis, max, d);
        else ArgExtremum(x.Span<double>(), x.Dims, axis, max, d);
    }

    private static void ArgExtremum<T>(ReadOnlySpan<T> x, int[] dims, int axis, bool max, Span<double> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = ShapeUtil.AroundAxis(dims, axis);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int start = o * n * inner + i, best = 0;
                T bestValue = x[start];
                for (int j = 1; j < n && !T.IsNaN(bestValue); j++)
                {
                    T v = x[start + j * inner];
                    if (T.IsNaN(v) || (max ? v > bestValue : v < bestValue)) (best, bestValue) = (j, v);
                }
                d[o * inner + i] = best;
            }
    }
}
