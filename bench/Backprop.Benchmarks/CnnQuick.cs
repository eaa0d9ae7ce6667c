using System.Diagnostics;
using System.Globalization;
using Backprop.Data;
using Backprop.Kernels;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Benchmarks;

/// <summary>
/// Where a step of the cnn bench workload goes: `-- cnn-quick [rounds]` times every layer's forward and
/// backward on the define-by-run engine (batch 64, the bench's LeNet), the loss, the SGD update and a whole
/// step, best of a few rounds each, one tensor-pool scope per timed call as the bench has one per step.
/// A layer's backward time is (forward + Backward(gy)) − forward.
/// `-- cnn-quick [rounds] cpu` reports the calling thread's CPU time instead of wall-clock time: on a shared
/// machine the wall clock counts the time other processes hold the core; the CPU time with one GEMM thread
/// (`threads=1`) is the steadier measure of a kernel.
/// </summary>
internal static partial class CnnQuick
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec time);

    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private const int ThreadCpuClock = 3;   // CLOCK_THREAD_CPUTIME_ID

    private static double ThreadCpuMicroseconds()
    {
        ClockGetTime(ThreadCpuClock, out var t);
        return t.Seconds * 1e6 + t.Nanoseconds / 1e3;
    }

    public static void Run(string[] args)
    {
        int rounds = args.Length > 0 && int.TryParse(args[0], CultureInfo.InvariantCulture, out int r0) ? r0 : 5;
        bool cpu = args.Contains("cpu");
        foreach (var a in args)
        {
            if (a.StartsWith("threads=", StringComparison.Ordinal)) Kernels.Gemm.MaxThreads = int.Parse(a[8..], CultureInfo.InvariantCulture);
            if (a.StartsWith("budget=", StringComparison.Ordinal)) Convolution.ColumnBudget = int.Parse(a[7..], CultureInfo.InvariantCulture);
        }
        bool kernelsOnly = args.Contains("kernels");
        const int batch = 64;
        var rng = new Rng(0);
        var model = TrainingBenchmark.LeNet(rng);
        var sgd = new Sgd(model.NamedParameters(), 0.01);
        var x = Tensor.RandomNormal([batch, 1, 28, 28], rng);
        var labels = new int[batch];
        for (int i = 0; i < batch; i++) labels[i] = rng.NextInt(10);
        var y = TaskHead.Targets(TaskKind.Multiclass, labels, [], 10, DType.Float32);
        var layers = model.Children().ToArray();

        // Each layer's input, as a leaf that needs a gradient (except the image).
        var inputs = new Tensor[layers.Length + 1];
        inputs[0] = x;
        using (Autodiff.NoGrad())
            for (int i = 0; i < layers.Length; i++) inputs[i + 1] = layers[i].Forward(inputs[i]).Detach();
        for (int i = 1; i < inputs.Length; i++) inputs[i].RequiresGrad = true;

        int iterations = 100;
        double Time(Action action)
        {
            for (int i = 0; i < iterations / 10 + 1; i++)
                using (TensorPool.BeginScope()) action();
            double best = double.MaxValue;
            for (int r = 0; r < rounds; r++)
            {
                long start = Stopwatch.GetTimestamp();
                double cpuStart = ThreadCpuMicroseconds();
                // One pool scope per call, as the bench runs one per step.
                for (int i = 0; i < iterations; i++)
                    using (TensorPool.BeginScope()) action();
                double elapsed = cpu ? ThreadCpuMicroseconds() - cpuStart : Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                best = Math.Min(best, elapsed / iterations);
            }
            return best;
        }

        if (kernelsOnly)
        {
            ConvKernels(rounds, batch, rng, Time);
            return;
        }
        double totalForward = 0, totalBackward = 0;
        Console.WriteLine($"cnn step parts, batch {batch}, {Kernels.Gemm.MaxThreads} GEMM thread(s), best of {rounds} × {iterations}, µs of {(cpu ? "this thread's CPU time" : "wall-clock time")}:");
        for (int i = 0; i < layers.Length; i++)
        {
            var layer = layers[i];
            var input = inputs[i];
            var gy = Tensor.OnesLike(inputs[i + 1]);
            double forward;
            using (Autodiff.NoGrad()) forward = Time(() => layer.Forward(input));
            double both = Time(() =>
            {
                var o = layer.Forward(input);
                o.Backward(gy);
                input.ZeroGrad(setToNone: false);
                foreach (var p in layer.Parameters()) p.ZeroGrad(setToNone: false);
            });
            totalForward += forward;
            totalBackward += both - forward;
            Console.WriteLine($"  {i,2} {layer.GetType().Name,-10} {ShapeText(input.Dims),-16} → {ShapeText(inputs[i + 1].Dims),-16} forward {forward,8:F1}  backward {both - forward,8:F1}");
        }
        var logits = inputs[^1];
        double lossForward;
        using (Autodiff.NoGrad()) lossForward = Time(() => TaskHead.Loss(TaskKind.Multiclass, logits, y));
        double lossBoth = Time(() => { TaskHead.Loss(TaskKind.Multiclass, logits, y).Backward(); logits.ZeroGrad(setToNone: false); });
        Console.WriteLine($"     loss       forward {lossForward,8:F1}  backward {lossBoth - lossForward,8:F1}");
        model.ZeroGrad();
        TaskHead.Loss(TaskKind.Multiclass, model.Forward(x), y).Backward();
        double update = Time(() => { using (Autodiff.NoGrad()) sgd.Step(); });
        Console.WriteLine($"     sgd update {update,8:F1}");
        Console.WriteLine($"  sum of parts {totalForward + lossBoth + totalBackward + update,8:F1} (forward {totalForward:F1}, backward {totalBackward:F1})");
        double step = Time(() =>
        {
            sgd.ZeroGrad(setToNone: false);
            var loss = TaskHead.Loss(TaskKind.Multiclass, model.Forward(x), y);
            loss.Backward();
            sgd.Step();
            loss.Item();
        });
        Console.WriteLine($"  whole step   {step,8:F1}");

        // The bias of the first convolution: its broadcast add and the reduction of its gradient.
        {
            var conv = (Conv2d)layers[0];
            var raw = inputs[0].Conv2d(conv.Weight.Detach(), null, conv.Stride, conv.Padding, conv.Dilation);
            var bias = conv.Bias!.Detach().Reshape(1, 6, 1, 1);
            double convOnly, add, reduce, relu, mask, mul;
            using (Autodiff.NoGrad())
            {
                convOnly = Time(() => inputs[0].Conv2d(conv.Weight, null, conv.Stride, conv.Padding, conv.Dilation));
                add = Time(() => _ = raw + bias);
                reduce = Time(() => raw.SumTo([1, 6, 1, 1]));
                relu = Time(() => raw.Relu());
                mask = Time(() => TensorOps.ConstantMap<StepOperator>(raw, 0));
                var m = TensorOps.ConstantMap<StepOperator>(raw, 0);
                mul = Time(() => _ = raw * m);
            }
            Console.WriteLine($"  conv1 without bias {convOnly,8:F1}, + bias {add,8:F1}, bias gradient (SumTo) {reduce,8:F1}; relu {relu,8:F1}, relu mask {mask,8:F1}, gy·mask {mul,8:F1}");
        }

        ConvKernels(rounds, batch, rng, Time);
    }

    /// <summary>The kernels alone on the two convolutions' shapes: no engine, no allocation of outputs.</summary>
    private static void ConvKernels(int rounds, int batch, Rng rng, Func<Action, double> Time)
    {
        Console.WriteLine($"kernels, column budget {Convolution.ColumnBudget}, {Gemm.MaxThreads} GEMM thread(s), µs (GFLOP/s):");
        foreach (var g in new[] { new ConvGeometry(batch, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1), new ConvGeometry(batch, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1) })
        {
            var xs = new float[g.N * g.C * g.H * g.W];
            var ws = new float[g.O * g.K];
            var ys = new float[g.N * g.O * g.L];
            var cols = new float[g.K * g.L];
            for (int i = 0; i < xs.Length; i++) xs[i] = (float)rng.NextNormal();
            for (int i = 0; i < ws.Length; i++) ws[i] = (float)rng.NextNormal();
            for (int i = 0; i < ys.Length; i++) ys[i] = (float)rng.NextNormal();
            double flops = 2.0 * g.N * g.O * g.L * g.K;
            double im2col = Time(() => { for (int n = 0; n < g.N; n++) Convolution.Im2Col<float>(g, xs.AsSpan(n * g.C * g.H * g.W, g.C * g.H * g.W), cols); });
            double forward = Time(() => Convolution.Forward<float>(g, xs, ws, ys));
            double weight = Time(() => Convolution.TransposeWeight<float>(g, xs, ys, ws));
            double input = Time(() => Convolution.TransposeInput<float>(g, ys, ws, xs));
            var saved = new float[Convolution.SavedColumnsLength<float>(g)];
            double forwardSaving = Time(() => Convolution.Forward<float>(g, xs, ws, ys, default, saved));
            double weightSaved = Time(() => Convolution.TransposeWeight<float>(g, xs, ys, ws, saved));
            var moved = new float[ys.Length];
            double toPositions = Time(() => Convolution.BatchToPositionMajor<float>(ys, g.O, g.N, g.L, moved));
            double fromPositions = Time(() => Convolution.PositionMajorToBatch<float>(moved, g.O, g.N, g.L, ys));
            double toChannels = Time(() => Convolution.BatchToChannelMajor<float>(ys, g.O, g.N, g.L, moved));
            double bias = Time(() => Convolution.BiasGradient<float>(ys, g.N, g.O, g.L, ws.AsSpan(0, g.O)));
            Console.WriteLine($"      gy → (N·L, O) {toPositions,6:F1}, (N·L, O) → y {fromPositions,6:F1}, gy → (O, N·L) {toChannels,6:F1}, bias gradient {bias,6:F1}");
            Console.WriteLine($"  conv {g.C}→{g.O} {g.H}×{g.W}: im2col {im2col,7:F1}  forward {forward,7:F1} ({flops / forward / 1e3,5:F1})  " +
                $"weight grad {weight,7:F1} ({flops / weight / 1e3,5:F1})  input grad {input,7:F1} ({flops / input / 1e3,5:F1})\n" +
                $"      saving the columns: forward {forwardSaving,7:F1}, weight grad from them {weightSaved,7:F1}");
        }
        foreach (var (c, h) in new[] { (6, 28), (16, 10) })
        {
            var xs = new float[batch * c * h * h];
            var ys = new float[xs.Length / 4];
            var gx = new float[xs.Length];
            for (int i = 0; i < xs.Length; i++) xs[i] = (float)rng.NextNormal();
            double forward = Time(() => Pooling.MaxForward<float>(batch * c, h, h, 2, 2, 0, 1, xs, ys));
            double backward = Time(() => Pooling.MaxScatter<float>(batch * c, h, h, 2, 2, 0, 1, xs, ys, gx));
            Console.WriteLine($"  max-pool {c}×{h}×{h}: forward {forward,7:F1}  backward {backward,7:F1}");
        }
    }

    private static string ShapeText(int[] dims) => "(" + string.Join(", ", dims) + ")";
}
