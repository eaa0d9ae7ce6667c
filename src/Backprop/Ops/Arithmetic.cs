using Backprop.Kernels;

namespace Backprop;

// Add, subtract, multiply, divide and negate, all with NumPy broadcasting. A broadcast operand's
// gradient is summed back to its own shape (SumTo), the adjoint of broadcasting.

internal sealed class AddOp : LinearOp
{
    public override string Name => "Add";
    public override Tensor Forward(Tensor[] x) => BinaryForward<AddOperator>(x[0], x[1], Name);
    protected override Tensor ApplyTo(Tensor[] t) => t[0] + t[1];

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => (tx[0], tx[1]) switch
    {
        ({ } a, { } b) => a + b,
        ({ } a, null) => a.BroadcastTo(y.Dims),
        (null, { } b) => b.BroadcastTo(y.Dims),
        _ => null,
    };

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        BatchedSum(tx[0], tx[1], negateSecond: false, y, k);

    /// <summary>ta ± tb for batched tangents, each lifted so operands of lower rank broadcast correctly.</summary>
    internal static Tensor? BatchedSum(Tensor? ta, Tensor? tb, bool negateSecond, Tensor y, int k)
    {
        var a = ta is null ? null : BatchedTangent.Lift(ta, y.Rank);
        var b = tb is null ? null : BatchedTangent.Lift(tb, y.Rank);
        var sum = (a, b) switch
        {
            ({ } l, { } r) => negateSecond ? l - r : l + r,
            ({ } l, null) => l,
            (null, { } r) => negateSecond ? -r : r,
            _ => null,
        };
        return sum?.BroadcastTo(BatchedTangent.Dims(k, y.Dims));
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        if (needsGrad[0]) gx[0] = gy.SumTo(x[0].Dims);
        if (needsGrad[1]) gx[1] = gy.SumTo(x[1].Dims);
    }

    internal static Tensor BinaryForward<TOp>(Tensor a, Tensor b, string name) where TOp : IBinaryOperator
    {
        TensorOps.CheckSameDType(a, b, name);
        var dims = ShapeUtil.SameShape(a.Dims, b.Dims) ? a.Dims : ShapeUtil.Broadcast(a.Dims, b.Dims, name);
        var y = TensorOps.NewOutput(dims, a.DType);
        Elementwise.Binary<TOp>(a, b, y);
        return y;
    }
}

internal sealed class SubOp : LinearOp
{
    public override string Name => "Sub";
    public override Tensor Forward(Tensor[] x) => AddOp.BinaryForward<SubtractOperator>(x[0], x[1], Name);
    protected override Tensor ApplyTo(Tensor[] t) => t[0] - t[1];

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => (tx[0], tx[1]) switch
    {
        ({ } a, { } b) => a - b,
        ({ } a, null) => a.BroadcastTo(y.Dims),
        (null, { } b) => (-b).BroadcastTo(y.Dims),
        _ => null,
    };

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        AddOp.BatchedSum(tx[0], tx[1], negateSecond: true, y, k);

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        if (needsGrad[0]) gx[0] = gy.SumTo(x[0].Dims);
        if (needsGrad[1]) gx[1] = (-gy).SumTo(x[1].Dims);
    }
}

/// <summary>Bilinear: ty = tx0·x1 + x0·tx1; each cotangent is gy times the other factor.</summary>
internal sealed class MulOp : Op
{
    public override string Name => "Mul";
    public override Tensor Forward(Tensor[] x) => AddOp.BinaryForward<MultiplyOperator>(x[0], x[1], Name);

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y)
    {
        Tensor? left = tx[0] is { } t0 ? t0 * x[1] : null;
        Tensor? right = tx[1] is { } t1 ? x[0] * t1 : null;
        var sum = left is null ? right : right is null ? left : left + right;
        return sum?.BroadcastTo(y.Dims);
    }

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        Tensor? left = tx[0] is { } t0 ? BatchedTangent.Lift(t0, y.Rank) * x[1] : null;
        Tensor? right = tx[1] is { } t1 ? x[0] * BatchedTangent.Lift(t1, y.Rank) : null;
        var sum = left is null ? right : right is null ? left : left + right;
        return sum?.BroadcastTo(BatchedTangent.Dims(k, y.Dims));
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        if (needsGrad[0]) gx[0] = (gy * x[1]).SumTo(x[0].Dims);
        if (needsGrad[1]) gx[1] = (gy * x[0]).SumTo(x[1].Dims);
    }
}

