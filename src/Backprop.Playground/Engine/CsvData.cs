using System.Globalization;
using Backprop.Data;

namespace Backprop.Playground.Engine;

/// <summary>
/// A CSV file opened in the browser, read with the library's own reader and task inference
/// (<see cref="DataTable.Parse"/>, <see cref="TabularData.FromTable"/>): the same parsing and the same
/// error messages as <c>backprop train</c>. Nothing leaves the page.
/// </summary>
public sealed class CsvData
{
    private CsvData(DataTable table, string fileName)
    {
        Table = table;
        FileName = fileName;
    }

    public DataTable Table { get; }
    public string FileName { get; }
    public IReadOnlyList<string> Columns => Table.Header;

    /// <summary>Parses the text; a defect throws the <see cref="DataException"/> that <c>backprop train</c> reports.</summary>
    public static CsvData Parse(string text, string fileName) => new(DataTable.Parse(text, fileName), fileName);

    /// <summary>The last column, the usual place of the target (iris's species, breast-cancer's diagnosis).</summary>
    public string DefaultTarget => Table.Header[^1];

    /// <summary>
    /// The table with <paramref name="target"/> as target and <paramref name="features"/> (all other columns
    /// when empty) as standardised inputs (mean and scale of the training rows, as <c>backprop train</c>),
    /// split by <paramref name="percTrain"/> with a seeded shuffle. The map shows <paramref name="mapX"/> and
    /// <paramref name="mapY"/>; every other input is held at its training mean.
    /// </summary>
    public TrainingData Build(string target, IReadOnlyList<string> features, string? mapX, string? mapY, int percTrain, ulong seed, int grid)
    {
        var table = TabularData.FromTable(Table, target);
        var names = table.FeatureNames;
        var chosen = (features.Count == 0 ? names : features.Where(names.Contains)).ToArray();
        if (chosen.Length == 0)
            throw new DataException($"{FileName}: choose at least one feature column besides the target '{table.TargetName}'.");
        var columns = chosen.Select(c => IndexOf(names, c)).ToArray();
        int n = table.Rows, k = chosen.Length;
        if (n < 2) throw new DataException($"{FileName} has {n} data row; the playground needs at least 2 (one to train on, one to test).");

        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        new Rng(seed).Shuffle(order.AsSpan());
        int train = Math.Clamp((int)Math.Floor(n * percTrain / 100.0), 1, n - 1);

        var raw = new double[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) raw[r * k + c] = table.Features[order[r], columns[c]];
        var trainRows = Enumerable.Range(0, train).ToArray();
        var scaler = Standardizer.Fit(raw, k, trainRows);
        var x = scaler.Transform(raw);

        var y = new double[n];
        double yMean = 0, yScale = 1;
        if (table.Task == TaskKind.Regression)
        {
            var t = table.Targets!;
            yMean = trainRows.Average(r => t[order[r]]);
            double var = trainRows.Average(r => (t[order[r]] - yMean) * (t[order[r]] - yMean));
            yScale = var > 0 ? Math.Sqrt(var) : 1;
            for (int r = 0; r < n; r++) y[r] = (t[order[r]] - yMean) / yScale;
        }
        else
        {
            for (int r = 0; r < n; r++) y[r] = table.ClassIndices![order[r]];
        }

        int ix = mapX is not null && Array.IndexOf(chosen, mapX) >= 0 ? Array.IndexOf(chosen, mapX) : 0;
        int iy = mapY is not null && Array.IndexOf(chosen, mapY) >= 0 ? Array.IndexOf(chosen, mapY) : Math.Min(1, k - 1);
        var mapXs = new double[n];
        var mapYs = new double[n];
        for (int r = 0; r < n; r++) { mapXs[r] = x[r * k + ix]; mapYs[r] = x[r * k + iy]; }
        (double lo, double hi) Range(double[] v)
        {
            double min = v.Min(), max = v.Max(), pad = Math.Max(0.1 * (max - min), 0.5);
            return (min - pad, max + pad);
        }
        var (minX, maxX) = Range(mapXs);
        var (minY, maxY) = ix == iy ? (-1.0, 1.0) : Range(mapYs);

        double[] GridInputs(int g)
        {
            // Standardised inputs: 0 is each held input's training mean.
            var gx = new double[g * g * k];
            for (int row = 0; row < g; row++)
                for (int col = 0; col < g; col++)
                {
                    int o = (row * g + col) * k;
                    gx[o + ix] = minX + (col + 0.5) / g * (maxX - minX);
                    if (iy != ix) gx[o + iy] = maxY - (row + 0.5) / g * (maxY - minY);
                }
            return gx;
        }
        var gridX = GridInputs(grid);
        var nodes = new List<(string, int, float[])>();
        for (int c = 0; c < k; c++)
        {
            var values = new float[grid * grid];
            // Standardised values: ±3 standard deviations span the colour scale.
            for (int p = 0; p < grid * grid; p++) values[p] = (float)(gridX[p * k + c] / 3);
            nodes.Add((chosen[c], c, values));
        }
        var held = chosen.Where((_, c) => c != ix && c != iy).ToArray();
        string Unit(int c) => $"{chosen[c]} (standardised: mean {Fmt(scaler.Mean[c])}, sd {Fmt(scaler.Scale[c])})";
        return new TrainingData
        {
            Task = table.Task,
            ClassLabels = table.Labels?.Classes ?? [],
            InputNames = chosen,
            TrainX = x[..(train * k)],
            TestX = x[(train * k)..],
            TrainY = y[..train],
            TestY = y[train..],
            MapX = mapXs,
            MapY = mapYs,
            MapMinX = minX, MapMaxX = maxX, MapMinY = minY, MapMaxY = maxY,
            MapXLabel = Unit(ix),
            MapYLabel = ix == iy ? "(one feature: the map varies along x only)" : Unit(iy),
            MapNote = held.Length == 0 ? null
                : $"The map varies {chosen[ix]} and {chosen[iy]}; the other {held.Length} input{(held.Length == 1 ? "" : "s")} ({string.Join(", ", held)}) {(held.Length == 1 ? "is" : "are")} held at {(held.Length == 1 ? "its" : "their")} training mean.",
            GridInputs = GridInputs,
            InputNodes = nodes,
            Source = FileName + (table.Task == TaskKind.Regression ? $" (target {table.TargetName} standardised: mean {Fmt(yMean)}, sd {Fmt(yScale)})" : $" (target {table.TargetName}, {table.Task.ToString().ToLowerInvariant()})"),
        };
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++) if (names[i] == name) return i;
        return -1;
    }

    private static string Fmt(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
