using Backprop.Kernels;

namespace Backprop;

// Ops that rearrange values: reshape, permute/transpose, slice, concat. All are linear, so each writes
// only its transpose: reshape back, the inverse permutation, zero-padding for a slice, slices for a concat.

/// <summary>The same values in a new shape; on plain tensors a view sharing memory.</summary>
internal sealed class ReshapeOp(int[] shape) : LinearOp
{
    public override string Name => "Reshape";
    public override string Describe() => $"Reshape{ShapeUtil.Format(shape)}";
    public override Tensor Forward(Tensor[] x) => new(x[0].Storage, x[0].Offset, (int[])shape.Clone(), x[0].DType);
    protected override Tensor ApplyTo(Tensor[] t) => t[0].Reshape(shape);
    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) => tx[0]?.Reshape(BatchedTangent.Dims(k, shape));
    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) => gx[0] = gy.Reshape(x[0].Dims);
}

/// <summary>Dimension i of the output is dimension perm[i] of the input.</summary>
internal sealed class PermuteOp(int[] perm) : LinearOp
{
    public override string Name => "Permute";
    public override string Describe() => $"Permute({string.Join(", ", perm)})";

    public override Tensor Forward(Tensor[] x)
    {
        var dims = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) dims[i] = x[0].Dims[perm[i]];
        var y = TensorOps.NewOutput(dims, x[0].DType);
        Layout.Permute(x[0], perm, y);
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => t[0].Permute(perm);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        if (tx[0] is not { } t) return null;
        var shifted = new int[perm.Length + 1];
        for (int i = 0; i < perm.Length; i++) shifted[i + 1] = perm[i] + 1;
        return t.Permute(shifted);
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        var inverse = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        gx[0] = gy.Permute(inverse);
    }
}

/// <summary>Elements [start, start + length) along an axis.</summary>
internal sealed class SliceOp(int axis, int start, int length) : LinearOp
{
    public override string Name => "Slice";
    public override string Describe() => $"Slice(axis {axis}, {start}:{start + length})";

    public override Tensor Forward(Tensor[] x)
    {
        var dims = (int[])x[0].Dims.Clone();
        dims[axis] = length;
        if (axis == 0 || IsLeadingRun(x[0].Dims, axis))
        {
            // A run of whole rows is contiguous: share memory instead of copying (mini-batches).
            int rowSize = ShapeUtil.Product(x[0].Dims.AsSpan(axis + 1));
            return new Tensor(x[0].Storage, x[0].Offset + start * rowSize, dims, x[0].DType);
        }
        var y = TensorOps.NewOutput(dims, x[0].DType);
        Layout.CopyAxisBlock(x[0], axis, start, length, y, 0);
        return y;
    }

    private static bool IsLeadingRun(int[] dims, int axis)
    {
        for (int i = 0; i < axis; i++)
            if (dims[i] != 1) return false;
        return true;
    }

    protected override Tensor ApplyTo(Tensor[] t) => t[0].Slice(axis, start, length);
    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) => tx[0]?.Slice(axis + 1, start, length);

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = Autodiff.Apply(new PadOp(axis, start, x[0].Dims[axis]), gy);
}

/// <summary>The transpose of a slice: zeros of the full length with the input placed at [start, …).</summary>
internal sealed class PadOp(int axis, int start, int fullLength) : LinearOp
{
    public override string Name => "Pad";
    public override string Describe() => $"Pad(axis {axis}, at {start} of {fullLength})";

    public override Tensor Forward(Tensor[] x)
    {
        var dims = (int[])x[0].Dims.Clone();
        dims[axis] = fullLength;
        var y = TensorOps.NewOutput(dims, x[0].DType);
        Layout.CopyAxisBlock(x[0], axis, 0, x[0].Dims[axis], y, start);
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => Autodiff.Apply(new PadOp(axis, start, fullLength), t[0]);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        tx[0] is { } t ? Autodiff.Apply(new PadOp(axis + 1, start, fullLength), t) : null;

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = gy.Slice(axis, start, x[0].Dims[axis]);
}

internal sealed class ConcatOp(int axis) : LinearOp
{
    public override string Name => "Concat";
    public override string Describe() => $"Concat(axis {axis})";

