namespace Backprop.Nn;

/// <summary>
/// A fully connected layer. <see cref="Weight"/> has shape (out, in), the layout of math.md §1 and of
/// PyTorch's <c>nn.Linear.weight</c>; <see cref="Bias"/> has shape (out). Batches are rows, x of shape
/// (m, in), so the layer computes z = x·Wᵀ + b of shape (m, out), which is the transpose of
/// math.md's column form W·a + b.
/// </summary>
public sealed class Linear : Module
{
    /// <summary>
    /// A layer initialised as PyTorch initialises <c>nn.Linear</c>: weights and bias from
    /// U(−1/√in, 1/√in). Without <paramref name="rng"/> the draw comes from
    /// <see cref="Initializers.DefaultRng"/>, so a program that seeds it stays reproducible.
    /// </summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Rng? rng = null, DType? dtype = null)
        : this(dtype ?? Tensor.DefaultDType, inFeatures, outFeatures, bias)
    {
        Initializers.Initialize(this, Init.PyTorchDefault, Activation.Identity, rng ?? Initializers.DefaultRng);
    }

    /// <summary>A layer with zeroed parameters, for callers that initialise it themselves.</summary>
    internal static Linear Zeroed(int inFeatures, int outFeatures, bool bias, DType dtype) => new(dtype, inFeatures, outFeatures, bias);

    // The dtype comes first so that no call written for the public constructor can bind to this one.
    private Linear(DType dtype, int inFeatures, int outFeatures, bool bias)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new BackpropException($"Linear needs positive sizes; got in_features={inFeatures}, out_features={outFeatures}.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = Tensor.Zeros([outFeatures, inFeatures], dtype);
        Weight.RequiresGrad = true;
        if (bias)
        {
            Bias = Tensor.Zeros([outFeatures], dtype);
            Bias.RequiresGrad = true;
        }
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }

    /// <summary>Shape (out, in).</summary>
    public Tensor Weight { get; }

    /// <summary>Shape (out), or null for a layer built with <c>bias: false</c>.</summary>
    public Tensor? Bias { get; }

    public DType DType => Weight.DType;

    /// <summary>
    /// z = x·Wᵀ + b for x of shape (m, in), as one op (<see cref="TensorOps.Linear"/>); other ranks
    /// (a single example of shape (in), or leading batch dimensions) go through MatMul and Add. The
    /// transposed operand is a GEMM flag, not a copy.
    /// </summary>
    public override Tensor Forward(Tensor x) => Forward(x, Activation.Identity);

    /// <summary>
    /// g(x·Wᵀ + b) as one op for a batch x of shape (m, in): the bias and the activation are applied in the
    /// same pass as the product's output, and the backward pass is one step instead of three. The same
    /// values as <c>activation.CreateModule().Forward(Forward(x))</c>. <paramref name="leakySlope"/> is
    /// leaky ReLU's.
    /// </summary>
    public Tensor Forward(Tensor x, Activation activation, double leakySlope = 0.01)
    {
        if (x.Rank < 1 || x.Shape[^1] != InFeatures)
            throw new ShapeException($"Linear({InFeatures} → {OutFeatures}) expects input of shape (batch, {InFeatures}); got {ShapeUtil.Format(x.Shape)}.");
        if (x.Rank == 2 && x.DType == DType) return TensorOps.LinearWith(x, Weight, Bias, Fused(activation), leakySlope);
        var z = x.MatMul(Weight, transposeB: true);
        if (Bias is not null) z += Bias;
        return activation == Activation.Identity ? z : activation.CreateModule(leakySlope).Forward(z);
    }

    private static LinearActivation Fused(Activation activation) => activation switch
    {
        Activation.Relu => LinearActivation.Relu,
        Activation.LeakyRelu => LinearActivation.LeakyRelu,
        Activation.Tanh => LinearActivation.Tanh,
        Activation.Sigmoid => LinearActivation.Sigmoid,
        Activation.Softplus => LinearActivation.Softplus,
        _ => LinearActivation.Identity,
    };

    protected override string ExtraRepr() =>
        $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is null ? "False" : "True")}";
}
