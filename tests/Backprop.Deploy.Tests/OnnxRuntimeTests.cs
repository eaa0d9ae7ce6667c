using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit.Abstractions;
using static Backprop.Deploy.Tests.DeployTestFiles;

namespace Backprop.Deploy.Tests;

/// <summary>
/// Models trained on the shipped data sets, exported with 'backprop export', run in ONNX Runtime on
/// every row of the data set and compared with what 'backprop predict' prints for the same rows.
/// </summary>
public sealed class OnnxRuntimeTests(ITestOutputHelper log)
{
    // Probabilities are compared absolutely (they lie in [0, 1]); regression values relatively, because
    // a float32 value near 300 (diabetes progression) is only resolved to 3e-5.
    private const double Float32Tolerance = 1e-5;
    private const double Float64Tolerance = 1e-9;

    public static TheoryData<string, string, string> Models() => new()
    {
        { "breast-cancer.csv", "diagnosis", "float32" },
        { "iris.csv", "species", "float32" },
        { "diabetes.csv", "progression", "float32" },
        { "breast-cancer.csv", "diagnosis", "float64" },
        { "iris.csv", "species", "float64" },
        { "diabetes.csv", "progression", "float64" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void OnnxRuntimeMatchesPredictOnEveryRow(string dataName, string target, string dtype)
    {
        var dir = TempDir();
        var data = DataFile(dataName);
        var model = Path.Combine(dir, "model.safetensors");
        var onnx = Path.Combine(dir, "model.onnx");
        var predictions = Path.Combine(dir, "predictions.csv");
        // tanh hidden layers exercise a second activation; epochs kept small: agreement, not quality, is tested.
        var train = RunBackprop("train", data, "--target", target, "--hidden", "16,8", "--activation", "tanh", "--epochs", "40", "--dtype", dtype, "--out", model, "--json");
        Assert.True(train.ExitCode == 0, train.Error);
        var export = RunBackprop("export", model, "--onnx", onnx);
        Assert.True(export.ExitCode == 0, export.Error);
        Assert.Contains("opset 17", export.Error);
        var predict = RunBackprop("predict", model, data, "--out", predictions);
        Assert.True(predict.ExitCode == 0, predict.Error);

        using var session = new InferenceSession(onnx);
        var meta = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal("backprop-mlp-onnx/1", meta["format"]);
        Assert.Equal(target, meta["target"]);
        var featureNames = JsonSerializer.Deserialize<string[]>(meta["feature_names"])!;
        var labels = JsonSerializer.Deserialize<string[]>(meta["class_labels"])!;

        // The documented input layout: raw values of the columns named in feature_names, in that order.
        var (header, rows) = ReadSimpleCsv(data);
        var columns = featureNames.Select(f => Array.IndexOf(header, f)).ToArray();
        Assert.DoesNotContain(-1, columns);
        Assert.DoesNotContain(Array.IndexOf(header, target), columns);
        int n = rows.Length, f = columns.Length;
        var raw = new double[n * f];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < f; j++) raw[i * f + j] = ParseDouble(rows[i][columns[j]]);

        bool float64 = dtype == "float64";
        var input = float64
            ? NamedOnnxValue.CreateFromTensor("features", new DenseTensor<double>(raw, [n, f]))
            : NamedOnnxValue.CreateFromTensor("features", new DenseTensor<float>(raw.Select(v => (float)v).ToArray(), [n, f]));
        using var results = session.Run([input]);
        var outputs = results.ToDictionary(r => r.Name);
        double[] Values(string name) => float64
            ? outputs[name].AsTensor<double>().ToArray()
            : outputs[name].AsTensor<float>().ToArray().Select(v => (double)v).ToArray();

        var (predictHeader, predicted) = ReadSimpleCsv(predictions);
        Assert.Equal(n, predicted.Length);
        double tolerance = float64 ? Float64Tolerance : Float32Tolerance;
        double worst = 0;
        if (labels.Length == 0)
        {
            var values = Values("prediction");
            var dims = float64 ? outputs["prediction"].AsTensor<double>().Dimensions.ToArray() : outputs["prediction"].AsTensor<float>().Dimensions.ToArray();
            Assert.Equal([n, 1], dims);
            for (int i = 0; i < n; i++)
            {
                double expected = ParseDouble(predicted[i][0]);
                double error = Math.Abs(values[i] - expected) / Math.Max(1, Math.Abs(expected));
                worst = Math.Max(worst, error);
                Assert.True(error <= tolerance, $"row {i}: ONNX Runtime {values[i]}, predict {expected}");
            }
            Assert.True(values.Distinct().Count() > n / 2, "the predictions should vary with the rows");
        }
        else
        {
            var probabilities = Values("probabilities");
            var label = outputs["label"].AsTensor<string>().ToArray();
            var classIndex = outputs["class_index"].AsTensor<long>().ToArray();
            int k = labels.Length;
            var probabilityColumns = labels.Select(l => Array.IndexOf(predictHeader, "p_" + l)).ToArray();
            Assert.DoesNotContain(-1, probabilityColumns);
            for (int i = 0; i < n; i++)
            {
                double sum = 0;
                for (int c = 0; c < k; c++)
                {
                    double expected = ParseDouble(predicted[i][probabilityColumns[c]]);
                    double error = Math.Abs(probabilities[i * k + c] - expected);
                    worst = Math.Max(worst, error);
                    Assert.True(error <= tolerance, $"row {i}, class {labels[c]}: ONNX Runtime {probabilities[i * k + c]}, predict {expected}");
                    sum += probabilities[i * k + c];
                }
                Assert.Equal(1.0, sum, 1e-5);
                Assert.Equal(labels[classIndex[i]], label[i]);
                // The label is the argmax; it may differ from predict's only between classes whose
                // probabilities agree to the tolerance (a tie decided by rounding).
                if (label[i] != predicted[i][0])
                {
                    int other = Array.IndexOf(labels, predicted[i][0]);
                    Assert.True(Math.Abs(probabilities[i * k + other] - probabilities[i * k + classIndex[i]]) <= tolerance,
                        $"row {i}: ONNX Runtime says {label[i]}, predict says {predicted[i][0]}");
                }
            }
            Assert.True(label.Distinct().Count() > 1, "a trained classifier should predict more than one class on its own data");
        }
        log.WriteLine($"{dataName} {dtype}: {n} rows, largest difference from predict {worst:E2} (tolerance {tolerance:E0})");
        Assert.True(worst <= tolerance);
        Directory.Delete(dir, recursive: true);
    }
}
