using Backprop.Kernels;

namespace Backprop;

// Shape ops in PyTorch's vocabulary: squeeze and unsqueeze (reshapes), stack (unsqueeze + concat), and
// flip, which is linear and its own transpose.

/// <summary>x reversed along the flagged axes (torch.flip); flipping twice is the identity, so the VJP flips gy.</summary>
internal sealed class FlipOp(bool[] flipped) : LinearOp
{
    public override string Name => "Flip";
    public override string Describe() => $"Flip({string.Join(", ", Enumerable.Range(0, flipped.Length).Where(i => flipped[i]))})";

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput(x[0].Dims, x[0].DType);
        Reversal.Flip(x[0], flipped, y);
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => Autodiff.Apply(new FlipOp(flipped), t[0]);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        tx[0] is { } t ? Autodiff.Apply(new FlipOp([false, .. flipped]), t) : null;

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = Autodiff.Apply(new FlipOp(flipped), gy);
}

public static partial class TensorOps
{
    /// <summary>x with every dimension of size 1 removed (torch.squeeze).</summary>
    public static Tensor Squeeze(this Tensor x) => x.Reshape(x.Dims.Where(d => d != 1).ToArray());

    /// <summary>x with dimension <paramref name="axis"/> removed if its size is 1, else unchanged (torch.squeeze(dim)).</summary>
    public static Tensor Squeeze(this Tensor x, int axis)
    {
        if (x.Rank == 0)
        {
            ShapeUtil.NormalizeAxis(axis, 1);
            return x;
        }
        int ax = ShapeUtil.NormalizeAxis(axis, x.Rank);
        if (x.Dims[ax] != 1) return x;
        var dims = x.Dims.ToList();
        dims.RemoveAt(ax);
        return x.Reshape(dims.ToArray());
    }

    /// <summary>x with a new dimension of size 1 at <paramref name="axis"/>, in −(rank + 1) … rank (torch.unsqueeze).</summary>
    public static Tensor Unsqueeze(this Tensor x, int axis)
    {
        int ax = ShapeUtil.NormalizeAxis(axis, x.Rank + 1);
        var dims = x.Dims.ToList();
        dims.Insert(ax, 1);
        return x.Reshape(dims.ToArray());
    }

    /// <summary>Joins tensors of one shape along a new dimension at <paramref name="axis"/> (torch.stack).</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors.Count == 0) throw new ShapeException("Stack needs at least one tensor.");
        foreach (var t in tensors)
            if (!ShapeUtil.SameShape(t.Dims, tensors[0].Dims))
                throw new ShapeException($"Stack: every tensor needs the same shape; got {ShapeUtil.Format(tensors[0].Dims)} and {ShapeUtil.Format(t.Dims)}.");
        int ax = ShapeUtil.NormalizeAxis(axis, tensors[0].Rank + 1);
        return Concat(tensors.Select(t => t.Unsqueeze(ax)).ToArray(), ax);
    }

    /// <summary>x reversed along the given axes (torch.flip).</summary>
    public static Tensor Flip(this Tensor x, params int[] axes)
    {
        var flipped = new bool[x.Rank];
        foreach (int a in axes)
        {
            if (x.Rank == 0)
            {
                ShapeUtil.NormalizeAxis(a, 1);
                continue;
            }
            int ax = ShapeUtil.NormalizeAxis(a, x.Rank);
            if (flipped[ax]) throw new ShapeException($"Flip: axis {a} is given twice for shape {ShapeUtil.Format(x.Dims)}.");
            flipped[ax] = true;
        }
        if (!flipped.Contains(true)) return x;
        return Autodiff.Apply(new FlipOp(flipped), x);
    }
}
