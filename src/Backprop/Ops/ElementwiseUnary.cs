using Backprop.Kernels;

namespace Backprop;

/// <summary>An elementwise op whose forward pass is one kernel operator.</summary>
public abstract class KernelUnaryOp<TOperator> : ElementwiseUnaryOp where TOperator : IUnaryOperator
{
    /// <summary>The operator's scalar parameter (an exponent, a slope); 0 when unused.</summary>
    protected virtual double Parameter => 0;

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutputToOverwrite(x[0].Dims, x[0].DType);
        Elementwise.Unary<TOperator>(x[0], y, Parameter);
        return y;
    }
}

/// <summary>d exp(x) = exp(x): the rule reuses the output.</summary>
internal sealed class ExpOp : KernelUnaryOp<ExpOperator>
{
    public override string Name => "Exp";
    protected override Tensor Derivative(Tensor x, Tensor y) => y;
}

/// <summary>d log(x) = 1/x; at x = 0 the value is −∞ and the derivative +∞, as in PyTorch.</summary>
internal sealed class LogOp : KernelUnaryOp<LogOperator>
{
    public override string Name => "Log";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => 1.0 / x;
}

/// <summary>d log(1 + x) = 1/(1 + x); accurate for small x, unlike log(1 + x) composed.</summary>
internal sealed class Log1pOp : KernelUnaryOp<Log1pOperator>
{
    public override string Name => "Log1p";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => 1.0 / (1.0 + x);
}

/// <summary>d √x = 1/(2√x); at x = 0 the derivative is +∞, as in PyTorch.</summary>
internal sealed class SqrtOp : KernelUnaryOp<SqrtOperator>
{
    public override string Name => "Sqrt";
    protected override Tensor Derivative(Tensor x, Tensor y) => 0.5 / y;
}

/// <summary>d xᵖ = p·xᵖ⁻¹ for a constant exponent p.</summary>
internal sealed class PowOp(double exponent) : KernelUnaryOp<PowOperator>
{
    public override string Name => "Pow";
    public override string Describe() => $"Pow({exponent})";
    protected override double Parameter => exponent;
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) =>
        exponent == 0 ? Tensor.ZerosLike(x) // x⁰ = 1 is constant: the formula would give 0·0⁻¹ = NaN at x = 0
        : exponent == 2 ? 2.0 * x : exponent == 1 ? Tensor.OnesLike(x) : exponent * x.Pow(exponent - 1);
}

/// <summary>d x² = 2x.</summary>
internal sealed class SquareOp : KernelUnaryOp<SquareOperator>
{
    public override string Name => "Square";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => 2.0 * x;
}

/// <summary>d|x| = sign(x), with abs'(0) = 0: the minimum-norm subgradient, as PyTorch and JAX choose.</summary>
internal sealed class AbsOp : KernelUnaryOp<AbsOperator>
{
    public override string Name => "Abs";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => TensorOps.ConstantMap<SignOperator>(x);
}

/// <summary>
/// clamp(x, min, max); the derivative is 1 strictly inside the range and at its ends, 0 outside —
/// PyTorch's convention, which lets gradients through at the boundary.
/// </summary>
internal sealed class ClampOp(double min, double max) : ElementwiseUnaryOp
{
    public override string Name => "Clamp";
    public override string Describe() => $"Clamp({min}, {max})";
    public override bool VjpReadsOutput => false;

    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutput(x[0].Dims, x[0].DType);
        if (y.DType == DType.Float32)
        {
            var src = x[0].Span<float>();
            var dst = y.Span<float>();
            for (int i = 0; i < dst.Length; i++) dst[i] = Math.Clamp(src[i], (float)min, (float)max);
        }
        else
        {
            var src = x[0].Span<double>();
            var dst = y.Span<double>();
            for (int i = 0; i < dst.Length; i++) dst[i] = Math.Clamp(src[i], min, max);
        }
        return y;
    }

    protected override Tensor Derivative(Tensor x, Tensor y)
    {
        var plain = x.Detach();
        var mask = TensorOps.NewOutput(plain.Dims, plain.DType);
        if (plain.DType == DType.Float32) InRange(plain.Span<float>(), mask.Span<float>(), (float)min, (float)max);
        else InRange(plain.Span<double>(), mask.Span<double>(), min, max);
        return mask;
    }

    private static void InRange<T>(ReadOnlySpan<T> x, Span<T> mask, T lo, T hi) where T : System.Numerics.INumber<T>
    {
        for (int i = 0; i < x.Length; i++) mask[i] = x[i] >= lo && x[i] <= hi ? T.One : T.Zero;
    }
}

public static partial class TensorOps
{
    public static Tensor Exp(this Tensor x) => Autodiff.Apply(new ExpOp(), x);
    public static Tensor Log(this Tensor x) => Autodiff.Apply(new LogOp(), x);
    public static Tensor Log1p(this Tensor x) => Autodiff.Apply(new Log1pOp(), x);
    public static Tensor Sqrt(this Tensor x) => Autodiff.Apply(new SqrtOp(), x);
    public static Tensor Pow(this Tensor x, double exponent) => Autodiff.Apply(new PowOp(exponent), x);
    public static Tensor Square(this Tensor x) => Autodiff.Apply(new SquareOp(), x);
    public static Tensor Abs(this Tensor x) => Autodiff.Apply(new AbsOp(), x);

    /// <summary>x limited to [min, max]; pass ±∞ for a one-sided clamp.</summary>
    public static Tensor Clamp(this Tensor x, double min, double max)
    {
        if (min > max) throw new BackpropException($"Clamp: min {min} is greater than max {max}.");
        return Autodiff.Apply(new ClampOp(min, max), x);
    }

    /// <summary>
    /// A kernel applied to the plain values of x, giving a constant: for piecewise-constant
    /// derivatives (masks, signs), whose own derivative is zero everywhere they are defined.
    /// </summary>
    internal static Tensor ConstantMap<TOp>(Tensor x, double parameter = 0) where TOp : IUnaryOperator
    {
        var plain = x.Detach();
        var y = NewOutput(plain.Dims, plain.DType);
        Elementwise.Unary<TOp>(plain, y, parameter);
        return y;
    }

    /// <summary>Elementwise 1 where a &gt; b, else 0 (broadcasting): a constant, not differentiated.</summary>
    public static Tensor GreaterMask(this Tensor a, Tensor b) => AddOp.BinaryForward<GreaterMaskOperator>(a.Detach(), b.Detach(), "GreaterMask");

    /// <summary>Elementwise 1 where a == b, else 0 (broadcasting): a constant, not differentiated.</summary>
    public static Tensor EqualMask(this Tensor a, Tensor b) => AddOp.BinaryForward<EqualMaskOperator>(a.Detach(), b.Detach(), "EqualMask");
}
