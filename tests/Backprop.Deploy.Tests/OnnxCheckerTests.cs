using static Backprop.Deploy.Tests.DeployTestFiles;

namespace Backprop.Deploy.Tests;

/// <summary>A fact that needs Debian's python3-onnx (onnx.checker); skipped with the reason when it is missing.</summary>
public sealed class PythonOnnxFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";

    public PythonOnnxFactAttribute()
    {
        if (!File.Exists(Python) || !Directory.Exists("/usr/lib/python3/dist-packages/onnx"))
            Skip = $"{Python} cannot import onnx (apt-get install -y python3-onnx; .ci/run installs it), so onnx.checker cannot run.";
    }
}

/// <summary>The ONNX project's own checker (with shape inference) accepts every exported file.</summary>
public sealed class OnnxCheckerTests
{
    [PythonOnnxFact]
    public void OnnxCheckerAcceptsEveryKindOfExportedModel()
    {
        var dir = TempDir();
        var files = new List<string>();
        foreach (var (data, target, activation, dtype) in new[]
                 {
                     ("breast-cancer.csv", "diagnosis", "relu", "float32"),
                     ("iris.csv", "species", "leaky_relu", "float64"),
                     ("diabetes.csv", "progression", "softplus", "float32"),
                     ("iris.csv", "species", "sigmoid", "float32"),
                 })
        {
            var model = Path.Combine(dir, $"{files.Count}.safetensors");
            var onnx = Path.Combine(dir, $"{files.Count}.onnx");
            var train = RunBackprop("train", DataFile(data), "--target", target, "--hidden", "4,3", "--activation", activation, "--dtype", dtype, "--epochs", "2", "--out", model, "--json");
            Assert.True(train.ExitCode == 0, train.Error);
            var export = RunBackprop("export", model, "--onnx", onnx);
            Assert.True(export.ExitCode == 0, export.Error);
            files.Add(onnx);
        }
        const string script = """
            import sys, onnx
            for path in sys.argv[1:]:
                model = onnx.load(path)
                onnx.checker.check_model(model, full_check=True)
                assert model.opset_import[0].version >= 17, model.opset_import
                names = [o.name for o in model.graph.output]
                meta = {p.key: p.value for p in model.metadata_props}
                print(path, model.ir_version, names, meta["task"])
            """;
        var result = Run(PythonOnnxFactAttribute.Python, new[] { "-c", script }.Concat(files), dir, 120);
        Assert.True(result.ExitCode == 0, result.Error);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Contains("['label', 'probabilities', 'class_index'] binary", lines[0]);
        Assert.Contains("['prediction'] regression", lines[2]);
        Directory.Delete(dir, recursive: true);
    }
}
