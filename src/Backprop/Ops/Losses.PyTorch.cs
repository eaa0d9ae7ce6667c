namespace Backprop;

/// <summary>How a loss combines its per-element values (PyTorch's <c>reduction</c> argument).</summary>
public enum Reduction
{
    /// <summary>The mean (for weighted class losses, the weighted mean: Σ w·ℓ / Σ w).</summary>
    Mean,
    /// <summary>The sum.</summary>
    Sum,
    /// <summary>No reduction: one value per element (or per sample for class losses).</summary>
    None,
}

// The losses of torch.nn.functional with PyTorch's semantics and argument names. Each is a composition of
// differentiable ops (LogSoftmax, Gather, Where, Softplus…), so its derivatives in both modes and to any
// order come from those ops' rules; none needs a rule of its own.
public static partial class Losses
{
    private static Tensor Reduce(Tensor perElement, Reduction reduction) => reduction switch
    {
        Reduction.Sum => perElement.Sum(),
        Reduction.None => perElement,
        _ => perElement.Mean(),
    };

    /// <summary>|input − target| (torch.nn.functional.l1_loss).</summary>
    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        CheckSameShape(input, target, nameof(L1Loss));
        return Reduce((input - target).Abs(), reduction);
    }

    /// <summary>
    /// ½d²/β where |d| &lt; β, else |d| − ½β, for d = input − target (smooth_l1_loss); β = 0 is the L1 loss.
    /// </summary>
    public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0)
    {
        CheckSameShape(input, target, nameof(SmoothL1Loss));
        if (!(beta >= 0)) throw new BackpropException($"SmoothL1Loss: beta = {beta} must be non-negative.");
        var d = input - target;
        if (beta == 0) return Reduce(d.Abs(), reduction);
        var inside = Tensor.Scalar(beta, d.DType).GreaterMask(d.Abs());
        return Reduce(TensorOps.Where(inside, 0.5 / beta * d.Square(), d.Abs() - 0.5 * beta), reduction);
    }

    /// <summary>½d² where |d| ≤ δ, else δ(|d| − ½δ), for d = input − target (huber_loss; δ &gt; 0).</summary>
    public static Tensor HuberLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double delta = 1.0)
    {
        CheckSameShape(input, target, nameof(HuberLoss));
        if (!(delta > 0)) throw new BackpropException($"HuberLoss: delta = {delta} must be positive.");
        var d = input - target;
        var outside = d.Abs().GreaterMask(Tensor.Scalar(delta, d.DType));
        return Reduce(TensorOps.Where(outside, delta * (d.Abs() - 0.5 * delta), 0.5 * d.Square()), reduction);
    }

    /// <summary>
    /// The negative log-likelihood of class indices under log-probabilities <paramref name="input"/> of
    /// shape (N, C) (nll_loss): ℓₙ = −w[tₙ]·input[n, tₙ], 0 for rows whose target is
    /// <paramref name="ignoreIndex"/>; the mean is Σℓₙ / Σ w[tₙ] over the rows not ignored.
    /// </summary>
    /// <remarks>weight: per-class weights of shape (C), a constant; null weighs every class 1.</remarks>
    public static Tensor NLLLoss(Tensor input, ReadOnlySpan<int> target, Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    {
        var (picked, rowWeight) = PickTargets(input, target, weight, ignoreIndex, nameof(NLLLoss));
        var perRow = -(rowWeight * picked);
        return reduction == Reduction.Mean ? perRow.Sum() / rowWeight.Sum() : Reduce(perRow, reduction);
    }

    /// <summary>
    /// input[n, tₙ] for each row (a gather) and the constant row weight w[tₙ] (0 where ignored), both of
    /// shape (N).
    /// </summary>
    private static (Tensor Picked, Tensor RowWeight) PickTargets(Tensor input, ReadOnlySpan<int> target, Tensor? weight, int ignoreIndex, string name)
    {
        if (input.Rank != 2) throw new ShapeException($"{name} expects input of shape (batch, classes); got {ShapeUtil.Format(input.Dims)}.");
        int rows = input.Dims[0], classes = input.Dims[1];
        if (target.Length != rows)
            throw new ShapeException($"{name}: {target.Length} targets for {rows} rows of input {ShapeUtil.Format(input.Dims)}; give one class index per row.");
        double[]? w = null;
        if (weight is not null)
        {
            if (weight.Rank != 1 || weight.Dims[0] != classes)
                throw new ShapeException($"{name}: weight has shape {ShapeUtil.Format(weight.Dims)}; it needs one value per class, shape ({classes},).");
            w = weight.Detach().ToDoubleArray();
        }
        var index = new int[rows];
        var rowWeight = new double[rows];
        for (int n = 0; n < rows; n++)
        {
            int t = target[n];
            if (t == ignoreIndex) continue;
            if ((uint)t >= (uint)classes)
                throw new BackpropException($"{name}: class index {t} in row {n} is out of range for {classes} classes (0 to {classes - 1}; ignoreIndex is {ignoreIndex}).");
            index[n] = t;
            rowWeight[n] = w is null ? 1 : w[t];
        }
        var picked = Autodiff.Apply(new GatherOp(1, index, [rows, 1]), input).Reshape(rows);
        return (picked, Tensor.FromArray(rowWeight, [rows], input.DType));
    }

    /// <summary>
    /// Cross-entropy of logits (N, C) against class indices (torch.nn.functional.cross_entropy), with
    /// PyTorch's <paramref name="weight"/>, <paramref name="ignoreIndex"/> and
    /// <paramref name="labelSmoothing"/> ε: (1 − ε)·NLL(log softmax) + ε/C·Σ_c −w_c·log softmax_c, the
    /// smoothing term normalised like the NLL term. Finite for any finite or −∞ logits outside the target.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> target, Tensor? weight = null, int ignoreIndex = -100,
        Reduction reduction = Reduction.Mean, double labelSmoothing = 0)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new BackpropException($"CrossEntropy: labelSmoothing = {labelSmoothing} must be in [0, 1].");
        if (logits.Rank != 2) throw new ShapeException($"CrossEntropy expects logits of shape (batch, classes); got {ShapeUtil.Format(logits.Dims)}.");
        var logp = logits.LogSoftmax(-1);
        var (picked, rowWeight) = PickTargets(logp, target, weight, ignoreIndex, nameof(CrossEntropy));
        var nll = -(rowWeight * picked);
        var nllReduced = reduction == Reduction.Mean ? nll.Sum() / rowWeight.Sum() : Reduce(nll, reduction);
        if (labelSmoothing == 0) return nllReduced;

        int rows = logits.Dims[0], classes = logits.Dims[1];
        var weighted = weight is null ? logp : logp * weight.Detach().To(logp.DType);
        var kept = new double[rows];
        for (int n = 0; n < rows; n++) kept[n] = target[n] == ignoreIndex ? 0 : 1;
        var keptRows = Tensor.FromArray(kept, [rows], logits.DType);
        // Where, not a product: an ignored row's −∞ logit must not become 0·(−∞).
        var smooth = TensorOps.Where(keptRows, -weighted.Sum(1), Tensor.Scalar(0, logits.DType));
        var smoothReduced = reduction switch
        {
            Reduction.Mean => smooth.Sum() / (weight is null ? keptRows.Sum() : rowWeight.Sum()),
            Reduction.Sum => smooth.Sum(),
            _ => smooth,
        };
        return (1 - labelSmoothing) * nllReduced + smoothReduced * (labelSmoothing / classes);
    }

    /// <summary>
    /// Cross-entropy of logits (N, C) against target probabilities of the same shape, with per-class
    /// <paramref name="weight"/> and <paramref name="labelSmoothing"/> (targets become (1 − ε)t + ε/C):
    /// ℓₙ = −Σ_c w_c·t_c·log softmax_c; the mean is over the N rows, as in PyTorch.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targetProbabilities, Tensor? weight = null, Reduction reduction = Reduction.Mean, double labelSmoothing = 0)
    {
        CheckSameShape(logits, targetProbabilities, nameof(CrossEntropy));
        if (logits.Rank != 2) throw new ShapeException($"CrossEntropy expects logits of shape (batch, classes); got {ShapeUtil.Format(logits.Dims)}.");
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new BackpropException($"CrossEntropy: labelSmoothing = {labelSmoothing} must be in [0, 1].");
        int classes = logits.Dims[1];
        var t = labelSmoothing == 0 ? targetProbabilities : targetProbabilities * (1 - labelSmoothing) + labelSmoothing / classes;
        if (weight is not null)
        {
            if (weight.Rank != 1 || weight.Dims[0] != classes)
                throw new ShapeException($"CrossEntropy: weight has shape {ShapeUtil.Format(weight.Dims)}; it needs one value per class, shape ({classes},).");
            t = t * weight.Detach().To(logits.DType);
        }
        var perRow = -XLogY(t, logits.LogSoftmax(-1)).Sum(1);
        return Reduce(perRow, reduction);
    }

    /// <summary>
    /// Kullback–Leibler divergence of <paramref name="target"/> from the distribution whose log-probabilities
    /// are <paramref name="input"/> (kl_div): t·(log t − input), 0 where t = 0; with
    /// <paramref name="logTarget"/> the target is given as log t: eˡᵒᵍᵗ·(log t − input). PyTorch's
    /// "batchmean" is <see cref="Reduction.Sum"/> divided by the batch size.
    /// </summary>
    public static Tensor KLDivLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool logTarget = false)
    {
        CheckSameShape(input, target, nameof(KLDivLoss));
        var pointwise = logTarget ? target.Exp() * (target - input) : XLogY(target, target.Log()) - XLogY(target, input);
        return Reduce(pointwise, reduction);
    }

    /// <summary>
    /// Binary cross-entropy on logits with PyTorch's <paramref name="weight"/> (broadcast over elements)
    /// and <paramref name="posWeight"/> p (broadcast along the last dimension, one per class):
    /// ℓ = w·[(1 − t)·z + (1 + (p − 1)·t)·softplus(−z)], which never forms log σ(z).
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor targets, Tensor? weight, Tensor? posWeight = null, Reduction reduction = Reduction.Mean)
    {
        CheckSameShape(logits, targets, nameof(BinaryCrossEntropyWithLogits));
        var softplusMinusZ = (-logits).Softplus();
        var loss = posWeight is null
            ? (1.0 - targets) * logits + softplusMinusZ
            : (1.0 - targets) * logits + (1.0 + (posWeight.Detach().To(logits.DType) - 1.0) * targets) * softplusMinusZ;
        if (weight is not null) loss = loss * weight.Detach().To(logits.DType);
        if (!ShapeUtil.SameShape(loss.Dims, logits.Dims))
            throw new ShapeException($"BinaryCrossEntropyWithLogits: weight or posWeight changes the shape {ShapeUtil.Format(logits.Dims)} to {ShapeUtil.Format(loss.Dims)}; they must broadcast to the logits' shape.");
        return Reduce(loss, reduction);
    }
}
