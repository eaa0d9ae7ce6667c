using Backprop.Kernels;

namespace Backprop;

// Sums, means, maxima and log-sum-exp, over all elements or along one axis (keepDims keeps the reduced
// axis with size 1, so the result broadcasts against the input).

/// <summary>Sum over one axis, or over everything when axis is null. Linear; its transpose broadcasts.</summary>
internal sealed class SumOp(int? axis, bool keepDims) : LinearOp
{
    public override string Name => "Sum";
    public override string Describe() => axis is null ? "Sum" : $"Sum(axis {axis}{(keepDims ? ", keepdims" : "")})";

    public override Tensor Forward(Tensor[] x)
    {
        if (axis is not int ax)
        {
            var all = TensorOps.NewOutput(keepDims ? Enumerable.Repeat(1, x[0].Rank).ToArray() : [], x[0].DType);
            Reduce.SumTo(x[0], all);
            return all;
        }
        var y = TensorOps.NewOutput(ShapeUtil.ReducedShape(x[0].Dims, ax, keepDims), x[0].DType);
        Reduce.SumAxis(x[0], ax, y);
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => axis is null ? t[0].Sum(keepDims) : t[0].Sum(axis.Value, keepDims);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        if (tx[0] is not { } t) return null;
        if (axis is int ax) return t.Sum(ax + 1, keepDims);
        return t.Reshape(k, -1).Sum(1).Reshape(BatchedTangent.Dims(k, y.Dims));
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = TensorOps.KeepDims(gy, x[0].Dims, axis).BroadcastTo(x[0].Dims);
}

/// <summary>
/// Max along an axis. Where several elements tie for the maximum, the gradient is shared equally among
/// them (each gets gy / count), as PyTorch's amax does; the JVP averages the tied tangents so that the
/// two rules stay transposes of each other.
/// </summary>
internal sealed class MaxOp(int axis, bool keepDims) : Op
{
    public override string Name => "Max";
    public override string Describe() => $"Max(axis {axis}{(keepDims ? ", keepdims" : "")})";
    public override bool VjpReadsOutput => true;

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput(ShapeUtil.ReducedShape(x[0].Dims, axis, keepDims), x[0].DType);
        Reduce.MaxAxis(x[0], axis, y);
        return y;
    }

    /// <summary>mask / count: 1/count at the maxima of each slice, 0 elsewhere; a constant.</summary>
    private Tensor Weights(Tensor x, Tensor y)
    {
        var mask = x.EqualMask(TensorOps.KeepDims(y.Detach(), x.Dims, axis));
        var count = mask.Sum(axis, keepDims: true);
        return mask / count;
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) =>
        tx[0] is { } t ? (t * Weights(x[0], y)).Sum(axis, keepDims) : null;

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        tx[0] is { } t ? (t * Weights(x[0], y)).Sum(axis + 1, keepDims) : null;

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = TensorOps.KeepDims(gy, x[0].Dims, axis) * Weights(x[0], y);
}

/// <summary>
/// log Σ exp(x) along an axis, computed from the max so it never overflows. Its gradient is softmax(x):
/// gx = gy · softmax(x), and ty = Σ tx · softmax(x). Softmax is computed from x − max, not as
/// exp(x − y): y rounds away log Σ for large logits (float32 1e8 + log 3 is 1e8), and exp(x − y) would
/// then give 1 for each of three equal logits instead of 1/3.
/// </summary>
internal sealed class LogSumExpOp(int axis, bool keepDims) : Op
{
    public override string Name => "LogSumExp";
    public override string Describe() => $"LogSumExp(axis {axis}{(keepDims ? ", keepdims" : "")})";
    public override bool VjpReadsOutput => true;

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput(ShapeUtil.ReducedShape(x[0].Dims, axis, keepDims), x[0].DType);
        Reduce.LogSumExpAxis(x[0], axis, y);
        return y;
    }

    private Tensor Softmax(Tensor x, Tensor y) => x.Softmax(axis);

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) =>
        tx[0] is { } t ? (t * Softmax(x[0], y)).Sum(axis, keepDims) : null;

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        tx[0] is { } t ? (t * Softmax(x[0], y)).Sum(axis + 1, keepDims) : null;

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = TensorOps.KeepDims(gy, x[0].Dims, axis) * Softmax(x[0], y);
}

public static partial class TensorOps
{
    /// <summary>Sum of all elements, as a scalar (or with every dimension kept as 1).</summary>
    public static Tensor Sum(this Tensor x, bool keepDims = false) => Autodiff.Apply(new SumOp(null, keepDims), x);

    /// <summary>Sum along one axis; a rank-0 tensor takes axis 0 or −1 and is its own sum, as in PyTorch.</summary>
    public static Tensor Sum(this Tensor x, int axis, bool keepDims = false) =>
        x.Rank == 0 ? OnScalarAxis(x, axis, (v, a) => v.Sum(a, keepDims))
        : Autodiff.Apply(new SumOp(ShapeUtil.NormalizeAxis(axis, x.Rank), keepDims), x);

    /// <summary>Mean of all elements: the sum times 1/n, so its derivative needs no rule of its own.</summary>
    /// <remarks>The mean of no elements is NaN (0/0), as in PyTorch and NumPy; their sum is 0.</remarks>
    public static Tensor Mean(this Tensor x, bool keepDims = false) => x.Sum(keepDims) * (1.0 / x.Length);

    public static Tensor Mean(this Tensor x, int axis, bool keepDims = false) =>
        x.Rank == 0 ? OnScalarAxis(x, axis, (v, a) => v.Mean(a, keepDims)) : x.Sum(axis, keepDims) * (1.0 / x.Size(axis));

    /// <summary>Maximum along an axis; ties share the gradient equally.</summary>
    public static Tensor Max(this Tensor x, int axis, bool keepDims = false) =>
        x.Rank == 0 ? OnScalarAxis(x, axis, (v, a) => v.Max(a, keepDims))
        : Autodiff.Apply(new MaxOp(ShapeUtil.NormalizeAxis(axis, x.Rank), keepDims), x);

    /// <summary>Maximum of all elements, as a scalar.</summary>
    public static Tensor Max(this Tensor x) => x.Reshape(-1).Max(0);

    public static Tensor LogSumExp(this Tensor x, int axis = -1, bool keepDims = false) =>
        x.Rank == 0 ? OnScalarAxis(x, axis, (v, a) => v.LogSumExp(a, keepDims))
        : Autodiff.Apply(new LogSumExpOp(ShapeUtil.NormalizeAxis(axis, x.Rank), keepDims), x);

    /// <summary>
    /// The reduced tensor <paramref name="r"/> reshaped so the reduced axis (or all axes) has size 1,
    /// ready to broadcast against the unreduced shape.
    /// </summary>
    internal static Tensor KeepDims(Tensor r, int[] fullDims, int? axis)
    {
        int[] kept;
        if (axis is int ax) kept = ShapeUtil.ReducedShape(fullDims, ax, keepDims: true);
        else kept = Enumerable.Repeat(1, fullDims.Length).ToArray();
        return r.Reshape(kept);
    }
}
