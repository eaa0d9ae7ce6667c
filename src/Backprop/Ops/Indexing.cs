using Backprop.Kernels;

namespace Backprop;

// Ops that pick values by index: gather and its transpose scatter-add (each linear, so each writes
// only the other as its VJP), and index_select and masked_fill built on them and on Where.

/// <summary>
/// torch.gather: y[p] = x[p with coordinate <c>axis</c> replaced by index[p]], y of the index's shape.
/// Linear in x; the transpose adds gy back at the gathered positions (repeated indices accumulate).
/// </summary>
internal sealed class GatherOp(int axis, int[] index, int[] indexDims) : LinearOp
{
    public override string Name => "Gather";
    public override string Describe() => $"Gather(axis {axis}, index {ShapeUtil.Format(indexDims)})";

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput((int[])indexDims.Clone(), x[0].DType);
        Indexing.Gather(x[0], axis, index, indexDims, y);
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => Autodiff.Apply(new GatherOp(axis, index, indexDims), t[0]);

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = Autodiff.Apply(new ScatterAddOp(axis, index, indexDims, x[0].Dims), gy);
}

/// <summary>The transpose of gather: zeros of <c>fullDims</c> with each x[p] added at its gathered position.</summary>
internal sealed class ScatterAddOp(int axis, int[] index, int[] indexDims, int[] fullDims) : LinearOp
{
    public override string Name => "ScatterAdd";
    public override string Describe() => $"ScatterAdd(axis {axis}, into {ShapeUtil.Format(fullDims)})";

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput((int[])fullDims.Clone(), x[0].DType);
        Indexing.ScatterAdd(x[0], axis, index, indexDims, y);
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => Autodiff.Apply(new ScatterAddOp(axis, index, indexDims, fullDims), t[0]);

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = Autodiff.Apply(new GatherOp(axis, index, indexDims), gy);
}

public static partial class TensorOps
{
    /// <summary>
    /// Values of x at the given indices along <paramref name="axis"/> (torch.gather): the result has the
    /// index's shape, y[i][j] = x[i][index[i][j]] for axis 1. <paramref name="index"/> holds whole
    /// numbers in [0, x.Size(axis)); it has x's rank and is no larger than x in the other dimensions.
    /// </summary>
    public static Tensor Gather(this Tensor x, int axis, Tensor index)
    {
        int ax = ShapeUtil.NormalizeAxis(axis, Math.Max(1, x.Rank));
        if (x.Rank == 0) return x.Reshape(1).Gather(0, index.Reshape(index.Length)).Reshape(index.Dims);
        if (index.Rank != x.Rank)
            throw new ShapeException($"Gather: index has rank {index.Rank} but x has rank {x.Rank} (shapes {ShapeUtil.Format(index.Dims)} and {ShapeUtil.Format(x.Dims)}); they must match.");
        for (int d = 0; d < x.Rank; d++)
            if (d != ax && index.Dims[d] > x.Dims[d])
                throw new ShapeException($"Gather along axis {ax}: index shape {ShapeUtil.Format(index.Dims)} is larger than x's {ShapeUtil.Format(x.Dims)} in dimension {d}.");
        var indices = Indices(index, x.Dims[ax], "Gather", ax);
        return Autodiff.Apply(new GatherOp(ax, indices, index.Dims.ToArray()), x);
    }

    /// <summary>
    /// The slices of x at the given positions along <paramref name="axis"/> (torch.index_select): the
    /// result has x's shape with that axis replaced by the number of indices; indices may repeat.
    /// </summary>
    public static Tensor IndexSelect(this Tensor x, int axis, ReadOnlySpan<int> indices)
    {
        if (x.Rank == 0)
        {
            if (indices.Length != 1 || indices[0] != 0)
                throw new ShapeException($"IndexSelect on a rank-0 tensor takes the single index 0; got [{string.Join(", ", indices.ToArray())}].");
            return x;
        }
        int ax = ShapeUtil.NormalizeAxis(axis, x.Rank);
        var dims = x.Dims.ToArray();
        dims[ax] = indices.Length;
        var full = new int[ShapeUtil.Product(dims)];
        var (outer, n, inner) = ShapeUtil.AroundAxis(dims, ax);
        for (int j = 0; j < n; j++)
        {
            int i = indices[j];
            if ((uint)i >= (uint)x.Dims[ax])
                throw new ShapeException($"IndexSelect: index {i} (position {j}) is out of range for axis {ax} of length {x.Dims[ax]} (shape {ShapeUtil.Format(x.Dims)}).");
        }
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < n; j++)
                full.AsSpan((o * n + j) * inner, inner).Fill(indices[j]);
        return Autodiff.Apply(new GatherOp(ax, full, dims), x);
    }

    /// <summary>
    /// x with <paramref name="value"/> where <paramref name="mask"/> is nonzero (torch.masked_fill); the
    /// mask broadcasts to x's shape. The gradient reaches only the unmasked positions.
    /// </summary>
    public static Tensor MaskedFill(this Tensor x, Tensor mask, double value)
    {
        if (!ShapeUtil.BroadcastsTo(mask.Dims, x.Dims))
            throw new ShapeException($"MaskedFill: the mask's shape {ShapeUtil.Format(mask.Dims)} does not broadcast to x's shape {ShapeUtil.Format(x.Dims)}.");
        return Where(mask, Tensor.Scalar(value, x.DType), x).BroadcastTo(x.Dims);
    }

    /// <summary>The whole numbers in an index tensor, each checked to lie in [0, length).</summary>
    internal static int[] Indices(Tensor index, int length, string opName, int axis)
    {
        var values = index.Detach().ToDoubleArray();
        var result = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            if (v != Math.Floor(v) || v < 0 || v >= length)
                throw new ShapeException($"{opName}: index {v} at flat position {i} is not a whole number in [0, {length}) for axis {axis} of length {length}.");
            result[i] = (int)v;
        }
        return result;
    }
}
