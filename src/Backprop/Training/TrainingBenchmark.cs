using System.Diagnostics;
using System.Runtime.CompilerServices;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>The kind of network a benchmark workload trains.</summary>
public enum BenchNetwork
{
    /// <summary>Linear layers with ReLU between them, widths from <see cref="BenchWorkload.Layers"/>.</summary>
    Mlp,
    /// <summary>
    /// LeNet-5-like on 1×28×28 images: Conv2d(1→6, 5×5, padding 2) → ReLU → MaxPool2d(2) → Conv2d(6→16, 5×5)
    /// → ReLU → MaxPool2d(2) → Flatten (400) → Linear 400-120-84-10 with ReLU between (<see cref="TrainingBenchmark.LeNet"/>).
    /// </summary>
    LeNet,
}

/// <summary>
/// A network and data size to time training on (docs/performance.md). For an MLP, layers are the widths
/// from inputs to outputs, e.g. [784, 256, 128, 10], and hidden layers use ReLU; for the LeNet network
/// they are [pixels, classes].
/// </summary>
public sealed record BenchWorkload(string Name, int[] Layers, TaskKind Task, int BatchSize, int Samples, int DefaultEpochs,
    BenchNetwork Network = BenchNetwork.Mlp)
{
    /// <summary>30-16-1, binary (sigmoid + BCE on logits), batch 32, 569 samples: framework overhead dominates.</summary>
    public static BenchWorkload Small { get; } = new("small", [30, 16, 1], TaskKind.Binary, 32, 569, DefaultEpochs: 1000);

    /// <summary>784-256-128-10, softmax cross-entropy, batch 128, 60,000 samples.</summary>
    public static BenchWorkload Mid { get; } = new("mid", [784, 256, 128, 10], TaskKind.Multiclass, 128, 60_000, DefaultEpochs: 1);

    /// <summary>784-1024-1024-10, softmax cross-entropy, batch 256, 20,000 samples: matrix products dominate.</summary>
    public static BenchWorkload Wide { get; } = new("wide", [784, 1024, 1024, 10], TaskKind.Multiclass, 256, 20_000, DefaultEpochs: 1);

    /// <summary>
    /// LeNet-5-like CNN on 1×28×28 images, 10 classes, softmax cross-entropy, batch 64, 10,000 samples. The
    /// compiled step does not support convolutions, so it always runs on the define-by-run engine.
    /// </summary>
    public static BenchWorkload Cnn { get; } = new("cnn", [784, 10], TaskKind.Multiclass, 64, 10_000, DefaultEpochs: 1, BenchNetwork.LeNet);

    public static IReadOnlyList<BenchWorkload> All { get; } = [Small, Mid, Wide, Cnn];

    public int Steps => (Samples + BatchSize - 1) / BatchSize;

    /// <summary>A short description of the network: "784-256-128-10", or the LeNet layers.</summary>
    public string Description => Network == BenchNetwork.LeNet
        ? "LeNet-5: conv 1→6 5×5 pad 2, pool 2, conv 6→16 5×5, pool 2, 400-120-84-10"
        : string.Join("-", Layers);
}

/// <summary>The training engine a benchmark runs.</summary>
public enum BenchEngine
{
    /// <summary>The compiled step (<see cref="MlpTrainingStep"/>) with reused batch buffers, as the Trainer uses it.</summary>
    Fused,
    /// <summary>The define-by-run engine, as the Trainer runs it for models the compiled step does not cover.</summary>
    Autodiff,
}

/// <summary>
/// Timings of one workload. <paramref name="Engine"/> is the engine that ran ("fused" or "autodiff");
/// <paramref name="EngineNote"/> says why it differs from the one asked for, or is null.
/// </summary>
public sealed record BenchResult(
    string Workload, string Engine, int Threads, int Epochs, int Steps, double Seconds, double SamplesPerSecond,
    double MillisecondsPerStep, double Gflops, double AllocatedBytesPerStep, double FinalLoss, string? EngineNote = null);

