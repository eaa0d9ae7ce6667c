using Backprop.Kernels;

namespace Backprop;

// The activations of torch.nn beyond math.md §1: GELU (exact and tanh), SiLU, ELU, Hardtanh and
// LogSigmoid. Each forward pass is one kernel; each derivative is a tensor expression of x (and y), so
// second derivatives come from the same rule. Kinks follow PyTorch: ELU's derivative at 0 is α (the
// x ≤ 0 branch), Hardtanh's is 0 at its bounds.

/// <summary>gelu(x) = x·Φ(x); gelu'(x) = Φ(x) + x·φ(x) with Φ(x) = (1 + erf(x/√2))/2 and φ the normal density.</summary>
internal sealed class GeluOp : KernelUnaryOp<GeluOperator>
{
    public override string Name => "GELU";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) =>
        0.5 * (1.0 + (x * (1 / Math.Sqrt(2))).Erf()) + x * (-0.5 * x.Square()).Exp() * (1 / Math.Sqrt(2 * Math.PI));
}

/// <summary>
/// gelu_tanh(x) = x/2 · (1 + tanh u), u = √(2/π)(x + 0.044715x³);
/// derivative (1 + tanh u)/2 + x/2 · (1 − tanh² u) · √(2/π)(1 + 3·0.044715x²).
/// </summary>
internal sealed class GeluTanhOp : KernelUnaryOp<GeluTanhOperator>
{
    private const double C = 0.044715;
    public override string Name => "GELU(tanh)";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y)
    {
        double k = Math.Sqrt(2 / Math.PI);
        var t = (k * (x + C * x.Pow(3))).Tanh();
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t.Square()) * (k * (1.0 + 3 * C * x.Square()));
    }
}

/// <summary>silu(x) = x·σ(x); silu'(x) = σ(x)·(1 + x(1 − σ(x))).</summary>
internal sealed class SiluOp : KernelUnaryOp<SiluOperator>
{
    public override string Name => "SiLU";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y)
    {
        var s = x.Sigmoid();
        return s * (1.0 + x * (1.0 - s));
    }
}

/// <summary>elu(x) = x (x &gt; 0) or α(eˣ − 1); elu'(x) = 1 for x &gt; 0, else y + α = αeˣ (α at 0, as PyTorch).</summary>
internal sealed class EluOp(double alpha) : KernelUnaryOp<EluOperator>
{
    public override string Name => "ELU";
    public override string Describe() => $"ELU({alpha})";
    protected override double Parameter => alpha;
    protected override Tensor Derivative(Tensor x, Tensor y)
    {
        var positive = TensorOps.ConstantMap<StepOperator>(x, 0);
        return positive + (1.0 - positive) * (y + alpha);
    }
}

/// <summary>log σ(x); its derivative is σ(−x) = 1 − σ(x).</summary>
internal sealed class LogSigmoidOp : KernelUnaryOp<LogSigmoidOperator>
{
    public override string Name => "LogSigmoid";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => (-x).Sigmoid();
}

/// <summary>
/// hardtanh(x) = clamp(x, min, max) with the derivative 1 strictly inside (min, max) and 0 elsewhere,
/// bounds included: PyTorch's hardtanh_backward, which differs from clamp's at the bounds.
/// </summary>
internal sealed class HardtanhOp(double min, double max) : ElementwiseUnaryOp
{
    public override string Name => "Hardtanh";
    public override string Describe() => $"Hardtanh({min}, {max})";
    public override bool VjpReadsOutput => false;

    public override Tensor Forward(Tensor[] x) => x[0].Clamp(min, max);

    protected override Tensor Derivative(Tensor x, Tensor y)
    {
        var plain = x.Detach();
        var mask = TensorOps.NewOutput(plain.Dims, plain.DType);
        if (plain.DType == DType.Float32) OpenIntervalMask.Invoke(plain.Span<float>(), mask.Span<float>(), (float)min, (float)max);
        else OpenIntervalMask.Invoke(plain.Span<double>(), mask.Span<double>(), min, max);
        return mask;
    }
}

public static partial class TensorOps
{
    /// <summary>GELU, exact (x·Φ(x)) or with <paramref name="approximateTanh"/> the tanh form (PyTorch's <c>approximate='tanh'</c>).</summary>
    public static Tensor Gelu(this Tensor x, bool approximateTanh = false) =>
        approximateTanh ? Autodiff.Apply(new GeluTanhOp(), x) : Autodiff.Apply(new GeluOp(), x);

    /// <summary>x·σ(x) (SiLU, swish).</summary>
    public static Tensor Silu(this Tensor x) => Autodiff.Apply(new SiluOp(), x);

    /// <summary>x for x &gt; 0, else α(eˣ − 1).</summary>
    public static Tensor Elu(this Tensor x, double alpha = 1.0) => Autodiff.Apply(new EluOp(alpha), x);

    /// <summary>log σ(x), stable for large |x|.</summary>
    public static Tensor LogSigmoid(this Tensor x) => Autodiff.Apply(new LogSigmoidOp(), x);

    /// <summary>x clamped to [min, max] with derivative 0 at and beyond the bounds.</summary>
    public static Tensor Hardtanh(this Tensor x, double min = -1.0, double max = 1.0)
    {
        if (min > max) throw new BackpropException($"Hardtanh: min_val {min} is greater than max_val {max}.");
        return Autodiff.Apply(new HardtanhOp(min, max), x);
    }
}
