using System.Diagnostics;
using System.Globalization;
using Backprop.Data;
using Backprop.Kernels;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Benchmarks;

/// <summary>
/// Where a compiled training step's time goes: `-- step-breakdown [small|mid|wide] [threads=N] [steps=N] [threadmin=N] [serial-memory] [no-backoff]`
/// (serial-memory: the gather and the SGD update on the calling thread only).
/// <para>
/// Replays the step of <see cref="MlpTrainingStep"/> for the bench workload (ReLU hidden layers, the
/// workload's loss) as its separate kernel calls, in the step's order and on buffers of the step's sizes, so
/// that every call sees the caches as it does inside a real step, and takes a timestamp between calls. Each
/// part's figure is its median over the steps. The real step (gather + <see cref="MlpTrainingStep.Step"/> +
/// SGD) is timed in the same loop, alternating with the replay, to show that the parts add up to it.
/// </para>
/// <para>
/// For every GEMM it prints the shape as m×n×k with the transpose flags (op(A) is m×k, op(B) k×n), µs,
/// GFLOP/s, and "pack": the time one thread takes to pack op(A) and op(B) once each (GemmDriver.PackA/PackB
/// on the same operands, best of several), an estimate of the packing inside the call (a threaded call
/// packs the shared operand once per thread, so it packs somewhat more than this).
/// </para>
/// </summary>
internal static unsafe class StepBreakdown
{
    private sealed record Part(string Name, string Shape, double Flops, Action Run, double PackMicroseconds = 0);

