using System.Diagnostics;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Benchmarks;

/// <summary>
/// Quick timing of the parts of one compiled training step (gather, forward+backward, optimizer update) on
/// the bench workloads, for tuning without BenchmarkDotNet: `-- step-quick [small|mid|wide]`.
/// </summary>
internal static class StepQuick
{
    public static void Run(string[] args)
    {
        var w = (args.Length > 0 ? args[0] : "small") switch { "mid" => BenchWorkload.Mid, "wide" => BenchWorkload.Wide, _ => BenchWorkload.Small };
        var rng = new Rng(0);
        var x = Tensor.RandomNormal([w.Samples, w.Layers[0]], rng);
        var y = Tensor.Zeros([w.Samples, w.Layers[^1]]);
        var data = new TensorDataset(x, y);
        var model = Mlp.Create(w.Layers[0], w.Layers[1..^1], w.Layers[^1], Activation.Relu, Init.PyTorchDefault, rng);
        var sgd = new Sgd(model.NamedParameters(), 0.01);
        var step = MlpTrainingStep.TryCreate(model, w.Task, w.BatchSize, out _)!;
        var rows = Enumerable.Range(0, w.BatchSize).ToArray();
        int n = w.Name == "small" ? 200_000 : 200;
        double Time(Action a)
        {
            for (int i = 0; i < n / 10; i++) a();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < n; i++) a();
            return sw.Elapsed.TotalMicroseconds / n;
        }
        SgdProbe.Run();
        Console.WriteLine($"{w.Name}: gather {Time(() => step.GatherBatch(data, rows)):F3} µs, step {Time(() => step.Step(w.BatchSize)):F3} µs, sgd {Time(() => sgd.Step()):F3} µs");
    }
}
internal static class SgdProbe
{
    public static void Run()
    {
        var p = new float[480]; var g = new float[480];
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 1_000_000; i++) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(g, -0.01f, p, p);
        Console.WriteLine($"MultiplyAdd 480: {sw.Elapsed.TotalMicroseconds / 1e6:F3} µs");
        sw.Restart();
        for (int i = 0; i < 1_000_000; i++)
        {
            var a = p.AsSpan(); ReadOnlySpan<float> b = g;
            var lr = new System.Numerics.Vector<float>(-0.01f);
            int j = 0;
            for (; j <= a.Length - System.Numerics.Vector<float>.Count; j += System.Numerics.Vector<float>.Count)
                (new System.Numerics.Vector<float>(b.Slice(j)) * lr + new System.Numerics.Vector<float>(a.Slice(j))).CopyTo(a.Slice(j));
        }
        Console.WriteLine($"Vector loop 480: {sw.Elapsed.TotalMicroseconds / 1e6:F3} µs");
        var rng = new Random(1);
        var x1 = Enumerable.Range(0, 1000).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var y1 = Enumerable.Range(0, 1000).Select(_ => (float)rng.NextDouble() * 3).ToArray();
        var y2 = (float[])y1.Clone();
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(x1, -0.0137f, y1, y1);
        Backprop.Kernels.Axpy.MultiplyAddInPlace<float>(x1, -0.0137f, y2);
        Console.WriteLine($"bit-identical: {y1.AsSpan().SequenceEqual(y2)}");
        var q = new float[16]; var h = new float[16];
        sw.Restart();
        for (int i = 0; i < 1_000_000; i++) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(h, -0.01f, q, q);
        Console.WriteLine($"MultiplyAdd 16: {sw.Elapsed.TotalMicroseconds / 1e6:F3} µs");
    }
}
