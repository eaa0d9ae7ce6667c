using System.Globalization;
using System.Net;

namespace Backprop.Explain;

/// <summary>
/// One formula in three notations: plain Unicode (terminals), LaTeX (Markdown) and presentation MathML
/// (HTML, rendered by the browser with no script or network). Formulas are built from small pieces so
/// that the three notations cannot drift apart.
/// </summary>
public sealed record Formula(string Text, string Latex, string MathMl)
{
    public static Formula operator +(Formula a, Formula b) => new(a.Text + b.Text, a.Latex + b.Latex, a.MathMl + b.MathMl);

    /// <summary>The formula as a block-level &lt;math&gt; element.</summary>
    public string MathElement(bool block = true) =>
        $"<math{(block ? " display=\"block\"" : "")}><mrow>{MathMl}</mrow></math>";

    public override string ToString() => Text;
}

/// <summary>Builders for the pieces of the course notation (superscript [l] layers, ᵀ, ⊙, sums, fractions).</summary>
internal static class F
{
    public static Formula Raw(string text, string latex, string mathMl) => new(text, latex, mathMl);

    public static Formula Concat(params Formula[] parts)
    {
        var result = Raw("", "", "");
        foreach (var p in parts) result += p;
        return result;
    }

    /// <summary>A variable of the course: W[l], a[l−1]ᵀ, δ[l], dW[l], ŷ; with a layer superscript when given.</summary>
    public static Formula Var(string name, int? layer = null, bool transpose = false)
    {
        string baseText = name, baseLatex, baseMl;
        // "dW" is the course's name for ∂L/∂W: the d is an upright prefix, the superscript belongs to W.
        string prefixLatex = "", prefixMl = "", core = name;
        if (name.Length == 2 && name[0] == 'd')
        {
            prefixLatex = "d";
            prefixMl = "<mi mathvariant=\"normal\">d</mi>";
            core = name[1..];
        }
        (baseLatex, baseMl) = core switch
        {
            "δ" => (@"\delta", "<mi>δ</mi>"),
            "ŷ" => (@"\hat{y}", "<mover accent=\"true\"><mi>y</mi><mo>^</mo></mover>"),
            "σ" => (@"\sigma", "<mi>σ</mi>"),
            _ => (core, $"<mi>{Esc(core)}</mi>"),
        };
        if (layer is null && !transpose) return Raw(baseText, prefixLatex + baseLatex, prefixMl + baseMl);
        string supText = (layer is int l ? $"[{l}]" : "") + (transpose ? "ᵀ" : "");
        string supLatex = (layer is int l2 ? $"[{l2}]" : "") + (transpose ? @"\top" : "");
        string supMl = (layer is int l3 ? $"<mo>[</mo><mn>{l3}</mn><mo>]</mo>" : "") + (transpose ? "<mi>T</mi>" : "");
        return Raw(baseText + supText, $"{prefixLatex}{baseLatex}^{{{supLatex}}}", $"{prefixMl}<msup>{baseMl}<mrow>{supMl}</mrow></msup>");
    }

    public static Formula Ident(string name) => Raw(name, name.Length == 1 ? name : $@"\mathrm{{{name}}}", $"<mi>{Esc(name)}</mi>");

    public static Formula Num(double value) => Num(value.ToString("G6", CultureInfo.InvariantCulture));

    public static Formula Num(string text) => Raw(text, text, $"<mn>{Esc(text)}</mn>");

    public static readonly Formula Eq = Raw(" = ", " = ", "<mo>=</mo>");
    public static readonly Formula Plus = Raw(" + ", " + ", "<mo>+</mo>");
    public static readonly Formula Minus = Raw(" − ", " - ", "<mo>−</mo>");
    public static readonly Formula Hadamard = Raw(" ⊙ ", @" \odot ", "<mo>⊙</mo>");
    /// <summary>A matrix product written by juxtaposition, as the course does.</summary>
    public static readonly Formula Times = Raw(" ", @"\,", "<mo>&#x2062;</mo>");
    public static readonly Formula Dot = Raw("·", @"\cdot ", "<mo>·</mo>");
    public static readonly Formula Comma = Raw(", ", ", ", "<mo>,</mo>");

