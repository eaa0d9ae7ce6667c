using Backprop.Kernels;

namespace Backprop;

/// <summary>
/// Binary cross-entropy on logits z with targets t, averaged over all elements:
/// ℓ = max(z, 0) − z·t + log(1 + e^−|z|), which equals −[t log σ(z) + (1 − t) log(1 − σ(z))] but never
/// forms log σ(z), which is −∞ in float32 for z below about −88. The rule is where the course's
/// δ = ŷ − y comes from: ∂ℓ/∂z = σ(z) − t (math.md §2), and ∂ℓ/∂t = −z.
/// </summary>
/// <remarks>
/// The forward pass is one kernel that also writes ∂ℓ/∂z = (σ(z) − t)/n (one exponential per element
/// serves both, <see cref="FusedLosses"/>), and the VJP of plain values scales that by gy instead of
/// recomputing it: the loss with its gradient, as the compiled step has it. The mean is accumulated in
/// double. Values that are themselves being differentiated take the rule written with tensor ops.
/// </remarks>
internal sealed class BinaryCrossEntropyWithLogitsOp : Op
{
    public override string Name => "BinaryCrossEntropyWithLogits";

    /// <summary>∂ℓ/∂z from the forward pass, (σ(z) − t)/n, in z's shape.</summary>
    private Tensor? _logitGradient;

    public override Tensor Forward(Tensor[] x)
    {
        Tensor z = x[0], t = x[1];
        var dz = TensorOps.NewOutputToOverwrite(z.Dims, z.DType);
        double loss = z.DType == DType.Float32
            ? FusedLosses.BinaryCrossEntropyWithLogitsForwardBackward(dz.Span<float>(), z.Span<float>(), t.Span<float>(), z.Length)
            : FusedLosses.BinaryCrossEntropyWithLogitsForwardBackward(dz.Span<double>(), z.Span<double>(), t.Span<double>(), z.Length);
        _logitGradient = dz;
        return Tensor.Scalar(loss, z.DType);
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => PerElementTangent(x, tx)?.Mean();

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        PerElementTangent(x, tx)?.Reshape(k, -1).Mean(1);

    /// <summary>The tangent of each element's loss; a batched tangent gives a (K, …) result.</summary>
    private static Tensor? PerElementTangent(Tensor[] x, Tensor?[] tx)
    {
        Tensor z = x[0], t = x[1];
        Tensor? sum = null;
        if (tx[0] is { } tz) sum = tz * (z.Sigmoid() - t);
        if (tx[1] is { } tt) sum = sum is null ? -(tt * z) : sum - tt * z;
        return sum;
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        Tensor z = x[0], t = x[1];
        if (needsGrad[0] && gy.Level == 0 && z.Level == 0 && t.Level == 0 && _logitGradient is { } dz)
        {
            var g = TensorOps.NewOutputToOverwrite(z.Dims, z.DType);
            if (g.Length > 0) Elementwise.Binary<MultiplyOperator>(dz, gy, g);
            gx[0] = g;
            if (needsGrad[1]) gx[1] = -z * (gy * (1.0 / z.Length));
            return;
        }
        var scale = gy * (1.0 / z.Length);
        if (needsGrad[0]) gx[0] = (z.Sigmoid() - t) * scale;
        if (needsGrad[1]) gx[1] = -z * scale;
    }
}

/// <summary>
/// Binary cross-entropy on probabilities p, averaged: each log is clamped at −100 as in PyTorch's
/// BCELoss, so p = 0 or 1 gives a finite loss. The gradient (p − t) / max(p(1 − p), ε) is computed in
/// that combined form: through the clamped logs it would be 0·∞ = NaN at p = 0 or 1.
/// </summary>
internal sealed class BinaryCrossEntropyOp : Op
{
    public override string Name => "BinaryCrossEntropy";
    private const double LogFloor = -100;
    private const double Epsilon = 1e-12;

    public override Tensor Forward(Tensor[] x)
    {
        Tensor p = x[0], t = x[1];
        var logP = p.Log().Clamp(LogFloor, double.PositiveInfinity);
        var log1mP = (1.0 - p).Log().Clamp(LogFloor, double.PositiveInfinity);
        return (-(t * logP + (1.0 - t) * log1mP)).Mean();
    }

    private static Tensor DLossDp(Tensor p, Tensor t) => (p - t) / (p * (1.0 - p)).Clamp(Epsilon, double.PositiveInfinity);

    private static Tensor DLossDt(Tensor p) =>
        (1.0 - p).Log().Clamp(LogFloor, double.PositiveInfinity) - p.Log().Clamp(LogFloor, double.PositiveInfinity);

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => PerElementTangent(x, tx)?.Mean();

    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        PerElementTangent(x, tx)?.Reshape(k, -1).Mean(1);

