namespace Backprop.Explain;

/// <summary>
/// One fully connected layer as the course writes it: z = W a + b, a = g(z). The explainer does not
/// depend on any model classes; a caller copies weights out of whatever model it has.
/// </summary>
/// <param name="Weight">W[l], shape (out, in): the layout of PyTorch's nn.Linear.weight.</param>
/// <param name="Bias">b[l], shape (out).</param>
/// <param name="Activation">
/// relu, leaky_relu, tanh, sigmoid, softplus or identity. For the output layer the task fixes it
/// (sigmoid, softmax or identity), because the loss works on the logits z[L]; pass that name, or
/// identity (the "model outputs logits" convention of PyTorch), and it is shown as the task's.
/// </param>
/// <param name="LeakySlope">α of leaky_relu.</param>
public sealed record ExplainLayer(Tensor Weight, Tensor Bias, string Activation, double LeakySlope = 0.01);

/// <summary>Which output and loss the network ends in (math.md §2).</summary>
public enum ExplainTask
{
    /// <summary>One sigmoid output, binary cross-entropy on the logit; targets 0 or 1.</summary>
    Binary,
    /// <summary>Softmax over n_L classes, cross-entropy; targets are class indices 0..n_L−1.</summary>
    Multiclass,
    /// <summary>Identity output, mean squared error over all elements as PyTorch's MSELoss.</summary>
    Regression,
}

/// <summary>How matrices of examples are written.</summary>
public enum ExplainLayout
{
    /// <summary>The course notation: examples are columns, z = W a + b, shapes (n_l, m).</summary>
    Columns,
    /// <summary>The code notation: examples are rows, z = a Wᵀ + b, shapes (m, n_l).</summary>
    Rows,
}

/// <summary>Where the 1/m of the mean loss is written in the backward pass.</summary>
public enum ExplainConvention
{
    /// <summary>
    /// Andrew Ng's course: dZ[L] = A[L] − Y (the derivative of the summed per-example losses),
    /// dW[l] = (1/m) dZ[l] A[l−1]ᵀ, db[l] = (1/m) Σ dZ[l], dA[l−1] = W[l]ᵀ dZ[l].
    /// </summary>
    Course,
    /// <summary>
    /// The autodiff engine's: δ[L] = ∂L/∂z[L] = (ŷ − y)/m, so every δ and da is m times smaller than
    /// the course's dZ and dA, and dW[l] = δ[l] a[l−1]ᵀ needs no 1/m.
    /// </summary>
    MeanInDelta,
}

/// <summary>What to explain and how.</summary>
public sealed record ExplainOptions
{
    public ExplainLayout Layout { get; init; } = ExplainLayout.Columns;

    /// <summary>Where the 1/m goes in the backward pass; both give identical dW and db.</summary>
    public ExplainConvention Convention { get; init; } = ExplainConvention.Course;

    /// <summary>When set, adds the gradient-descent step W ← W − α dW with this α, and the loss after it.</summary>
    public double? LearningRate { get; init; }

    /// <summary>
    /// One parameter entry, "W[1][0,2]" or "b[2][0]" (0-based indices, layers from 1): adds its
    /// derivative written out as a sum over examples and paths of products of scalar factors.
    /// </summary>
    public string? Entry { get; init; }

    /// <summary>Adds the forward-mode scheme: ∂a[l]/∂W[k] carried through the layers, and the cost of both modes.</summary>
    public bool ForwardMode { get; init; }

    /// <summary>The input features' names (n_0 of them), shown beside a[0]'s rows and in the JSON header.</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }

    /// <summary>How the inputs were prepared, for the header ("standardised with the training rows' mean and sd …").</summary>
    public string? Preprocessing { get; init; }

    /// <summary>The data rows the mini-batch came from (0-based), for the header.</summary>
    public IReadOnlyList<int>? Rows { get; init; }

    /// <summary>The precision of the numbers shown; the checks always run in float64.</summary>
    public DType DType { get; init; } = DType.Float64;

    /// <summary>At most this many entries of each gradient are checked by central differences (evenly spaced).</summary>
    public int MaxFiniteDifferenceEntries { get; init; } = 50;

    /// <summary>The central-difference step h.</summary>
    public double FiniteDifferenceStep { get; init; } = 1e-6;

    /// <summary>Matrices with more rows than this are summarised instead of printed whole.</summary>
    public int MaxFullRows { get; init; } = 32;

    /// <summary>Matrices with more columns than this are summarised instead of printed whole.</summary>
    public int MaxFullColumns { get; init; } = 10;

    /// <summary>Significant digits of the numbers printed (the JSON keeps every digit).</summary>
    public int Digits { get; init; } = 6;

    /// <summary>Where the rows came from, shown in the header (e.g. "data/breast-cancer.csv rows 0, 1").</summary>
    public string? Source { get; init; }
}