    public static void Run(string[] args)
    {
        var w = BenchWorkload.Mid;
        int steps = 400;
        foreach (string arg in args)
        {
            string[] kv = arg.Split('=', 2);
            switch (kv[0])
            {
                case "small": w = BenchWorkload.Small; break;
                case "mid": w = BenchWorkload.Mid; break;
                case "wide": w = BenchWorkload.Wide; break;
                case "threads": Backprop.Kernels.Gemm.MaxThreads = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "steps": steps = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "threadmin": Backprop.Kernels.Gemm.ThreadMinWork = long.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "no-backoff": GemmThreads.Backoff = false; break;
                case "serial-memory": (Axpy.ParallelMinLength, RowGather.ParallelMinElements) = (int.MaxValue, int.MaxValue); break;
                default: throw new ArgumentException($"step-breakdown: unknown option '{arg}'.");
            }
        }
        if (w.Name == "small") steps = Math.Max(steps, 20_000);

        var rng = new Rng(0);
        int[] widths = w.Layers;
        int layers = widths.Length - 1, m = w.BatchSize;
        var x = Tensor.RandomNormal([w.Samples, widths[0]], rng);
        var labels = new int[w.Samples];
        for (int i = 0; i < labels.Length; i++) labels[i] = rng.NextInt(w.Task == TaskKind.Multiclass ? widths[^1] : 2);
        var y = TaskHead.Targets(w.Task, labels, [], widths[^1], DType.Float32);
        var data = new TensorDataset(x, y);
        var model = Mlp.Create(widths[0], widths[1..^1], widths[^1], Activation.Relu, Init.PyTorchDefault, rng);
        var sgd = new Sgd(model.NamedParameters(), 0.01);
        var step = MlpTrainingStep.TryCreate(model, w.Task, m, out _)!;
        var order = Enumerable.Range(0, w.Samples).ToArray();
        rng.Shuffle(order.AsSpan());
        var linears = model.Layers.OfType<Linear>().ToArray();

        // The replay's buffers, as StepCore allocates them (ReLU needs no separate pre-activation).
        var xb = new AlignedBuffer<float>(m * widths[0]);
        var yb = new AlignedBuffer<float>(m * widths[^1]);
        var act = new AlignedBuffer<float>[layers];
        var grad = new AlignedBuffer<float>[layers];
        var wt = new AlignedBuffer<float>?[layers];
        for (int l = 0; l < layers; l++)
        {
            act[l] = new AlignedBuffer<float>(m * widths[l + 1]);
            grad[l] = new AlignedBuffer<float>(m * widths[l + 1]);
            if (FusedLinear.PrefersTransposedWeights(m, widths[l], widths[l + 1])) wt[l] = new AlignedBuffer<float>(widths[l] * widths[l + 1]);
        }
        var dW = linears.Select(l => new float[l.Weight.Length]).ToArray();
        var dB = linears.Select(l => new float[l.OutFeatures]).ToArray();
        step.GatherBatch(data, order.AsSpan(0, m));
        x.Span<float>().Slice(0, m * widths[0]).CopyTo(xb.Span);
        y.Span<float>().Slice(0, m * widths[^1]).CopyTo(yb.Span);

        // Each step gathers the next m rows of the shuffled order, as an epoch does, so the gather reads rows
        // that are not in cache (for mid, 60,000 rows of 3 KiB: 188 MB).
        int batches = w.Samples / m, next = 0;
        ReadOnlySpan<int> NextRows() => order.AsSpan(next++ % batches * m, m);
        var parts = new List<Part>();
        parts.Add(new Part("gather (shuffled rows)", $"{m} rows × {widths[0]}", 0, () => step.GatherBatch(data, NextRows())));
        for (int l = 0; l < layers; l++)
        {
            int L = l, inF = widths[l], outF = widths[l + 1];
            var input = l == 0 ? xb : act[l - 1];
            bool relu = l < layers - 1;
            if (wt[l] is { } t)
            {
                parts.Add(new Part($"F{l + 1} transpose W", $"{outF}×{inF}", 0, () => FusedLinear.Transpose<float>(linears[L].Weight.Span<float>(), t.Span, outF, inF)));
                parts.Add(GemmPart($"F{l + 1} z = x·W'", false, false, m, outF, inF, () => input.Span, inF, () => t.Span, outF, () => act[L].Span, outF));
            }
            else
                parts.Add(GemmPart($"F{l + 1} z = x·Wᵀ", false, true, m, outF, inF, () => input.Span, inF, () => linears[L].Weight.Span<float>(), inF, () => act[L].Span, outF));
            parts.Add(new Part($"F{l + 1} bias{(relu ? "+relu" : "")}", $"{m}×{outF}", 0,
                () => FusedLinear.BiasRelu<float>(act[L].Span, act[L].Span, linears[L].Bias!.Span<float>(), m, outF, relu)));
        }
        int outputs = widths[^1];
        parts.Add(new Part("loss", $"{m}×{outputs}", 0, () =>
        {
            if (w.Task == TaskKind.Multiclass)
                FusedLosses.SoftmaxCrossEntropyForwardBackward<float>(grad[layers - 1].Span, act[layers - 1].Span, yb.Span, m, outputs);
            else
                FusedLosses.BinaryCrossEntropyWithLogitsForwardBackward<float>(grad[layers - 1].Span, act[layers - 1].Span, yb.Span, m * outputs);
        }));
        for (int l = layers - 1; l >= 0; l--)
        {
            int L = l, inF = widths[l], outF = widths[l + 1];
            var input = l == 0 ? xb : act[l - 1];
            if (l < layers - 1)
                parts.Add(new Part($"B{l + 1} relu'", $"{m}×{outF}", 0, () => ReluActivation.Backward<float>(grad[L].Span, act[L].Span, act[L].Span, 0f)));
            if (wt[l] is { } t)
            {
                parts.Add(GemmPart($"B{l + 1} dW' = xᵀ·dz", true, false, inF, outF, m, () => input.Span, inF, () => grad[L].Span, outF, () => t.Span, outF));
                parts.Add(new Part($"B{l + 1} transpose dW", $"{inF}×{outF}", 0, () => FusedLinear.Transpose<float>(t.Span, dW[L], inF, outF)));
            }
            else
                parts.Add(GemmPart($"B{l + 1} dW = dzᵀ·x", true, false, outF, inF, m, () => grad[L].Span, outF, () => input.Span, inF, () => dW[L], inF));
            parts.Add(new Part($"B{l + 1} db", $"{m}×{outF}", 0, () => FusedLinear.SumRows<float>(grad[L].Span, dB[L], m, outF)));
            if (l > 0)
                parts.Add(GemmPart($"B{l + 1} dx = dz·W", false, false, m, inF, outF, () => grad[L].Span, outF, () => linears[L].Weight.Span<float>(), inF, () => grad[L - 1].Span, inF));
        }
        parts.Add(new Part("sgd", $"{linears.Sum(l => l.Weight.Length + l.OutFeatures):N0} parameters", 0, () => sgd.Step()));

        // Timing: alternate one replayed step (timestamps between parts) with one real step.
        var ticks = new long[parts.Count][];
        for (int p = 0; p < parts.Count; p++) ticks[p] = new long[steps];
        var real = new long[steps];
        void RealStep() { step.GatherBatch(data, NextRows()); step.Step(m); sgd.Step(); }
        for (int s = 0; s < Math.Max(20, steps / 10); s++) { foreach (var part in parts) part.Run(); RealStep(); }
        for (int s = 0; s < steps; s++)
        {
            long t = Stopwatch.GetTimestamp();
            for (int p = 0; p < parts.Count; p++)
            {
                parts[p].Run();
                long now = Stopwatch.GetTimestamp();
                ticks[p][s] = now - t;
                t = now;
            }
            RealStep();
            real[s] = Stopwatch.GetTimestamp() - t;
        }

        double Us(long tick) => tick * 1e6 / Stopwatch.Frequency;
        double Median(long[] v) { var c = (long[])v.Clone(); Array.Sort(c); return Us(c[c.Length / 2]); }
        double[] med = ticks.Select(Median).ToArray();
        double sum = med.Sum(), realMed = Median(real);
        var ic = CultureInfo.InvariantCulture;
        Console.WriteLine($"{w.Name} ({string.Join("-", widths)}, batch {m}), float32, {Math.Min(Gemm.MaxThreads, Environment.ProcessorCount)} GEMM thread(s), " +
                          $"ThreadMinWork {Gemm.ThreadMinWork:N0}, median of {steps} steps");
        Console.WriteLine($"{"part",-22} {"shape (m×n×k, op)",-24} {"µs",9} {"share",6} {"GFLOP/s",8} {"pack µs",8}");
        for (int p = 0; p < parts.Count; p++)
        {
            var part = parts[p];
            string gflops = part.Flops > 0 ? (part.Flops / med[p] / 1e3).ToString("F1", ic) : "";
            string pack = part.PackMicroseconds > 0 ? part.PackMicroseconds.ToString("F1", ic) : "";
            Console.WriteLine($"{part.Name,-22} {part.Shape,-24} {med[p],9:F2} {med[p] / sum,6:P0} {gflops,8} {pack,8}");
        }
        double flops = parts.Sum(p => p.Flops);
        double gemm = parts.Select((p, i) => p.Flops > 0 ? med[i] : 0).Sum();
        Console.WriteLine($"{"GEMMs",-22} {"",-24} {gemm,9:F2} {gemm / sum,6:P0} {flops / gemm / 1e3,8:F1}");
        Console.WriteLine($"{"sum of parts",-22} {"",-24} {sum,9:F2} {"",6} {flops / sum / 1e3,8:F1}");
        Console.WriteLine($"{"real step (gather+step+sgd)",-47} {realMed,9:F2} {"",6} {flops / realMed / 1e3,8:F1}   → {m / realMed * 1e6:N0} samples/s");
        var sorted = real.Select(Us).OrderBy(v => v).ToArray();
        double mean = sorted.Average();
        Console.WriteLine($"{"real step: mean, 90th, 99th percentile, max",-47} {mean,9:F2} {sorted[steps * 9 / 10],9:F2} {sorted[steps * 99 / 100],9:F2} {sorted[^1],9:F2}   (mean → {m / mean * 1e6:N0} samples/s)");
        const int segment = 100;
        if (steps >= 2 * segment)
            Console.WriteLine($"real step, mean µs per {segment} steps in order: " + string.Join(" ", Enumerable.Range(0, steps / segment)
                .Select(i => real.Skip(i * segment).Take(segment).Select(Us).Average().ToString("F0", ic))));
        Console.WriteLine($"threaded calls: workers took {(double)GemmThreads.WorkerChunks / Math.Max(1, GemmThreads.TotalChunks):P0} of {GemmThreads.TotalChunks:N0} chunks; back-offs to one thread: {GemmThreads.Backoffs}");
    }

