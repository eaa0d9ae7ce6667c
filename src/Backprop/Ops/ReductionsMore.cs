using Backprop.Kernels;

namespace Backprop;

// Reductions beyond sum, mean, max and logsumexp: min, argmax/argmin, variance and standard deviation,
// vector norms, running sums, and reductions over several axes at once. Most are compositions of
// differentiable ops and need no rule; the norm and the running sum have their own.

/// <summary>
/// The running sum along an axis (torch.cumsum). Linear; its transpose is the running sum taken from
/// the other end: gx[j] = Σ_{i ≥ j} gy[i].
/// </summary>
internal sealed class CumSumOp(int axis, bool reverse) : LinearOp
{
    public override string Name => "CumSum";
    public override string Describe() => $"CumSum(axis {axis}{(reverse ? ", reversed" : "")})";

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput(x[0].Dims, x[0].DType);
        Scan.CumSum(x[0], axis, reverse, y);
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => Autodiff.Apply(new CumSumOp(axis, reverse), t[0]);

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        tx[0] is { } t ? Autodiff.Apply(new CumSumOp(axis + 1, reverse), t) : null;

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = Autodiff.Apply(new CumSumOp(axis, !reverse), gy);
}

/// <summary>
/// The p-norm (Σ|x|ᵖ)^(1/p), p ≥ 1, over one axis or all elements. ∂y/∂x = sign(x)·|x|ᵖ⁻¹ / yᵖ⁻¹ (x/y
/// for p = 2), and 0 where y = 0: the subgradient PyTorch uses, where the formula would give 0/0.
/// </summary>
internal sealed class NormOp(double p, int? axis, bool keepDims) : Op
{
    public override string Name => "Norm";
    public override string Describe() => $"Norm(p {p}{(axis is int a ? $", axis {a}" : "")}{(keepDims ? ", keepdims" : "")})";
    public override bool VjpReadsOutput => true;

    private Tensor Reduce(Tensor t) => axis is int a ? t.Sum(a, keepDims) : t.Sum(keepDims);

    public override Tensor Forward(Tensor[] x)
    {
        var powered = p == 2 ? x[0].Square() : p == 1 ? x[0].Abs() : x[0].Abs().Pow(p);
        var s = Reduce(powered);
        return (p == 2 ? s.Sqrt() : p == 1 ? s : s.Pow(1 / p)).Detach();
    }

    /// <summary>∂y/∂x in x's shape.</summary>
    private Tensor Partial(Tensor x, Tensor y)
    {
        var yk = TensorOps.KeepDims(y, x.Dims, axis);
        var zero = Tensor.Scalar(0, x.DType);
        var safe = TensorOps.Where(yk.EqualMask(zero), Tensor.Scalar(1, x.DType), yk);
        var ratio = p == 2 ? x / safe : p == 1 ? x.Sign() : x.Sign() * (x.Abs() / safe).Pow(p - 1);
        return TensorOps.Where(yk.EqualMask(zero).BroadcastTo(x.Dims), zero, ratio);
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => tx[0] is { } t ? Reduce(t * Partial(x[0], y)) : null;

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        if (tx[0] is not { } t) return null;
        var product = t * Partial(x[0], y);
        return axis is int a ? product.Sum(a + 1, keepDims) : product.Reshape(k, -1).Sum(1).Reshape(BatchedTangent.Dims(k, y.Dims));
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = TensorOps.KeepDims(gy, x[0].Dims, axis) * Partial(x[0], y);
}

/// <summary>
/// The product over one axis, or over all elements (torch.prod). ∂y/∂xᵢ = Π_{j≠i} xⱼ, computed without
/// dividing by a zero: with p the product of the nonzero elements and z the number of zeros in the
/// slice, it is p/xᵢ when z = 0, p at the zero when z = 1 (0 elsewhere), and 0 when z ≥ 2. The masks
/// are constants and p is itself a product, so second derivatives follow, exact except across two or
/// more zeros of one slice (where they are taken as 0).
/// </summary>
internal sealed class ProdOp(int? axis, bool keepDims) : Op
{
    public override string Name => "Prod";
    public override string Describe() => axis is int a ? $"Prod(axis {a}{(keepDims ? ", keepdims" : "")})" : "Prod";

    public override Tensor Forward(Tensor[] x)
    {
        var source = axis is null ? x[0].Reshape(x[0].Length) : x[0];
        int ax = axis ?? 0;
        var y = TensorOps.NewOutput(ShapeUtil.ReducedShape(source.Dims, ax, keepDims: true), x[0].DType);
        Reduce.ProdAxis(source, ax, y);
        var dims = axis is int a ? ShapeUtil.ReducedShape(x[0].Dims, a, keepDims) : keepDims ? Enumerable.Repeat(1, x[0].Rank).ToArray() : [];
        return y.Reshape(dims);
    }

