using System.Text.Json;
using Backprop.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit.Abstractions;
using static Backprop.Deploy.Tests.DeployTestFiles;

namespace Backprop.Deploy.Tests;

/// <summary>
/// The preprocessing inside the ONNX graph: a fixture with text columns and missing values in numeric
/// and text columns (tests/Backprop.Tests/Data/Fixtures/customers.csv), unseen categories under
/// --unknown ignore, and a numeric column made categorical. ONNX Runtime must give what predict gives.
/// </summary>
public sealed class OnnxPreprocessingTests(ITestOutputHelper log)
{
    private const double Tolerance = 1e-5;

    private static string Fixture => Path.Combine(RepoRoot(), "tests", "Backprop.Tests", "Data", "Fixtures", "customers.csv");

    [Fact]
    public void TextColumnsAndMissingValuesMatchPredict()
    {
        var dir = TempDir();
        var table = DataTable.Load(Fixture);
        Assert.True(table.Find("age")!.MissingCount > 0 && table.Find("income")!.MissingCount > 0, "the fixture should miss numbers");
        Assert.True(!table.Find("colour")!.IsNumeric && table.Find("colour")!.MissingCount > 0, "the fixture should miss text");
        var (onnx, predictions) = TrainExportPredict(dir, Fixture, Fixture, "bought", "--drop", "id,notes");
        var worst = CompareClassifier(onnx, Fixture, predictions, missingText: i => i % 2 == 0 ? "" : "NA");
        log.WriteLine($"customers.csv: largest probability difference from predict {worst:E2}");
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void UnseenCategoriesUnderUnknownIgnoreAreAllZerosAsInPredict()
    {
        var dir = TempDir();
        // Every fifth row gets a colour and a city never seen in training.
        var lines = File.ReadAllLines(Fixture);
        var header = lines[0].Split(',');
        int colour = Array.IndexOf(header, "colour");
        Assert.Equal(3, colour);
        var changed = new List<string> { lines[0] };
        for (int i = 1; i < lines.Length; i++)
        {
            var fields = lines[i].Split(',');
            if (i % 5 == 0 && fields[colour].Length > 0 && !fields[colour].StartsWith('"')) fields[colour] = "purple";
            changed.Add(string.Join(",", fields));
        }
        var unseen = Path.Combine(dir, "unseen.csv");
        File.WriteAllLines(unseen, changed);
        var (onnx, predictions) = TrainExportPredict(dir, Fixture, unseen, "bought", "--drop", "id,notes", "--unknown", "ignore");
        var worst = CompareClassifier(onnx, unseen, predictions, missingText: _ => "");
        log.WriteLine($"unseen categories: largest probability difference from predict {worst:E2}");
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void NumericCategoricalColumnsTakeNumbers()
    {
        var dir = TempDir();
        var iris = DataFile("iris.csv");
        var (onnx, predictions) = TrainExportPredict(dir, iris, iris, "species", "--categorical", "petal_width_(cm)", "--unknown", "ignore");
        using var session = new InferenceSession(onnx);
        Assert.Equal(TensorElementType.Float, session.InputMetadata["petal_width_(cm)"].ElementDataType);
        var worst = CompareClassifier(onnx, iris, predictions, missingText: _ => "");
        log.WriteLine($"iris with a categorical number column: largest probability difference from predict {worst:E2}");
        Directory.Delete(dir, recursive: true);
    }

    private static (string Onnx, string Predictions) TrainExportPredict(string dir, string train, string predictOn, string target, params string[] options)
    {
        var model = Path.Combine(dir, "model.safetensors");
        var onnx = Path.Combine(dir, "model.onnx");
        var predictions = Path.Combine(dir, "predictions.csv");
        var r = RunBackprop(["train", train, "--target", target, "--epochs", "60", "--hidden", "16", "--out", model, "--json", .. options]);
        Assert.True(r.ExitCode == 0, r.Error);
        r = RunBackprop("export", model, "--onnx", onnx);
        Assert.True(r.ExitCode == 0, r.Error);
        r = RunBackprop("predict", model, predictOn, "--out", predictions);
        Assert.True(r.ExitCode == 0, r.Error);
        return (onnx, predictions);
    }

    /// <summary>
    /// Feeds every row of <paramref name="data"/> to the ONNX file in the documented layout (numeric
    /// columns in 'features' with NaN for missing; each categorical column as its own input, a missing
    /// text cell spelled as <paramref name="missingText"/> gives for the row) and compares with predict.
    /// </summary>
    private static double CompareClassifier(string onnx, string data, string predictions, Func<int, string> missingText)
    {
        using var session = new InferenceSession(onnx);
        var meta = session.ModelMetadata.CustomMetadataMap;
        var numeric = JsonSerializer.Deserialize<string[]>(meta["feature_names"])!;
        var categorical = JsonSerializer.Deserialize<Dictionary<string, string[]>>(meta["categorical_inputs"])!;
        var labels = JsonSerializer.Deserialize<string[]>(meta["class_labels"])!;
        var table = DataTable.Load(data);
        int n = table.Rows;

        var inputs = new List<NamedOnnxValue>();
        if (numeric.Length > 0)
        {
            var features = new float[n * numeric.Length];
            for (int j = 0; j < numeric.Length; j++)
            {
                var column = table.Find(numeric[j])!;
                for (int i = 0; i < n; i++) features[i * numeric.Length + j] = (float)column.Number(i);
            }
            inputs.Add(NamedOnnxValue.CreateFromTensor("features", new DenseTensor<float>(features, [n, numeric.Length])));
        }
        foreach (var name in categorical.Keys)
        {
            var column = table.Find(name)!;
            if (session.InputMetadata[name].ElementDataType == TensorElementType.Float)
                inputs.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(Enumerable.Range(0, n).Select(i => (float)column.Number(i)).ToArray(), [n, 1])));
            else
                inputs.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<string>(Enumerable.Range(0, n).Select(i => column.Text(i) ?? missingText(i)).ToArray(), [n, 1])));
        }
        using var results = session.Run(inputs);
        var outputs = results.ToDictionary(r => r.Name);
        var probabilities = outputs["probabilities"].AsTensor<float>().ToArray();
        var label = outputs["label"].AsTensor<string>().ToArray();

        var expected = DataTable.Load(predictions);
        Assert.Equal(n, expected.Rows);
        int k = labels.Length;
        double worst = 0;
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < k; c++)
            {
                double p = expected.Find("p_" + labels[c])!.Number(i);
                double error = Math.Abs(probabilities[i * k + c] - p);
                worst = Math.Max(worst, error);
                Assert.True(error <= Tolerance, $"row {i}, class {labels[c]}: ONNX Runtime {probabilities[i * k + c]}, predict {p}");
            }
        }
        var predictedLabels = expected.Columns.First(c => !c.Name.StartsWith("p_", StringComparison.Ordinal));
        int agree = Enumerable.Range(0, n).Count(i => predictedLabels.Text(i) == label[i]);
        Assert.True(agree >= n - 1, $"labels agree on {agree} of {n} rows");
        Assert.True(label.Distinct().Count() > 1, "a trained classifier should predict more than one class on its own data");
        return worst;
    }
}
