using System.Globalization;

namespace Backprop.Explain;

/// <summary>
/// The explained forward and backward pass of one network on one mini-batch: the steps, their checks,
/// and renderings as terminal text, Markdown with LaTeX, HTML with MathML, and JSON.
/// </summary>
/// <remarks>
/// Value layouts: in <see cref="ExplainLayout.Columns"/> z, a, δ and da are (n_l, m) and db is
/// (n_l, 1); in <see cref="ExplainLayout.Rows"/> they are (m, n_l) and db is (n_l). dW is (out, in) =
/// (n_l, n_{l−1}) in both, the layout of the weights and of PyTorch's weight.grad.
/// </remarks>
public sealed class MlpExplanation
{
    private readonly Network _net;

    internal MlpExplanation(Network net, ExplainOptions options, IReadOnlyList<ExplainStep> forward, IReadOnlyList<ExplainStep> backward)
    {
        _net = net;
        Options = options;
        Forward = forward;
        Backward = backward;
    }

    public ExplainOptions Options { get; }

    /// <summary>W[l] and b[l] for l = 1..L as given (before the forward pass), with their PyTorch names.</summary>
    public IReadOnlyList<ExplainStep> Parameters { get; internal set; } = [];

    /// <summary>The gradient-descent step and the loss after it, when a learning rate was given.</summary>
    public ExplainUpdate? Update { get; internal set; }

    /// <summary>One parameter entry's chain of scalar factors, when an entry was given.</summary>
    public EntryChain? Entry { get; internal set; }

    /// <summary>The forward-mode scheme and the counted cost of both modes, when asked for.</summary>
    public ForwardModeScheme? ForwardMode { get; internal set; }

    /// <summary>The network's activation names, g[1] … g[L].</summary>
    public IReadOnlyList<string> Activations => Enumerable.Range(1, _net.L).Select(l => Network.ActivationName(_net.Activations[l], _net.Slopes[l])).ToArray();

    /// <summary>"course: dZ[L] = A[L] − Y, dW = (1/m) dZ Aᵀ" or the mean-in-delta equivalent.</summary>
    public string ConventionDescription => Options.Convention == ExplainConvention.Course
        ? "course (Ng): dZ[L] = A[L] − Y per example; dW = (1/m) dZ A[l−1]ᵀ, db = (1/m) Σ dZ"
        : "mean-in-delta: δ[L] = (ŷ − y)/m carries the 1/m; dW = δ a[l−1]ᵀ, db = Σ δ";
    public ExplainLayout Layout => Options.Layout;
    public DType DType => _net.DType;
    public ExplainTask Task => _net.Task;

    /// <summary>The number of examples m.</summary>
    public int BatchSize => _net.M;

    /// <summary>n_0 … n_L.</summary>
    public IReadOnlyList<int> LayerSizes => _net.Sizes;

    /// <summary>a[0], then z[l] and a[l] for each layer, then the loss.</summary>
    public IReadOnlyList<ExplainStep> Forward { get; }

    /// <summary>δ[L], then for l = L..1: dW[l], db[l], and (l &gt; 1) da[l−1], δ[l−1].</summary>
    public IReadOnlyList<ExplainStep> Backward { get; }

    /// <summary>Every step that was checked or shown: parameters, forward, backward, the update and the forward-mode gradients.</summary>
    public IEnumerable<ExplainStep> Steps => Parameters.Concat(Forward).Concat(Backward)
        .Concat(Update?.Steps ?? []).Concat(ForwardMode?.Gradients ?? []);

    private IEnumerable<StepCheck> ExtraChecks =>
        (Update is null ? [] : new[] { Update.LossAfterCheck }).Concat(Entry is null ? [] : [Entry.Check]);

    /// <summary>The step with this name (z[1], delta[2], dW[1], loss…).</summary>
    public ExplainStep Step(string name) =>
        Steps.FirstOrDefault(s => s.Name == name) ?? throw new BackpropException($"explain: there is no step named '{name}'.");

    /// <summary>Whether every number agreed with the engine and with central differences.</summary>
    public bool AllPassed => Steps.All(s => s.Check.Passed) && ExtraChecks.All(c => c.Passed);

    public double MaxEngineError => Steps.Select(s => s.Check).Concat(ExtraChecks).Max(c => c.EngineMaxAbsError ?? 0);

    public double MaxFiniteDifferenceError => Steps.Max(s => s.Check.FiniteDifferenceMaxAbsError ?? 0);

    /// <summary>"30 → 3 (ReLU) → 1 (sigmoid)".</summary>
    public string Architecture
    {
        get
        {
            var parts = new List<string> { _net.Sizes[0].ToString(CultureInfo.InvariantCulture) };
            for (int l = 1; l <= _net.L; l++)
                parts.Add($"{_net.Sizes[l]} ({Network.ActivationName(_net.Activations[l], _net.Slopes[l])})");
            return string.Join(" → ", parts);
        }
    }

    public string LossDescription => _net.LossName;

    public string LayoutDescription => Layout == ExplainLayout.Columns
        ? "columns: examples are columns, z = W a + b (course notation)"
        : "rows: examples are rows, z = a Wᵀ + b (code notation)";

    /// <summary>One line on how the checks were made and how they came out.</summary>
    public string CheckSummary
    {
        get
        {
            string sampled = Steps.Any(s => s.Check.Sampled)
                ? $" (at most {Options.MaxFiniteDifferenceEntries} evenly spaced entries per large tensor)"
                : "";
            string h = NumberFormat.Format(Options.FiniteDifferenceStep, 3);
            return $"{(AllPassed ? "✓ all" : "✗ NOT all")} numbers checked against the autodiff engine (float64, largest error {NumberFormat.Short(MaxEngineError)}) " +
                   $"and every gradient against central differences (float64, h = {h}, largest error {NumberFormat.Short(MaxFiniteDifferenceError)}){sampled}.";
        }
    }

    /// <summary>Readable terminal text; ANSI colours when <paramref name="ansiColour"/>.</summary>
    public string ToText(bool ansiColour = false) => TextRenderer.Render(this, ansiColour);

    /// <summary>Markdown with LaTeX formulas ($$…$$) and small matrices as pmatrix.</summary>
    public string ToMarkdown() => MarkdownRenderer.Render(this);

    /// <summary>One self-contained HTML page: inline CSS, MathML formulas and matrices, no scripts, no network.</summary>
    public string ToHtml() => HtmlRenderer.Render(this);

    /// <summary>{"forward": [steps], "backward": [steps]}; see docs/backprop-by-hand.md for the schema.</summary>
    public string ToJson(bool indented = false) => JsonRenderer.Render(this, indented);
}
