using Backprop.Data;
using Backprop.Nn;
using Backprop.Serialization.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Backprop.Deploy.Tests;

/// <summary>
/// The preprocessing part of the graph (imputation, missing indicators, one-hot of text and of numbers,
/// unseen categories, the network's input order) on hand-made columns, against the same steps written
/// out here and the network run by Backprop.
/// </summary>
public sealed class OnnxPreprocessingGraphTests
{
    [Fact]
    public void ImputationIndicatorsAndOneHotMatchAHandWrittenReference()
    {
        // Network inputs: 0 colour=blue, 1 colour=green, 2 colour=red, 3 age, 4 age (missing), 5 size=1, 6 size=2.5, 7 income.
        OnnxColumn[] columns =
        [
            new() { Name = "colour", Categorical = true, Offset = 0, Categories = ["blue", "green", "red"], FillCategory = "green" },
            new() { Name = "age", Categorical = false, Offset = 3, Mean = 40, Scale = 12, Fill = 41.5, MissingIndicator = true },
            new() { Name = "size", Categorical = true, Offset = 5, Categories = ["1", "2.5"], FillCategory = "2.5", NumericCategories = true },
            new() { Name = "income", Categorical = false, Offset = 7, Mean = 50, Scale = 15, Fill = 50 },
        ];
        string[] names = ["colour=blue", "colour=green", "colour=red", "age", "age (missing)", "size=1", "size=2.5", "income"];
        var network = Mlp.Create(names.Length, [6], 1, Activation.Tanh, Init.Auto, new Rng(7), DType.Float32);
        var bytes = OnnxExporter.Export(new OnnxExportSource
        {
            Network = network, Task = TaskKind.Binary, Columns = columns, NetworkInputs = names, ImputeMissing = true,
            MissingPolicy = "impute", UnknownPolicy = "ignore", ClassLabels = ["no", "yes"], TargetName = "bought",
        });

        // Rows: (age, income) numbers with NaN for missing; colour text; size number.
        (double Age, double Income, string Colour, float Size)[] rows =
        [
            (30, 60, "red", 1f),
            (double.NaN, 45, "blue", 2.5f),
            (52, double.NaN, "", float.NaN),       // missing income, colour and size
            (25, 70, "NA", 1f),                    // a missing spelling
            (61, 20, "purple", 7f),                // unseen colour and size: all zeros
            (44, 52, "n/a", 2.5f),
        ];
        int n = rows.Length;
        var expectedInputs = new float[n * names.Length];
        for (int i = 0; i < n; i++)
        {
            var x = expectedInputs.AsSpan(i * names.Length, names.Length);
            var (age, income, colour, size) = rows[i];
            string c = colour is "" or "NA" or "n/a" ? "green" : colour;
            if (c == "blue") x[0] = 1;
            if (c == "green") x[1] = 1;
            if (c == "red") x[2] = 1;
            x[3] = (float)(((double.IsNaN(age) ? 41.5 : age) - 40) / 12);
            x[4] = double.IsNaN(age) ? 1 : 0;
            float s = float.IsNaN(size) ? 2.5f : size;
            if (s == 1f) x[5] = 1;
            if (s == 2.5f) x[6] = 1;
            x[7] = (float)(((double.IsNaN(income) ? 50 : income) - 50) / 15);
        }
        double[] expected;
        using (Autodiff.NoGrad())
        {
            var logits = network.Forward(Tensor.FromArray(expectedInputs, [n, names.Length])).ToDoubleArray();
            expected = logits.Select(z => 1 / (1 + Math.Exp(-z))).ToArray();
        }

        using var session = new InferenceSession(bytes);
        Assert.Equal(["features", "colour", "size"], session.InputMetadata.Keys.ToArray());
        var features = new DenseTensor<float>(rows.SelectMany(r => new[] { (float)r.Age, (float)r.Income }).ToArray(), [n, 2]);
        using var results = session.Run(
        [
            NamedOnnxValue.CreateFromTensor("features", features),
            NamedOnnxValue.CreateFromTensor("colour", new DenseTensor<string>(rows.Select(r => r.Colour).ToArray(), [n, 1])),
            NamedOnnxValue.CreateFromTensor("size", new DenseTensor<float>(rows.Select(r => r.Size).ToArray(), [n, 1])),
        ]);
        var probabilities = results.Single(r => r.Name == "probabilities").AsTensor<float>().ToArray();
        for (int i = 0; i < n; i++)
        {
            Assert.True(Math.Abs(probabilities[2 * i + 1] - expected[i]) <= 1e-6, $"row {i}: ONNX Runtime {probabilities[2 * i + 1]}, reference {expected[i]}");
            Assert.True(Math.Abs(probabilities[2 * i] - (1 - expected[i])) <= 1e-6, $"row {i}");
        }
        Assert.True(expected.Distinct().Count() == n, "every row should give its own probability");
        var meta = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal("[\"age\",\"income\"]", meta["feature_names"]);
        Assert.Equal("{\"colour\":[\"blue\",\"green\",\"red\"],\"size\":[\"1\",\"2.5\"]}", meta["categorical_inputs"]);
    }

    [Fact]
    public void InconsistentColumnsAreRefused()
    {
        var network = Mlp.Create(2, [], 1, Activation.Relu, Init.Auto, new Rng(1), DType.Float32);
        OnnxColumn[] overlapping =
        [
            new() { Name = "a", Categorical = false, Offset = 0, MissingIndicator = true },
            new() { Name = "b", Categorical = false, Offset = 1 },
        ];
        var e = Assert.ThrowsAny<BackpropException>(() => OnnxExporter.Export(new OnnxExportSource
        {
            Network = network, Task = TaskKind.Regression, Columns = overlapping, NetworkInputs = ["a", "a (missing)", "b"],
        }));
        Assert.Contains("first layer takes 2 inputs", e.Message);
        OnnxColumn[] clash = [new() { Name = "features", Categorical = true, Offset = 0, Categories = ["x", "y"] }];
        var e2 = Assert.ThrowsAny<BackpropException>(() => OnnxExporter.Export(new OnnxExportSource
        {
            Network = network, Task = TaskKind.Regression, Columns = [new OnnxColumn { Name = "n", Categorical = false, Offset = 0 }, .. clash.Select(c => c with { Categories = ["x"], Offset = 1 })],
            NetworkInputs = ["n", "features=x"],
        }));
        Assert.Contains("'features'", e2.Message);
    }
}
