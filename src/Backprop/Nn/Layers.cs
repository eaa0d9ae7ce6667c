using System.Globalization;

namespace Backprop.Nn;

// The layers of torch.nn that a custom network is built from. Each keeps PyTorch's parameter names,
// shapes, initialisation and repr, so a state dict moves between the two unchanged. The computation
// lives in the ops (Ops/Convolution, Ops/Pooling, Ops/Normalization); a layer holds parameters and
// settings and calls them.

internal static class LayerInit
{
    /// <summary>PyTorch's default for Linear and Conv: weight and bias from U(−1/√fan_in, 1/√fan_in), fan_in = in_channels·kernel size.</summary>
    public static void FanInUniform(Tensor weight, Tensor? bias, Rng? rng)
    {
        rng ??= Initializers.DefaultRng;
        int fanIn = weight.Dims[0] == 0 ? 0 : weight.Length / weight.Dims[0];
        double bound = fanIn == 0 ? 0 : 1.0 / Math.Sqrt(fanIn);
        Initializers.Uniform(weight, rng, -bound, bound);
        if (bias is not null) Initializers.Uniform(bias, rng, -bound, bound);
    }

    public static Tensor Parameter(int[] shape, DType? dtype, double fill = 0)
    {
        var t = Tensor.Full(shape, fill, dtype ?? Tensor.DefaultDType);
        t.RequiresGrad = true;
        return t;
    }

    public static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e", StringComparison.Ordinal);   // Python prints 1e-05
    public static string Pair(int a, int b) => $"({a}, {b})";
}

/// <summary>
/// 2-D convolution over (N, C, H, W) (<c>torch.nn.Conv2d</c> with groups = 1): weight (out, in, kH, kW),
/// bias (out); stride, padding and dilation per axis.
/// </summary>
public sealed class Conv2d : Module
{
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, bool bias = true, Rng? rng = null, DType? dtype = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (dilation, dilation), bias, rng, dtype) { }

    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation,
        bool bias = true, Rng? rng = null, DType? dtype = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize.H <= 0 || kernelSize.W <= 0)
            throw new BackpropException($"Conv2d needs positive channel counts and kernel size; got in_channels={inChannels}, out_channels={outChannels}, kernel_size=({kernelSize.H}, {kernelSize.W}).");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Weight = LayerInit.Parameter([outChannels, inChannels, kernelSize.H, kernelSize.W], dtype);
        if (bias) Bias = LayerInit.Parameter([outChannels], dtype);
        LayerInit.FanInUniform(Weight, Bias, rng);
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public (int H, int W) KernelSize { get; }
    public (int H, int W) Stride { get; }
    public (int H, int W) Padding { get; }
    public (int H, int W) Dilation { get; }
    /// <summary>Shape (out_channels, in_channels, kH, kW).</summary>
    public Tensor Weight { get; private set; }
    /// <summary>Shape (out_channels), or null.</summary>
    public Tensor? Bias { get; private set; }

    public override Tensor Forward(Tensor x) => x.Conv2d(Weight, Bias, Stride, Padding, Dilation);

    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size={LayerInit.Pair(KernelSize.H, KernelSize.W)}, stride={LayerInit.Pair(Stride.H, Stride.W)}";
        if (Padding != (0, 0)) s += $", padding={LayerInit.Pair(Padding.H, Padding.W)}";
        if (Dilation != (1, 1)) s += $", dilation={LayerInit.Pair(Dilation.H, Dilation.W)}";
        if (Bias is null) s += ", bias=False";
        return s;
    }
}