    private Tensor ProdKeep(Tensor t) => axis is int a ? Autodiff.Apply(new ProdOp(a, true), t) : Autodiff.Apply(new ProdOp(null, false), t).Reshape(Enumerable.Repeat(1, t.Rank).ToArray());
    private Tensor SumKeep(Tensor t) => axis is int a ? t.Sum(a, keepDims: true) : t.Sum(keepDims: true);

    /// <summary>∂y/∂x in x's shape, by the zero count of each slice.</summary>
    private Tensor Partial(Tensor x)
    {
        var zero = Tensor.Scalar(0, x.DType);
        var one = Tensor.Scalar(1, x.DType);
        var isZero = x.EqualMask(zero);
        var zeros = SumKeep(isZero);                                         // z per slice, a constant
        var nonzero = TensorOps.Where(isZero, one, x);
        var p = ProdKeep(nonzero);                                           // product of the nonzero elements
        var noZero = zeros.EqualMask(zero).BroadcastTo(x.Dims);
        var theZero = (zeros.EqualMask(one) * isZero).BroadcastTo(x.Dims);
        return TensorOps.Where(noZero, p / nonzero, TensorOps.Where(theZero, p.BroadcastTo(x.Dims), zero.BroadcastTo(x.Dims)));
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y)
    {
        if (tx[0] is not { } t) return null;
        var product = t * Partial(x[0]);
        return axis is int a ? product.Sum(a, keepDims) : product.Sum(keepDims);
    }

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        if (tx[0] is not { } t) return null;
        var product = t * Partial(x[0]);
        return axis is int a ? product.Sum(a + 1, keepDims) : product.Reshape(k, -1).Sum(1).Reshape(BatchedTangent.Dims(k, y.Dims));
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = TensorOps.KeepDims(gy, x[0].Dims, axis) * Partial(x[0]);
}

public static partial class TensorOps
{
    /// <summary>Product of all elements (torch.prod); zeros in the input have exact gradients.</summary>
    public static Tensor Prod(this Tensor x, bool keepDims = false) => Autodiff.Apply(new ProdOp(null, keepDims), x);

    /// <summary>Product along one axis (torch.prod(dim)); the product of an empty axis is 1.</summary>
    public static Tensor Prod(this Tensor x, int axis, bool keepDims = false) =>
        x.Rank == 0 ? OnScalarAxis(x, axis, (v, a) => v.Prod(a, keepDims))
        : Autodiff.Apply(new ProdOp(ShapeUtil.NormalizeAxis(axis, x.Rank), keepDims), x);

    /// <summary>
    /// Runs <paramref name="f"/> (an op along one axis) on a rank-0 tensor as PyTorch does, where axis 0
    /// and −1 name the tensor itself: as a one-element vector, the result reshaped back to rank 0.
    /// </summary>
    internal static Tensor OnScalarAxis(Tensor x, int axis, Func<Tensor, int, Tensor> f)
    {
        ShapeUtil.NormalizeAxis(axis, 1);
        return f(x.Reshape(1), 0).Reshape([]);
    }

    /// <summary>Sum over several axes at once (kept as size 1 with keepDims); no axes sums nothing.</summary>
    public static Tensor Sum(this Tensor x, int[] axes, bool keepDims = false) => ReduceAxes(x, axes, keepDims, (t, a) => t.Sum(a, keepDims: true));

    /// <summary>Mean over several axes at once.</summary>
    public static Tensor Mean(this Tensor x, int[] axes, bool keepDims = false)
    {
        var normalized = NormalizeAxes(x, axes);
        int count = 1;
        foreach (int a in normalized) count *= x.Rank == 0 ? 1 : x.Dims[a];
        return x.Sum(axes, keepDims) * (1.0 / count);
    }

    /// <summary>Maximum over several axes at once; ties share the gradient equally within each reduction.</summary>
    public static Tensor Max(this Tensor x, int[] axes, bool keepDims = false) => ReduceAxes(x, axes, keepDims, (t, a) => t.Max(a, keepDims: true));

    /// <summary>Minimum over several axes at once.</summary>
    public static Tensor Min(this Tensor x, int[] axes, bool keepDims = false) => -(-x).Max(axes, keepDims);

    private static int[] NormalizeAxes(Tensor x, int[] axes)
    {
        var normalized = axes.Select(a => ShapeUtil.NormalizeAxis(a, Math.Max(1, x.Rank))).ToArray();
        if (normalized.Distinct().Count() != normalized.Length)
            throw new ShapeException($"Axes ({string.Join(", ", axes)}) name the same dimension twice for shape {ShapeUtil.Format(x.Dims)}.");
        return normalized;
    }

    private static Tensor ReduceAxes(Tensor x, int[] axes, bool keepDims, Func<Tensor, int, Tensor> reduceKeeping)
    {
        var normalized = NormalizeAxes(x, axes);
        if (x.Rank == 0) return x;
        var y = x;
        foreach (int a in normalized) y = reduceKeeping(y, a);
        if (keepDims) return y;
        var dims = new List<int>();
        for (int d = 0; d < x.Rank; d++)
            if (!normalized.Contains(d)) dims.Add(x.Dims[d]);
        return y.Reshape(dims.ToArray());
    }

