using Backprop.Kernels;

namespace Backprop;

/// <summary>
/// softmax(x) = exp(x − m) / Σ exp(x − m) along an axis, m the max (never exp(x − logsumexp(x)), which
/// is 1 for every element of [1e8, 1e8, 1e8] in float32). With s = Σ y·tx along the axis:
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
        var y = TensorOps.NewOutput(x[0].Dims, x[0].DType);
        Reduce.SoftmaxAxis(x[0], axis, y);
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
/// log softmax(x) = (x − m) − log Σ exp(x − m), m the max: never log(softmax(x)), which is −∞ as soon
/// as a probability underflows (logit gaps above ~100 in float32), and never x − logsumexp(x), which
/// loses log Σ below the ulp of large logits. With p = exp(y):
/// ty = tx − Σ p·tx and gx = gy − p·Σ gy.
/// </summary>
internal sealed class LogSoftmaxOp(int axis) : Op
{
    public override string Name => "LogSoftmax";
    public override string Describe() => $"LogSoftmax(axis {axis})";
    public override bool VjpReadsInputs => false;
    public override bool VjpReadsOutput => true;

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput(x[0].Dims, x[0].DType);
        Reduce.LogSoftmaxAxis(x[0], axis, y);
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
        x.Rank == 0 ? OnScalarAxis(x, axis, (v, a) => v.Softmax(a))
        : Autodiff.Apply(new SoftmaxOp(ShapeUtil.NormalizeAxis(axis, x.Rank)), x);

    public static Tensor LogSoftmax(this Tensor x, int axis = -1) =>
        x.Rank == 0 ? OnScalarAxis(x, axis, (v, a) => v.LogSoftmax(a))
        : Autodiff.Apply(new LogSoftmaxOp(ShapeUtil.NormalizeAxis(axis, x.Rank)), x);
}
