using Backprop.Kernels;

namespace Backprop;

// BroadcastTo and SumTo are each other's transpose: broadcasting copies a value to many places, so its
// adjoint adds the many gradients back into one.

internal sealed class BroadcastToOp(int[] shape) : LinearOp
{
    public override string Name => "BroadcastTo";
    public override string Describe() => $"BroadcastTo{ShapeUtil.Format(shape)}";

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput((int[])shape.Clone(), x[0].DType);
        Layout.BroadcastTo(x[0], y);
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => t[0].BroadcastTo(shape);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        tx[0] is { } t ? BatchedTangent.Lift(t, shape.Length).BroadcastTo(BatchedTangent.Dims(k, shape)) : null;

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = gy.SumTo(x[0].Dims);
}

internal sealed class SumToOp(int[] shape) : LinearOp
{
    public override string Name => "SumTo";
    public override string Describe() => $"SumTo{ShapeUtil.Format(shape)}";

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput((int[])shape.Clone(), x[0].DType);
        Reduce.SumTo(x[0], y);
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => t[0].SumTo(shape);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        if (tx[0] is not { } t) return null;
        // Pad the target with 1s to the input's rank first: otherwise the direction axis would be
        // aligned with (and summed into) an input dimension.
        var padded = new int[x[0].Rank + 1];
        padded.AsSpan().Fill(1);
        padded[0] = k;
        shape.CopyTo(padded.AsSpan(padded.Length - shape.Length));
        return t.SumTo(padded).Reshape(BatchedTangent.Dims(k, shape));
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = gy.BroadcastTo(x[0].Dims);
}

public static partial class TensorOps
{
    /// <summary>x repeated along dimensions where it has size 1 (or lacks them) to <paramref name="shape"/>.</summary>
    public static Tensor BroadcastTo(this Tensor x, ReadOnlySpan<int> shape)
    {
        if (ShapeUtil.SameShape(x.Dims, shape)) return x;
        if (!ShapeUtil.BroadcastsTo(x.Dims, shape))
            throw new ShapeException($"BroadcastTo: shape {ShapeUtil.Format(x.Dims)} cannot broadcast to {ShapeUtil.Format(shape)}.");
        return Autodiff.Apply(new BroadcastToOp(shape.ToArray()), x);
    }

    /// <summary>x summed down to <paramref name="shape"/>, a shape that broadcasts to x's.</summary>
    public static Tensor SumTo(this Tensor x, ReadOnlySpan<int> shape)
    {
        if (ShapeUtil.SameShape(x.Dims, shape)) return x;
        if (!ShapeUtil.BroadcastsTo(shape, x.Dims))
            throw new ShapeException($"SumTo: shape {ShapeUtil.Format(shape)} does not broadcast to {ShapeUtil.Format(x.Dims)}, so x cannot be summed down to it.");
        return Autodiff.Apply(new SumToOp(shape.ToArray()), x);
    }
}