    /// <summary>Minimum along an axis (torch.amin); ties share the gradient equally.</summary>
    public static Tensor Min(this Tensor x, int axis, bool keepDims = false) => -(-x).Max(axis, keepDims);

    /// <summary>Minimum of all elements, as a scalar.</summary>
    public static Tensor Min(this Tensor x) => -(-x).Max();

    /// <summary>
    /// The index of the first maximum along <paramref name="axis"/> (torch.argmax), or of the whole
    /// tensor flattened when axis is null. Indices are whole numbers in a float64 tensor (exact for any
    /// length) and carry no gradient.
    /// </summary>
    public static Tensor ArgMax(this Tensor x, int? axis = null, bool keepDims = false) => ArgExtremum(x, axis, keepDims, max: true);

    /// <summary>The index of the first minimum; see <see cref="ArgMax"/>.</summary>
    public static Tensor ArgMin(this Tensor x, int? axis = null, bool keepDims = false) => ArgExtremum(x, axis, keepDims, max: false);

    private static Tensor ArgExtremum(Tensor x, int? axis, bool keepDims, bool max)
    {
        string name = max ? "ArgMax" : "ArgMin";
        if (axis is not int a)
        {
            var flat = ArgExtremum(x.Reshape(x.Length), 0, false, max);
            return keepDims ? flat.Reshape(Enumerable.Repeat(1, x.Rank).ToArray()) : flat;
        }
        if (x.Rank == 0) return OnScalarAxis(x, a, (v, ax) => ArgExtremum(v, ax, keepDims, max));
        int ax = ShapeUtil.NormalizeAxis(a, x.Rank);
        if (x.Dims[ax] == 0) throw new ShapeException($"{name} over the empty axis {ax} of shape {ShapeUtil.Format(x.Dims)}: there is no element to pick.");
        var y = NewOutput(ShapeUtil.ReducedShape(x.Dims, ax, keepDims), DType.Float64);
        Scan.ArgExtremum(x.Detach(), ax, max, y.Span<double>());
        return y;
    }

    /// <summary>
    /// Variance over one axis, or all elements when axis is null: Σ(x − mean)² / max(0, n − correction)
    /// (torch.var; correction 1 is Bessel's, 0 the population variance). One element with correction 1
    /// gives NaN, as in PyTorch.
    /// </summary>
    public static Tensor Var(this Tensor x, int? axis = null, double correction = 1, bool keepDims = false)
    {
        if (axis is int a && x.Rank == 0) return OnScalarAxis(x, a, (v, ax) => v.Var(ax, correction, keepDims));
        int n = axis is int ax ? x.Size(ax) : x.Length;
        var centred = axis is int ax2 ? x - x.Mean(ax2, keepDims: true) : x - x.Mean();
        var squares = centred.Square();
        var sum = axis is int ax3 ? squares.Sum(ax3, keepDims) : squares.Sum(keepDims);
        return sum * (1.0 / Math.Max(0, n - correction));
    }

    /// <summary>Standard deviation: √Var (torch.std, same arguments).</summary>
    public static Tensor Std(this Tensor x, int? axis = null, double correction = 1, bool keepDims = false) =>
        x.Var(axis, correction, keepDims).Sqrt();

    /// <summary>
    /// The vector p-norm (Σ|x|ᵖ)^(1/p) over one axis or all elements (torch.linalg.vector_norm); p ≥ 1
    /// or +∞ (the largest |x|). The gradient at a zero vector is 0, as in PyTorch.
    /// </summary>
    public static Tensor Norm(this Tensor x, double p = 2, int? axis = null, bool keepDims = false)
    {
        if (double.IsPositiveInfinity(p))
            return axis is int a ? x.Abs().Max(a, keepDims) : keepDims ? x.Abs().Max().Reshape(Enumerable.Repeat(1, x.Rank).ToArray()) : x.Abs().Max();
        if (!(p >= 1)) throw new BackpropException($"Norm: p = {p} is not supported; use p ≥ 1 or +∞.");
        if (axis is int b && x.Rank == 0) return OnScalarAxis(x, b, (v, ax) => v.Norm(p, ax, keepDims));
        int? normalized = axis is int c ? ShapeUtil.NormalizeAxis(c, x.Rank) : null;
        return Autodiff.Apply(new NormOp(p, normalized, keepDims), x);
    }

    /// <summary>The running sum along <paramref name="axis"/> (torch.cumsum).</summary>
    public static Tensor CumSum(this Tensor x, int axis)
    {
        if (x.Rank == 0) return OnScalarAxis(x, axis, (v, a) => v.CumSum(a));
        return Autodiff.Apply(new CumSumOp(ShapeUtil.NormalizeAxis(axis, x.Rank), reverse: false), x);
    }
}
