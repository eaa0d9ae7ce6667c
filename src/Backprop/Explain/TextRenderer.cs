using System.Text;

namespace Backprop.Explain;

/// <summary>Terminal text: one block per step, matrices aligned in bracket columns, optional ANSI colour.</summary>
internal static class TextRenderer
{
    public static string Render(MlpExplanation e, bool colour)
    {
        var c = new Palette(colour);
        var sb = new StringBuilder();
        sb.Append(c.Bold("Backprop, step by step")).Append('\n');
        foreach (var (label, value) in Header(e)) sb.Append($"  {label,-11}{value}\n");
        sb.Append($"  {"checks",-11}{(e.AllPassed ? c.Green(e.CheckSummary) : c.Red(e.CheckSummary))}\n");
        Section(sb, c, "PARAMETERS (as given, before the forward pass)", e.Parameters, e.Options);
        Section(sb, c, "FORWARD PASS", e.Forward, e.Options);
        Section(sb, c, "BACKWARD PASS", e.Backward, e.Options);
        if (e.Update is { } u)
        {
            Section(sb, c, $"UPDATE (one gradient-descent step, α = {NumberFormat.Format(u.LearningRate, 6)})", u.Steps, e.Options);
            sb.Append('\n').Append($"  loss before {NumberFormat.Format(u.LossBefore, e.Options.Digits)}, after {NumberFormat.Format(u.LossAfter, e.Options.Digits)}").Append('\n');
            sb.Append("  check   ").Append(CheckLine(u.LossAfterCheck, c, "engine's loss at the new parameters")).Append('\n');
            sb.Append("  ").Append(u.Fell ? c.Green(u.Verdict) : c.Red(u.Verdict)).Append('\n');
        }
        if (e.Entry is { } entry) Entry(sb, c, entry, e.Options);
        if (e.ForwardMode is { } fm) ForwardMode(sb, c, fm, e);
        return sb.ToString();
    }

