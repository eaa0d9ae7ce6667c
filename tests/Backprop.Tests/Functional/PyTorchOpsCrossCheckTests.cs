using System.Diagnostics;
using System.Text.Json;
using Backprop.Tests.Autodiff;

namespace Backprop.Tests.Functional;

/// <summary>
/// A fact that needs PyTorch for /usr/bin/python3 (apt-get install -y python3-torch). Without it the
/// test is reported as skipped with the reason, never as passed.
/// </summary>
public sealed class TorchOpsFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";
    private static readonly Lazy<string?> s_missing = new(FindMissing);

    public TorchOpsFactAttribute()
    {
        if (s_missing.Value is { } reason) Skip = reason;
    }

    private static string? FindMissing()
    {
        if (!File.Exists(Python)) return $"{Python} is not installed; the PyTorch cross-check cannot run.";
        try
        {
            using var p = Process.Start(new ProcessStartInfo(Python, ["-c", "import torch"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            p.WaitForExit(120_000);
            return p.ExitCode == 0 ? null : $"{Python} cannot import torch (apt-get install -y python3-torch); the PyTorch cross-check cannot run.";
        }
        catch (Exception e)
        {
            return $"{Python} could not be started ({e.Message}).";
        }
    }
}

/// <summary>
/// The ops and losses of issue #14 against PyTorch in float64: values and the gradients of Σ w·y for
/// a random cotangent w, for every case in <see cref="Cases"/>, by tests/pytorch/crosscheck_ops.py.
/// </summary>
public class PyTorchOpsCrossCheckTests
{
    private static readonly Tensor Weight = Tensor.FromArray([0.5, 2.0, 1.0, 1.5], [4], DType.Float64);
    private static readonly Tensor RowMask = Tensor.FromArray([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0], [3, 4], DType.Float64);
    private static readonly Tensor ExponentMask = Tensor.FromArray([0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1], [3, 4], DType.Float64);
    private static readonly Tensor GatherIndex = Tensor.FromArray([3, 0, 1, 1, 2, 3], [3, 2], DType.Float64);

    private static OpInfo Case(string name, Func<Tensor[], Tensor> f, int[][] shapes, params Domain[] domains) =>
        new(name, f, shapes, domains.Length == 0 ? [Domain.Normal] : domains);

    /// <summary>Each case's name is its key in the script's FUNCTIONS table.</summary>
    public static IEnumerable<OpInfo> Cases()
    {
        yield return Case("sin", x => x[0].Sin(), [[3, 4]]);
        yield return Case("cos", x => x[0].Cos(), [[2, 3]]);
        yield return Case("sign", x => x[0].Sign(), [[5]]);
        yield return Case("rsqrt", x => x[0].Rsqrt(), [[3, 4]], Domain.Positive);
        yield return Case("maximum broadcast", x => x[0].Maximum(x[1]), [[3, 1], [1, 4]]);
        yield return Case("minimum broadcast", x => x[0].Minimum(x[1]), [[2, 3, 4], [4]]);
        yield return Case("maximum ties", x => x[0].Maximum(x[1]), [[3, 4], [3, 4]]);
        yield return Case("minimum ties", x => x[0].Minimum(x[1]), [[3, 4], [3, 4]]);
        yield return Case("pow tensor exponent", x => x[0].Pow(x[1]), [[3, 4], [4]], Domain.Positive, Domain.Normal);
        yield return Case("pow tensor exponent zeros", x => x[0].Abs().Pow((x[1] + 1.0) * ExponentMask), [[3, 4], [3, 4]], Domain.WithZeros, Domain.Positive);
        yield return Case("pow scalar 0 at zeros", x => x[0].Pow(0), [[3, 4]], Domain.WithZeros);
        yield return Case("min axis", x => x[0].Min(1), [[3, 4]]);
        yield return Case("min all", x => x[0].Min(), [[3, 4]]);
        yield return Case("argmax gather", x => x[0].Gather(1, x[0].ArgMax(1, keepDims: true)), [[3, 4]]);
        yield return Case("argmin gather", x => x[0].Gather(0, x[0].ArgMin(0, keepDims: true)), [[3, 4]]);
        yield return Case("sum axes", x => x[0].Sum([0, 2]), [[2, 3, 4]]);
        yield return Case("mean axes keepdim", x => x[0].Mean([2, 1], keepDims: true), [[2, 3, 4]]);
        yield return Case("amax axes", x => x[0].Max([0, 1]), [[2, 3, 4]]);
        yield return Case("var", x => x[0].Var(), [[3, 4]]);
        yield return Case("var axis correction 0", x => x[0].Var(1, correction: 0), [[3, 4]]);
        yield return Case("std axis correction 2 keepdim", x => x[0].Std(-1, correction: 2, keepDims: true), [[2, 5]]);
        yield return Case("norm", x => x[0].Norm(), [[3, 4]]);
        yield return Case("norm p=1 axis", x => x[0].Norm(1, 0), [[3, 4]], Domain.AwayFromZero);
        yield return Case("norm p=3 axis keepdim", x => x[0].Norm(3, 1, keepDims: true), [[3, 4]]);
        yield return Case("norm p=inf axis", x => x[0].Norm(double.PositiveInfinity, 1), [[3, 4]]);
        yield return Case("norm zero rows", x => (x[0] * RowMask).Norm(2, 1), [[3, 4]]);
        yield return Case("prod axis with zeros", x => x[0].Prod(1), [[4, 3]], Domain.WithZeros);
        yield return Case("prod axis 0 with two zeros", x => x[0].Prod(0), [[6, 2]], Domain.WithZeros);
        yield return Case("prod all", x => x[0].Prod(), [[2, 3]], Domain.AwayFromZero);
        yield return Case("cumsum", x => x[0].CumSum(1), [[3, 4]]);
        yield return Case("cumsum axis 0", x => x[0].CumSum(0), [[3, 2, 2]]);
        yield return Case("logsumexp axis 0", x => x[0].LogSumExp(0), [[3, 4]]);
        yield return Case("stack", x => TensorOps.Stack([x[0], x[1], x[0]], -1), [[2, 3], [2, 3]]);
        yield return Case("squeeze", x => x[0].Squeeze(), [[3, 1, 4, 1]]);
        yield return Case("squeeze axis", x => x[0].Squeeze(1), [[3, 1, 4]]);
        yield return Case("unsqueeze", x => x[0].Unsqueeze(-1), [[3, 4]]);
        yield return Case("flip", x => x[0].Flip(0, -1), [[2, 3, 4]]);
        yield return Case("gather", x => x[0].Gather(1, GatherIndex), [[3, 4]]);
        yield return Case("index_select", x => x[0].IndexSelect(1, [3, 0, 0, 2]), [[2, 4, 2]]);
        yield return Case("masked_fill", x => x[0].MaskedFill(RowMask, 2.5), [[3, 4]]);
        yield return Case("matmul vector-matrix", x => x[0].MatMul(x[1]), [[4], [4, 3]]);
        yield return Case("matmul matrix-vector", x => x[0].MatMul(x[1]), [[3, 4], [4]]);
        yield return Case("matmul vector-vector", x => x[0].MatMul(x[1]), [[4], [4]]);
        yield return Case("matmul vector-batched", x => x[0].MatMul(x[1]), [[4], [2, 4, 3]]);
        yield return Case("softmax large logits", x => x[0].Softmax(), [[3, 4]], Domain.LargeLogits);
        yield return Case("log_softmax large logits", x => x[0].LogSoftmax(0), [[3, 4]], Domain.LargeLogits);
        yield return Case("l1_loss", x => Losses.L1Loss(x[0], x[1]), [[3, 4], [3, 4]]);
        yield return Case("l1_loss sum", x => Losses.L1Loss(x[0], x[1], Reduction.Sum), [[3, 4], [3, 4]]);
        yield return Case("smooth_l1_loss beta 0.5", x => Losses.SmoothL1Loss(x[0], x[1], beta: 0.5), [[3, 4], [3, 4]]);
        yield return Case("smooth_l1_loss none", x => Losses.SmoothL1Loss(x[0], x[1], Reduction.None), [[3, 4], [3, 4]]);
        yield return Case("huber_loss delta 0.7", x => Losses.HuberLoss(x[0], x[1], delta: 0.7), [[3, 4], [3, 4]]);
        yield return Case("huber_loss sum", x => Losses.HuberLoss(x[0], x[1] * 3.0, Reduction.Sum, delta: 2.0), [[3, 4], [3, 4]]);
        yield return Case("nll_loss weight ignore", x => Losses.NLLLoss(x[0].LogSoftmax(1), [0, -100, 2], Weight), [[3, 4]]);
        yield return Case("nll_loss weight ignore sum", x => Losses.NLLLoss(x[0].LogSoftmax(1), [0, -100, 2], Weight, reduction: Reduction.Sum), [[3, 4]]);
        yield return Case("nll_loss none", x => Losses.NLLLoss(x[0].LogSoftmax(1), [0, 3, 2], reduction: Reduction.None), [[3, 4]]);
        yield return Case("cross_entropy", x => Losses.CrossEntropy(x[0], [3, 1, 0]), [[3, 4]]);
        yield return Case("cross_entropy weight ignore smoothing", x => Losses.CrossEntropy(x[0], [3, 1, -100], Weight, labelSmoothing: 0.1), [[3, 4]]);
        yield return Case("cross_entropy weight ignore smoothing sum", x => Losses.CrossEntropy(x[0], [3, 1, -100], Weight, reduction: Reduction.Sum, labelSmoothing: 0.1), [[3, 4]]);
        yield return Case("cross_entropy smoothing none", x => Losses.CrossEntropy(x[0], [3, 1, -100], reduction: Reduction.None, labelSmoothing: 0.3), [[3, 4]]);
        yield return Case("cross_entropy smoothing mean", x => Losses.CrossEntropy(x[0], [3, 1, -100], labelSmoothing: 0.3), [[3, 4]]);
        yield return Case("cross_entropy probabilities weight smoothing", x => Losses.CrossEntropy(x[0], x[1].Softmax(1), Weight, labelSmoothing: 0.2), [[3, 4], [3, 4]]);
        yield return Case("kl_div", x => Losses.KLDivLoss(x[0].LogSoftmax(1), x[1].Softmax(1)), [[3, 4], [3, 4]]);
        yield return Case("kl_div sum", x => Losses.KLDivLoss(x[0].LogSoftmax(1), x[1].Softmax(1), Reduction.Sum), [[3, 4], [3, 4]]);
        yield return Case("kl_div log_target none", x => Losses.KLDivLoss(x[0].LogSoftmax(1), x[1].LogSoftmax(1), Reduction.None, logTarget: true), [[3, 4], [3, 4]]);
        yield return Case("bce_with_logits pos_weight weight", x => Losses.BinaryCrossEntropyWithLogits(x[0], x[1], Weight.Slice(0, 0, 3).Reshape(3, 1), Weight), [[3, 4], [3, 4]], Domain.Normal, Domain.Probability);
        yield return Case("bce_with_logits pos_weight none", x => Losses.BinaryCrossEntropyWithLogits(x[0], x[1], null, Weight, Reduction.None), [[3, 4], [3, 4]], Domain.Normal, Domain.Probability);
    }

    private static object Json(Tensor t) => new { shape = t.Shape.ToArray(), values = t.ToDoubleArray() };

    [TorchOpsFact]
    public void OpsAndLossesAgreeWithPyTorchInFloat64()
    {
        var rng = new Rng(1414);
        var cases = new List<object>();
        ulong seed = 100;
        foreach (var c in Cases())
        {
            var x = c.SampleInputs(seed++);
            if (c.Name.EndsWith(" ties"))
            {
                // Every other element of b equal to a's: ties, where each side gets half the gradient.
                var a = x[0].ToDoubleArray();
                var b = x[1].ToDoubleArray();
                for (int i = 0; i < b.Length; i += 2) b[i] = a[i];
                x[1] = Tensor.FromArray(b, x[1].Shape.ToArray(), DType.Float64);
            }
            var y = c.Function(x);
            var w = Tensor.RandomNormal(y.Shape.ToArray(), rng, dtype: DType.Float64);
            var (_, grads) = Transforms.Vjp(c.Function, x, w);
            cases.Add(new { name = c.Name, inputs = x.Select(Json).ToArray(), w = Json(w), y = Json(y), grads = grads.Select(Json).ToArray() });
        }

        // The Hessian of a function of two inputs, as blocks ∂²f/∂xᵢ∂xⱼ.
        var hx = new[] { Tensor.RandomNormal([3], rng, dtype: DType.Float64), Tensor.RandomNormal([3, 2], rng, dtype: DType.Float64) };
        var blocks = Transforms.Hessian(xs => (xs[0].Sin().Unsqueeze(1) * xs[1] * xs[1]).Sum() + xs[0].Pow(3).Sum(), hx);
        cases.Add(new { name = "hessian blocks", inputs = hx.Select(Json).ToArray(), blocks = blocks.Select(r => r.Select(Json).ToArray()).ToArray() });

        string dir = Directory.CreateTempSubdirectory("backprop-torch-ops-").FullName;
        try
        {
            string file = Path.Combine(dir, "cases.json");
            File.WriteAllText(file, JsonSerializer.Serialize(cases));
            string script = Path.Combine(RepoRoot(), "tests", "pytorch", "crosscheck_ops.py");
            var psi = new ProcessStartInfo(TorchOpsFactAttribute.Python, [script, file]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(300_000), "crosscheck_ops.py did not finish in 5 minutes");
            Assert.True(p.ExitCode == 0, $"crosscheck_ops.py exit {p.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
            Assert.Contains($"{cases.Count} of {cases.Count} cases agree", stdout.Result);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string RepoRoot([System.Runtime.CompilerServices.CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));
}