/// <summary>
/// Times training as the issue defines it: synthetic data (standard normal features, uniformly random
/// labels, all from one seed), plain SGD with learning rate 0.01 and no momentum, shuffled mini-batches
/// with the last one smaller, one untimed warm-up epoch, then timed epochs. bench/pytorch_bench.py runs
/// the same loop in PyTorch.
/// </summary>
public static class TrainingBenchmark
{
    /// <summary>
    /// Times <paramref name="workload"/>. With <see cref="BenchEngine.Fused"/>, a network the compiled step
    /// does not support (the CNN) runs on the define-by-run engine instead; the result's Engine says which
    /// ran and EngineNote why.
    /// </summary>
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
        bool lenet = workload.Network == BenchNetwork.LeNet;
        if (lenet) features = features.Reshape(workload.Samples, 1, 28, 28);   // the same draws as pixels of (N, 1, 28, 28)
        var data = new TensorDataset(features, targets);
        var model = lenet ? LeNet(rng) : Mlp.Create(inputs, workload.Layers[1..^1], outputs, Activation.Relu, Init.PyTorchDefault, rng);
        var sgd = new Sgd(model.NamedParameters(), 0.01);
        var order = new int[workload.Samples];
        for (int i = 0; i < order.Length; i++) order[i] = i;

        MlpTrainingStep? step = null;
        string? engineNote = null;
        if (engine == BenchEngine.Fused)
        {
            step = MlpTrainingStep.TryCreate(model, workload.Task, workload.BatchSize, out var reason);
            if (step is null) engineNote = $"the compiled step does not support this network ({reason}), so the define-by-run engine ran";
        }
        var batches = step is null ? new Trainer.BatchBuffers(data, workload.BatchSize) : null;
        // The FLOP count is the same for both engines: the engine also skips the input's gradient.
        long flopsPerEpoch = 0;
        var counter = lenet ? null : MlpTrainingStep.TryCreate(model, workload.Task, 1, out _)!;
        for (int start = 0; start < workload.Samples; start += workload.BatchSize)
        {
            int m = Math.Min(workload.BatchSize, workload.Samples - start);
            flopsPerEpoch += counter?.FlopsPerStep(m) ?? LeNetFlopsPerStep(m);
        }

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
        return new BenchResult(workload.Name, step is not null ? "fused" : "autodiff", Math.Min(Kernels.Gemm.MaxThreads, Environment.ProcessorCount), epochs, steps, seconds,
            (double)workload.Samples * epochs / seconds, seconds * 1000 / steps, flopsPerEpoch * (double)epochs / seconds / 1e9,
            (double)allocated / steps, finalLoss, engineNote);
    }

    /// <summary>
    /// The LeNet-5-like network of the cnn workload, float32, PyTorch's default initialisation (weights and
    /// biases from U(−1/√fan_in, 1/√fan_in)) drawn from <paramref name="rng"/> layer by layer. Shapes per
    /// sample: (1, 28, 28) → conv (6, 28, 28) → pool (6, 14, 14) → conv (16, 10, 10) → pool (16, 5, 5) → 400 → 120 → 84 → 10.
    /// </summary>
    public static Sequential LeNet(Rng rng) => new(
        new Conv2d(1, 6, 5, padding: 2, rng: rng, dtype: DType.Float32), new ReLU(), new MaxPool2d(2),
        new Conv2d(6, 16, 5, rng: rng, dtype: DType.Float32), new ReLU(), new MaxPool2d(2),
        new Flatten(),
        new Linear(400, 120, rng: rng, dtype: DType.Float32), new ReLU(),
        new Linear(120, 84, rng: rng, dtype: DType.Float32), new ReLU(),
        new Linear(84, 10, rng: rng, dtype: DType.Float32));

    /// <summary>
    /// FLOPs of one LeNet training step on m samples, the convention of bench/pytorch_bench.py
    /// (cnn_flops_per_epoch) — keep the two identical. A convolution counts 2·outputs·(in_ch·kH·kW),
    /// outputs = m·out_ch·Ho·Wo, for its forward pass and again for its weight gradient, and once more for
    /// its input gradient except the first convolution's (the image needs no gradient). A linear layer
    /// counts 2·m·in·out for forward, dW and dX (the first linear's input gradient feeds the convolutions).
    /// Bias, ReLU, pooling and the loss are not counted.
    /// </summary>
    public static long LeNetFlopsPerStep(int m)
    {
        long conv1 = 2L * m * 6 * 28 * 28 * (1 * 5 * 5);
        long conv2 = 2L * m * 16 * 10 * 10 * (6 * 5 * 5);
        long linear = 2L * m * (400 * 120 + 120 * 84 + 84 * 10);
        return 2 * conv1 + 3 * conv2 + 3 * linear;
    }
}
