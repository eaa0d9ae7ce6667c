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
        sb.Append($"  network  {e.Architecture}\n");
        sb.Append($"  loss     {e.LossDescription}\n");
        sb.Append($"  batch    m = {e.BatchSize}{(e.Options.Source is { } src ? $" ({src})" : "")}\n");
        sb.Append($"  layout   {e.LayoutDescription}\n");
        sb.Append($"  dtype    {e.DType.Name()} (numbers shown); checks in float64\n");
        sb.Append($"  checks   {(e.AllPassed ? c.Green(e.CheckSummary) : c.Red(e.CheckSummary))}\n");
        Section(sb, c, "FORWARD PASS", e.Forward, e.Options);
        Section(sb, c, "BACKWARD PASS", e.Backward, e.Options);
        return sb.ToString();
    }

    private static void Section(StringBuilder sb, Palette c, string title, IReadOnlyList<ExplainStep> steps, ExplainOptions options)
    {
        sb.Append('\n').Append(c.Bold(title)).Append('\n').Append(new string('═', title.Length)).Append('\n');
        foreach (var step in steps)
        {
            sb.Append('\n').Append(c.Cyan(step.Formula.Text)).Append('\n');
            sb.Append("  shapes  ").Append(step.ShapeText).Append('\n');
            sb.Append("  check   ").Append(CheckLine(step.Check, c)).Append('\n');
            foreach (var line in Matrix(step, options)) sb.Append("  ").Append(line).Append('\n');
            foreach (var note in step.Notes) sb.Append(c.Dim("  · " + note)).Append('\n');
        }
    }

    internal static string CheckLine(StepCheck check, Palette c)
    {
        if (check.EngineMaxAbsError is null) return "— (the input: nothing to check)";
        var text = new StringBuilder();
        text.Append(check.Mark).Append(" engine max |error| ").Append(NumberFormat.Short(check.EngineMaxAbsError.Value));
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
    private static IEnumerable<string> Matrix(ExplainStep step, ExplainOptions options)
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
        for (int j = 0; j < cols; j++)
            for (int i = 0; i < rows; i++) width[j] = Math.Max(width[j], view.Cells[i, j].Length);
        int totalRows = rows + (view.MoreRows ? 1 : 0);
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
            yield return line.ToString();
        }
    }

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