/// <summary>1-D convolution over (N, C, L) (<c>torch.nn.Conv1d</c>): weight (out, in, k), bias (out).</summary>
public sealed class Conv1d : Module
{
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, bool bias = true, Rng? rng = null, DType? dtype = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0)
            throw new BackpropException($"Conv1d needs positive channel counts and kernel size; got in_channels={inChannels}, out_channels={outChannels}, kernel_size={kernelSize}.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Weight = LayerInit.Parameter([outChannels, inChannels, kernelSize], dtype);
        if (bias) Bias = LayerInit.Parameter([outChannels], dtype);
        LayerInit.FanInUniform(Weight, Bias, rng);
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int KernelSize { get; }
    public int Stride { get; }
    public int Padding { get; }
    public int Dilation { get; }
    public Tensor Weight { get; private set; }
    public Tensor? Bias { get; private set; }

    public override Tensor Forward(Tensor x) => x.Conv1d(Weight, Bias, Stride, Padding, Dilation);

    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size=({KernelSize},), stride=({Stride},)";
        if (Padding != 0) s += $", padding=({Padding},)";
        if (Dilation != 1) s += $", dilation=({Dilation},)";
        if (Bias is null) s += ", bias=False";
        return s;
    }
}

/// <summary>Max over kernel×kernel windows (<c>torch.nn.MaxPool2d</c>); stride defaults to the kernel size.</summary>
public sealed class MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1) : Module
{
    public int KernelSize { get; } = kernelSize;
    public int Stride { get; } = stride ?? kernelSize;
    public int Padding { get; } = padding;
    public int Dilation { get; } = dilation;
    public override Tensor Forward(Tensor x) => x.MaxPool2d(KernelSize, Stride, Padding, Dilation);
    protected override string ExtraRepr() => $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation}, ceil_mode=False";
}

/// <summary>Mean over kernel×kernel windows (<c>torch.nn.AvgPool2d</c>, count_include_pad=True); stride defaults to the kernel size.</summary>
public sealed class AvgPool2d(int kernelSize, int? stride = null, int padding = 0) : Module
{
    public int KernelSize { get; } = kernelSize;
    public int Stride { get; } = stride ?? kernelSize;
    public int Padding { get; } = padding;
    public override Tensor Forward(Tensor x) => x.AvgPool2d(KernelSize, Stride, Padding);
    protected override string ExtraRepr() => $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}";
}

/// <summary>Flattens dimensions startDim..endDim into one (<c>torch.nn.Flatten</c>, default 1..−1: (N, …) → (N, ∏…)).</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    public int StartDim { get; } = startDim;
    public int EndDim { get; } = endDim;

    public override Tensor Forward(Tensor x)
    {
        if (x.Rank == 0) return x.Reshape(1);
        int s = ShapeUtil.NormalizeAxis(StartDim, x.Rank), e = ShapeUtil.NormalizeAxis(EndDim, x.Rank);
        if (s > e) throw new ShapeException($"Flatten: start_dim {StartDim} comes after end_dim {EndDim} for shape {ShapeUtil.Format(x.Dims)}.");
        var dims = new List<int>();
        for (int i = 0; i < s; i++) dims.Add(x.Dims[i]);
        int product = 1;
        for (int i = s; i <= e; i++) product *= x.Dims[i];
        dims.Add(product);
        for (int i = e + 1; i < x.Rank; i++) dims.Add(x.Dims[i]);
        return x.Reshape([.. dims]);
    }

    protected override string ExtraRepr() => $"start_dim={StartDim}, end_dim={EndDim}";
}

/// <summary>
/// Inverted dropout (<c>torch.nn.Dropout</c>): in training mode each element is zeroed with probability
/// p and the rest scaled by 1/(1 − p); in evaluation mode the input passes unchanged. Masks are drawn
/// from the rng given to the constructor, or from <see cref="Initializers.DefaultRng"/> when none is given.
/// </summary>
public sealed class Dropout : Module
{
    [NotRegistered] private readonly Rng? _rng;

    public Dropout(double p = 0.5, Rng? rng = null)
    {
        if (!(p >= 0 && p <= 1)) throw new BackpropException($"Dropout probability has to be between 0 and 1; got {p}.");
        P = p;
        _rng = rng;
    }

    public double P { get; }
    public override Tensor Forward(Tensor x) => TensorOps.Dropout(x, P, Training, _rng ?? Initializers.DefaultRng);
    protected override string ExtraRepr() => $"p={LayerInit.F(P)}, inplace=False";
}