    private static Tensor? PerElementTangent(Tensor[] x, Tensor?[] tx)
    {
        Tensor? sum = null;
        if (tx[0] is { } tp) sum = tp * DLossDp(x[0], x[1]);
        if (tx[1] is { } tt) sum = sum is null ? tt * DLossDt(x[0]) : sum + tt * DLossDt(x[0]);
        return sum;
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        var scale = gy * (1.0 / x[0].Length);
        if (needsGrad[0]) gx[0] = DLossDp(x[0], x[1]) * scale;
        if (needsGrad[1]) gx[1] = DLossDt(x[0]) * scale;
    }
}

/// <summary>The losses of math.md §2, each the mean over the batch.</summary>
public static partial class Losses
{
    /// <summary>Binary cross-entropy of sigmoid(logits) against targets in [0, 1]; stable for any logit.</summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor targets)
    {
        CheckSameShape(logits, targets, nameof(BinaryCrossEntropyWithLogits));
        return Autodiff.Apply(new BinaryCrossEntropyWithLogitsOp(), logits, targets);
    }

    /// <summary>Binary cross-entropy of probabilities; logs clamped at −100 so it stays finite at 0 and 1.</summary>
    public static Tensor BinaryCrossEntropy(Tensor probabilities, Tensor targets)
    {
        CheckSameShape(probabilities, targets, nameof(BinaryCrossEntropy));
        return Autodiff.Apply(new BinaryCrossEntropyOp(), probabilities, targets);
    }

    /// <summary>
    /// Softmax cross-entropy of logits (batch, classes) against target distributions of the same
    /// shape (one-hot or soft): −mean over rows of Σ target·log softmax(logits). Built on LogSoftmax,
    /// so its gradient, softmax − target (over the batch size), needs no rule of its own.
    /// </summary>
    public static Tensor SoftmaxCrossEntropy(Tensor logits, Tensor targetProbabilities)
    {
        CheckSameShape(logits, targetProbabilities, nameof(SoftmaxCrossEntropy));
        if (logits.Rank != 2) throw new ShapeException($"SoftmaxCrossEntropy expects logits of shape (batch, classes); got {ShapeUtil.Format(logits.Dims)}.");
        return -XLogY(targetProbabilities, logits.LogSoftmax(-1)).Sum() * (1.0 / logits.Dims[0]);
    }

    /// <summary>
    /// Softmax cross-entropy against class indices (0 ≤ index &lt; classes), one per row: the mean of
    /// −log softmax(logits)[row, index]. The target's log-probability is picked with a gather rather than
    /// a product with a one-hot row, so a −∞ logit in another class does not make 0·(−∞) = NaN.
    /// </summary>
    public static Tensor SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> classIndices)
    {
        if (logits.Rank != 2) throw new ShapeException($"SoftmaxCrossEntropy expects logits of shape (batch, classes); got {ShapeUtil.Format(logits.Dims)}.");
        int rows = logits.Dims[0], classes = logits.Dims[1];
        if (classIndices.Length != rows)
            throw new ShapeException($"SoftmaxCrossEntropy: {classIndices.Length} class indices for {rows} rows of logits {ShapeUtil.Format(logits.Dims)}; give one per row.");
        CheckClassIndices(classIndices, classes);
        var picked = Autodiff.Apply(new GatherOp(1, classIndices.ToArray(), [rows, 1]), logits.LogSoftmax(-1));
        return -picked.Mean();
    }

    private static void CheckClassIndices(ReadOnlySpan<int> classIndices, int classes)
    {
        for (int i = 0; i < classIndices.Length; i++)
            if ((uint)classIndices[i] >= (uint)classes)
                throw new BackpropException($"Class index {classIndices[i]} in row {i} is out of range for {classes} classes (0 to {classes - 1}).");
    }

    /// <summary>
    /// t·logp with the limit 0 wherever t = 0 (scipy's xlogy convention), so a class with no target mass
    /// contributes nothing even where its log-probability is −∞. The mask is a constant.
    /// </summary>
    internal static Tensor XLogY(Tensor t, Tensor logp)
    {
        var zeroMass = t.EqualMask(Tensor.Scalar(0, t.DType));
        return TensorOps.Where(zeroMass, Tensor.Scalar(0, t.DType), t * logp);
    }

    /// <summary>Mean squared error, as PyTorch's MSELoss: mean of (ŷ − y)², without a ½.</summary>
    public static Tensor MeanSquaredError(Tensor predictions, Tensor targets)
    {
        CheckSameShape(predictions, targets, nameof(MeanSquaredError));
        return (predictions - targets).Square().Mean();
    }

    /// <summary>Rows of one-hot vectors for the given class indices.</summary>
    public static Tensor OneHot(ReadOnlySpan<int> classIndices, int classes, DType dtype = DType.Float32)
    {
        var values = new double[classIndices.Length * classes];
        for (int i = 0; i < classIndices.Length; i++)
        {
            int c = classIndices[i];
            if ((uint)c >= (uint)classes)
                throw new BackpropException($"Class index {c} in row {i} is out of range for {classes} classes (0 to {classes - 1}).");
            values[i * classes + c] = 1;
        }
        return Tensor.FromArray(values, [classIndices.Length, classes], dtype);
    }

    private static void CheckSameShape(Tensor a, Tensor b, string name)
    {
        if (!ShapeUtil.SameShape(a.Dims, b.Dims))
            throw new ShapeException($"{name}: predictions have shape {ShapeUtil.Format(a.Dims)} but targets have shape {ShapeUtil.Format(b.Dims)}; they must match.");
    }
}
