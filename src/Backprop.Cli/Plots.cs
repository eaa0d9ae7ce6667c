using Backprop.IO;
using ScottPlot;

namespace Backprop.Cli;

/// <summary>A named line for <see cref="Plots.Lines"/>; on the right axis when its scale differs (accuracy beside loss).</summary>
internal sealed record PlotSeries(string Name, double[] X, double[] Y, bool RightAxis = false);

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

    public static void Lines(string path, string title, string xLabel, string yLabel, IEnumerable<PlotSeries> series,
        string? rightLabel = null, bool logX = false, bool logY = false)
    {
        CheckPath(path);
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        foreach (var s in series)
        {
            double[] x = logX ? s.X.Select(Math.Log10).ToArray() : s.X;
            double[] y = logY ? s.Y.Select(Math.Log10).ToArray() : s.Y;
            var line = plot.Add.Scatter(x, y);
            line.LegendText = s.Name;
            line.MarkerSize = x.Length > 60 ? 0 : 5;
            line.LineWidth = 2;
            if (s.RightAxis) line.Axes.YAxis = plot.Axes.Right;
        }
        if (rightLabel is not null) plot.Axes.Right.Label.Text = rightLabel;
        if (logX) plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => FormatPower(v) };
        if (logY) plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => FormatPower(v) };
        // Cost curves rise to the upper right; keep the legend out of their way.
        plot.ShowLegend(logY ? Alignment.LowerRight : Alignment.UpperRight);
        Save(plot, path, 800, 500);
    }

    private static string FormatPower(double log10) => Math.Pow(10, log10).ToString("G3", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A classifier's view of the plane: <paramref name="score"/> is the predicted class (or the
    /// probability of class 1) on a grid over the extent, drawn as a heatmap under the data points.
    /// </summary>
    public static void DecisionBoundary(string path, string title, double[,] score, double xMin, double xMax, double yMin, double yMax,
        double[] px, double[] py, int[] labels)
    {
        CheckPath(path);
        var plot = new Plot();
        plot.Title(title);
        var heatmap = plot.Add.Heatmap(score);
        heatmap.Extent = new CoordinateRect(xMin, xMax, yMin, yMax);
        heatmap.Colormap = new ScottPlot.Colormaps.MellowRainbow();
        heatmap.Opacity = 0.55;
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var cls in labels.Distinct().Order())
        {
            var idx = Enumerable.Range(0, labels.Length).Where(i => labels[i] == cls).ToArray();
            var markers = plot.Add.Markers(idx.Select(i => px[i]).ToArray(), idx.Select(i => py[i]).ToArray());
            markers.Color = palette.GetColor(cls);
            markers.MarkerSize = 6;
            markers.LegendText = $"class {cls}";
        }
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.SetLimits(xMin, xMax, yMin, yMax);
        Save(plot, path, 700, 600);
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