/// <summary>How one step's numbers compared with the engine and with central differences.</summary>
/// <param name="EngineMaxAbsError">Largest |shown − autodiff engine (float64)|; null when there is nothing to compare (the input).</param>
/// <param name="EngineTolerance">The largest engine error allowed: rounding of the shown dtype, scaled by the step's largest value.</param>
/// <param name="FiniteDifferenceMaxAbsError">Largest |shown − central difference (float64)| over the entries checked; null for forward steps.</param>
/// <param name="FiniteDifferenceTolerance">The largest finite-difference error allowed (truncation and rounding of the difference quotient).</param>
/// <param name="FiniteDifferenceEntries">How many entries the central differences checked.</param>
/// <param name="Entries">How many entries the step has.</param>
public sealed record StepCheck(
    double? EngineMaxAbsError,
    double EngineTolerance,
    double? FiniteDifferenceMaxAbsError,
    double FiniteDifferenceTolerance,
    int FiniteDifferenceEntries,
    int Entries)
{
    public bool Passed =>
        (EngineMaxAbsError is not double e || e <= EngineTolerance) &&
        (FiniteDifferenceMaxAbsError is not double f || f <= FiniteDifferenceTolerance);

    /// <summary>✓ or ✗; a dash for the input, which has nothing to check.</summary>
    public string Mark => EngineMaxAbsError is null && FiniteDifferenceMaxAbsError is null ? "—" : Passed ? "✓" : "✗";

    /// <summary>True when central differences checked only a sample of the entries.</summary>
    public bool Sampled => FiniteDifferenceMaxAbsError is not null && FiniteDifferenceEntries < Entries;

    internal static StepCheck None(int entries) => new(null, 0, null, 0, 0, entries);
}

/// <summary>
/// One line of the derivation: a named quantity, its formula, the shapes that produce it and its
/// numbers (in the chosen layout), and the check of those numbers.
/// </summary>
/// <param name="Name">z[l], a[l], loss, delta[l], dW[l], db[l] or da[l] (ASCII, stable for tools).</param>
/// <param name="Symbol">The name as the course writes it (δ[2]).</param>
/// <param name="Formula">The formula, with the layer numbers filled in.</param>
/// <param name="OperandShapes">The shapes combined, in the order of the formula.</param>
/// <param name="ShapeText">How the shapes combine, e.g. "(3, 30)·(30, 2) + (3, 1) → (3, 2)".</param>
/// <param name="Values">The numbers, in the chosen dtype and layout.</param>
/// <param name="Check">How the numbers compared with the engine and with central differences.</param>
/// <param name="Notes">Explanations for a learner (the δ[L] derivation, what is summed).</param>
public sealed record ExplainStep(
    string Name,
    Formula Symbol,
    Formula Formula,
    IReadOnlyList<int[]> OperandShapes,
    string ShapeText,
    Tensor Values,
    StepCheck Check,
    IReadOnlyList<string> Notes)
{
    public int[] Shape => Values.Shape.ToArray();

    /// <summary>For a parameter (W[l], b[l]): its name in PyTorch's nn.Sequential state dict, "0.weight".</summary>
    public string? ParameterName { get; init; }

    /// <summary>Labels of the matrix's rows (the feature names beside a[0]'s rows in the columns layout), or null.</summary>
    public IReadOnlyList<string>? RowLabels { get; init; }

    /// <summary>Labels of the matrix's columns (the feature names above a[0]'s columns in the rows layout), or null.</summary>
    public IReadOnlyList<string>? ColumnLabels { get; init; }
}

/// <summary>
/// One gradient-descent step on the explained rows: the new parameters and the loss on the same rows
/// after the step, compared with the loss before.
/// </summary>
/// <param name="LearningRate">α.</param>
/// <param name="Steps">W[l] ← W[l] − α dW[l] and b[l] ← b[l] − α db[l], with the new values; each checked against the engine's gradient.</param>
/// <param name="LossBefore">L on the rows before the step.</param>
/// <param name="LossAfter">L on the same rows after the step, by the hand forward pass.</param>
/// <param name="LossAfterCheck">The loss after, compared with the engine's forward pass at the new parameters.</param>
/// <param name="PredictedChange">The first-order prediction of the change, −α ‖∇L‖² (sum over every parameter entry).</param>
/// <param name="Verdict">One sentence: the loss fell by so much, or rose and why.</param>
public sealed record ExplainUpdate(
    double LearningRate,
    IReadOnlyList<ExplainStep> Steps,
    double LossBefore,
    double LossAfter,
    StepCheck LossAfterCheck,
    double PredictedChange,
    string Verdict)
{
    public bool Fell => LossAfter < LossBefore;
}

/// <summary>One scalar factor of a chain-rule product, with its number.</summary>
/// <param name="Symbol">As the course writes it, e.g. "W[2]₀,₁" or "g′(z[1]₁)".</param>
/// <param name="Value">Its value.</param>
public sealed record ChainFactor(string Symbol, double Value);

