using Backprop.Kernels;

namespace Backprop;

// Elementwise binary ops beyond arithmetic, with broadcasting: maximum, minimum and a tensor power.
// Each writes its two partial derivatives once; JVP and VJP both use them.

/// <summary>
/// A broadcasting binary op y = f(a, b) whose partial derivatives ∂f/∂a and ∂f/∂b are tensor
/// expressions: ty = ∂a·ta + ∂b·tb, and each gx is gy times its partial summed to the input's shape.
/// </summary>
internal abstract class ElementwiseBinaryOp<TOperator> : Op where TOperator : IBinaryOperator
{
    /// <summary>The two partial derivatives at (a, b), broadcastable to y's shape.</summary>
    protected abstract (Tensor Da, Tensor Db) Partials(Tensor a, Tensor b, Tensor y);

    public override Tensor Forward(Tensor[] x) => AddOp.BinaryForward<TOperator>(x[0], x[1], Name);

    public override bool VjpReadsOutput => true;

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => Rule(x, y, tx[0], tx[1], y.Dims);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        Rule(x, y, AddOp.Lift(tx[0], y), AddOp.Lift(tx[1], y), BatchedTangent.Dims(k, y.Dims));

    private Tensor? Rule(Tensor[] x, Tensor y, Tensor? ta, Tensor? tb, int[] shape)
    {
        if (ta is null && tb is null) return null;
        var (da, db) = Partials(x[0], x[1], y);
        return AddOp.Combine(ta is null ? null : ta * da, tb is null ? null : tb * db, subtractRight: false, shape);
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        var (da, db) = Partials(x[0], x[1], y);
        if (needsGrad[0]) gx[0] = (gy * da).SumTo(x[0].Dims);
        if (needsGrad[1]) gx[1] = (gy * db).SumTo(x[1].Dims);
    }
}

/// <summary>
/// max(a, b). Where a = b the gradient is split half and half, as PyTorch does, so that the partials
/// still sum to 1 (the derivative of max(x, x) = x).
/// </summary>
internal sealed class MaximumOp : ElementwiseBinaryOp<MaximumOperator>
{
    public override string Name => "Maximum";

    protected override (Tensor Da, Tensor Db) Partials(Tensor a, Tensor b, Tensor y) => SplitTies(a.GreaterMask(b), b.GreaterMask(a), a.EqualMask(b));

    /// <summary>Constant weights: 1 on the winning side, ½ each at ties.</summary>
    internal static (Tensor, Tensor) SplitTies(Tensor aWins, Tensor bWins, Tensor tie)
    {
        var half = 0.5 * tie;
        return (aWins + half, bWins + half);
    }
}

/// <summary>min(a, b), ties split half and half like <see cref="MaximumOp"/>.</summary>
internal sealed class MinimumOp : ElementwiseBinaryOp<MinimumOperator>
{
    public override string Name => "Minimum";

    protected override (Tensor Da, Tensor Db) Partials(Tensor a, Tensor b, Tensor y) => MaximumOp.SplitTies(b.GreaterMask(a), a.GreaterMask(b), a.EqualMask(b));
}

/// <summary>
/// a^b for a tensor exponent: ∂a = b·a^(b−1) and ∂b = y·log a, each with PyTorch's value where the
/// formula would form 0·∞: ∂a = 0 where b = 0 (a⁰ is constant), and ∂b = 0 where a = 0 and b ≥ 0.
/// </summary>
internal sealed class PowTensorOp : ElementwiseBinaryOp<PowerOperator>
{
    public override string Name => "PowTensor";

    protected override (Tensor Da, Tensor Db) Partials(Tensor a, Tensor b, Tensor y)
    {
        var zero = Tensor.Scalar(0, a.DType);
        var exponentZero = b.EqualMask(zero);
        var da = TensorOps.Where(exponentZero, zero, b * a.Pow(b - 1.0));
        var baseZeroExponentNonNegative = a.EqualMask(zero) * (1.0 - zero.GreaterMask(b));
        var db = TensorOps.Where(baseZeroExponentNonNegative, zero, y * a.Log());
        return (da, db);
    }
}

public static partial class TensorOps
{
    /// <summary>Elementwise maximum of a and b with broadcasting (torch.maximum); ties share the gradient equally.</summary>
    public static Tensor Maximum(this Tensor a, Tensor b) => Autodiff.Apply(new MaximumOp(), a, b);

    /// <summary>Elementwise minimum of a and b with broadcasting (torch.minimum); ties share the gradient equally.</summary>
    public static Tensor Minimum(this Tensor a, Tensor b) => Autodiff.Apply(new MinimumOp(), a, b);

    /// <summary>a raised to the elementwise power b, with broadcasting (torch.pow with a tensor exponent).</summary>
    public static Tensor Pow(this Tensor a, Tensor exponent) => Autodiff.Apply(new PowTensorOp(), a, exponent);
}
