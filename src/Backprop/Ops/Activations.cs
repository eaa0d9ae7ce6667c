using Backprop.Kernels;

namespace Backprop;

// The activation functions of math.md §1. Their derivatives use the values the forward pass already
// has (sigmoid' = a(1 − a), tanh' = 1 − a²), as the course notation does.

/// <summary>
/// σ(x) = 1/(1 + e⁻ˣ), σ' = y(1 − y). Fused rather than composed from exp and div: the composition
/// overflows e⁻ˣ for x ≪ 0, and the fused rule needs only y.
/// </summary>
internal sealed class SigmoidOp : KernelUnaryOp<SigmoidOperator>
{
    public override string Name => "Sigmoid";
    protected override Tensor Derivative(Tensor x, Tensor y) => y * (1.0 - y);
}

/// <summary>tanh' = 1 − y².</summary>
internal sealed class TanhOp : KernelUnaryOp<TanhOperator>
{
    public override string Name => "Tanh";
    protected override Tensor Derivative(Tensor x, Tensor y) => 1.0 - y.Square();
}

/// <summary>
/// max(0, x), with relu'(0) = 0 (PyTorch's and JAX's choice; tinygrad notes that writing it as
/// maximum(x, 0) would instead split the gradient at 0). The derivative is a constant mask.
/// </summary>
internal sealed class ReluOp : KernelUnaryOp<ReluOperator>
{
    public override string Name => "ReLU";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => TensorOps.ConstantMap<StepOperator>(x, 0);
}

/// <summary>x if x &gt; 0 else αx; the derivative at 0 is α, consistent with relu'(0) = 0 at α = 0.</summary>
internal sealed class LeakyReluOp(double slope) : KernelUnaryOp<LeakyReluOperator>
{
    public override string Name => "LeakyReLU";
    public override string Describe() => $"LeakyReLU({slope})";
    protected override double Parameter => slope;
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => TensorOps.ConstantMap<StepOperator>(x, slope);
}

/// <summary>softplus(x) = log(1 + eˣ), computed stably; softplus' = σ(x).</summary>
internal sealed class SoftplusOp : KernelUnaryOp<SoftplusOperator>
{
    public override string Name => "Softplus";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => x.Sigmoid();
}

public static partial class TensorOps
{
    public static Tensor Sigmoid(this Tensor x) => Autodiff.Apply(new SigmoidOp(), x);
    public static Tensor Tanh(this Tensor x) => Autodiff.Apply(new TanhOp(), x);
    public static Tensor Relu(this Tensor x) => Autodiff.Apply(new ReluOp(), x);
    public static Tensor LeakyRelu(this Tensor x, double slope = 0.01) => Autodiff.Apply(new LeakyReluOp(slope), x);
    public static Tensor Softplus(this Tensor x) => Autodiff.Apply(new SoftplusOp(), x);
}
