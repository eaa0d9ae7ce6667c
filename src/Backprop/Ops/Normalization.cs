namespace Backprop;

// Batch and layer normalisation, composed from differentiable ops (mean, subtraction, square, sqrt),
// so both modes and every higher derivative follow from those ops' rules with nothing new to trust:
//   x̂ = (x − μ) / √(σ² + ε),  y = γ·x̂ + β,
// with μ and σ² (biased, 1/n) over the batch and spatial axes (batch norm) or the trailing
// normalised axes (layer norm), as torch.nn.functional.batch_norm and layer_norm compute them.
// Dropout is here too: a constant mask times the input, scaled by 1/(1 − p).

public static partial class TensorOps
{
    /// <summary>Mean over several axes, each kept with size 1 so the result broadcasts against x.</summary>
    internal static Tensor MeanKeep(Tensor x, ReadOnlySpan<int> axes)
    {
        foreach (int a in axes) x = x.Mean(a, keepDims: true);
        return x;
    }

    /// <summary>
    /// Batch normalisation of x (N, C, …) per channel C (<c>torch.nn.functional.batch_norm</c>). In
    /// training mode the batch's statistics are used and, when given, the running statistics are updated
    /// in place: running = (1 − momentum)·running + momentum·batch, with the unbiased variance
    /// (n/(n − 1)) for running_var as PyTorch does. Otherwise the running statistics are used.
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, double momentum = 0.1, double eps = 1e-5)
    {
        if (x.Rank < 2) throw new ShapeException($"BatchNorm expects input (N, C) or (N, C, …); got {ShapeUtil.Format(x.Dims)}.");
        int c = x.Dims[1];
        var statShape = new int[x.Rank];
        Array.Fill(statShape, 1);
        statShape[1] = c;
        foreach (var (name, t) in new[] { ("running_mean", runningMean), ("running_var", runningVar), ("weight", weight), ("bias", bias) })
            if (t is not null && (t.Rank != 1 || t.Dims[0] != c))
                throw new ShapeException($"BatchNorm: {name} must have shape ({c}) for input {ShapeUtil.Format(x.Dims)} with {c} channels; got {ShapeUtil.Format(t.Dims)}.");
        var axes = Enumerable.Range(0, x.Rank).Where(a => a != 1).ToArray();
        Tensor mean, variance;
        if (training || runningMean is null || runningVar is null)
        {
            int n = x.Length / Math.Max(1, c);
            if (training && n <= 1)
                throw new ShapeException($"BatchNorm in training mode needs more than one value per channel; input {ShapeUtil.Format(x.Dims)} has {n}. Use a larger batch or call Eval().");
            mean = MeanKeep(x, axes);
            variance = MeanKeep((x - mean).Square(), axes);
            if (training && runningMean is not null && runningVar is not null)
            {
                using var _ = Autodiff.NoGrad();
                var batchMean = mean.Detach().Reshape(c).To(runningMean.DType);
                var batchVar = (variance.Detach().Reshape(c) * ((double)n / (n - 1))).To(runningVar.DType);
                runningMean.CopyFrom(runningMean.Detach() * (1 - momentum) + batchMean * momentum);
                runningVar.CopyFrom(runningVar.Detach() * (1 - momentum) + batchVar * momentum);
            }
        }
        else
        {
            mean = runningMean.Detach().Reshape(statShape);
            variance = runningVar.Detach().Reshape(statShape);
        }
        var y = (x - mean) / (variance + eps).Sqrt();
        if (weight is not null) y *= weight.Reshape(statShape);
        if (bias is not null) y += bias.Reshape(statShape);
        return y;
    }

    /// <summary>
    /// Layer normalisation over the last <paramref name="normalizedAxes"/> axes (<c>torch.nn.functional.layer_norm</c>
    /// with normalized_shape = those axes' sizes); weight and bias have the normalised shape.
    /// </summary>
    public static Tensor LayerNorm(Tensor x, int normalizedAxes, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        if (normalizedAxes < 1 || normalizedAxes > x.Rank)
            throw new ShapeException($"LayerNorm: cannot normalise the last {normalizedAxes} axes of an input of shape {ShapeUtil.Format(x.Dims)}.");
        var axes = Enumerable.Range(x.Rank - normalizedAxes, normalizedAxes).ToArray();
        var mean = MeanKeep(x, axes);
        var variance = MeanKeep((x - mean).Square(), axes);
        var y = (x - mean) / (variance + eps).Sqrt();
        var trailing = x.Dims[(x.Rank - normalizedAxes)..];
        foreach (var (name, t) in new[] { ("weight", weight), ("bias", bias) })
            if (t is not null && !ShapeUtil.SameShape(t.Dims, trailing))
                throw new ShapeException($"LayerNorm: {name} must have the normalised shape {ShapeUtil.Format(trailing)}; got {ShapeUtil.Format(t.Dims)}.");
        if (weight is not null) y *= weight;
        if (bias is not null) y += bias;
        return y;
    }

    /// <summary>
    /// Inverted dropout (<c>torch.nn.functional.dropout</c>): in training each element is kept with
    /// probability 1 − p and scaled by 1/(1 − p), so the expected value is unchanged; otherwise x itself.
    /// The mask is a constant drawn from <paramref name="rng"/>.
    /// </summary>
    public static Tensor Dropout(Tensor x, double p, bool training, Rng rng)
    {
        if (!(p >= 0 && p <= 1)) throw new BackpropException($"Dropout: p must be in [0, 1]; got {p}.");
        if (!training || p == 0) return x;
        var mask = NewOutput(x.Dims, x.DType);
        double scale = p == 1 ? 0 : 1 / (1 - p);
        if (mask.DType == DType.Float32)
        {
            var m = mask.Span<float>();
            for (int i = 0; i < m.Length; i++) m[i] = rng.NextDouble() >= p ? (float)scale : 0f;
        }
        else
        {
            var m = mask.Span<double>();
            for (int i = 0; i < m.Length; i++) m[i] = rng.NextDouble() >= p ? scale : 0.0;
        }
        return x * mask;
    }
}
