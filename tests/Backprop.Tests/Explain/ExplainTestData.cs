using System.Globalization;
using System.Runtime.CompilerServices;
using Backprop.Explain;

namespace Backprop.Tests.Explain;

/// <summary>Shipped data, fixed networks, and the hand formulas written as plain loops.</summary>
internal static class ExplainTestData
{
    public static string RepoRoot([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));

    /// <summary>
    /// Rows of data/breast-cancer.csv, each feature standardised with the mean and (population) standard
    /// deviation of the whole file; the target is 1 for malignant, 0 for benign.
    /// </summary>
    public static (Tensor X, Tensor Y) BreastCancerRows(params int[] rows)
    {
        var lines = File.ReadAllLines(Path.Combine(RepoRoot(), "data", "breast-cancer.csv")).Skip(1).Where(l => l.Length > 0).ToArray();
        var features = lines.Select(l => l.Split(',')[..^1].Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        var labels = lines.Select(l => l.Split(',')[^1].Trim() == "malignant" ? 1.0 : 0.0).ToArray();
        int n = features[0].Length;
        var mean = new double[n];
        var std = new double[n];
        for (int j = 0; j < n; j++)
        {
            mean[j] = features.Average(r => r[j]);
            std[j] = Math.Sqrt(features.Average(r => (r[j] - mean[j]) * (r[j] - mean[j])));
        }
        var x = new double[rows.Length * n];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < n; j++) x[i * n + j] = (features[rows[i]][j] - mean[j]) / std[j];
        return (Tensor.FromArray(x, [rows.Length, n], DType.Float64), Tensor.FromArray(rows.Select(r => labels[r]).ToArray(), [rows.Length], DType.Float64));
    }

    /// <summary>Layers with seeded random weights, scaled by 1/√fan-in so activations stay of order 1.</summary>
    public static List<ExplainLayer> RandomLayers(ulong seed, int[] sizes, string[] activations)
    {
        var rng = new Rng(seed);
        var layers = new List<ExplainLayer>();
        for (int l = 1; l < sizes.Length; l++)
        {
            var w = Tensor.RandomNormal([sizes[l], sizes[l - 1]], rng, 0, 1 / Math.Sqrt(sizes[l - 1]), DType.Float64);
            var b = Tensor.RandomNormal([sizes[l]], rng, 0, 0.1, DType.Float64);
            layers.Add(new ExplainLayer(w, b, activations[l - 1]));
        }
        return layers;
    }

    /// <summary>The math.md §3 network and batch written out by hand, column layout, in plain loops.</summary>
    public sealed class TwoLayerByHand
    {
        public required double[,] Z1, A1, Z2, A2, Delta2, DW2, Delta1, DW1, DA1;
        public required double[] Db2, Db1;
        public required double Loss;
    }

