using System.Diagnostics;
using System.Runtime.CompilerServices;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>
/// A network and data size to time training on (docs/performance.md). Layers are the widths from
/// inputs to outputs, e.g. [784, 256, 128, 10]; hidden layers use ReLU.
/// </summary>
public sealed record BenchWorkload(string Name, int[] Layers, TaskKind Task, int BatchSize, int Samples, int DefaultEpochs)
{
    /// <summary>30-16-1, binary (sigmoid + BCE on logits), batch 32, 569 samples: framework overhead dominates.</summary>
    public static BenchWorkload Small { get; } = new("small", [30, 16, 1], TaskKind.Binary, 32, 569, DefaultEpochs: 1000);

    /// <summary>784-256-128-10, softmax cross-entropy, batch 128, 60,000 samples.</summary>
    public static BenchWorkload Mid { get; } = new("mid", [784, 256, 128, 10], TaskKind.Multiclass, 128, 60_000, DefaultEpochs: 1);

    /// <summary>784-1024-1024-10, softmax cross-entropy, batch 256, 20,000 samples: matrix products dominate.</summary>
    public static BenchWorkload Wide { get; } = new("wide", [784, 1024, 1024, 10], TaskKind.Multiclass, 256, 20_000, DefaultEpochs: 1);

    public static IReadOnlyList<BenchWorkload> All { get; } = [Small, Mid, Wide];

    public int Steps => (Samples + BatchSize - 1) / BatchSize;
}

/// <summary>The training engine a benchmark runs.</summary>
public enum BenchEngine
{
    /// <summary>The compiled step (<see cref="MlpTrainingStep"/>) with reused batch buffers, as the Trainer uses it.</summary>
    Fused,
    /// <summary>The define-by-run engine, as the Trainer runs it for models the compiled step does not cover.</summary>
    Autodiff,
}

/// <summary>Timings of one workload.</summary>
public sealed record BenchResult(
    string Workload, string Engine, int Threads, int Epochs, int Steps, double Seconds, double SamplesPerSecond,
    double MillisecondsPerStep, double Gflops, double AllocatedBytesPerStep, double FinalLoss);

/// <summary>
/// Times training as the issue defines it: synthetic data (standard normal features, uniformly random
/// labels, all from one seed), plain SGD with learning rate 0.01 and no momentum, shuffled mini-batches
/// with the last one smaller, one untimed warm-up epoch, then timed epochs. bench/pytorch_bench.py runs
/// the same loop in PyTorch.
/// </summary>
public static class TrainingBenchmark
{
    public static BenchResult Run(BenchWorkload workload, int epochs, BenchEngine engine = BenchEngine.Fused, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(workload);
        if (epochs < 1) throw new BackpropException($"At least one timed epoch is needed; got {epochs}.");
        var rng = new Rng(seed);
        int inputs = workload.Layers[0], outputs = workload.Layers[^1];
        var features = Tensor.RandomNormal([workload.Samples, inputs], rng);
        var labels = new int[workload.Samples];
        int classes = workload.Task == TaskKind.Multiclass ? outputs : 2;
        for (int i = 0; i < labels.Length; i++) labels[i] = rng.NextInt(classes);
        var targets = TaskHead.Targets(workload.Task, labels, [], outputs, DType.Float32);
        var data = new TensorDataset(features, targets);
        var model = Mlp.Create(inputs, workload.Layers[1..^1], outputs, Activation.Relu, Init.PyTorchDefault, rng);
        var sgd = new Sgd(model.NamedParameters(), 0.01);
        var order = new int[workload.Samples];
        for (int i = 0; i < order.Length; i++) order[i] = i;

        MlpTrainingStep? step = null;
        var batches = engine == BenchEngine.Autodiff ? new Trainer.BatchBuffers(data, workload.BatchSize) : null;
        if (engine == BenchEngine.Fused)
            step = MlpTrainingStep.TryCreate(model, workload.Task, workload.BatchSize, out var reason)
                ?? throw new BackpropException($"The compiled step does not support this network: {reason}.");
        // The FLOP count is the same for both engines: the engine also skips the input's gradient.
        var counter = MlpTrainingStep.TryCreate(model, workload.Task, 1, out _)!;
        long flopsPerEpoch = 0;
        for (int start = 0; start < workload.Samples; start += workload.BatchSize)
            flopsPerEpoch += counter.FlopsPerStep(Math.Min(workload.BatchSize, workload.Samples - start));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        double Epoch()
        {
            rng.Shuffle(order.AsSpan());
            double lossSum = 0;
            for (int start = 0; start < order.Length; start += workload.BatchSize)
            {
                int count = Math.Min(workload.BatchSize, order.Length - start);
                var rows = order.AsSpan(start, count);
                double loss;
                if (step is not null)
                {
                    step.GatherBatch(data, rows);
                    loss = step.Step(count);
                    sgd.Step();
                }
                else
                {
                    // The Trainer's closure path, as it runs for any module the compiled step does not cover:
                    // reused batch tensors, one tensor-pool scope per step, gradients zeroed in place.
                    var (x, y) = batches!.Gather(data, rows);
                    using var scope = TensorPool.BeginScope();
                    loss = sgd.Step(() =>
                    {
                        sgd.ZeroGrad(setToNone: false);
                        var l = TaskHead.Loss(workload.Task, model.Forward(x), y);
                        l.Backward();
                        return l;
                    })!.Item();
                }
                lossSum += loss * count;
            }
            return lossSum / order.Length;
        }

        Epoch();
        // Timestamps rather than a Stopwatch object, so that the allocation count covers the epochs alone.
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long started = Stopwatch.GetTimestamp();
        double finalLoss = 0;
        for (int e = 0; e < epochs; e++) finalLoss = Epoch();
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        int steps = workload.Steps * epochs;
        return new BenchResult(workload.Name, engine == BenchEngine.Fused ? "fused" : "autodiff", Math.Min(Kernels.Gemm.MaxThreads, Environment.ProcessorCount), epochs, steps, seconds,
            (double)workload.Samples * epochs / seconds, seconds * 1000 / steps, flopsPerEpoch * (double)epochs / seconds / 1e9,
            (double)allocated / steps, finalLoss);
    }
}