    public static Formula Paren(Formula inner) =>
        Raw("(" + inner.Text + ")", @"\left(" + inner.Latex + @"\right)", "<mo>(</mo>" + inner.MathMl + "<mo>)</mo>");

    public static Formula Bracket(Formula inner) =>
        Raw("[" + inner.Text + "]", @"\left[" + inner.Latex + @"\right]", "<mo>[</mo>" + inner.MathMl + "<mo>]</mo>");

    public static Formula Frac(Formula num, Formula den) =>
        Raw(IsTerm(num.Text) && IsTerm(den.Text) ? num.Text + "/" + den.Text : WrapIfCompound(num.Text) + " / " + WrapIfCompound(den.Text),
            $@"\frac{{{StripParens(num.Latex)}}}{{{StripParens(den.Latex)}}}",
            $"<mfrac><mrow>{num.MathMl}</mrow><mrow>{den.MathMl}</mrow></mfrac>");

    /// <summary>The fraction bar groups by itself: (ŷ − y) over m needs no brackets in LaTeX.</summary>
    private static string StripParens(string latex) =>
        latex.StartsWith(@"\left(", StringComparison.Ordinal) && latex.EndsWith(@"\right)", StringComparison.Ordinal) &&
        latex.IndexOf(@"\left(", 1, StringComparison.Ordinal) < 0
            ? latex[6..^7]
            : latex;

    /// <summary>f(arg) for a named function such as σ, tanh, log, softmax.</summary>
    public static Formula Apply(string name, Formula arg)
    {
        string latex = name switch
        {
            "σ" => @"\sigma",
            "tanh" or "log" or "max" => "\\" + name,
            _ => $@"\operatorname{{{name}}}",
        };
        return Raw(name + "(" + arg.Text + ")", latex + @"\left(" + arg.Latex + @"\right)",
            $"<mi>{Esc(name)}</mi><mo>&#x2061;</mo><mo>(</mo>{arg.MathMl}<mo>)</mo>");
    }

    public static Formula Square(Formula inner) =>
        Raw(inner.Text + "²", "{" + inner.Latex + "}^{2}", $"<msup><mrow>{inner.MathMl}</mrow><mn>2</mn></msup>");

    /// <summary>Σ over index from 1 to upper, of body.</summary>
    public static Formula Sum(string index, string upper, Formula body) =>
        Raw($"Σ_({index}=1..{upper}) " + body.Text, $@"\sum_{{{index}=1}}^{{{upper}}} " + body.Latex,
            $"<munderover><mo>∑</mo><mrow><mi>{Esc(index)}</mi><mo>=</mo><mn>1</mn></mrow><mi>{Esc(upper)}</mi></munderover>" + body.MathMl);

    /// <summary>x with a subscript; <paramref name="textSuffix"/> is how plain text writes it ("_j", "[:, j]").</summary>
    public static Formula Sub(Formula inner, string textSuffix, string subscriptLatex, string subscriptMl) =>
        Raw(inner.Text + textSuffix, "{" + inner.Latex + "}_{" + subscriptLatex + "}",
            $"<msub><mrow>{inner.MathMl}</mrow><mrow>{subscriptMl}</mrow></msub>");

    /// <summary>The indicator 1[z &gt; 0] that is ReLU's derivative.</summary>
    public static Formula Indicator(Formula condition) =>
        Raw("1[" + condition.Text + "]", @"\mathbb{1}\left[" + condition.Latex + @"\right]",
            "<mn mathvariant=\"double-struck\">1</mn><mo>[</mo>" + condition.MathMl + "<mo>]</mo>");

    public static readonly Formula Greater = Raw(" > ", " > ", "<mo>&gt;</mo>");

    internal static string Esc(string s) => WebUtility.HtmlEncode(s);

    private static bool IsTerm(string s) => !s.Contains(' ') && !s.Contains('·') && !s.Contains('(');

    /// <summary>Parenthesises a plain-text operand of "/" unless it is one term: a sum or product outside brackets needs them.</summary>
    private static string WrapIfCompound(string s)
    {
        int depth = 0;
        foreach (char c in s)
        {
            if (c is '(' or '[') depth++;
            else if (c is ')' or ']') depth--;
            else if (depth == 0 && c is ' ' or '·') return "(" + s + ")";
        }
        return s;
    }
}
