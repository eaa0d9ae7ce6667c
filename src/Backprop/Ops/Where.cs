namespace Backprop;

/// <summary>
/// where(condition, a, b): a where the condition is nonzero, b elsewhere, with broadcasting. The
/// condition is a constant; the op is linear in (a, b), and each gradient is gy masked to its side.
/// </summary>
internal sealed class WhereOp(Tensor condition) : LinearOp
{
    public override string Name => "Where";

    public override Tensor Forward(Tensor[] x)
    {
        Tensor a = x[0], b = x[1];
        TensorOps.CheckSameDType(a, b, Name);
        var dims = ShapeUtil.Broadcast(ShapeUtil.Broadcast(a.Dims, b.Dims, Name), condition.Dims, Name);
        // Select rather than blend (c·a + (1 − c)·b): a blend turns an unselected ∞ into NaN.
        var ab = a.BroadcastTo(dims);
        var bb = b.BroadcastTo(dims);
        var cb = condition.To(a.DType).BroadcastTo(dims);
        var y = TensorOps.NewOutput(dims, a.DType);
        if (a.DType == DType.Float32) Select(cb.Span<float>(), ab.Span<float>(), bb.Span<float>(), y.Span<float>());
        else Select(cb.Span<double>(), ab.Span<double>(), bb.Span<double>(), y.Span<double>());
        return y;
    }

    private static void Select<T>(ReadOnlySpan<T> c, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : System.Numerics.INumberBase<T>
    {
        for (int i = 0; i < y.Length; i++) y[i] = T.IsZero(c[i]) ? b[i] : a[i];
    }

    protected override Tensor ApplyTo(Tensor[] t) => TensorOps.Where(condition, t[0], t[1]);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        if (tx[0] is null && tx[1] is null) return null;
        var zero = Tensor.Scalar(0, y.DType);
        var a = tx[0] is { } ta ? BatchedTangent.Lift(ta, y.Rank) : zero;
        var b = tx[1] is { } tb ? BatchedTangent.Lift(tb, y.Rank) : zero;
        return TensorOps.Where(condition, a, b).BroadcastTo(BatchedTangent.Dims(k, y.Dims));
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        var zero = Tensor.Scalar(0, gy.DType);
        if (needsGrad[0]) gx[0] = TensorOps.Where(condition, gy, zero).SumTo(x[0].Dims);
        if (needsGrad[1]) gx[1] = TensorOps.Where(condition, zero, gy).SumTo(x[1].Dims);
    }
}

public static partial class TensorOps
{
    /// <summary>Elementwise select: <paramref name="a"/> where <paramref name="condition"/> ≠ 0, else <paramref name="b"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => Autodiff.Apply(new WhereOp(condition.Detach()), a, b);
}
