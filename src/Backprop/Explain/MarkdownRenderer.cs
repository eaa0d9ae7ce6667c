using System.Text;

namespace Backprop.Explain;

/// <summary>Markdown with LaTeX maths in $$…$$ blocks (GitHub, Jupyter, MkDocs and Pandoc render them).</summary>
internal static class MarkdownRenderer
{
    public static string Render(MlpExplanation e)
    {
        var sb = new StringBuilder();
        sb.Append("## Backprop, step by step\n\n");
        foreach (var (label, value) in TextRenderer.Header(e)) sb.Append($"- **{char.ToUpperInvariant(label[0]) + label[1..]}:** {value}\n");
        sb.Append($"- **Checks:** {e.CheckSummary}\n");
        Section(sb, "Parameters (as given, before the forward pass)", e.Parameters, e.Options);
        Section(sb, "Forward pass", e.Forward, e.Options);
        Section(sb, "Backward pass", e.Backward, e.Options);
        if (e.Update is { } u)
        {
            Section(sb, $"Update: one gradient-descent step, α = {NumberFormat.Format(u.LearningRate, 6)}", u.Steps, e.Options);
            sb.Append($"\nLoss on the same rows before {NumberFormat.Format(u.LossBefore, e.Options.Digits)}, after {NumberFormat.Format(u.LossAfter, e.Options.Digits)}.  \n");
            sb.Append($"Check: {TextRenderer.CheckLine(u.LossAfterCheck, default, "engine's loss at the new parameters")}\n\n**{u.Verdict}**\n");
        }
        if (e.Entry is { } entry)
        {
            sb.Append($"\n### One entry's chain of factors: `{entry.Entry}`\n\n`{entry.Formula.Text}`\n\n");
            sb.Append("| example j | path | factors | product |\n|---:|---|---|---:|\n");
            foreach (var t in entry.Terms)
                sb.Append($"| {t.Example} | {string.Join(" → ", t.Path)} | {string.Join(" · ", t.Factors.Select(f => $"{f.Symbol} = {NumberFormat.Format(f.Value, e.Options.Digits)}"))} | {NumberFormat.Format(t.Product, e.Options.Digits)} |\n");
            sb.Append($"\n{entry.TermCount} terms in all. Total {NumberFormat.Format(entry.Total, e.Options.Digits)}; the backward pass's entry {NumberFormat.Format(entry.Gradient, e.Options.Digits)}.  \n");
            sb.Append($"Check: {TextRenderer.CheckLine(entry.Check, default, "engine's gradient entry")}\n");
        }
        if (e.ForwardMode is { } fm)
        {
            sb.Append("\n### Forward mode: the derivatives during the forward pass\n\n");
            foreach (var layer in fm.Layers)
            {
                sb.Append($"- Layer {layer.Layer}: `{layer.Formula.Text}` ({layer.MultiplyAdds} multiply-adds)\n");
                foreach (var t in layer.Tangents) sb.Append($"  - `{t.Name}`: {ShapeUtil.Format(t.Shape)} per example, {t.Numbers} numbers for the batch\n");
            }
            sb.Append($"\n`{fm.Combine.Text}`\n");
            Section(sb, "Forward mode's gradients, checked against reverse mode", fm.Gradients, e.Options);
            sb.Append("\n```\n").Append(TextRenderer.CostTable(fm)).Append("```\n\n**").Append(fm.Answer).Append("**\n");
        }
        return sb.ToString();
    }

    private static void Section(StringBuilder sb, string title, IReadOnlyList<ExplainStep> steps, ExplainOptions options)
    {
        sb.Append($"\n### {title}\n");
        foreach (var step in steps)
        {
            sb.Append($"\n#### {step.Symbol.Text}{(step.ParameterName is { } pn ? $" (`{pn}`)" : "")}\n\n");
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
