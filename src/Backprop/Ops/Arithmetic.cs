using Backprop.Kernels;

namespace Backprop;

// Add, subtract, multiply, divide and negate, all with NumPy broadcasting. A broadcast operand's
// gradient is summed back to its own shape (SumTo), the adjoint of broadcasting.

internal sealed class AddOp : LinearOp
{
    public override string Name => "Add";
    public override Tensor Forward(Tensor[] x) => BinaryForward<AddOperator>(x[0], x[1], Name);
    protected override Tensor ApplyTo(Tensor[] t) => t[0] + t[1];

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => Combine(tx[0], tx[1], subtractRight: false, y.Dims);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        Combine(Lift(tx[0], y), Lift(tx[1], y), subtractRight: false, BatchedTangent.Dims(k, y.Dims));

    /// <summary>
    /// The output tangent left ± right of a broadcasting binary op, from its two partial terms (null: a
    /// zero term), broadcast to <paramref name="shape"/>: y's shape, or (K, …y) for batched tangents.
    /// </summary>
    internal static Tensor? Combine(Tensor? left, Tensor? right, bool subtractRight, int[] shape)
    {
        var sum = (left, right) switch
        {
            ({ } l, { } r) => subtractRight ? l - r : l + r,
            ({ } l, null) => l,
            (null, { } r) => subtractRight ? -r : r,
            _ => null,
        };
        return sum?.BroadcastTo(shape);
    }

    /// <summary>A batched tangent lifted to broadcast against y's rank (null stays null).</summary>
    internal static Tensor? Lift(Tensor? t, Tensor y) => t is null ? null : BatchedTangent.Lift(t, y.Rank);

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        if (needsGrad[0]) gx[0] = gy.SumTo(x[0].Dims);
        if (needsGrad[1]) gx[1] = gy.SumTo(x[1].Dims);
    }

    internal static Tensor BinaryForward<TOp>(Tensor a, Tensor b, string name) where TOp : IBinaryOperator
    {
        TensorOps.CheckSameDType(a, b, name);
        var dims = ShapeUtil.SameShape(a.Dims, b.Dims) ? a.Dims : ShapeUtil.Broadcast(a.Dims, b.Dims, name);
        var y = TensorOps.NewOutputToOverwrite(dims, a.DType);
        Elementwise.Binary<TOp>(a, b, y);
        return y;
    }
}

internal sealed class SubOp : LinearOp
{
    public override string Name => "Sub";
    public override Tensor Forward(Tensor[] x) => AddOp.BinaryForward<SubtractOperator>(x[0], x[1], Name);
    protected override Tensor ApplyTo(Tensor[] t) => t[0] - t[1];

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => AddOp.Combine(tx[0], tx[1], subtractRight: true, y.Dims);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        AddOp.Combine(AddOp.Lift(tx[0], y), AddOp.Lift(tx[1], y), subtractRight: true, BatchedTangent.Dims(k, y.Dims));

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

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => Rule(x, tx[0], tx[1], y.Dims);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        Rule(x, AddOp.Lift(tx[0], y), AddOp.Lift(tx[1], y), BatchedTangent.Dims(k, y.Dims));

    private static Tensor? Rule(Tensor[] x, Tensor? t0, Tensor? t1, int[] shape) =>
        AddOp.Combine(t0 is null ? null : t0 * x[1], t1 is null ? null : x[0] * t1, subtractRight: false, shape);

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

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => Rule(x, y, tx[0], tx[1], y.Dims);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        Rule(x, y, AddOp.Lift(tx[0], y), AddOp.Lift(tx[1], y), BatchedTangent.Dims(k, y.Dims));

    private static Tensor? Rule(Tensor[] x, Tensor y, Tensor? t0, Tensor? t1, int[] shape) =>
        AddOp.Combine(t0 is null ? null : t0 / x[1], t1 is null ? null : y * t1 / x[1], subtractRight: true, shape);

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
        var y = TensorOps.NewOutputToOverwrite(x[0].Dims, x[0].DType);
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