    /// <summary>A GEMM part: C = op(A)·op(B) (alpha 1, beta 0) on the given buffers, with its one-thread packing time.</summary>
    private static Part GemmPart(string name, bool ta, bool tb, int m, int n, int k,
        Func<Span<float>> a, int lda, Func<Span<float>> b, int ldb, Func<Span<float>> c, int ldc)
    {
        string shape = $"{m}×{n}×{k} {(ta ? "T" : "N")}{(tb ? "T" : "N")}";
        return new Part(name, shape, 2.0 * m * n * k,
            () => Backprop.Kernels.Gemm.MultiplyCore(ta, tb, m, n, k, 1f, a(), lda, b(), ldb, 0f, c(), ldc),
            PackTime(ta, tb, m, n, k, a().ToArray(), lda, b().ToArray(), ldb));
    }

    /// <summary>Best time (µs) for one thread to pack all of op(A) and op(B) once, blocked as the driver blocks them.</summary>
    private static double PackTime(bool ta, bool tb, int m, int n, int k, float[] a, int lda, float[] b, int ldb)
    {
        int mr = Avx512Kernel<float>.MR, nr = Avx512Kernel<float>.NR;
        if (!Avx512Kernel<float>.IsSupported) { mr = Avx2Kernel<float>.MR; nr = Avx2Kernel<float>.NR; }
        nint rsA = ta ? 1 : lda, csA = ta ? lda : 1, rsB = tb ? 1 : ldb, csB = tb ? ldb : 1;
        int kBlocks = (k + GemmDriver.KC - 1) / GemmDriver.KC, kcMax = (k + kBlocks - 1) / kBlocks;
        var dstA = new float[((m + mr - 1) / mr * mr) * kcMax + 16];
        var dstB = new float[((n + nr - 1) / nr * nr) * kcMax + 16];
        double best = double.MaxValue;
        fixed (float* pa = a, pb = b, da = dstA, db = dstB)
        {
            for (int rep = 0; rep < 50; rep++)
            {
                long t = Stopwatch.GetTimestamp();
                for (int pc = 0; pc < k; pc += kcMax)
                {
                    int kc = Math.Min(kcMax, k - pc);
                    GemmDriver.PackA(da, pa + pc * csA, rsA, csA, m, kc, mr);
                    GemmDriver.PackB(db, pb + pc * rsB, rsB, csB, kc, n, nr);
                }
                best = Math.Min(best, (Stopwatch.GetTimestamp() - t) * 1e6 / Stopwatch.Frequency);
            }
        }
        return best;
    }
}
