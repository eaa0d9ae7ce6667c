using System.Text;

namespace Backprop.Explain;

/// <summary>
/// One self-contained HTML page: inline CSS, formulas and matrices as MathML (rendered natively by
/// current browsers), no scripts, fonts or other requests, so it opens offline and can be mailed.
/// </summary>
internal static partial class HtmlRenderer
{
    private const string Css = """
        body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
        h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 2px solid #ccc; }
        dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dl.meta dt { font-weight: 600; }
        section.step { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
        section.step h3 { margin: .2rem 0; font-size: 1.1rem; font-family: ui-monospace, monospace; }
        div.math { overflow-x: auto; } math[display="block"] { margin: .6rem 0; font-size: 1.15em; }
        math { font-family: "DejaVu Math TeX Gyre", "STIX Two Math", "Latin Modern Math", "Cambria Math", math; }
        table.terms, table.costs { border-collapse: collapse; margin: .5rem 0; font-size: .95em; }
        table.terms td, table.terms th, table.costs td, table.costs th { border: 1px solid #ccc; padding: .15rem .5rem; text-align: right; }
        table.terms td.path, table.costs td.mode { text-align: left; }
        p.verdict { font-weight: 600; } p.answer { font-weight: 600; border-left: 4px solid #0a6b2b; padding-left: .6rem; }
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
        foreach (var (label, value) in TextRenderer.Header(e)) Meta(sb, char.ToUpperInvariant(label[0]) + label[1..], value);
        Meta(sb, "Checks", e.CheckSummary);
        sb.Append("</dl>\n");
        Section(sb, "parameters", "Parameters (as given, before the forward pass)", e.Parameters, e.Options);
        Section(sb, "forward", "Forward pass", e.Forward, e.Options);
        Section(sb, "backward", "Backward pass", e.Backward, e.Options);
        if (e.Update is { } u)
        {
            Section(sb, "update", $"Update: one gradient-descent step, α = {NumberFormat.Format(u.LearningRate, 6)}", u.Steps, e.Options);
            sb.Append($"<p>Loss on the same rows before {NumberFormat.Format(u.LossBefore, e.Options.Digits)}, after {NumberFormat.Format(u.LossAfter, e.Options.Digits)}.</p>\n");
            sb.Append($"<p class=\"check {(u.LossAfterCheck.Passed ? "pass" : "fail")}\">check: {F.Esc(TextRenderer.CheckLine(u.LossAfterCheck, default, "engine's loss at the new parameters"))}</p>\n");
            sb.Append($"<p class=\"verdict\">{Note(u.Verdict)}</p>\n");
        }
        if (e.Entry is { } entry) Entry(sb, entry, e.Options);
        if (e.ForwardMode is { } fm) ForwardMode(sb, fm, e);
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
            string heading = step.Symbol.MathElement(block: false) + (step.ParameterName is { } pn ? $" <code>{F.Esc(pn)}</code>" : "");
            sb.Append($"<section class=\"step\" id=\"{F.Esc(step.Name)}\">\n<h3>{heading}</h3>\n");
            sb.Append("<div class=\"math\">").Append(step.Formula.MathElement()).Append("</div>\n");
            sb.Append($"<p class=\"shape\">shapes: {F.Esc(step.ShapeText)}</p>\n");
            sb.Append($"<p class=\"check {cls}\">check: {F.Esc(TextRenderer.CheckLine(step.Check, default))}</p>\n");
            Values(sb, step, options);
            if (step.Notes.Count > 0)
            {
                sb.Append("<ul class=\"notes\">\n");
                foreach (var note in step.Notes) sb.Append($"<li>{Note(note)}</li>\n");
                sb.Append("</ul>\n");
            }
            sb.Append("</section>\n");
        }
    }

    /// <summary>
    /// A note's text with its symbols as MathML: layer superscripts (dZ[2], W[1]ᵀ, a[0]), hats and
    /// Unicode subscripts become &lt;msup&gt;/&lt;msub&gt;, the rest stays text.
    /// </summary>
    internal static string Note(string text)
    {
        var sb = new StringBuilder();
        int last = 0;
        foreach (System.Text.RegularExpressions.Match m in Symbol().Matches(text))
        {
            sb.Append(F.Esc(text[last..m.Index]));
            string name = m.Groups["n"].Value, layer = m.Groups["l"].Value;
            bool t = m.Groups["t"].Success;
            string core = name switch
            {
                "ŷ" => "<mover accent=\"true\"><mi>y</mi><mo>^</mo></mover>",
                _ when name.Length == 2 && name[0] == 'd' => $"<mi mathvariant=\"normal\">d</mi><mi>{F.Esc(name[1..])}</mi>",
                _ => $"<mi>{F.Esc(name)}</mi>",
            };
            string sup = (layer.Length > 0 ? $"<mo>[</mo><m{(char.IsDigit(layer[0]) ? "n" : "i")}>{F.Esc(layer)}</m{(char.IsDigit(layer[0]) ? "n" : "i")}><mo>]</mo>" : "") + (t ? "<mi>T</mi>" : "");
            sb.Append("<math>").Append(sup.Length > 0 && name.Length == 2 && name[0] == 'd'
                ? $"<mi mathvariant=\"normal\">d</mi><msup><mi>{F.Esc(name[1..])}</mi><mrow>{sup}</mrow></msup>"
                : sup.Length > 0 ? $"<msup><mrow>{core}</mrow><mrow>{sup}</mrow></msup>" : core).Append("</math>");
            last = m.Index + m.Length;
        }
        sb.Append(F.Esc(text[last..]));
        return sb.ToString();
    }

    // Two-letter names and δ, ŷ stand alone; single letters only with a layer ("a" is also a word).
    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![\w\]])(?:(?<n>dZ|dA|dW|db|da|δ|ŷ)(?:\[(?<l>\d+|L|l|l−1)\])?|(?<n>W|Z|A|a|z|b)\[(?<l>\d+|L|l|l−1)\])(?<t>ᵀ)?(?![\w(])")]
    private static partial System.Text.RegularExpressions.Regex Symbol();

    private static void Entry(StringBuilder sb, EntryChain entry, ExplainOptions options)
    {
        string N(double v) => F.Esc(NumberFormat.Format(v, options.Digits));
        sb.Append($"<h2 id=\"entry\">One entry's chain of factors: {F.Esc(entry.Entry)}</h2>\n<section class=\"step\">\n");
        sb.Append($"<p>{Note(entry.Formula.Text)}</p>\n");
        sb.Append($"<p>{entry.TermCount} terms ({entry.ExampleSums.Count} examples × {entry.TermCount / Math.Max(1, entry.ExampleSums.Count)} paths); {(entry.Terms.Count < entry.TermCount ? $"the first {entry.Terms.Count} shown" : "all shown")}.</p>\n");
        sb.Append("<table class=\"terms\"><tr><th>example j</th><th>path</th><th>factors</th><th>product</th></tr>\n");
        foreach (var t in entry.Terms)
            sb.Append($"<tr><td>{t.Example}</td><td class=\"path\">{string.Join(" → ", t.Path)}</td><td class=\"path\">")
              .Append(string.Join(" · ", t.Factors.Select(f => $"{F.Esc(f.Symbol)} = {N(f.Value)}")))
              .Append($"</td><td>{N(t.Product)}</td></tr>\n");
        sb.Append("</table>\n<ul class=\"notes\">\n");
        for (int j = 0; j < entry.ExampleSums.Count; j++) sb.Append($"<li>example j = {j}: sum over its paths {N(entry.ExampleSums[j])}</li>\n");
        sb.Append("</ul>\n");
        sb.Append($"<p>Total {(entry.Scale != 1 ? $"(1/m)·{N(entry.ExampleSums.Sum())} = " : "")}{N(entry.Total)}; the backward pass's entry {N(entry.Gradient)}.</p>\n");
        sb.Append($"<p class=\"check {(entry.Check.Passed ? "pass" : "fail")}\">check: {F.Esc(TextRenderer.CheckLine(entry.Check, default, "engine's gradient entry"))}</p>\n</section>\n");
    }

    private static void ForwardMode(StringBuilder sb, ForwardModeScheme fm, MlpExplanation e)
    {
        sb.Append("<h2 id=\"forward-mode\">Forward mode: the derivatives during the forward pass</h2>\n");
        sb.Append($"<p>Beside a[l], carry ∂a[l]/∂W[k] for every earlier layer k, one example at a time (m = {e.BatchSize}); shapes are per example.</p>\n");
        foreach (var layer in fm.Layers)
        {
            sb.Append($"<section class=\"step\"><h3>Layer {layer.Layer}</h3>\n<p>{Note(layer.Formula.Text)}</p>\n<ul class=\"notes\">\n");
            foreach (var t in layer.Tangents)
                sb.Append($"<li>{F.Esc(t.Name)}: {F.Esc(ShapeUtil.Format(t.Shape))} per example; {t.Numbers} numbers for the batch (with the bias tangents)</li>\n");
            sb.Append($"</ul>\n<p>{layer.MultiplyAdds} multiply-adds.</p></section>\n");
        }
        sb.Append($"<p>{F.Esc(fm.Combine.Text)}</p>\n");
        Section(sb, "forward-mode-gradients", "Forward mode's gradients, checked against reverse mode", fm.Gradients, e.Options);
        sb.Append("<table class=\"costs\"><tr><th>mode</th><th>forward pass</th><th>derivatives</th><th>total</th><th>numbers held</th></tr>\n");
        foreach (var c in fm.Costs)
            sb.Append($"<tr><td class=\"mode\">{F.Esc(c.Mode)}</td><td>{c.ForwardMultiplyAdds:N0}</td><td>{c.DerivativeMultiplyAdds:N0}</td><td>{c.TotalMultiplyAdds:N0}</td><td>{c.PeakNumbers:N0}</td></tr>\n");
        sb.Append("</table>\n<p>Forward pass, derivatives, total: multiply-adds (one a·b + c each); forward mode's counted in its loops as they ran, reverse mode's from the shapes of the backward pass's products. " +
                  "Numbers held: the most numbers kept at once for the derivatives (saved z and a, or tangents) plus the gradient.</p>\n");
        sb.Append($"<p class=\"answer\">{F.Esc(fm.Answer)}</p>\n");
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
        table.Append("</mtable><mo stretchy=\"true\">)</mo>");
        if (step.RowLabels is { } labels && labels.Count == view.Rows && !view.MoreRows)
        {
            table.Append("<mspace width=\"1em\"/><mtable columnalign=\"left\">");
            foreach (var label in labels) table.Append($"<mtr><mtd><mtext>{F.Esc(label)}</mtext></mtd></mtr>");
            table.Append("</mtable>");
        }
        table.Append("</mrow>");
        sb.Append("<div class=\"math\">").Append(new Formula("", "", lhs + table).MathElement()).Append("</div>\n");
    }
}