/// <summary>
/// Batch normalisation per channel (PyTorch's BatchNorm1d/2d share this): weight (γ, ones), bias (β,
/// zeros), buffers running_mean (zeros), running_var (ones) and num_batches_tracked; momentum 0.1 and
/// eps 1e-5 by default. Training mode normalises with the batch's statistics and updates the running
/// ones; evaluation mode uses the running statistics.
/// </summary>
public abstract class BatchNormBase : Module
{
    private protected BatchNormBase(int numFeatures, double eps, double momentum, bool affine, bool trackRunningStats, DType? dtype)
    {
        if (numFeatures <= 0) throw new BackpropException($"{GetType().Name} needs a positive num_features; got {numFeatures}.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        if (affine)
        {
            Weight = LayerInit.Parameter([numFeatures], dtype, 1);
            Bias = LayerInit.Parameter([numFeatures], dtype, 0);
        }
        if (trackRunningStats)
        {
            RunningMean = Tensor.Zeros([numFeatures], dtype);
            RunningVar = Tensor.Ones([numFeatures], dtype);
            NumBatchesTracked = Tensor.Zeros([], dtype);
        }
    }

    public int NumFeatures { get; }
    public double Eps { get; }
    public double Momentum { get; }
    public Tensor? Weight { get; private set; }
    public Tensor? Bias { get; private set; }
    [Buffer] public Tensor? RunningMean { get; private set; }
    [Buffer] public Tensor? RunningVar { get; private set; }
    /// <summary>Batches seen in training mode (an int64 in PyTorch; a float here, exact up to 2²⁴ in float32).</summary>
    [Buffer] public Tensor? NumBatchesTracked { get; private set; }

    /// <summary>The input ranks this layer accepts, e.g. (2, 3) for BatchNorm1d.</summary>
    private protected abstract int[] Ranks { get; }

    public override Tensor Forward(Tensor x)
    {
        if (!Ranks.Contains(x.Rank) || x.Dims[1] != NumFeatures)
            throw new ShapeException($"{GetType().Name}({NumFeatures}) expects input of shape {string.Join(" or ", Ranks.Select(RankText))}; got {ShapeUtil.Format(x.Dims)}.");
        if (Training && NumBatchesTracked is not null)
        {
            using var _ = Autodiff.NoGrad();
            NumBatchesTracked.Fill(NumBatchesTracked.Item() + 1);
        }
        return TensorOps.BatchNorm(x, RunningMean, RunningVar, Weight, Bias, Training, Momentum, Eps);
    }

    private string RankText(int rank) => rank switch
    {
        2 => $"(N, {NumFeatures})",
        3 => $"(N, {NumFeatures}, L)",
        _ => $"(N, {NumFeatures}, H, W)",
    };

    protected override string ExtraRepr() =>
        $"{NumFeatures}, eps={LayerInit.F(Eps)}, momentum={LayerInit.F(Momentum)}, affine={(Weight is null ? "False" : "True")}, track_running_stats={(RunningMean is null ? "False" : "True")}";
}

/// <summary>Batch normalisation of (N, C) or (N, C, L) (<c>torch.nn.BatchNorm1d</c>).</summary>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType? dtype = null)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, dtype)
{
    private protected override int[] Ranks => [2, 3];
}

/// <summary>Batch normalisation of (N, C, H, W) (<c>torch.nn.BatchNorm2d</c>).</summary>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType? dtype = null)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, dtype)
{
    private protected override int[] Ranks => [4];
}

/// <summary>Layer normalisation over the trailing <c>normalizedShape</c> axes (<c>torch.nn.LayerNorm</c>): weight ones, bias zeros.</summary>
public sealed class LayerNorm : Module
{
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, DType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new BackpropException($"LayerNorm needs a normalized_shape of positive sizes; got {ShapeUtil.Format(normalizedShape)}.");
        NormalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = LayerInit.Parameter(normalizedShape, dtype, 1);
            Bias = LayerInit.Parameter(normalizedShape, dtype, 0);
        }
    }

    public LayerNorm(int normalizedSize, double eps = 1e-5, bool elementwiseAffine = true, DType? dtype = null)
        : this([normalizedSize], eps, elementwiseAffine, dtype) { }

    public IReadOnlyList<int> NormalizedShape { get; }
    public double Eps { get; }
    public Tensor? Weight { get; private set; }
    public Tensor? Bias { get; private set; }

    public override Tensor Forward(Tensor x)
    {
        int k = NormalizedShape.Count;
        if (x.Rank < k || !x.Dims.AsSpan(x.Rank - k).SequenceEqual(NormalizedShape.ToArray()))
            throw new ShapeException($"LayerNorm{ShapeUtil.Format(NormalizedShape.ToArray())} expects input whose last dimensions are {ShapeUtil.Format(NormalizedShape.ToArray())}; got {ShapeUtil.Format(x.Dims)}.");
        return TensorOps.LayerNorm(x, k, Weight, Bias, Eps);
    }

    protected override string ExtraRepr() =>
        $"({string.Join(", ", NormalizedShape)}{(NormalizedShape.Count == 1 ? "," : "")}), eps={LayerInit.F(Eps)}, elementwise_affine={(Weight is null ? "False" : "True")}";
}

