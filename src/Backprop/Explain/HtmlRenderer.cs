using System.Text;

namespace Backprop.Explain;

/// <summary>
/// One self-contained HTML page: inline CSS, formulas and matrices as MathML (rendered natively by
/// current browsers), no scripts, fonts or other requests, so it opens offline and can be mailed.
/// </summary>
internal static class HtmlRenderer
{
    private const string Css = """
        body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
        h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 2px solid #ccc; }
        dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dl.meta dt { font-weight: 600; }
        section.step { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
        section.step h3 { margin: .2rem 0; font-size: 1.1rem; font-family: ui-monospace, monospace; }
        div.math { overflow-x: auto; } math[display="block"] { margin: .6rem 0; font-size: 1.15em; }
        .shape { font-family: ui-monospace, monospace; color: #333; }
        .check.pass { color: #0a6b2b; } .check.fail { color: #b00020; font-weight: 600; } .check.none { color: #666; }
        table.summary { border-collapse: collapse; margin: .4rem 0; } table.summary td, table.summary th { border: 1px solid #ccc; padding: .1rem .5rem; text-align: right; }
        ul.notes { color: #444; font-size: .95em; }
        """;

    public static string Render(MlpExplanation e)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<title>Backprop, step by step</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        sb.Append("<h1>Backprop, step by step</h1>\n<dl class=\"meta\">\n");
        Meta(sb, "Network", e.Architecture);
        Meta(sb, "Loss", e.LossDescription);
        Meta(sb, "Batch", $"m = {e.BatchSize}{(e.Options.Source is { } src ? $" ({src})" : "")}");
        Meta(sb, "Layout", e.LayoutDescription);
        Meta(sb, "Numbers", $"{e.DType.Name()}; checks in float64");
        Meta(sb, "Checks", e.CheckSummary);
        sb.Append("</dl>\n");
        Section(sb, "forward", "Forward pass", e.Forward, e.Options);
        Section(sb, "backward", "Backward pass", e.Backward, e.Options);
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    private static void Meta(StringBuilder sb, string label, string value) =>
        sb.Append($"<dt>{F.Esc(label)}</dt><dd>{F.Esc(value)}</dd>\n");

    private static void Section(StringBuilder sb, string id, string title, IReadOnlyList<ExplainStep> steps, ExplainOptions options)
    {
        sb.Append($"<h2 id=\"{id}\">{F.Esc(title)}</h2>\n");
        foreach (var step in steps)
        {
            string cls = step.Check.EngineMaxAbsError is null ? "none" : step.Check.Passed ? "pass" : "fail";
            sb.Append($"<section class=\"step\" id=\"{F.Esc(step.Name)}\">\n<h3>{F.Esc(step.Name)}</h3>\n");
            sb.Append("<div class=\"math\">").Append(step.Formula.MathElement()).Append("</div>\n");
            sb.Append($"<p class=\"shape\">shapes: {F.Esc(step.ShapeText)}</p>\n");
            sb.Append($"<p class=\"check {cls}\">check: {F.Esc(TextRenderer.CheckLine(step.Check, default))}</p>\n");
            Values(sb, step, options);
            if (step.Notes.Count > 0)
            {
                sb.Append("<ul class=\"notes\">\n");
                foreach (var note in step.Notes) sb.Append($"<li>{F.Esc(note)}</li>\n");
                sb.Append("</ul>\n");
            }
            sb.Append("</section>\n");
        }
    }

    private static void Values(StringBuilder sb, ExplainStep step, ExplainOptions options)
    {
        var view = new MatrixView(step.Values, options);
        string lhs = step.Symbol.MathMl + "<mo>=</mo>";
        if (view.IsScalar)
        {
            sb.Append(new Formula("", "", lhs + NumberFormat.MathMl(view.Cells[0, 0])).MathElement()).Append('\n');
            return;
        }
        if (!view.Full)
        {
            sb.Append($"<p>{view.Rows}×{view.Cols}, too large to print whole; top-left corner below.</p>\n<table class=\"summary\"><tr>");
            foreach (var (label, _) in view.Summary(options.Digits)) sb.Append($"<th>{label}</th>");
            sb.Append("</tr><tr>");
            foreach (var (_, value) in view.Summary(options.Digits)) sb.Append($"<td>{F.Esc(value)}</td>");
            sb.Append("</tr></table>\n");
        }
        var table = new StringBuilder("<mrow><mo stretchy=\"true\">(</mo><mtable>");
        int rows = view.Cells.GetLength(0), cols = view.Cells.GetLength(1);
        for (int i = 0; i < rows; i++)
        {
            table.Append("<mtr>");
            for (int j = 0; j < cols; j++) table.Append("<mtd>").Append(NumberFormat.MathMl(view.Cells[i, j])).Append("</mtd>");
            if (view.MoreCols) table.Append("<mtd><mo>⋯</mo></mtd>");
            table.Append("</mtr>");
        }
        if (view.MoreRows)
        {
            table.Append("<mtr>");
            for (int j = 0; j < cols + (view.MoreCols ? 1 : 0); j++) table.Append("<mtd><mo>⋮</mo></mtd>");
            table.Append("</mtr>");
        }
        table.Append("</mtable><mo stretchy=\"true\">)</mo></mrow>");
        sb.Append("<div class=\"math\">").Append(new Formula("", "", lhs + table).MathElement()).Append("</div>\n");
    }
}
