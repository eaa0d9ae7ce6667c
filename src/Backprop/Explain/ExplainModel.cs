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

/// <summary>What to explain and how.</summary>
public sealed record ExplainOptions
{
    public ExplainLayout Layout { get; init; } = ExplainLayout.Columns;

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
}
