using Backprop.IO;
using ScottPlot;
using SkiaSharp;

namespace Backprop.Cli;

/// <summary>
/// `ode --animate`: the learned trajectory drawn over the true one at each progress report, as a looping
/// GIF through the project's own <see cref="GifEncoder"/>.
/// </summary>
/// <remarks>
/// ScottPlot draws anti-aliased frames with more colours than a GIF holds; each pixel is mapped to a fixed
/// palette of a 6×6×6 colour cube and 40 greys (256 colours), which keeps lines and text readable.
/// </remarks>
internal static class TrajectoryAnimation
{
    private const int Width = 420, Height = 420;

    /// <summary>One frame: the iteration, its whole-trajectory loss, and the learned trajectory (points × 2).</summary>
    public sealed record Frame(int Iteration, double Loss, double[,] Learned);

    public static void Write(string path, IReadOnlyList<Frame> frames, double[,] truth, double extent)
    {
        if (frames.Count == 0) throw new BackpropException("ode --animate: training recorded no frames; lower --report-every.");
        var palette = Palette();
        var gif = new GifEncoder(Width, Height, palette);
        var indices = new byte[Width * Height];
        foreach (var frame in frames)
        {
            var plot = new Plot();
            plot.Title(FormattableString.Invariant($"iteration {frame.Iteration}: trajectory loss {frame.Loss:F3}"));
            plot.XLabel("y₁");
            plot.YLabel("y₂");
            var t = plot.Add.ScatterLine(Column(truth, 0), Column(truth, 1));
            t.LegendText = "true";
            t.Color = Colors.Gray;
            t.LineWidth = 3;
            var l = plot.Add.ScatterLine(Column(frame.Learned, 0), Column(frame.Learned, 1));
            l.LegendText = "learned";
            l.Color = Colors.OrangeRed;
            l.LineWidth = 2;
            plot.Axes.SetLimits(-extent, extent, -extent, extent);
            plot.ShowLegend(Alignment.UpperRight);
            using var bitmap = SKBitmap.Decode(plot.GetImageBytes(Width, Height, ImageFormat.Png));
            for (int y = 0; y < Height; y++)
                for (int x = 0; x < Width; x++)
                    indices[y * Width + x] = Nearest(bitmap.GetPixel(x, y));
            gif.AddFrame(indices, frame == frames[^1] ? 200 : 25);
        }
        AtomicFile.WriteAllBytes(path, gif.ToArray());
    }

    private static List<(byte R, byte G, byte B)> Palette()
    {
        var palette = new List<(byte, byte, byte)>(256);
        for (int r = 0; r < 6; r++)
            for (int g = 0; g < 6; g++)
                for (int b = 0; b < 6; b++)
                    palette.Add(((byte)(r * 51), (byte)(g * 51), (byte)(b * 51)));
        for (int i = 0; i < 40; i++) palette.Add(((byte)(i * 255 / 39), (byte)(i * 255 / 39), (byte)(i * 255 / 39)));
        return palette;
    }

    // Greys (r = g = b within a step) go to the fine grey ramp; colours to the cube.
    private static byte Nearest(SKColor c)
    {
        int max = Math.Max(c.Red, Math.Max(c.Green, c.Blue)), min = Math.Min(c.Red, Math.Min(c.Green, c.Blue));
        if (max - min < 12) return (byte)(216 + (int)Math.Round((c.Red + c.Green + c.Blue) / 3.0 * 39 / 255));
        static int Q(byte v) => (v + 25) / 51;
        return (byte)(Q(c.Red) * 36 + Q(c.Green) * 6 + Q(c.Blue));
    }

    private static double[] Column(double[,] values, int column)
    {
        var c = new double[values.GetLength(0)];
        for (int i = 0; i < c.Length; i++) c[i] = values[i, column];
        return c;
    }
}
