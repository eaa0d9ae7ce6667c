using System.Text;

namespace Backprop.Explain;

/// <summary>Markdown with LaTeX maths in $$…$$ blocks (GitHub, Jupyter, MkDocs and Pandoc render them).</summary>
internal static class MarkdownRenderer
{
    public static string Render(MlpExplanation e)
    {
        var sb = new StringBuilder();
        sb.Append("## Backprop, step by step\n\n");
        sb.Append($"- **Network:** {e.Architecture}\n");
        sb.Append($"- **Loss:** {e.LossDescription}\n");
        sb.Append($"- **Batch:** m = {e.BatchSize}{(e.Options.Source is { } src ? $" ({src})" : "")}\n");
        sb.Append($"- **Layout:** {e.LayoutDescription}\n");
        sb.Append($"- **Numbers:** {e.DType.Name()}; checks in float64\n");
        sb.Append($"- **Checks:** {e.CheckSummary}\n");
        Section(sb, "Forward pass", e.Forward, e.Options);
        Section(sb, "Backward pass", e.Backward, e.Options);
        return sb.ToString();
    }

    private static void Section(StringBuilder sb, string title, IReadOnlyList<ExplainStep> steps, ExplainOptions options)
    {
        sb.Append($"\n### {title}\n");
        foreach (var step in steps)
        {
            sb.Append($"\n#### {step.Symbol.Text}\n\n");
            sb.Append("$$").Append(step.Formula.Latex).Append("$$\n\n");
            sb.Append($"Shapes: `{step.ShapeText}`  \n");
            sb.Append($"Check: {TextRenderer.CheckLine(step.Check, default)}\n\n");
            sb.Append(Values(step, options));
            if (step.Notes.Count > 0)
            {
                sb.Append('\n');
                foreach (var note in step.Notes) sb.Append("> ").Append(note).Append("  \n");
            }
        }
    }

    private static string Values(ExplainStep step, ExplainOptions options)
    {
        var view = new MatrixView(step.Values, options);
        string lhs = step.Symbol.Latex + " = ";
        if (view.IsScalar) return $"$${lhs}{NumberFormat.Latex(view.Cells[0, 0])}$$\n";
        var sb = new StringBuilder();
        if (!view.Full)
        {
            sb.Append($"{view.Rows}×{view.Cols}, too large to print whole: ");
            sb.Append(string.Join(", ", view.Summary(options.Digits).Select(s => $"{s.Label} {s.Value}")));
            sb.Append($"; top-left corner:\n\n");
        }
        sb.Append("$$").Append(lhs).Append(@"\begin{pmatrix}");
        int rows = view.Cells.GetLength(0), cols = view.Cells.GetLength(1);
        for (int i = 0; i < rows; i++)
        {
            if (i > 0) sb.Append(@" \\ ");
            for (int j = 0; j < cols; j++)
            {
                if (j > 0) sb.Append(" & ");
                sb.Append(NumberFormat.Latex(view.Cells[i, j]));
            }
            if (view.MoreCols) sb.Append(@" & \cdots");
        }
        if (view.MoreRows)
        {
            sb.Append(@" \\ ");
            sb.Append(string.Join(" & ", Enumerable.Repeat(@"\vdots", cols + (view.MoreCols ? 1 : 0))));
        }
        sb.Append(@"\end{pmatrix}$$").Append('\n');
        return sb.ToString();
    }
}
