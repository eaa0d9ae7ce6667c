using Backprop.IO;
using Backprop.Data;
using ScottPlot;

namespace Backprop.Cli;

/// <summary>A named line for <see cref="Plots.Lines"/>; on the right axis when its scale differs (accuracy beside loss).</summary>
internal sealed record PlotSeries(string Name, double[] X, double[] Y, bool RightAxis = false);

/// <summary>A labelled vertical line across a plot (the best epoch, the refit's length).</summary>
internal sealed record PlotMark(string Name, double X);

/// <summary>The figures the tool draws, as PNG or SVG chosen by the file extension.</summary>
internal static class Plots
{
    /// <summary>The picture's format from its name; "-" (standard output) and devices are drawn as PNG.</summary>
    public static void CheckPath(string path)
    {
        if (path == "-" || FileIdentity.KindOf(path) is FileKind.CharacterDevice or FileKind.Fifo or FileKind.BlockDevice or FileKind.Socket) return;
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is not (".png" or ".svg"))
            throw new CliUsageException($"cannot plot to '{CliErrors.Quote(path)}': use a .png or .svg file name.");
    }

    /// <summary>
    /// The colours of the classes, shared by the regions and the points of a decision-boundary picture
    /// and by the animation (Tableau 10, the palette of matplotlib and TensorFlow Playground's figures).
    /// </summary>
    internal static readonly Color[] ClassColours =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"), Color.FromHex("#d62728"),
        Color.FromHex("#9467bd"), Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#7f7f7f"),
    ];

    internal static Color ClassColour(int k) => ClassColours[k % ClassColours.Length];

    /// <summary>The class colour mixed with white: a region's fill, light enough for the points to stand out on it.</summary>
    internal static Color RegionColour(int k, double strength = 0.35) => Mix(Colors.White, ClassColour(k), strength);

    internal static Color Mix(Color a, Color b, double t) => new(
        (byte)Math.Round(a.R + (b.R - a.R) * t), (byte)Math.Round(a.G + (b.G - a.G) * t), (byte)Math.Round(a.B + (b.B - a.B) * t));

    /// <summary>p(class 1) from 0 to 1 as class 0's colour, through white at 0.5, to class 1's colour.</summary>
    internal static Color Diverging(double p)
    {
        p = Math.Clamp(double.IsFinite(p) ? p : 0.5, 0, 1);
        return p < 0.5 ? Mix(Colors.White, ClassColour(0), (0.5 - p) * 2 * 0.75) : Mix(Colors.White, ClassColour(1), (p - 0.5) * 2 * 0.75);
    }

    public static void Lines(string path, string title, string xLabel, string yLabel, IEnumerable<PlotSeries> series,
        string? rightLabel = null, bool logX = false, bool logY = false, IEnumerable<PlotMark>? marks = null)
    {
        CheckPath(path);
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        double yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        foreach (var s in series)
        {
            double[] x = logX ? s.X.Select(Math.Log10).ToArray() : s.X;
            double[] y = logY ? s.Y.Select(Math.Log10).ToArray() : s.Y;
            var line = plot.Add.Scatter(x, y);
            line.LegendText = s.Name;
            line.MarkerSize = x.Length > 60 ? 0 : 5;
            line.LineWidth = 2;
            if (s.RightAxis) line.Axes.YAxis = plot.Axes.Right;
            else foreach (var v in y.Where(double.IsFinite)) { yMin = Math.Min(yMin, v); yMax = Math.Max(yMax, v); }
        }
        foreach (var (mark, i) in (marks ?? []).Select((m, i) => (m, i)))
        {
            var v = plot.Add.VerticalLine(logX ? Math.Log10(mark.X) : mark.X);
            v.LegendText = mark.Name;
            v.LineWidth = 1.5f;
            v.LinePattern = i == 0 ? LinePattern.Dashed : LinePattern.Dotted;
            v.Color = i == 0 ? Colors.Black : Colors.DimGray;
        }
        if (rightLabel is not null) plot.Axes.Right.Label.Text = rightLabel;
        if (logX) plot.Axes.Bottom.TickGenerator = LogTicks(series.SelectMany(s => s.X));
        if (logY) plot.Axes.Left.TickGenerator = LogTicks(series.Where(s => !s.RightAxis).SelectMany(s => s.Y));
        // Outside the data, to the right, so no legend ever covers a line.
        plot.ShowLegend(Edge.Right);
        Save(plot, path, 960, 500);
    }

    /// <summary>
    /// Ticks of a log10 axis at round values: every power of ten in range (1, 10, 100, …) labelled, and
    /// 2 and 5 times them labelled too when the range spans less than two decades; the rest minor.
    /// </summary>
    internal static ScottPlot.TickGenerators.NumericManual LogTicks(IEnumerable<double> values)
    {
        var v = values.Where(x => x > 0 && double.IsFinite(x)).ToArray();
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        if (v.Length == 0) return ticks;
        int lo = (int)Math.Floor(Math.Log10(v.Min())), hi = (int)Math.Ceiling(Math.Log10(v.Max()));
        bool fine = hi - lo <= 2;
        foreach (var (position, label) in LogTickLabels(lo, hi, fine))
        {
            if (label is null) ticks.AddMinor(position);
            else ticks.AddMajor(position, label);
        }
        return ticks;
    }

    /// <summary>(log10 position, label or null for a minor tick) for decades lo..hi.</summary>
    internal static IEnumerable<(double Position, string? Label)> LogTickLabels(int lo, int hi, bool fine)
    {
        for (int d = lo; d <= hi; d++)
        {
            double p = Math.Pow(10, d);
            yield return (d, Round(p));
            for (int k = 2; k <= 9 && d < hi; k++)
                yield return (Math.Log10(k * p), fine && k is 2 or 5 ? Round(k * p) : null);
        }
    }

    private static string Round(double v) => v >= 1e6 || v < 1e-3
        ? v.ToString("0e0", System.Globalization.CultureInfo.InvariantCulture)
        : v.ToString("#,0.###", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A classifier's view of the plane, in one palette: each class's region is its colour mixed with
    /// white, its points the colour itself. A binary map shows p(class 1) on a diverging scale (class 0's
    /// colour, white at 0.5, class 1's colour) with a colourbar and the p = 0.5 contour drawn black.
    /// Training points are filled circles; test points are triangles with a black edge.
    /// </summary>
    /// <param name="score">Rows top to bottom over the extent: p(class 1) for a binary map, else the predicted class.</param>
    public static void DecisionBoundary(string path, string title, double[,] score, Commands.DemoCommand.PlaneExtent e,
        SyntheticSet set, int[] trainRows, int[] testRows, bool binary)
    {
        CheckPath(path);
        var plot = new Plot();
        plot.Title(title);
        int classes = set.ClassCount;
        var heatmap = plot.Add.Heatmap(score);
        heatmap.Extent = new CoordinateRect(e.XMin, e.XMax, e.YMin, e.YMax);
        if (binary)
        {
            heatmap.Colormap = new DivergingColormap();
            heatmap.ManualRange = new ScottPlot.Range(0, 1);
            plot.Add.ColorBar(heatmap);
            foreach (var (a, b) in Contour(score, 0.5, e))
            {
                var seg = plot.Add.Line(a.X, a.Y, b.X, b.Y);
                seg.LineWidth = 2;
                seg.Color = Colors.Black;
            }
            // One legend entry for the contour.
            var key = plot.Add.Line(double.NaN, double.NaN, double.NaN, double.NaN);
            key.LineWidth = 2;
            key.Color = Colors.Black;
            key.LegendText = "p(class 1) = 0.5";
            var shading = plot.Add.Markers(new[] { double.NaN }, new[] { double.NaN });
            shading.MarkerShape = MarkerShape.FilledSquare;
            shading.Color = Diverging(0.85);
            shading.LegendText = "shading: p(class 1), bar →";
        }
        else
        {
            heatmap.Colormap = new ClassColormap(classes);
            heatmap.ManualRange = new ScottPlot.Range(0, classes - 1);
        }
        void Points(int[] rows, int cls, bool test)
        {
            var idx = rows.Where(i => set.Labels[i] == cls).ToArray();
            var markers = plot.Add.Markers(idx.Select(i => set.X[2 * i]).ToArray(), idx.Select(i => set.X[2 * i + 1]).ToArray());
            markers.Color = ClassColour(cls);
            markers.MarkerShape = test ? MarkerShape.FilledTriangleUp : MarkerShape.FilledCircle;
            markers.MarkerSize = test ? 9 : 6;
            markers.MarkerStyle.OutlineColor = Colors.Black;
            markers.MarkerStyle.OutlineWidth = test ? 1 : 0;
            markers.LegendText = $"class {cls}, {(test ? "test" : "training")}";
        }
        for (int k = 0; k < classes; k++) Points(trainRows, k, test: false);
        for (int k = 0; k < classes; k++) Points(testRows, k, test: true);
        plot.ShowLegend(Edge.Right);
        plot.Axes.SetLimits(e.XMin, e.XMax, e.YMin, e.YMax);
        plot.XLabel("x");
        plot.YLabel("y");
        // Wide enough that the square extent's data area stays about square beside the legend (and bar).
        Save(plot, path, binary ? 900 : 840, 640);
    }

    /// <summary>Marching squares: the segments where the grid (row 0 at the top, cell centres) crosses the level.</summary>
    internal static List<(Coordinates A, Coordinates B)> Contour(double[,] grid, double level, Commands.DemoCommand.PlaneExtent e)
    {
        int rows = grid.GetLength(0), cols = grid.GetLength(1);
        double X(double c) => e.XMin + (e.XMax - e.XMin) * (c + 0.5) / cols;
        double Y(double r) => e.YMax - (e.YMax - e.YMin) * (r + 0.5) / rows;
        var segments = new List<(Coordinates, Coordinates)>();
        for (int r = 0; r + 1 < rows; r++)
            for (int c = 0; c + 1 < cols; c++)
            {
                // Corners clockwise from the top left, and the crossings on the four edges between them.
                double[] v = [grid[r, c], grid[r, c + 1], grid[r + 1, c + 1], grid[r + 1, c]];
                (double R, double C)[] at = [(r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c)];
                var cross = new List<Coordinates>(4);
                for (int k = 0; k < 4; k++)
                {
                    double a = v[k] - level, b = v[(k + 1) % 4] - level;
                    if ((a < 0) == (b < 0)) continue;
                    double t = a / (a - b);
                    var (r0, c0) = at[k];
                    var (r1, c1) = at[(k + 1) % 4];
                    cross.Add(new Coordinates(X(c0 + (c1 - c0) * t), Y(r0 + (r1 - r0) * t)));
                }
                if (cross.Count >= 2) segments.Add((cross[0], cross[1]));
                if (cross.Count == 4) segments.Add((cross[2], cross[3]));
            }
        return segments;
    }

    /// <summary>Class k (the heatmap's value, 0..n−1) as its region colour.</summary>
    private sealed class ClassColormap(int classes) : IColormap
    {
        public string Name => "classes";
        public Color GetColor(double normalized) => RegionColour((int)Math.Round(Math.Clamp(normalized, 0, 1) * (classes - 1)));
    }

    private sealed class DivergingColormap : IColormap
    {
        public string Name => "p(class 1)";
        public Color GetColor(double normalized) => Diverging(normalized);
    }

    /// <summary>
    /// Renders in memory, then writes through the atomic writer: a full disk or a kill mid-write leaves
    /// the previous picture whole, never a 0-byte file or a PNG without its end chunk.
    /// </summary>
    private static void Save(Plot plot, string path, int width, int height)
    {
        if (path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase)) AtomicFile.WriteAllText(path, plot.GetSvgXml(width, height));
        else AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png));
    }
}
