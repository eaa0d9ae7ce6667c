using Backprop.Kernels;

namespace Backprop;

/// <summary>erf(x); erf'(x) = 2/√π · e^(−x²), written with tensor ops so that it is itself differentiable.</summary>
internal sealed class ErfOp : KernelUnaryOp<ErfOperator>
{
    public override string Name => "Erf";
    public override bool VjpReadsOutput => false;
    protected override Tensor Derivative(Tensor x, Tensor y) => (2 / Math.Sqrt(Math.PI)) * (-x.Square()).Exp();
}

public static partial class TensorOps
{
    /// <summary>The error function, elementwise (<c>torch.erf</c>).</summary>
    public static Tensor Erf(this Tensor x) => Autodiff.Apply(new ErfOp(), x);
}
