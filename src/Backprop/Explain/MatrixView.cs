using System.Globalization;

namespace Backprop.Explain;

/// <summary>Numbers as the renderers print them: significant digits, no "-0", short exponents.</summary>
internal static class NumberFormat
{
    public static string Format(double v, int digits)
    {
        if (v == 0) return "0";
        if (double.IsNaN(v)) return "NaN";
        if (double.IsInfinity(v)) return v > 0 ? "∞" : "−∞";
        string s = v.ToString("G" + digits, CultureInfo.InvariantCulture);
        int e = s.IndexOf('E');
        if (e < 0) return s;
        // 1.5E-05 → 1.5e-5: shorter, and what Python and PyTorch print.
        int exp = int.Parse(s.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return s[..e] + "e" + exp.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>An error size for check lines: two significant digits in exponent form.</summary>
    public static string Short(double v) =>
        v == 0 ? "0" : double.IsFinite(v) ? Format(double.Parse(v.ToString("E1", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), 2) : Format(v, 2);

    /// <summary>The number in LaTeX: 1.5 \times 10^{-5} for exponents.</summary>
    public static string Latex(string s)
    {
        int e = s.IndexOf('e');
        if (e < 0) return s.Replace("∞", @"\infty").Replace("−", "-");
        return $@"{s[..e]} \times 10^{{{s[(e + 1)..]}}}";
    }

    /// <summary>The number in MathML, with a superscript exponent and a real minus sign.</summary>
    public static string MathMl(string s)
    {
        static string Mn(string t) => t.StartsWith('-') ? $"<mo>−</mo><mn>{t[1..]}</mn>" : $"<mn>{t}</mn>";
        int e = s.IndexOf('e');
        if (e < 0) return $"<mrow>{Mn(s)}</mrow>";
        string exp = s[(e + 1)..].Replace("-", "−");
        return $"<mrow>{Mn(s[..e])}<mo>×</mo><msup><mn>10</mn><mn>{exp}</mn></msup></mrow>";
    }
}

/// <summary>
/// A step's values as a grid for display: the whole matrix when it is small, else summary statistics
/// and the top-left corner. Vectors show as one row; a scalar as a 1×1 grid.
/// </summary>
internal sealed class MatrixView
{
    public int Rows { get; }
    public int Cols { get; }
    public bool Full { get; }
    public bool IsScalar { get; }
    /// <summary>The formatted entries shown (all, or the corner).</summary>
    public string[,] Cells { get; }
    /// <summary>Whether rows or columns were cut from the corner.</summary>
    public bool MoreRows { get; }
    public bool MoreCols { get; }
    public double Min { get; }
    public double Max { get; }
    public double Mean { get; }
    public double Norm { get; }

    public const int CornerRows = 4;
    public const int CornerCols = 6;

    public MatrixView(Tensor values, ExplainOptions options)
    {
        var data = values.ToDoubleArray();
        IsScalar = values.Rank == 0;
        (Rows, Cols) = values.Rank switch
        {
            0 => (1, 1),
            1 => (1, values.Shape[0]),
            _ => (values.Shape[0], values.Length / Math.Max(1, values.Shape[0])),
        };
        Full = Rows <= options.MaxFullRows && Cols <= options.MaxFullColumns;
        int showRows = Full ? Rows : Math.Min(Rows, CornerRows);
        int showCols = Full ? Cols : Math.Min(Cols, CornerCols);
        MoreRows = showRows < Rows;
        MoreCols = showCols < Cols;
        Cells = new string[showRows, showCols];
        for (int i = 0; i < showRows; i++)
            for (int j = 0; j < showCols; j++)
                Cells[i, j] = NumberFormat.Format(data[i * Cols + j], options.Digits);
        if (data.Length > 0)
        {
            Min = data.Min();
            Max = data.Max();
            Mean = data.Average();
            Norm = Math.Sqrt(data.Sum(v => v * v));
        }
    }

    public string Dims => $"{Rows}×{Cols}";

    public IEnumerable<(string Label, string Value)> Summary(int digits) =>
    [
        ("min", NumberFormat.Format(Min, digits)),
        ("max", NumberFormat.Format(Max, digits)),
        ("mean", NumberFormat.Format(Mean, digits)),
        ("norm", NumberFormat.Format(Norm, digits)),
    ];
}
