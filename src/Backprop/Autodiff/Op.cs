namespace Backprop;

// The vocabulary of differentiation rules, used by every op in Ops/ (after PyTorch's derivatives.yaml):
//
//   x[i]   the op's inputs (primal values)        y    the op's output
//   tx[i]  tangents of the inputs (forward mode;  ty   tangent of the output
//          null means a zero tangent)
//   gy     the cotangent of the output, dL/dy     gx[i] cotangents of the inputs, dL/dx[i]
//
// Jvp maps (x, tx, y) to ty = J·tx and Vjp maps (x, y, gy) to gx = Jᵀ·gy. Both are written with tensor
// ops, never with raw loops, so a rule is itself differentiable: that is what makes Hessians,
// forward-over-reverse and reverse-over-reverse work without a second set of rules. Every gx[i] must
// come back in x[i]'s own shape; the dispatcher checks it.
//
// Batched tangents (JvpMany, Jacobians, the forward-mode full gradient): a level may carry K tangent
// directions at once, each tangent then having shape (K, …x[i].Shape) and ty shape (K, …y.Shape).
// JvpBatched maps those; the primal y is still computed once. Rules whose tangent enters only through
// broadcasting elementwise ops work unchanged; rules with axes or shapes shift them by one.

/// <summary>
/// One differentiable operation: its forward computation on plain tensors, its forward-mode rule (JVP)
/// and its reverse-mode rule (VJP), kept together. An instance is created per call and may keep state
/// from <see cref="Forward"/> (an axis, indices, a constant mask) for its rules.
/// </summary>
public abstract class Op
{
    /// <summary>Short name shown in graphs, errors and explanations ("MatMul", "Sigmoid").</summary>
    public abstract string Name { get; }

    /// <summary>Computes y from plain inputs (level 0) with kernels.</summary>
    public abstract Tensor Forward(Tensor[] x);

    /// <summary>ty = J·tx; null tangents are zero. Returns null when ty is zero.</summary>
    public abstract Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y);

    /// <summary>
    /// K tangent directions at once: tx[i] has shape (K, …x[i].Shape) (null: zero) and the result
    /// (K, …y.Shape), slice k being Jvp of slice k. This default runs <see cref="Jvp"/> once per
    /// direction and stacks the results, correct for any op but paying K rule evaluations; ops override
    /// it with one rule over the whole batch.
    /// </summary>
    public virtual Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        var slices = new Tensor[k];
        var one = new Tensor?[tx.Length];
        bool any = false;
        for (int j = 0; j < k; j++)
        {
            for (int i = 0; i < tx.Length; i++) one[i] = tx[i] is { } t ? BatchedTangent.Direction(t, j, x[i].Dims) : null;
            var tyj = Jvp(x, one, y);
            any |= tyj is not null;
            slices[j] = (tyj ?? Tensor.ZerosLike(y)).Reshape(BatchedTangent.Dims(1, y.Dims));
        }
        return any ? TensorOps.Concat(slices, 0) : null;
    }

    /// <summary>Sets gx[i] = J[i]ᵀ·gy for each input i with <paramref name="needsGrad"/>[i]; may leave others null.</summary>
    public abstract void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx);

    /// <summary>Whether the VJP reads the input values (if so, changing them in place before backward is an error).</summary>
    public virtual bool VjpReadsInputs => true;

    /// <summary>Whether the VJP reads the output value.</summary>
    public virtual bool VjpReadsOutput => false;

    /// <summary>A one-line description with parameters, for graphs and explanations.</summary>
    public virtual string Describe() => Name;
}

/// <summary>
/// An op that is linear in all its inputs (add, neg, reshape, sum, slice, concat…): the JVP is the op
/// itself applied to the tangents, so only the VJP (the transpose) is written.
/// </summary>
public abstract class LinearOp : Op
{
    /// <summary>The same op applied to other inputs of the same shapes (through the public API, so it is differentiable).</summary>
    protected abstract Tensor ApplyTo(Tensor[] inputs);

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y)
    {
        var inputs = new Tensor[tx.Length];
        for (int i = 0; i < tx.Length; i++) inputs[i] = tx[i] ?? Tensor.ZerosLike(x[i]);
        return ApplyTo(inputs);
    }

    public override bool VjpReadsInputs => false;
}

/// <summary>
/// An elementwise function y = f(x) whose derivative f'(x) is given as a tensor expression of x and y;
/// both rules follow: ty = f'(x)·tx and gx = f'(x)·gy (after DiffSharp's UnaryOpElementwise).
/// </summary>
public abstract class ElementwiseUnaryOp : Op
{
    /// <summary>f'(x) as a tensor of x's shape, built from x and y with differentiable ops.</summary>
    protected abstract Tensor Derivative(Tensor x, Tensor y);

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) =>
        tx[0] is { } t ? t * Derivative(x[0], y) : null;

    // f'(x) has x's shape, so it broadcasts over the leading direction axis of a batched tangent.
    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) => Jvp(x, tx, y);

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = gy * Derivative(x[0], y);

    public override bool VjpReadsOutput => true;
}
