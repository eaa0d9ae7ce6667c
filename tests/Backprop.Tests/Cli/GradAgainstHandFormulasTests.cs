using Backprop.Data;
using Backprop.Nn;
using Backprop.Serialization;
using Backprop.Training;

namespace Backprop.Tests.Cli;

/// <summary>
/// `backprop grad` in all three modes against an independent, plain-loop implementation of math.md §3
/// (ReLU hidden layer, sigmoid output, BCE; mean over the batch) on the shipped breast-cancer data, in
/// float32 and float64.
/// </summary>
public class GradAgainstHandFormulasTests
{
    private const int Hidden = 4;

    /// <summary>dW1, db1, dW2, db2 by the hand formulas, in double, for the same weights.</summary>
    private static Dictionary<string, double[]> HandGradients(TabularData data, Dictionary<string, double[]> w)
    {
        int n0 = data.Features.Columns, m = data.Rows;
        double[] w1 = w["0.weight"], b1 = w["0.bias"], w2 = w["2.weight"], b2 = w["2.bias"];
        var dW1 = new double[Hidden * n0];
        var db1 = new double[Hidden];
        var dW2 = new double[Hidden];
        double db2 = 0;
        var z1 = new double[Hidden];
        var a1 = new double[Hidden];
        for (int j = 0; j < m; j++)
        {
            var x = data.Features.Row(j);
            for (int i = 0; i < Hidden; i++)
            {
                double s = b1[i];
                for (int k = 0; k < n0; k++) s += w1[i * n0 + k] * x[k];
                z1[i] = s;
                a1[i] = Math.Max(0, s);
            }
            double z2 = b2[0];
            for (int i = 0; i < Hidden; i++) z2 += w2[i] * a1[i];
            double delta2 = (1 / (1 + Math.Exp(-z2)) - data.ClassIndices![j]) / m;   // δ[2] = (ŷ − y)/m
            db2 += delta2;
            for (int i = 0; i < Hidden; i++)
            {
                dW2[i] += delta2 * a1[i];                                            // dW[2] = δ[2] a[1]ᵀ
                double delta1 = w2[i] * delta2 * (z1[i] > 0 ? 1 : 0);                // (W[2]ᵀ δ[2]) ⊙ 1[z[1] > 0]
                db1[i] += delta1;
                for (int k = 0; k < n0; k++) dW1[i * n0 + k] += delta1 * x[k];       // dW[1] = δ[1] xᵀ
            }
        }
        return new() { ["0.weight"] = dW1, ["0.bias"] = db1, ["2.weight"] = dW2, ["2.bias"] = [db2] };
    }

    [Theory]
    [InlineData("float64", "reverse", 1e-10)]
    [InlineData("float64", "forward", 1e-10)]
    [InlineData("float32", "reverse", 2e-3)]
    [InlineData("float32", "forward", 2e-3)]
    public void ReverseAndForwardModeEqualTheHandFormulas(string dtype, string mode, double tolerance)
    {
        var dir = CliRunner.TempDir();
        var file = CliRunner.DataFile("breast-cancer.csv");
        var weights = WriteSmallWeights(dir, seed: 2);
        var output = Path.Combine(dir, "grad.safetensors");
        var r = CliRunner.Run("grad", file, "--target", "diagnosis", "--hidden", Hidden.ToString(), "--dtype", dtype, "--mode", mode, "--weights", weights.Path, "--out", output);
        Assert.True(r.ExitCode == 0, r.Error);

        var expected = HandGradients(TabularData.Load(file, "diagnosis"), weights.Values);
        var actual = SafeTensors.Read(output);
        foreach (var (name, values) in expected)
        {
            var got = actual[name].ToDoubleArray();
            double scale = values.Max(Math.Abs) + 1e-12;
            for (int i = 0; i < values.Length; i++)
                Assert.True(Math.Abs(got[i] - values[i]) <= tolerance * scale, $"{dtype} {mode} {name}[{i}]: {got[i]} vs hand {values[i]}");
        }
    }

    [Fact]
    public void TheForwardGradientIsTheDirectionalDerivativeTimesItsDirection()
    {
        var dir = CliRunner.TempDir();
        var file = CliRunner.DataFile("breast-cancer.csv");
        var weights = WriteSmallWeights(dir, seed: 2);
        var output = Path.Combine(dir, "fg.safetensors");
        var r = CliRunner.Run("grad", file, "--target", "diagnosis", "--hidden", Hidden.ToString(), "--dtype", "float64", "--mode", "forward-gradient", "--seed", "7", "--weights", weights.Path, "--out", output);
        Assert.True(r.ExitCode == 0, r.Error);

        // The command draws v from Rng(seed + 1), one parameter tensor after another, as the library does.
        var network = Mlp.Create(30, [Hidden], 1, Activation.Relu, Init.Auto, new Rng(0), DType.Float64);
        var directions = ForwardGradient.Estimate(_ => Tensor.Scalar(0, DType.Float64),
            network.NamedParameters().Select(p => p.Parameter.Detach()).ToArray(), new Rng(8)).Directions;
        var hand = HandGradients(TabularData.Load(file, "diagnosis"), weights.Values);
        var names = network.NamedParameters().Select(p => p.Name).ToArray();
        double directional = 0;
        for (int t = 0; t < names.Length; t++)
        {
            var v = directions[t].ToDoubleArray();
            for (int i = 0; i < v.Length; i++) directional += hand[names[t]][i] * v[i];
        }
        var actual = SafeTensors.Read(output);
        for (int t = 0; t < names.Length; t++)
        {
            var v = directions[t].ToDoubleArray();
            var got = actual[names[t]].ToDoubleArray();
            for (int i = 0; i < v.Length; i++) Assert.Equal(directional * v[i], got[i], 1e-9 * (1 + Math.Abs(directional * v[i])));
        }
    }

    /// <summary>Small weights so the unstandardised features (up to ~2500) do not saturate the sigmoid.</summary>
    private static (string Path, Dictionary<string, double[]> Values) WriteSmallWeights(string dir, ulong seed)
    {
        var rng = new Rng(seed);
        double[] Draw(int n, double scale) => Enumerable.Range(0, n).Select(_ => scale * rng.NextNormal()).ToArray();
        var values = new Dictionary<string, double[]>
        {
            ["0.weight"] = Draw(Hidden * 30, 1e-3),
            ["0.bias"] = Draw(Hidden, 0.1),
            ["2.weight"] = Draw(Hidden, 0.5),
            ["2.bias"] = Draw(1, 0.1),
        };
        var path = Path.Combine(dir, "weights.safetensors");
        SafeTensors.Write(path,
        [
            new TensorEntry("0.weight", values["0.weight"], Hidden, 30),
            new TensorEntry("0.bias", values["0.bias"], Hidden),
            new TensorEntry("2.weight", values["2.weight"], 1, Hidden),
            new TensorEntry("2.bias", values["2.bias"], 1),
        ]);
        return (path, values);
    }
}
