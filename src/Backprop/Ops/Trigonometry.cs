using Backprop.Kernels;

namespace Backprop;

/// <summary>d sin x = cos x.</summary>
internal sealed class SinOp : KernelUnaryOp<SinOperator>
{
    public override string Name => "Sin";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => x.Cos();
}

/// <summary>d cos x = −sin x.</summary>
internal sealed class CosOp : KernelUnaryOp<CosOperator>
{
    public override string Name => "Cos";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => -x.Sin();
}

/// <summary>sign(x) ∈ {−1, 0, 1}; its derivative is 0 everywhere it exists (PyTorch's and JAX's choice at 0 too).</summary>
internal sealed class SignOp : KernelUnaryOp<SignOperator>
{
    public override string Name => "Sign";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => Tensor.ZerosLike(x.Detach());
}

/// <summary>d x^(−1/2) = −½·x^(−3/2) = −½·y³, from the output; +∞ at 0 as in PyTorch.</summary>
internal sealed class RsqrtOp : KernelUnaryOp<RsqrtOperator>
{
    public override string Name => "Rsqrt";
    protected override Tensor Derivative(Tensor x, Tensor y) => -0.5 * y * y * y;
}

public static partial class TensorOps
{
    public static Tensor Sin(this Tensor x) => Autodiff.Apply(new SinOp(), x);
    public static Tensor Cos(this Tensor x) => Autodiff.Apply(new CosOp(), x);

    /// <summary>−1, 0 or 1 by the sign of each element (NaN stays NaN); its gradient is 0.</summary>
    public static Tensor Sign(this Tensor x) => Autodiff.Apply(new SignOp(), x);

    /// <summary>1/√x elementwise (torch.rsqrt).</summary>
    public static Tensor Rsqrt(this Tensor x) => Autodiff.Apply(new RsqrtOp(), x);
}