    public static TwoLayerByHand ReluSigmoidBceByHand(double[,] w1, double[] b1, double[,] w2, double[] b2, double[,] xRows, double[] y)
    {
        int m = xRows.GetLength(0), n0 = xRows.GetLength(1), n1 = w1.GetLength(0);
        var z1 = new double[n1, m];
        var a1 = new double[n1, m];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < m; j++)
            {
                double s = b1[i];
                for (int k = 0; k < n0; k++) s += w1[i, k] * xRows[j, k];
                z1[i, j] = s;
                a1[i, j] = Math.Max(0, s);
            }
        var z2 = new double[1, m];
        var a2 = new double[1, m];
        var d2 = new double[1, m];
        double loss = 0;
        for (int j = 0; j < m; j++)
        {
            double s = b2[0];
            for (int i = 0; i < n1; i++) s += w2[0, i] * a1[i, j];
            z2[0, j] = s;
            a2[0, j] = 1 / (1 + Math.Exp(-s));
            d2[0, j] = (a2[0, j] - y[j]) / m;
            loss -= (y[j] * Math.Log(a2[0, j]) + (1 - y[j]) * Math.Log(1 - a2[0, j])) / m;
        }
        var dw2 = new double[1, n1];
        var db2 = new double[1];
        for (int j = 0; j < m; j++)
        {
            db2[0] += d2[0, j];
            for (int i = 0; i < n1; i++) dw2[0, i] += d2[0, j] * a1[i, j];
        }
        var da1 = new double[n1, m];
        var d1 = new double[n1, m];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < m; j++)
            {
                da1[i, j] = w2[0, i] * d2[0, j];
                d1[i, j] = da1[i, j] * (z1[i, j] > 0 ? 1 : 0);
            }
        var dw1 = new double[n1, n0];
        var db1 = new double[n1];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < m; j++)
            {
                db1[i] += d1[i, j];
                for (int k = 0; k < n0; k++) dw1[i, k] += d1[i, j] * xRows[j, k];
            }
        return new TwoLayerByHand { Z1 = z1, A1 = a1, Z2 = z2, A2 = a2, Delta2 = d2, DW2 = dw2, Db2 = db2, Delta1 = d1, DW1 = dw1, Db1 = db1, DA1 = da1, Loss = loss };
    }

    public static double[,] ToMatrix(Tensor t)
    {
        var d = t.ToDoubleArray();
        int rows = t.Shape[0], cols = t.Shape[1];
        var m = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) m[i, j] = d[i * cols + j];
        return m;
    }

    public static void AssertClose(double[] expected, Tensor actual, double tolerance, string what)
    {
        var a = actual.ToDoubleArray();
        Assert.True(expected.Length == a.Length, $"{what}: expected {expected.Length} values, got {a.Length}");
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]:R}, got {a[i]:R}");
    }

    public static void AssertClose(double[,] expected, Tensor actual, double tolerance, string what)
    {
        Assert.Equal(new[] { expected.GetLength(0), expected.GetLength(1) }, actual.Shape.ToArray());
        AssertClose(expected.Cast<double>().ToArray(), actual, tolerance, what);
    }

    /// <summary>
    /// Gradients from the engine's eager API, as a PyTorch user would get them: parameters with
    /// RequiresGrad, examples as rows, loss.Backward(). Independent of the explainer's own engine run.
    /// </summary>
    public static (Tensor[] DW, Tensor[] Db, double Loss) EagerGradients(IReadOnlyList<ExplainLayer> layers, ExplainTask task, Tensor x, Tensor targets)
    {
        var ws = layers.Select(l => l.Weight.Detach().To(DType.Float64)).ToArray();
        var bs = layers.Select(l => l.Bias.Detach().To(DType.Float64)).ToArray();
        foreach (var p in ws.Concat(bs)) p.RequiresGrad = true;
        var a = x.To(DType.Float64);
        Tensor z = a;
        for (int l = 0; l < layers.Count; l++)
        {
            z = a.MatMul(ws[l], transposeB: true) + bs[l];
            a = layers[l].Activation switch
            {
                "relu" => z.Relu(),
                "leaky_relu" => z.LeakyRelu(layers[l].LeakySlope),
                "tanh" => z.Tanh(),
                "sigmoid" => z.Sigmoid(),
                "softplus" => z.Softplus(),
                _ => z,
            };
        }
        int m = x.Shape[0];
        var t = targets.To(DType.Float64);
        var loss = task switch
        {
            ExplainTask.Binary => Losses.BinaryCrossEntropyWithLogits(z, t.Reshape(m, 1)),
            ExplainTask.Multiclass => Losses.SoftmaxCrossEntropy(z, t.ToDoubleArray().Select(v => (int)v).ToArray()),
            _ => Losses.MeanSquaredError(z, t.Reshape(z.Shape.ToArray())),
        };
        loss.Backward();
        return (ws.Select(w => w.Grad!).ToArray(), bs.Select(b => b.Grad!).ToArray(), loss.Item());
    }
}
