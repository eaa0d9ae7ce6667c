using System.Globalization;

namespace Backprop.Nn;

// The activations of math.md §1 as parameter-free modules, so they can sit in a Sequential between
// Linear layers. Each forwards to the differentiable op of the same name in TensorOps.

/// <summary>max(0, x).</summary>
public sealed class ReLU : Module
{
    public override Tensor Forward(Tensor x) => x.Relu();
}

/// <summary>x if x &gt; 0 else slope·x.</summary>
public sealed class LeakyReLU(double negativeSlope = 0.01) : Module
{
    public double NegativeSlope { get; } = negativeSlope;
    public override Tensor Forward(Tensor x) => x.LeakyRelu(NegativeSlope);
    protected override string ExtraRepr() => $"negative_slope={NegativeSlope.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>tanh x.</summary>
public sealed class Tanh : Module
{
    public override Tensor Forward(Tensor x) => x.Tanh();
}

/// <summary>1 / (1 + e⁻ˣ).</summary>
public sealed class Sigmoid : Module
{
    public override Tensor Forward(Tensor x) => x.Sigmoid();
}

/// <summary>log(1 + eˣ).</summary>
public sealed class Softplus : Module
{
    public override Tensor Forward(Tensor x) => x.Softplus();
}

/// <summary>x unchanged (the same tensor, so the graph gains no node).</summary>
public sealed class Identity : Module
{
    public override Tensor Forward(Tensor x) => x;
}
