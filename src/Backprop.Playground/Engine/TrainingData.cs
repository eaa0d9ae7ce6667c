using Backprop.Data;

namespace Backprop.Playground.Engine;

/// <summary>
/// What the network trains on and what the map shows: network inputs and targets split into training
/// and test rows, each point's position on the map, and the map's grid of inputs.
/// </summary>
public sealed class TrainingData
{
    public required TaskKind Task { get; init; }
    /// <summary>Class labels (classification), in class-index order.</summary>
    public required IReadOnlyList<string> ClassLabels { get; init; }
    /// <summary>Names of the network's inputs, in column order.</summary>
    public required IReadOnlyList<string> InputNames { get; init; }
    /// <summary>(train rows, inputs) and (test rows, inputs), row-major.</summary>
    public required double[] TrainX { get; init; }
    public required double[] TestX { get; init; }
    /// <summary>Class index (classification) or value (regression) per row.</summary>
    public required double[] TrainY { get; init; }
    public required double[] TestY { get; init; }
    /// <summary>Map coordinates of every point, training points first.</summary>
    public required double[] MapX { get; init; }
    public required double[] MapY { get; init; }
    /// <summary>The map's extent: [MapMin, MapMax] on both axes.</summary>
    public required double MapMinX { get; init; }
    public required double MapMaxX { get; init; }
    public required double MapMinY { get; init; }
    public required double MapMaxY { get; init; }
    public required string MapXLabel { get; init; }
    public required string MapYLabel { get; init; }
    /// <summary>What the map holds fixed, when the network has more inputs than the map's two axes.</summary>
    public string? MapNote { get; init; }
    /// <summary>Network inputs at each grid point (grid × grid, row 0 at the top, x growing to the right).</summary>
    public required Func<int, double[]> GridInputs { get; init; }
    /// <summary>For each displayed input node: its label and its values over the grid; Column is the network input it feeds, or −1 when switched off.</summary>
    public required IReadOnlyList<(string Label, int Column, float[] Grid)> InputNodes { get; init; }
    /// <summary>Where the rows came from ("circle, seed 7" or "iris.csv").</summary>
    public required string Source { get; init; }

    public int Inputs => InputNames.Count;
    public int TrainCount => TrainY.Length;
    public int TestCount => TestY.Length;
    public int ClassCount => ClassLabels.Count;

    /// <summary>The map coordinates of grid cell (row, column) centre.</summary>
    public (double X, double Y) GridPoint(int grid, int row, int column) =>
        (MapMinX + (column + 0.5) / grid * (MapMaxX - MapMinX), MapMaxY - (row + 0.5) / grid * (MapMaxY - MapMinY));

    /// <summary>The seven TensorFlow Playground features of a plane data set, the selected ones as inputs.</summary>
    public static TrainingData FromPlane(PlanePoints points, PlaygroundState state, int grid)
    {
        var active = Enumerable.Range(0, 7).Where(f => state.Features[f]).ToArray();
        if (active.Length == 0) active = [0];
        bool regression = state.IsRegression;
        double[] Rows(int from, int to)
        {
            var x = new double[(to - from) * active.Length];
            for (int r = from; r < to; r++)
                for (int c = 0; c < active.Length; c++)
                    x[(r - from) * active.Length + c] = PlaygroundState.FeatureValue((InputFeature)active[c], points.X1[r], points.X2[r]);
            return x;
        }
        double[] Targets(int from, int to)
        {
            var y = new double[to - from];
            for (int r = from; r < to; r++) y[r - from] = regression ? points.Labels[r] : points.Labels[r] > 0 ? 1 : 0;
            return y;
        }
        const double d = PlaneData.Domain;
        double[] GridInputs(int g)
        {
            var x = new double[g * g * active.Length];
            for (int row = 0; row < g; row++)
                for (int col = 0; col < g; col++)
                {
                    double px = -d + (col + 0.5) / g * 2 * d, py = d - (row + 0.5) / g * 2 * d;
                    for (int c = 0; c < active.Length; c++)
                        x[(row * g + col) * active.Length + c] = PlaygroundState.FeatureValue((InputFeature)active[c], px, py);
                }
            return x;
        }
        var nodes = new List<(string, int, float[])>();
        for (int f = 0; f < 7; f++)
        {
            var values = new float[grid * grid];
            for (int row = 0; row < grid; row++)
                for (int col = 0; col < grid; col++)
                {
                    double px = -d + (col + 0.5) / grid * 2 * d, py = d - (row + 0.5) / grid * 2 * d;
                    // Scaled into [−1, 1] for colouring only: x₁ by 6, x₁² by 36, x₁x₂ by 36.
                    double scale = f < 2 ? d : f < 5 ? d * d : 1;
                    values[row * grid + col] = (float)(PlaygroundState.FeatureValue((InputFeature)f, px, py) / scale);
                }
            nodes.Add((PlaygroundState.FeatureLabel((InputFeature)f), Array.IndexOf(active, f), values));
        }
        int n = points.Count, train = points.TrainCount;
        return new TrainingData
        {
            Task = regression ? TaskKind.Regression : TaskKind.Binary,
            ClassLabels = regression ? [] : ["−1", "+1"],
            InputNames = active.Select(f => PlaygroundState.FeatureLabel((InputFeature)f)).ToArray(),
            TrainX = Rows(0, train),
            TestX = Rows(train, n),
            TrainY = Targets(0, train),
            TestY = Targets(train, n),
            MapX = points.X1,
            MapY = points.X2,
            MapMinX = -d, MapMaxX = d, MapMinY = -d, MapMaxY = d,
            MapXLabel = "x₁",
            MapYLabel = "x₂",
            GridInputs = GridInputs,
            InputNodes = nodes,
            Source = $"{state.CurrentDataset}, noise {state.Noise}, seed {state.Seed}",
        };
    }
}