    public override Tensor Forward(Tensor[] x)
    {
        var dims = (int[])x[0].Dims.Clone();
        int total = 0;
        foreach (var t in x)
        {
            TensorOps.CheckSameDType(x[0], t, Name);
            if (t.Rank != dims.Length)
                throw new ShapeException($"Concat: all tensors need the same rank; got {ShapeUtil.Format(x[0].Dims)} and {ShapeUtil.Format(t.Dims)}.");
            for (int d = 0; d < dims.Length; d++)
                if (d != axis && t.Dims[d] != dims[d])
                    throw new ShapeException($"Concat along axis {axis}: shapes {ShapeUtil.Format(x[0].Dims)} and {ShapeUtil.Format(t.Dims)} differ in dimension {d}.");
            total += t.Dims[axis];
        }
        dims[axis] = total;
        var y = TensorOps.NewOutput(dims, x[0].DType);
        int offset = 0;
        foreach (var t in x)
        {
            Layout.CopyAxisBlock(t, axis, 0, t.Dims[axis], y, offset);
            offset += t.Dims[axis];
        }
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => TensorOps.Concat(t, axis);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        var parts = new Tensor[tx.Length];
        for (int i = 0; i < tx.Length; i++) parts[i] = tx[i] ?? Tensor.Zeros(BatchedTangent.Dims(k, x[i].Dims), x[i].DType);
        return TensorOps.Concat(parts, axis + 1);
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        int offset = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int len = x[i].Dims[axis];
            if (needsGrad[i]) gx[i] = gy.Slice(axis, offset, len);
            offset += len;
        }
    }
}

public static partial class TensorOps
{
    /// <summary>The same values in another shape with as many elements; one dimension may be −1 (inferred).</summary>
    public static Tensor Reshape(this Tensor x, params int[] shape)
    {
        var resolved = (int[])shape.Clone();
        int infer = Array.IndexOf(resolved, -1);
        if (infer >= 0)
        {
            int known = 1;
            for (int i = 0; i < resolved.Length; i++)
                if (i != infer) known *= resolved[i];
            if (known == 0 || x.Length % known != 0)
                throw new ShapeException($"Reshape: cannot infer the −1 in {ShapeUtil.Format(shape)} for {x.Length} elements of shape {ShapeUtil.Format(x.Dims)}.");
            resolved[infer] = x.Length / known;
        }
        if (ShapeUtil.Product(resolved) != x.Length)
            throw new ShapeException($"Reshape: shape {ShapeUtil.Format(x.Dims)} has {x.Length} elements, which cannot fill {ShapeUtil.Format(resolved)}.");
        if (ShapeUtil.SameShape(resolved, x.Dims)) return x;
        return Autodiff.Apply(new ReshapeOp(resolved), x);
    }

    /// <summary>Reorders dimensions: output dimension i is input dimension perm[i].</summary>
    public static Tensor Permute(this Tensor x, params int[] perm)
    {
        if (perm.Length != x.Rank || perm.Distinct().Count() != perm.Length || perm.Any(p => p < 0 || p >= x.Rank))
            throw new ShapeException($"Permute: ({string.Join(", ", perm)}) is not a permutation of the {x.Rank} dimensions of {ShapeUtil.Format(x.Dims)}.");
        return Autodiff.Apply(new PermuteOp((int[])perm.Clone()), x);
    }

    /// <summary>Swaps the last two dimensions (a matrix transpose, batched over leading dimensions).</summary>
    public static Tensor Transpose(this Tensor x)
    {
        if (x.Rank < 2) throw new ShapeException($"Transpose needs rank 2 or more; got shape {ShapeUtil.Format(x.Dims)}.");
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        (perm[^1], perm[^2]) = (perm[^2], perm[^1]);
        return Autodiff.Apply(new PermuteOp(perm), x);
    }

    /// <summary>Elements [start, start + length) along <paramref name="axis"/>.</summary>
    public static Tensor Slice(this Tensor x, int axis, int start, int length)
    {
        int ax = ShapeUtil.NormalizeAxis(axis, x.Rank);
        if (start < 0 || length < 0 || start + length > x.Dims[ax])
            throw new ShapeException($"Slice [{start}, {start + length}) is out of range for axis {axis} of length {x.Dims[ax]} (shape {ShapeUtil.Format(x.Dims)}).");
        if (start == 0 && length == x.Dims[ax]) return x;
        return Autodiff.Apply(new SliceOp(ax, start, length), x);
    }

    /// <summary>Rows [start, start + count) along the first axis: a mini-batch, sharing memory when plain.</summary>
    public static Tensor Rows(this Tensor x, int start, int count) => x.Slice(0, start, count);

    /// <summary>Joins tensors along <paramref name="axis"/>; other dimensions must match.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors.Count == 0) throw new ShapeException("Concat needs at least one tensor.");
        int ax = ShapeUtil.NormalizeAxis(axis, tensors[0].Rank);
        return Autodiff.Apply(new ConcatOp(ax), tensors.ToArray());
    }
}
