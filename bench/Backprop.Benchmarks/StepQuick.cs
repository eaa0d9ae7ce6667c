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
        Console.WriteLine($"{w.Name}: gather {Time(() => step.GatherBatch(data, rows)):F3} µs, step {Time(() => step.Step(w.BatchSize)):F3} µs, sgd {Time(() => sgd.Step()):F3} µs");
    }
}
