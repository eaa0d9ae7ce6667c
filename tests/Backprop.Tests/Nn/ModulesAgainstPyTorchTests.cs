using System.Diagnostics;
using Backprop.Nn;
using Backprop.Serialization;
using Backprop.Tests.Explain;

namespace Backprop.Tests.Nn;

/// <summary>
/// A fact that needs PyTorch in Debian's interpreter (apt-get install -y python3-torch python3-numpy).
/// Without it the test is reported as skipped with the reason, never as passed.
/// </summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";
    private static readonly Lazy<string?> s_missing = new(() =>
    {
        if (!File.Exists(Python)) return $"{Python} is not installed";
        try
        {
            using var p = Process.Start(new ProcessStartInfo(Python, ["-c", "import torch, numpy"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            p.WaitForExit(60_000);
            return p.ExitCode == 0 ? null : $"{Python} cannot import torch and numpy (apt-get install -y python3-torch python3-numpy)";
        }
        catch (Exception e) { return $"{Python} did not run: {e.Message}"; }
    });

    public TorchFactAttribute()
    {
        if (s_missing.Value is { } reason) Skip = reason + "; the PyTorch cross-check cannot run.";
    }
}

/// <summary>
/// Every new layer's forward values and gradients against PyTorch in float64 (tests/pytorch/crosscheck_modules.py),
/// including BatchNorm's running statistics in train and eval, Dropout's masks in distribution, Conv2d with
/// stride, padding and dilation; and state dicts moving both ways between Backprop and PyTorch.
/// </summary>
public class ModulesAgainstPyTorchTests
{
    /// <summary>The network the script builds in PyTorch as TorchNet, with the same names.</summary>
    internal sealed class CrossNet : Module
    {
        public Sequential Features { get; } = new(new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
            new Conv2d(4, 6, 3), new GELU(), new Flatten());
        public Sequential Head { get; } = new(new Linear(24, 8), new LayerNorm(8), new SiLU(), new Dropout(0.1), new Linear(8, 3));
        public override Tensor Forward(Tensor x) => Head.Forward(Features.Forward(x));
    }

    private static readonly Rng s_rng = new(2024);

    private static Tensor Randn(params int[] shape) => Tensor.RandomNormal(shape, s_rng, dtype: DType.Float64);

    private static Tensor Meta(params int[] values) => Tensor.FromArray(values.Select(v => (double)v).ToArray(), [values.Length], DType.Float64);

    /// <summary>Runs f on fresh leaves, backpropagates a random cotangent and records inputs, outputs and gradients under "case.*".</summary>
    private static void Case(Dictionary<string, Tensor> all, string name, Dictionary<string, Tensor> inputs, Func<Dictionary<string, Tensor>, Tensor> f,
        Dictionary<string, Tensor>? meta = null, string[]? constants = null)
    {
        var leaves = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Detach().Clone());
        foreach (var (k, v) in leaves)
            if (constants is null || !constants.Contains(k)) v.RequiresGrad = true;
        var y = f(leaves);
        var gy = Randn(y.Shape.ToArray());
        (y * gy).Sum().Backward();
        foreach (var (k, v) in inputs) all[$"{name}.{k}"] = v;
        foreach (var (k, v) in meta ?? []) all[$"{name}.meta.{k}"] = v;
        all[$"{name}.gy"] = gy;
        all[$"{name}.out.y"] = y.Detach();
        foreach (var (k, v) in leaves)
            if (constants is null || !constants.Contains(k)) all[$"{name}.grad.{k}"] = v.Grad ?? Tensor.ZerosLike(v);
    }

    private static Dictionary<string, Tensor> LayerCases()
    {
        var all = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Case(all, "conv2d-stride2-pad1-dil2", new() { ["x"] = Randn(2, 3, 9, 8), ["weight"] = Randn(4, 3, 3, 3), ["bias"] = Randn(4) },
            t => t["x"].Conv2d(t["weight"], t["bias"], 2, 1, 2), new() { ["stride"] = Meta(2, 2), ["padding"] = Meta(1, 1), ["dilation"] = Meta(2, 2) });
        Case(all, "conv2d-per-axis", new() { ["x"] = Randn(2, 2, 6, 9), ["weight"] = Randn(3, 2, 2, 3) },
            t => t["x"].Conv2d(t["weight"], null, (1, 2), (2, 0), (1, 2)), new() { ["stride"] = Meta(1, 2), ["padding"] = Meta(2, 0), ["dilation"] = Meta(1, 2) });
        Case(all, "conv1d", new() { ["x"] = Randn(3, 2, 11), ["weight"] = Randn(4, 2, 3), ["bias"] = Randn(4) },
            t => t["x"].Conv1d(t["weight"], t["bias"], 2, 1, 2), new() { ["stride"] = Meta(2), ["padding"] = Meta(1), ["dilation"] = Meta(2) });
        Case(all, "maxpool2d", new() { ["x"] = Randn(2, 3, 7, 7) }, t => t["x"].MaxPool2d(3, 2, 1),
            new() { ["kernel"] = Meta(3), ["stride"] = Meta(2), ["padding"] = Meta(1), ["dilation"] = Meta(1) });
        Case(all, "maxpool2d-dil2", new() { ["x"] = Randn(1, 2, 8, 8) }, t => t["x"].MaxPool2d(2, 2, 0, 2),
            new() { ["kernel"] = Meta(2), ["stride"] = Meta(2), ["padding"] = Meta(0), ["dilation"] = Meta(2) });
        Case(all, "avgpool2d", new() { ["x"] = Randn(2, 3, 7, 6) }, t => t["x"].AvgPool2d(3, 2, 1),
            new() { ["kernel"] = Meta(3), ["stride"] = Meta(2), ["padding"] = Meta(1) });
        Case(all, "layernorm", new() { ["x"] = Randn(3, 4, 5), ["weight"] = Randn(4, 5), ["bias"] = Randn(4, 5) },
            t => TensorOps.LayerNorm(t["x"], 2, t["weight"], t["bias"]));
        Case(all, "embedding", new() { ["indices"] = Tensor.FromArray([1, 4, 4, 0, 2, 4], [2, 3], DType.Float64), ["weight"] = Randn(5, 3) },
            t => TensorOps.Embedding(t["indices"], t["weight"]), constants: ["indices"]);
        // Hardtanh at its bounds (gradient 0 there, as PyTorch), ELU at 0 (gradient α).
        var special = Tensor.FromArray([-0.5, 0.75, 0.0, -3, 3, 1e-3, -1e-3, 0.2], [8], DType.Float64);
        foreach (var (kind, f) in new (string, Func<Tensor, Tensor>)[]
        {
            ("gelu", x => x.Gelu()), ("gelutanh", x => x.Gelu(true)), ("silu", x => x.Silu()), ("elu", x => x.Elu(0.7)),
            ("hardtanh", x => x.Hardtanh(-0.5, 0.75)), ("logsigmoid", x => x.LogSigmoid()), ("erf", x => x.Erf()),
        })
        {
            var x = TensorOps.Concat([Randn(40) * 3.0, special], 0);
            Case(all, kind, new() { ["x"] = x }, t => f(t["x"]));
        }
        foreach (var (name, shape) in new[] { ("batchnorm-2d", new[] { 4, 3, 5, 5 }), ("batchnorm-1d", new[] { 6, 3 }), ("batchnorm-1d-seq", new[] { 4, 3, 7 }) })
        {
            BatchNormBase layer = shape.Length == 4 ? new BatchNorm2d(3, dtype: DType.Float64) : new BatchNorm1d(3, dtype: DType.Float64);
            var w = Randn(3);
            var b = Randn(3);
            layer.Weight!.CopyFrom(w);
            layer.Bias!.CopyFrom(b);
            var x = Randn(shape) * 2.0 + 0.5;
            var x2 = Randn(shape);
            Case(all, name, new() { ["x"] = x, ["weight"] = w, ["bias"] = b, ["x2"] = x2 }, t =>
            {
                t["weight"].CopyFrom(w);
                // The layer's own parameters carry the gradient; they are read back below.
                layer.Train();
                return layer.Forward(t["x"]);
            }, constants: ["weight", "bias", "x2"]);
            all[$"{name}.grad.weight"] = layer.Weight.Grad!;
            all[$"{name}.grad.bias"] = layer.Bias.Grad!;
            all[$"{name}.out.running_mean"] = layer.RunningMean!.Clone();
            all[$"{name}.out.running_var"] = layer.RunningVar!.Clone();
            layer.Eval();
            using (Backprop.Autodiff.NoGrad()) all[$"{name}.out.eval"] = layer.Forward(x2);
        }
        return all;
    }

    [TorchFact]
    public void LayersAndStateDictsAgreeWithPyTorch()
    {
        var dir = Directory.CreateTempSubdirectory("bp-torch-");
        try
        {
            var cases = LayerCases();
            SafeTensors.Write(Path.Combine(dir.FullName, "layers.safetensors"), cases.Select(kv => new TensorEntry(kv.Key, kv.Value.ToDoubleArray(), kv.Value.Shape.ToArray())));

            // Dropout masks on ones: PyTorch's script checks the keep rate, the scale and the mean of both libraries.
            var drop = new Dictionary<string, Tensor>();
            foreach (double p in new[] { 0.1, 0.5, 0.8 })
                drop[$"p_{p.ToString(System.Globalization.CultureInfo.InvariantCulture)}"] = new Dropout(p, new Rng(11)).Forward(Tensor.Ones([200_000], DType.Float64));
            SafeTensors.Write(Path.Combine(dir.FullName, "dropout.safetensors"), drop.Select(kv => new TensorEntry(kv.Key, kv.Value.ToDoubleArray(), kv.Value.Shape.ToArray())));

            // Backprop → PyTorch: a model with moved BatchNorm statistics, saved by Module.Save.
            CrossNet mine;
            using (Tensor.UseDefaultDType(DType.Float64))
            {
                Initializers.ManualSeed(5);
                mine = new CrossNet();
            }
            mine.Train();
            for (int i = 0; i < 3; i++) mine.Forward(Randn(16, 1, 8, 8));
            mine.Eval();
            var input = Randn(5, 1, 8, 8);
            mine.Save(Path.Combine(dir.FullName, "backprop_model.safetensors"));
            SafeTensors.Write(Path.Combine(dir.FullName, "backprop_io.safetensors"),
                [new TensorEntry("input", input.ToDoubleArray(), input.Shape.ToArray()), new TensorEntry("output", mine.Forward(input).ToDoubleArray(), [5, 3])]);

            var script = Path.Combine(ExplainTestData.RepoRoot(), "tests", "pytorch", "crosscheck_modules.py");
            var psi = new ProcessStartInfo(TorchFactAttribute.Python, [script, dir.FullName]) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["OMP_NUM_THREADS"] = "1";
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(300_000), "the PyTorch script did not finish in 5 minutes");
            Assert.True(process.ExitCode == 0, $"PyTorch disagrees (exit {process.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
            var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.FullName, "report.json")));
            var checkedCases = report.RootElement.GetProperty("cases").EnumerateObject().Select(p => p.Name).ToArray();
            // Every layer case was compared, not just some.
            foreach (var name in cases.Keys.Select(k => k.Split('.')[0]).Distinct())
                Assert.Contains(name, checkedCases);
            Assert.Contains("state dict Backprop -> PyTorch", checkedCases);

            // PyTorch → Backprop: the torch model's state dict loads strictly into the same architecture.
            CrossNet theirs;
            using (Tensor.UseDefaultDType(DType.Float64)) theirs = new CrossNet();
            theirs.Load(Path.Combine(dir.FullName, "torch_model.safetensors"));
            theirs.Eval();
            var io = SafeTensors.Read(Path.Combine(dir.FullName, "torch_io.safetensors"));
            var x = Tensor.FromArray(io["input"].ToDoubleArray(), io["input"].Shape.ToArray(), DType.Float64);
            var expected = io["output"].ToDoubleArray();
            var actual = theirs.Forward(x).ToDoubleArray();
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-10);
            Assert.NotEqual(0.0, theirs.StateDict()["features.1.num_batches_tracked"].Item());
        }
        finally { dir.Delete(true); }
    }
}