/// <summary>One product of the chain rule: one example, one path of units through the later layers.</summary>
/// <param name="Example">The example j (0-based position in the batch).</param>
/// <param name="Path">The unit of each layer on the path, from the entry's layer l to L.</param>
/// <param name="Factors">The scalar factors, in the order of the chain rule.</param>
/// <param name="Product">Their product.</param>
public sealed record ChainTerm(int Example, IReadOnlyList<int> Path, IReadOnlyList<ChainFactor> Factors, double Product);

/// <summary>
/// One parameter entry's derivative ∂L/∂W[l]ᵢ,ₖ (or ∂L/∂b[l]ᵢ) written out: a sum over the m examples
/// and over every path i → u_{l+1} → … → u_L through the later layers of products of scalar factors.
/// </summary>
/// <param name="Entry">"W[1][0,2]".</param>
/// <param name="Formula">The general formula of one term.</param>
/// <param name="Scale">The factor in front of the sum: 1/m in the course convention (else 1; the 1/m is inside δ[L]).</param>
/// <param name="Terms">The terms shown (all, or the first ones when there are many).</param>
/// <param name="TermCount">How many terms the sum has: m × the number of paths.</param>
/// <param name="ExampleSums">Each example's sum over its paths (before the scale).</param>
/// <param name="Total">Scale × the sum of every term.</param>
/// <param name="Gradient">That entry of dW[l] (or db[l]) from the backward pass.</param>
/// <param name="Check">Total against the gradient entry and the engine's.</param>
public sealed record EntryChain(
    string Entry,
    Formula Formula,
    double Scale,
    IReadOnlyList<ChainTerm> Terms,
    long TermCount,
    IReadOnlyList<double> ExampleSums,
    double Total,
    double Gradient,
    StepCheck Check);

/// <summary>One layer of the forward-mode scheme: the tangents carried after layer l.</summary>
/// <param name="Layer">l.</param>
/// <param name="Formula">How the tangents of layer l come from those of layer l − 1.</param>
/// <param name="Tangents">For each earlier layer k ≤ l: ∂a[l]/∂W[k] per example, shape (n_l, n_k, n_{k−1}), and its size summed over the m examples.</param>
/// <param name="MultiplyAdds">Multiply-adds this layer's tangent update took (all examples), counted.</param>
public sealed record ForwardModeLayer(int Layer, Formula Formula, IReadOnlyList<ForwardTangent> Tangents, long MultiplyAdds);

/// <summary>∂a[l]/∂W[k] (or ∂z[L]/∂W[k] at the output) for one example, and how many numbers it holds for the batch.</summary>
/// <param name="Name">"∂a[2]/∂W[1]".</param>
/// <param name="Shape">Per example: (n_l, n_k, n_{k−1}).</param>
/// <param name="Numbers">Numbers held for all m examples (with the bias tangents ∂a[l]/∂b[k]).</param>
/// <param name="FirstExample">The values for example 0 (flattened as Shape), for inspection.</param>
public sealed record ForwardTangent(string Name, int[] Shape, long Numbers, double[] FirstExample);

/// <summary>What one way of computing the gradient cost on this network and batch, counted by the code that ran.</summary>
/// <param name="Mode">"reverse (backprop)" or "forward (tangents)".</param>
/// <param name="ForwardMultiplyAdds">Multiply-adds of the forward pass itself (the same for both).</param>
/// <param name="DerivativeMultiplyAdds">Multiply-adds spent on derivatives.</param>
/// <param name="PeakNumbers">The most numbers held at once for derivatives (saved activations, or tangents), all examples.</param>
public sealed record ModeCost(string Mode, long ForwardMultiplyAdds, long DerivativeMultiplyAdds, long PeakNumbers)
{
    public long TotalMultiplyAdds => ForwardMultiplyAdds + DerivativeMultiplyAdds;
}

/// <summary>
/// "Why can't we calculate these derivatives during the forward pass?" run: the forward-mode scheme on
/// the same network and rows, carrying ∂a[l]/∂W[k] for every earlier layer, its dW checked against the
/// backward pass, and the counted cost of both modes.
/// </summary>
/// <param name="Layers">The tangents after each layer.</param>
/// <param name="Combine">The last step: dW[k] = Σ_j ∂L/∂z[L] · ∂z[L]/∂W[k].</param>
/// <param name="Gradients">dW[l] and db[l] from forward mode, each checked against the backward pass.</param>
/// <param name="Costs">Reverse mode, then forward mode.</param>
/// <param name="Parameters">P, the weights and biases of the network: forward mode carries a tangent for each.</param>
/// <param name="Answer">One sentence answering the question from the counts.</param>
public sealed record ForwardModeScheme(
    IReadOnlyList<ForwardModeLayer> Layers,
    Formula Combine,
    IReadOnlyList<ExplainStep> Gradients,
    IReadOnlyList<ModeCost> Costs,
    long Parameters,
    string Answer);
