using Backprop.Kernels;

namespace Backprop;

/// <summary>
/// softmax(x) = exp(x − logsumexp(x)) along an axis. With s = Σ y·tx along the axis:
/// ty = y·(tx − s), and gx = y·(gy − Σ gy·y): the Jacobian diag(y) − y yᵀ is symmetric, so both
/// rules are the same product.
/// </summary>
internal sealed class SoftmaxOp(int axis) : Op
{
    public override string Name => "Softmax";
    public override string Describe() => $"Softmax(axis {axis})";
    public override bool VjpReadsInputs => false;
    public override bool VjpReadsOutput => true;

    public override Tensor Forward(Tensor[] x)
    {
        var y = LogSoftmaxOp.Compute(x[0], axis);
        Elementwise.Unary<ExpOperator>(y, y);
        return y;
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) =>
        tx[0] is { } t ? y * (t - (y * t).Sum(axis, keepDims: true)) : null;

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        tx[0] is { } t ? y * (t - (y * t).Sum(axis + 1, keepDims: true)) : null;

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = y * (gy - (gy * y).Sum(axis, keepDims: true));
}

/// <summary>
/// log softmax(x) = x − logsumexp(x), never log(softmax(x)): the latter is −∞ as soon as a probability
/// underflows, which happens for logit gaps above ~100 in float32. With p = exp(y):
/// ty = tx − Σ p·tx and gx = gy − p·Σ gy.
/// </summary>
internal sealed class LogSoftmaxOp(int axis) : Op
{
    public override string Name => "LogSoftmax";
    public override string Describe() => $"LogSoftmax(axis {axis})";
    public override bool VjpReadsInputs => false;
    public override bool VjpReadsOutput => true;

    public override Tensor Forward(Tensor[] x) => Compute(x[0], axis);

    /// <summary>x − logsumexp(x) along the axis, on plain values: also softmax's first step.</summary>
    internal static Tensor Compute(Tensor x, int axis)
    {
        var lse = TensorOps.NewOutput(ShapeUtil.ReducedShape(x.Dims, axis, keepDims: true), x.DType);
        Reduce.LogSumExpAxis(x, axis, lse);
        var y = TensorOps.NewOutput(x.Dims, x.DType);
        Elementwise.Binary<SubtractOperator>(x, lse, y);
        return y;
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) =>
        tx[0] is { } t ? t - (y.Exp() * t).Sum(axis, keepDims: true) : null;

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        tx[0] is { } t ? t - (y.Exp() * t).Sum(axis + 1, keepDims: true) : null;

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = gy - y.Exp() * gy.Sum(axis, keepDims: true);
}

public static partial class TensorOps
{
    public static Tensor Softmax(this Tensor x, int axis = -1) =>
        Autodiff.Apply(new SoftmaxOp(ShapeUtil.NormalizeAxis(axis, x.Rank)), x);

    public static Tensor LogSoftmax(this Tensor x, int axis = -1) =>
        Autodiff.Apply(new LogSoftmaxOp(ShapeUtil.NormalizeAxis(axis, x.Rank)), x);
}