/// <summary>
/// A lookup table (<c>torch.nn.Embedding</c>): weight (num_embeddings, embedding_dim) from N(0, 1); the
/// input holds whole-number indices of any shape S, the output has shape (…S, embedding_dim).
/// </summary>
public sealed class Embedding : Module
{
    public Embedding(int numEmbeddings, int embeddingDim, Rng? rng = null, DType? dtype = null)
    {
        if (numEmbeddings <= 0 || embeddingDim <= 0)
            throw new BackpropException($"Embedding needs positive sizes; got num_embeddings={numEmbeddings}, embedding_dim={embeddingDim}.");
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        Weight = LayerInit.Parameter([numEmbeddings, embeddingDim], dtype);
        Initializers.Normal(Weight, rng ?? Initializers.DefaultRng, 0, 1);
    }

    public int NumEmbeddings { get; }
    public int EmbeddingDim { get; }
    public Tensor Weight { get; private set; }
    public override Tensor Forward(Tensor x) => TensorOps.Embedding(x, Weight);
    protected override string ExtraRepr() => $"{NumEmbeddings}, {EmbeddingDim}";
}

/// <summary>GELU (<c>torch.nn.GELU</c>): exact x·Φ(x), or the tanh approximation with approximate: "tanh".</summary>
public sealed class GELU : Module
{
    public GELU(string approximate = "none")
    {
        if (approximate is not ("none" or "tanh")) throw new BackpropException($"GELU: approximate must be 'none' or 'tanh'; got '{approximate}'.");
        Approximate = approximate;
    }

    public string Approximate { get; }
    public override Tensor Forward(Tensor x) => x.Gelu(Approximate == "tanh");
    protected override string ExtraRepr() => $"approximate='{Approximate}'";
}

/// <summary>x·σ(x) (<c>torch.nn.SiLU</c>).</summary>
public sealed class SiLU : Module
{
    public override Tensor Forward(Tensor x) => x.Silu();
}

/// <summary>x for x &gt; 0, else α(eˣ − 1) (<c>torch.nn.ELU</c>).</summary>
public sealed class ELU(double alpha = 1.0) : Module
{
    public double Alpha { get; } = alpha;
    public override Tensor Forward(Tensor x) => x.Elu(Alpha);
    protected override string ExtraRepr() => $"alpha={LayerInit.F(Alpha)}";
}

/// <summary>clamp(x, min, max) with zero gradient at and beyond the bounds (<c>torch.nn.Hardtanh</c>).</summary>
public sealed class Hardtanh(double minVal = -1.0, double maxVal = 1.0) : Module
{
    public double MinVal { get; } = minVal;
    public double MaxVal { get; } = maxVal;
    public override Tensor Forward(Tensor x) => x.Hardtanh(MinVal, MaxVal);
    protected override string ExtraRepr() => $"min_val={LayerInit.F(MinVal)}, max_val={LayerInit.F(MaxVal)}";
}

/// <summary>log σ(x) (<c>torch.nn.LogSigmoid</c>).</summary>
public sealed class LogSigmoid : Module
{
    public override Tensor Forward(Tensor x) => x.LogSigmoid();
}