    /// <summary>The header's lines, shared by the renderers: what network, which rows, how prepared, which convention.</summary>
    internal static IEnumerable<(string Label, string Value)> Header(MlpExplanation e)
    {
        yield return ("network", e.Architecture);
        yield return ("loss", e.LossDescription);
        yield return ("batch", $"m = {e.BatchSize}{(e.Options.Source is { } src ? $" ({src})" : "")}");
        if (e.Options.FeatureNames is { } names)
            yield return ("features", names.Count <= 12 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(10))}, … ({names.Count} in all)");
        if (e.Options.Preprocessing is { } pre) yield return ("inputs", pre);
        yield return ("convention", e.ConventionDescription);
        yield return ("layout", e.LayoutDescription);
        yield return ("dtype", $"{e.DType.Name()} (numbers shown); checks in float64");
    }

    private static void Title(StringBuilder sb, Palette c, string title) =>
        sb.Append('\n').Append(c.Bold(title)).Append('\n').Append(new string('═', title.Length)).Append('\n');

    private static void Section(StringBuilder sb, Palette c, string title, IReadOnlyList<ExplainStep> steps, ExplainOptions options)
    {
        Title(sb, c, title);
        foreach (var step in steps)
        {
            sb.Append('\n').Append(c.Cyan(step.Formula.Text)).Append('\n');
            sb.Append("  shapes  ").Append(step.ShapeText).Append('\n');
            sb.Append("  check   ").Append(CheckLine(step.Check, c)).Append('\n');
            foreach (var line in Matrix(step, options)) sb.Append("  ").Append(line).Append('\n');
            foreach (var note in step.Notes) sb.Append(c.Dim("  · " + note)).Append('\n');
        }
    }

    private static void Entry(StringBuilder sb, Palette c, EntryChain entry, ExplainOptions options)
    {
        string F(double v) => NumberFormat.Format(v, options.Digits);
        Title(sb, c, $"ONE ENTRY'S CHAIN OF FACTORS: {entry.Entry}");
        sb.Append('\n').Append(c.Cyan(entry.Formula.Text)).Append('\n');
        sb.Append($"  {entry.TermCount} terms: {entry.ExampleSums.Count} examples × {entry.TermCount / Math.Max(1, entry.ExampleSums.Count)} paths; {(entry.Terms.Count < entry.TermCount ? $"the first {entry.Terms.Count} shown" : "all shown")}\n");
        foreach (var t in entry.Terms)
            sb.Append($"  j = {t.Example}, path {string.Join(" → ", t.Path)}:  ")
              .Append(string.Join(" · ", t.Factors.Select(f => $"{f.Symbol} {F(f.Value)}")))
              .Append($"  = {F(t.Product)}\n");
        for (int j = 0; j < entry.ExampleSums.Count; j++) sb.Append($"  example j = {j}: sum over its paths {F(entry.ExampleSums[j])}\n");
        sb.Append($"  total {(entry.Scale != 1 ? $"(1/m)·{F(entry.ExampleSums.Sum())} = " : "")}{F(entry.Total)}; the backward pass's entry {F(entry.Gradient)}\n");
        sb.Append("  check   ").Append(CheckLine(entry.Check, c, "engine's gradient entry")).Append('\n');
    }

    private static void ForwardMode(StringBuilder sb, Palette c, ForwardModeScheme fm, MlpExplanation e)
    {
        Title(sb, c, "FORWARD MODE: THE DERIVATIVES DURING THE FORWARD PASS");
        sb.Append(c.Dim($"  · Carry ∂a[l]/∂W[k] for every earlier layer k beside a[l], one example at a time (m = {e.BatchSize}); shapes are per example.")).Append('\n');
        foreach (var layer in fm.Layers)
        {
            sb.Append('\n').Append(c.Cyan($"layer {layer.Layer}: {layer.Formula.Text}")).Append('\n');
            foreach (var t in layer.Tangents)
            {
                string first = t.FirstExample.Length > 0 ? $", example 0 max |entry| {NumberFormat.Format(t.FirstExample.Max(Math.Abs), e.Options.Digits)}" : "";
                sb.Append($"  {t.Name}  {ShapeUtil.Format(t.Shape)} per example; {t.Numbers} numbers for the batch (with ∂/∂b){first}\n");
            }
            sb.Append($"  {layer.MultiplyAdds} multiply-adds\n");
        }
        sb.Append('\n').Append(c.Cyan(fm.Combine.Text)).Append('\n');
        foreach (var step in fm.Gradients)
        {
            sb.Append("  ").Append(step.Symbol.Text).Append(" by forward mode  check ").Append(CheckLine(step.Check, c, "reverse mode")).Append('\n');
            foreach (var line in Matrix(step, e.Options)) sb.Append("    ").Append(line).Append('\n');
        }
        sb.Append('\n').Append(CostTable(fm)).Append('\n');
        sb.Append("  ").Append(c.Bold(fm.Answer)).Append('\n');
    }

    /// <summary>The counted cost of both modes as an aligned table, with what each column means under it.</summary>
    internal static string CostTable(ForwardModeScheme fm)
    {
        var rows = new List<string[]> { new[] { "mode", "forward pass", "derivatives", "total", "numbers held" } };
        foreach (var m in fm.Costs)
            rows.Add([m.Mode, N(m.ForwardMultiplyAdds), N(m.DerivativeMultiplyAdds), N(m.TotalMultiplyAdds), N(m.PeakNumbers)]);
        var width = Enumerable.Range(0, 5).Select(k => rows.Max(r => r[k].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var r in rows)
            sb.Append("  ").Append(string.Join("  ", r.Select((v, k) => k == 0 ? v.PadRight(width[k]) : v.PadLeft(width[k])))).Append('\n');
        sb.Append("  forward pass, derivatives, total: multiply-adds (one a·b + c each); forward mode's counted in its loops as they ran,\n");
        sb.Append("  reverse mode's from the shapes of the backward pass's products (dW, db, dA, ⊙ g′);\n");
        sb.Append("  numbers held: the most numbers kept at once for the derivatives (saved z and a, or tangents) plus the gradient.\n");
        return sb.ToString();
    }

    private static string N(long v) => v.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    internal static string CheckLine(StepCheck check, Palette c, string against = "engine")
    {
        if (check.EngineMaxAbsError is null) return "— (given, not computed: nothing to check)";
        var text = new StringBuilder();
        text.Append(check.Mark).Append(' ').Append(against).Append(" max |error| ").Append(NumberFormat.Short(check.EngineMaxAbsError.Value));
        if (check.FiniteDifferenceMaxAbsError is double fd)
        {
            text.Append(", finite differences max |error| ").Append(NumberFormat.Short(fd));
            text.Append(check.Sampled
                ? $" ({check.FiniteDifferenceEntries} of {check.Entries} entries, evenly spaced)"
                : check.Entries == 1 ? " (the 1 entry)" : $" (all {check.Entries} entries)");
        }
        return check.Passed ? c.Green(text.ToString()) : c.Red(text + $"  (allowed: engine {NumberFormat.Short(check.EngineTolerance)}, finite differences {NumberFormat.Short(check.FiniteDifferenceTolerance)})");
    }

    /// <summary>The step's values: "name = value" for a scalar, a bracketed grid, or a summary and corner.</summary>
    internal static IEnumerable<string> Matrix(ExplainStep step, ExplainOptions options)
    {
        var view = new MatrixView(step.Values, options);
        string lhs = step.Symbol.Text + " = ";
        if (view.IsScalar)
        {
            yield return lhs + view.Cells[0, 0];
            yield break;
        }
        if (!view.Full)
        {
            yield return $"{step.Symbol.Text}: {string.Join(", ", view.Summary(options.Digits).Select(s => $"{s.Label} {s.Value}"))}" +
                         $"; top-left {view.Cells.GetLength(0)}×{view.Cells.GetLength(1)} corner:";
            lhs = "";
        }
        int rows = view.Cells.GetLength(0), cols = view.Cells.GetLength(1);
        var width = new int[cols];
        var colLabels = step.ColumnLabels is { } cl && cl.Count == view.Cols ? cl : null;
        for (int j = 0; j < cols; j++)
        {
            for (int i = 0; i < rows; i++) width[j] = Math.Max(width[j], view.Cells[i, j].Length);
            if (colLabels is not null) width[j] = Math.Max(width[j], Math.Min(colLabels[j].Length, 12));
        }
        var rowLabels = step.RowLabels is { } rl && rl.Count == view.Rows ? rl : null;
        int labelWidth = rowLabels is null ? 0 : rowLabels.Take(rows).Max(r => r.Length) + 2;
        int totalRows = rows + (view.MoreRows ? 1 : 0);
        if (colLabels is not null)
            yield return new string(' ', lhs.Length + 2) + string.Join("  ", Enumerable.Range(0, cols).Select(j => Clip(colLabels[j], 12).PadLeft(width[j])));
        for (int i = 0; i < totalRows; i++)
        {
            var line = new StringBuilder();
            line.Append(i == (totalRows - 1) / 2 ? lhs : new string(' ', lhs.Length));
            line.Append(Bracket(i, totalRows, left: true)).Append(' ');
            for (int j = 0; j < cols; j++)
            {
                if (j > 0) line.Append("  ");
                string cell = i < rows ? view.Cells[i, j] : "⋮";
                line.Append(cell.PadLeft(width[j]));
            }
            if (view.MoreCols) line.Append(i < rows ? "  …" : "   ");
            line.Append(' ').Append(Bracket(i, totalRows, left: false));
            if (rowLabels is not null && i < rows) line.Append("  ").Append(rowLabels[i]);
            yield return line.ToString();
        }
    }

    private static string Clip(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static string Bracket(int row, int rows, bool left) =>
        rows == 1 ? (left ? "[" : "]")
        : row == 0 ? (left ? "⎡" : "⎤")
        : row == rows - 1 ? (left ? "⎣" : "⎦")
        : (left ? "⎢" : "⎥");

    internal readonly struct Palette(bool on)
    {
        private string Wrap(string code, string s) => on ? $"\u001b[{code}m{s}\u001b[0m" : s;
        public string Bold(string s) => Wrap("1", s);
        public string Cyan(string s) => Wrap("1;36", s);
        public string Green(string s) => Wrap("32", s);
        public string Red(string s) => Wrap("1;31", s);
        public string Dim(string s) => Wrap("2", s);
    }
}
