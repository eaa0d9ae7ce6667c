using Backprop.IO;
using System.Globalization;
using Backprop.Cli.Commands;
using Backprop.Data;
using SkiaSharp;

namespace Backprop.Cli;

/// <summary>
/// `demo --animate`: the decision boundary frame by frame as training runs, in the palette of the
/// still picture (regions, points, training circles and test triangles), as a looping GIF.
/// </summary>
/// <remarks>
/// Frames are drawn without anti-aliasing, so every pixel is one of a few known colours and the GIF's
/// 256-colour palette holds them exactly; p(class 1) of a binary map is shown in 16 steps.
/// </remarks>
internal static class BoundaryAnimation
{
    private const int Side = 240, Caption = 24;

    public static void Write(string path, IReadOnlyList<DemoCommand.BoundaryFrame> frames, DemoCommand.PlaneExtent e,
        SyntheticSet set, int[] trainRows, int[] testRows, bool binary)
    {
        if (frames.Count == 0) throw new BackpropException("demo --animate: training recorded no frames.");
        var palette = new List<(byte, byte, byte)>();
        var index = new Dictionary<uint, byte>();
        var rendered = new List<byte[]>();
        using var bitmap = new SKBitmap(new SKImageInfo(Side, Side + Caption, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(bitmap);
        using var font = new SKFont(SKTypeface.Default, 12) { Edging = SKFontEdging.Alias };
        using var paint = new SKPaint { IsAntialias = false };
        foreach (var frame in frames)
        {
            canvas.Clear(SKColors.White);
            var map = frame.Map;
            int g = map.GetLength(0);
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                {
                    int r = y * g / Side, c = x * g / Side;
                    // Black where the predicted class changes to the right or below: the boundary.
                    int cls = Class(map[r, c], binary);
                    bool edge = (c + 1 < g && Class(map[r, c + 1], binary) != cls) || (r + 1 < g && Class(map[r + 1, c], binary) != cls);
                    var colour = edge && (x * g % Side < g) ? ScottPlot.Colors.Black
                        : binary ? Plots.Diverging(Math.Round(map[r, c] * 15) / 15) : Plots.RegionColour(cls);
                    bitmap.SetPixel(x, y, new SKColor(colour.R, colour.G, colour.B));
                }
            void Point(int i, bool test)
            {
                float px = (float)((set.X[2 * i] - e.XMin) / (e.XMax - e.XMin) * Side);
                float py = (float)((e.YMax - set.X[2 * i + 1]) / (e.YMax - e.YMin) * Side);
                var colour = Plots.ClassColour(set.Labels[i]);
                paint.Color = new SKColor(colour.R, colour.G, colour.B);
                paint.Style = SKPaintStyle.Fill;
                if (!test)
                {
                    canvas.DrawRect(px - 2, py - 2, 4, 4, paint);
                    return;
                }
                using var triangle = new SKPath();
                triangle.MoveTo(px, py - 5);
                triangle.LineTo(px + 4.5f, py + 3.5f);
                triangle.LineTo(px - 4.5f, py + 3.5f);
                triangle.Close();
                canvas.DrawPath(triangle, paint);
                paint.Color = SKColors.Black;
                paint.Style = SKPaintStyle.Stroke;
                canvas.DrawPath(triangle, paint);
            }
            foreach (int i in trainRows) Point(i, test: false);
            foreach (int i in testRows) Point(i, test: true);
            paint.Color = SKColors.Black;
            paint.Style = SKPaintStyle.Fill;
            canvas.DrawText(string.Create(CultureInfo.InvariantCulture, $"epoch {frame.Epoch}, validation accuracy {frame.ValidationAccuracy * 100:F0}%"),
                5, Side + 16, SKTextAlign.Left, font, paint);
            canvas.Flush();

            var pixels = new byte[Side * (Side + Caption)];
            for (int y = 0; y < Side + Caption; y++)
                for (int x = 0; x < Side; x++)
                {
                    var p = bitmap.GetPixel(x, y);
                    uint key = (uint)(p.Red << 16 | p.Green << 8 | p.Blue);
                    if (!index.TryGetValue(key, out byte k))
                    {
                        k = palette.Count < 256 ? (byte)palette.Count : Nearest(palette, p);
                        if (palette.Count < 256) palette.Add((p.Red, p.Green, p.Blue));
                        index[key] = k;
                    }
                    pixels[y * Side + x] = k;
                }
            rendered.Add(pixels);
        }
        var gif = new GifEncoder(Side, Side + Caption, palette);
        for (int f = 0; f < rendered.Count; f++) gif.AddFrame(rendered[f], f == rendered.Count - 1 ? 300 : 12);
        AtomicFile.WriteAllBytes(path, gif.ToArray());
    }

    private static int Class(double v, bool binary) => binary ? (v > 0.5 ? 1 : 0) : (int)v;

    private static byte Nearest(List<(byte R, byte G, byte B)> palette, SKColor p)
    {
        int best = 0, bestDistance = int.MaxValue;
        for (int i = 0; i < palette.Count; i++)
        {
            int dr = palette[i].R - p.Red, dg = palette[i].G - p.Green, db = palette[i].B - p.Blue;
            int d = dr * dr + dg * dg + db * db;
            if (d < bestDistance) (best, bestDistance) = (i, d);
        }
        return (byte)best;
    }
}
