using Backprop.Data;
using Backprop.Kernels;
using Backprop.Nn;
using Backprop.Training;
using CsCheck;

namespace Backprop.Tests.Training;

/// <summary>
/// A row's prediction depends on that row alone: predicted alone, among other rows, in any order or
/// subset, its outputs are bit-identical. Random networks (widths, activations, dtypes, tasks) and
/// random row subsets and orders; batch sizes cross the GEMM's direct/packed and threading thresholds.
/// </summary>
public class PredictionIndependenceTests
{
    private static readonly Activation[] Activations = [Activation.Relu, Activation.LeakyRelu, Activation.Tanh, Activation.Sigmoid, Activation.Softplus, Activation.Identity];

    private static readonly Gen<(int Inputs, int[] Hidden, int Act, bool F64, int Task, int Rows, int Seed)> GenCase =
        Gen.Select(Gen.Int[1, 40], Gen.Int[1, 70].Array[0, 3], Gen.Int[0, Activations.Length - 1], Gen.Bool, Gen.Int[0, 2], Gen.Int[1, 300], Gen.Int[0, 1_000_000])
            .Select(t => (t.Item1, t.Item2, t.Item3, t.Item4, t.Item5, t.Item6, t.Item7));

    private static (TrainedModel Model, FeatureMatrix Data) Build((int Inputs, int[] Hidden, int Act, bool F64, int Task, int Rows, int Seed) c)
    {
        var rng = new Rng((ulong)c.Seed);
        var task = (TaskKind)new[] { TaskKind.Binary, TaskKind.Multiclass, TaskKind.Regression }[c.Task];
        int classes = task == TaskKind.Multiclass ? 2 + c.Seed % 5 : task == TaskKind.Binary ? 2 : 0;
        var network = Mlp.Create(c.Inputs, c.Hidden, TaskHead.Outputs(task, classes), Activations[c.Act], Init.Auto, rng, c.F64 ? DType.Float64 : DType.Float32);
        var names = Enumerable.Range(0, c.Inputs).Select(i => $"x{i}").ToArray();
        var values = new double[c.Rows * c.Inputs];
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextNormal() * 3 + 1;
        var model = new TrainedModel
        {
            Network = network,
            Task = task,
            Hidden = c.Hidden,
            Activation = Activations[c.Act],
            Preprocessing = Preprocessor.Standardised(names, Enumerable.Repeat(1.0, c.Inputs).ToArray(), Enumerable.Repeat(3.0, c.Inputs).ToArray()),
            TargetName = "y",
            ClassLabels = Enumerable.Range(0, classes).Select(i => $"c{i}").ToArray(),
        };
        return (model, new FeatureMatrix(names, values, c.Rows));
    }

    [Fact]
    public void EachRowsOutputsAreBitIdenticalWhateverRowsSurroundIt()
    {
        GenCase.Sample(c =>
        {
            var (model, data) = Build(c);
            var all = model.Outputs(model.PrepareInputs(data)).ToDoubleArray();
            int width = all.Length / data.Rows;
            var rng = new Rng((ulong)c.Seed + 7);
            // A random subset in a random order, and each of its rows alone.
            var order = Enumerable.Range(0, data.Rows).ToArray();
            rng.Shuffle(order.AsSpan());
            var subset = order.Take(1 + (int)(rng.NextUInt64() % (ulong)data.Rows)).ToArray();
            var some = model.Outputs(model.PrepareInputs(data.SelectRows(subset))).ToDoubleArray();
            for (int s = 0; s < subset.Length; s++)
            {
                int row = subset[s];
                for (int j = 0; j < width; j++)
                    Assert.True(BitConverter.DoubleToInt64Bits(all[row * width + j]) == BitConverter.DoubleToInt64Bits(some[s * width + j]),
                        $"row {row} output {j}: {all[row * width + j]:R} among all {data.Rows} rows, {some[s * width + j]:R} among {subset.Length}");
            }
            int single = subset[0];
            var alone = model.Outputs(model.PrepareInputs(data.SelectRows([single]))).ToDoubleArray();
            for (int j = 0; j < width; j++)
                Assert.Equal(BitConverter.DoubleToInt64Bits(all[single * width + j]), BitConverter.DoubleToInt64Bits(alone[j]));

            // Predictions (probabilities, classes, values) follow the outputs, row by row.
            var p17 = model.Predict(data.SelectRows(subset));
            var p1 = model.Predict(data.SelectRows([single]));
            if (p1.Values is { } v) Assert.Equal(BitConverter.DoubleToInt64Bits(p17.Values![0]), BitConverter.DoubleToInt64Bits(v[0]));
            else
            {
                int k = p1.Probabilities!.Length;
                for (int j = 0; j < k; j++) Assert.Equal(BitConverter.DoubleToInt64Bits(p17.Probabilities![j]), BitConverter.DoubleToInt64Bits(p1.Probabilities[j]));
                Assert.Equal(p17.Classes![0], p1.Classes![0]);
            }
        }, iter: 60);
    }

    [Fact]
    public void TheRowByRowPathAgreesWithTheNetworkToRounding()
    {
        GenCase.Sample(c =>
        {
            var (model, data) = Build(c);
            var fast = model.Outputs(model.PrepareInputs(data)).ToDoubleArray();
            Tensor reference;
            using (Backprop.Autodiff.NoGrad()) reference = model.Network.Forward(model.PrepareInputs(data));
            var r = reference.ToDoubleArray();
            double tolerance = c.F64 ? 1e-10 : 2e-4;
            for (int i = 0; i < r.Length; i++)
                Assert.True(Math.Abs(fast[i] - r[i]) <= tolerance * (1 + Math.Abs(r[i])), $"element {i}: row-by-row {fast[i]:R}, network {r[i]:R}");
        }, iter: 40);
    }

    [Fact]
    public void TheDotProductAgreesWithTheNaiveSumAndIgnoresWhereTheRowStarts()
    {
        var rng = new Rng(11);
        for (int k = 0; k < 80; k++)
        {
            var a = Enumerable.Range(0, k + 8).Select(_ => (float)rng.NextNormal()).ToArray();
            var b = Enumerable.Range(0, k).Select(_ => (float)rng.NextNormal()).ToArray();
            double naive = 0;
            for (int p = 0; p < k; p++) naive += (double)a[p] * b[p];
            float at0 = RowIndependent.Dot<float>(a.AsSpan(0, k), b);
            Assert.True(Math.Abs(at0 - naive) <= 1e-5 * (1 + Math.Abs(naive)) * Math.Max(1, k), $"k = {k}: {at0} vs {naive}");
            // The same values at another offset (another alignment) give the same bits.
            var shifted = new float[k + 3];
            a.AsSpan(0, k).CopyTo(shifted.AsSpan(3));
            Assert.Equal(BitConverter.SingleToInt32Bits(at0), BitConverter.SingleToInt32Bits(RowIndependent.Dot<float>(shifted.AsSpan(3, k), b)));
        }
    }
}
