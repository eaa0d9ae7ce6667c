using System.Diagnostics;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>One rank's view of a data-parallel benchmark run.</summary>
public sealed record DistributedBenchResult(
    string Workload, int Ranks, int Epochs, int Steps, double Seconds, double SamplesPerSecond,
    double MillisecondsPerStep, double AllreduceMillisecondsPerStep, int BytesPerStep, double FinalLoss)
{
    /// <summary>Compute time per step (everything but the allreduce).</summary>
    public double ComputeMillisecondsPerStep => MillisecondsPerStep - AllreduceMillisecondsPerStep;
}

/// <summary>
/// The training benchmark's loop (<see cref="TrainingBenchmark"/>: synthetic data, plain SGD lr 0.01,
/// the compiled step) run data-parallel: every rank builds the same data and weights from the seed,
/// takes its share of each global batch, and the gradients are averaged with one allreduce per step.
/// </summary>
public static class DistributedBenchmark
{
    public static DistributedBenchResult Run(BenchWorkload workload, int epochs, ICommunicator comm, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(workload);
        if (epochs < 1) throw new BackpropException($"At least one timed epoch is needed; got {epochs}.");
        if (workload.Network != BenchNetwork.Mlp)
            throw new BackpropException($"The distributed benchmark runs the compiled MLP step; workload {workload.Name} is a {workload.Network} network.");
        var rng = new Rng(seed);
        int inputs = workload.Layers[0], outputs = workload.Layers[^1];
        var features = Tensor.RandomNormal([workload.Samples, inputs], rng);
        var labels = new int[workload.Samples];
        int classes = workload.Task == TaskKind.Multiclass ? outputs : 2;
        for (int i = 0; i < labels.Length; i++) labels[i] = rng.NextInt(classes);
        var data = new TensorDataset(features, TaskHead.Targets(workload.Task, labels, [], outputs, DType.Float32));
        var model = Mlp.Create(inputs, workload.Layers[1..^1], outputs, Activation.Relu, Init.PyTorchDefault, rng);
        var sgd = new Sgd(model.NamedParameters(), 0.01);
        var parallel = new DataParallel(comm, model.Parameters().ToArray());
        parallel.BroadcastParameters();
        int share = Math.Max(1, DataParallel.Share(workload.BatchSize, 0, comm.Size).Count);
        var step = MlpTrainingStep.TryCreate(model, workload.Task, share, out var reason)
            ?? throw new BackpropException($"The compiled step does not support this network: {reason}.");
        var order = new int[workload.Samples];
        for (int i = 0; i < order.Length; i++) order[i] = i;

        double Epoch()
        {
            rng.Shuffle(order.AsSpan());
            double lossSum = 0;
            for (int start = 0; start < order.Length; start += workload.BatchSize)
            {
                int count = Math.Min(workload.BatchSize, order.Length - start);
                var (first, mine) = DataParallel.Share(count, comm.Rank, comm.Size);
                var rows = order.AsSpan(start + first, mine);
                double loss = 0;
                if (mine > 0)
                {
                    step.GatherBatch(data, rows);
                    loss = step.Step(mine);
                }
                (loss, _) = parallel.Synchronize(loss, mine, count, stop: false);
                sgd.Step();
                lossSum += loss * count;
            }
            return lossSum / order.Length;
        }

        Epoch(); // warm-up, untimed
        comm.Barrier();
        long ticksBefore = parallel.AllreduceTicks;
        long started = Stopwatch.GetTimestamp();
        double finalLoss = 0;
        for (int e = 0; e < epochs; e++) finalLoss = Epoch();
        comm.Barrier();
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        int steps = workload.Steps * epochs;
        double allreduceSeconds = (double)(parallel.AllreduceTicks - ticksBefore) / Stopwatch.Frequency;
        return new DistributedBenchResult(workload.Name, comm.Size, epochs, steps, seconds, (double)workload.Samples * epochs / seconds,
            seconds * 1000 / steps, allreduceSeconds * 1000 / steps, parallel.BufferBytes, finalLoss);
    }
}

/// <summary>
/// A cost model of one data-parallel step, fitted to measurements on one machine and used to project to
/// a cluster: step(N) = compute(B / N) + allreduce(N), with compute proportional to the rows a rank
/// processes (measured at N = 1) and a ring allreduce of S bytes taking
/// 2 (N − 1) / N · S / bandwidth + 2 (N − 1) · latency.
/// </summary>
public sealed record DistributedCostModel(double ComputeSecondsPerSample, int BatchSize, int BytesPerStep)
{
    public double StepSeconds(int nodes, double bandwidthBytesPerSecond, double latencySeconds) =>
        ComputeSecondsPerSample * Math.Ceiling((double)BatchSize / nodes) + AllreduceSeconds(nodes, bandwidthBytesPerSecond, latencySeconds);

    public double AllreduceSeconds(int nodes, double bandwidthBytesPerSecond, double latencySeconds) =>
        nodes == 1 ? 0 : 2.0 * (nodes - 1) / nodes * BytesPerStep / bandwidthBytesPerSecond + 2.0 * (nodes - 1) * latencySeconds;

    /// <summary>Throughput of N nodes over one node's.</summary>
    public double Speedup(int nodes, double bandwidthBytesPerSecond, double latencySeconds) =>
        StepSeconds(1, bandwidthBytesPerSecond, latencySeconds) / StepSeconds(nodes, bandwidthBytesPerSecond, latencySeconds);
}