/// <summary>y = a / b: dy = da / b − y·db / b.</summary>
internal sealed class DivOp : Op
{
    public override string Name => "Div";
    public override Tensor Forward(Tensor[] x) => AddOp.BinaryForward<DivideOperator>(x[0], x[1], Name);
    public override bool VjpReadsOutput => true;

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y)
    {
        Tensor? left = tx[0] is { } t0 ? t0 / x[1] : null;
        Tensor? right = tx[1] is { } t1 ? y * t1 / x[1] : null;
        var sum = left is null ? (right is null ? null : -right) : right is null ? left : left - right;
        return sum?.BroadcastTo(y.Dims);
    }

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        Tensor? left = tx[0] is { } t0 ? BatchedTangent.Lift(t0, y.Rank) / x[1] : null;
        Tensor? right = tx[1] is { } t1 ? y * BatchedTangent.Lift(t1, y.Rank) / x[1] : null;
        var sum = left is null ? (right is null ? null : -right) : right is null ? left : left - right;
        return sum?.BroadcastTo(BatchedTangent.Dims(k, y.Dims));
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        var gyOverB = gy / x[1];
        if (needsGrad[0]) gx[0] = gyOverB.SumTo(x[0].Dims);
        if (needsGrad[1]) gx[1] = (-(gyOverB * y)).SumTo(x[1].Dims);
    }
}

internal sealed class NegOp : LinearOp
{
    public override string Name => "Neg";
    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput(x[0].Dims, x[0].DType);
        Elementwise.Unary<NegateOperator>(x[0], y);
        return y;
    }
    protected override Tensor ApplyTo(Tensor[] t) => -t[0];
    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) => tx[0] is { } t ? -t : null;

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) => gx[0] = -gy;
}

public static partial class TensorOps
{
    public static Tensor Add(this Tensor a, Tensor b) => Autodiff.Apply(new AddOp(), a, b);
    public static Tensor Sub(this Tensor a, Tensor b) => Autodiff.Apply(new SubOp(), a, b);
    public static Tensor Mul(this Tensor a, Tensor b) => Autodiff.Apply(new MulOp(), a, b);
    public static Tensor Div(this Tensor a, Tensor b) => Autodiff.Apply(new DivOp(), a, b);
    public static Tensor Neg(this Tensor x) => Autodiff.Apply(new NegOp(), x);
}

public sealed partial class Tensor
{
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator -(Tensor x) => x.Neg();

    // A scalar operand becomes a rank-0 constant of the tensor's dtype and broadcasts.
    public static Tensor operator +(Tensor a, double b) => a.Add(Scalar(b, a.DType));
    public static Tensor operator +(double a, Tensor b) => Scalar(a, b.DType).Add(b);
    public static Tensor operator -(Tensor a, double b) => a.Sub(Scalar(b, a.DType));
    public static Tensor operator -(double a, Tensor b) => Scalar(a, b.DType).Sub(b);
    public static Tensor operator *(Tensor a, double b) => a.Mul(Scalar(b, a.DType));
    public static Tensor operator *(double a, Tensor b) => Scalar(a, b.DType).Mul(b);
    public static Tensor operator /(Tensor a, double b) => a.Div(Scalar(b, a.DType));
    public static Tensor operator /(double a, Tensor b) => Scalar(a, b.DType).Div(b);
}
