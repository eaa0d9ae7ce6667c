using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Backprop.IO;
using Backprop.Nn;
using ScottPlot;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary>
/// The classic Neural ODE demonstration (Chen et al., 2018; torchdiffeq's ode_demo.py): learn the spiral
/// dynamics dy/dt = y³·A from one sampled trajectory with an <see cref="OdeBlock"/>, then draw the true and
/// learned trajectories over the learned vector field. <c>--memory-table</c> instead measures what each
/// gradient method keeps in memory and how long it takes as the step count grows.
/// </summary>
internal static class OdeCommand
{
    // torchdiffeq's demo: true_A = [[-0.1, 2.0], [-2.0, -0.1]], y0 = [2, 0], rows are states: dy/dt = (y**3) @ true_A.
    private static readonly double[,] TrueA = { { -0.1, 2.0 }, { -2.0, -0.1 } };
    private static readonly double[] TrueY0 = [2.0, 0.0];

    public static Command Create()
    {
        var iterations = new Option<int>("--iterations") { Description = "Training iterations (one batch of trajectory pieces each).", DefaultValueFactory = _ => 800 };
        var points = new Option<int>("--points") { Description = "Samples of the true trajectory on t ∈ [0, --end-time].", DefaultValueFactory = _ => 1000 };
        var endTime = new Option<double>("--end-time") { Description = "Length of the true trajectory in time.", DefaultValueFactory = _ => 25.0 };
        var batch = new Option<int>("--batch-size") { Description = "Pieces of the trajectory per batch, each starting at a random sample.", DefaultValueFactory = _ => 20 };
        var batchTime = new Option<int>("--batch-time") { Description = "Samples per piece (the piece is integrated from its first sample through the rest).", DefaultValueFactory = _ => 10 };
        var hidden = new Option<int>("--hidden") { Description = "Width of f's hidden layer: f(y) = Linear(tanh(Linear(y³))).", DefaultValueFactory = _ => 50 };
        var gradient = new Option<string>("--gradient") { Description = "adjoint (backward ODE solve, memory flat in the steps) or backprop (through the solver's steps).", DefaultValueFactory = _ => "adjoint" };
        var solver = new Option<string>("--solver") { Description = "rk4 (fixed steps, --steps per sample interval) or dopri5 (adaptive, --rtol/--atol).", DefaultValueFactory = _ => "rk4" };
        var steps = new Option<int>("--steps") { Description = "rk4: steps per interval between samples.", DefaultValueFactory = _ => 1 };
        var rtol = new Option<double>("--rtol") { Description = "dopri5: relative tolerance.", DefaultValueFactory = _ => 1e-5 };
        var atol = new Option<double>("--atol") { Description = "dopri5: absolute tolerance.", DefaultValueFactory = _ => 1e-7 };
        var lr = new Option<double>("--lr") { Description = "Adam's learning rate at the start; it decays along a cosine to 5% of this by the last iteration.", DefaultValueFactory = _ => 0.01 };
        var every = new Option<int>("--report-every") { Description = "Print a progress line (batch loss, whole-trajectory loss, evaluations per iteration) every this many iterations.", DefaultValueFactory = _ => 50 };
        var plot = new Option<FileInfo?>("--plot") { Description = "Draw the true and learned trajectories over the learned vector field (.png or .svg)." };
        var animate = new Option<FileInfo?>("--animate") { Description = "Also write an animated .gif of the learned trajectory over the true one at every --report-every iterations of training." };
        var memoryTable = new Option<bool>("--memory-table") { Description = "Instead of training: measure memory kept for backward and time, adjoint against backprop, as the rk4 step count grows; prints a Markdown table." };
        var seed = CliOptions.Seed();
        var json = CliOptions.Json();
        var command = new Command("ode", "Learn the spiral dynamics dy/dt = y³·A (A = [[-0.1, 2], [-2, -0.1]], y(0) = [2, 0]) with a neural ODE, as in Chen et al. (2018).\n" +
            "Reports the loss, the function evaluations forward and backward, and draws the trajectories and the learned vector field.\n" +
            "Example: backprop ode --plot ode.png   or   backprop ode --gradient backprop --solver dopri5")
        {
            iterations, points, endTime, batch, batchTime, hidden, gradient, solver, steps, rtol, atol, lr, every, plot, animate, memoryTable, seed, json,
        };
        command.SetAction(parse =>
        {
            // The demo computes in float64 (tensors made from double arrays and its layers follow the default).
            using var float64 = Tensor.UseDefaultDType(DType.Float64);
            var output = parse.InvocationConfiguration.Output;
            var err = Consoles.For(parse.InvocationConfiguration.Error, true);
            if (parse.GetValue(memoryTable))
            {
                var rows = MeasureMemory(new[] { 10, 20, 40, 80, 160 }, 64, parse.GetValue(seed), line => err.WriteLine(line));
                if (parse.GetValue(json)) output.WriteLine(System.Text.Json.JsonSerializer.Serialize(rows));
                else output.Write(MemoryTableMarkdown(rows));
                return 0;
            }
            var settings = new Settings(
                parse.GetValue(iterations), parse.GetValue(points), parse.GetValue(endTime), parse.GetValue(batch), parse.GetValue(batchTime),
                parse.GetValue(hidden), ParseGradient(parse.GetValue(gradient)!), ParseSolver(parse.GetValue(solver)!, parse.GetValue(steps), parse.GetValue(rtol), parse.GetValue(atol)),
                parse.GetValue(lr), parse.GetValue(every), parse.GetValue(seed));
            settings.Validate();
            var plotFile = parse.GetValue(plot);
            if (plotFile is not null)
            {
                Plots.CheckPath(plotFile.FullName);
                OutputPath.Check(plotFile.FullName);
            }
            var gifFile = parse.GetValue(animate);
            if (gifFile is not null)
            {
                if (!gifFile.Name.EndsWith(".gif", StringComparison.OrdinalIgnoreCase))
                    throw new CliUsageException($"--animate: '{gifFile.Name}' is not a .gif file name.");
                OutputPath.Check(gifFile.FullName);
            }
            var frames = gifFile is null ? null : new List<TrajectoryAnimation.Frame>();
            var result = Train(settings, line => err.WriteLine(line), frames);
            if (plotFile is not null) Draw(plotFile.FullName, result, settings);
            if (gifFile is not null)
            {
                TrajectoryAnimation.Write(gifFile.FullName, frames!, result.TrueTrajectory, PlaneExtent);
            }
            if (parse.GetValue(json))
            {
                output.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
                {
                    gradient = settings.Gradient.ToString().ToLowerInvariant(),
                    solver = settings.Solver.ToString(),
                    iterations = settings.Iterations,
                    seconds = Math.Round(result.Seconds, 3),
                    final_batch_loss = result.FinalBatchLoss,
                    trajectory_loss = result.TrajectoryLoss,
                    initial_trajectory_loss = result.InitialTrajectoryLoss,
                    forward_evaluations_per_iteration = result.ForwardEvaluationsPerIteration,
                    backward_evaluations_per_iteration = result.BackwardEvaluationsPerIteration,
                    forward_evaluations = result.Forward.Evaluations,
                    backward_evaluations = result.Backward.Evaluations,
                }));
                return 0;
            }
            var console = Consoles.For(output, false);
            var table = new Table().Title("Neural ODE on dy/dt = y³·A").AddColumn("").AddColumn(new TableColumn("value").RightAligned());
            var ic = CultureInfo.InvariantCulture;
            table.AddRow("gradient", settings.Gradient.ToString().ToLowerInvariant());
            table.AddRow("solver", Markup.Escape(settings.Solver.ToString()));
            table.AddRow("iterations", settings.Iterations.ToString(ic));
            table.AddRow("time", result.Seconds.ToString("F1", ic) + " s");
            table.AddRow("trajectory loss (mean |y − ŷ| over all samples), before → after",
                result.InitialTrajectoryLoss.ToString("F4", ic) + " → " + result.TrajectoryLoss.ToString("F4", ic));
            table.AddRow("f evaluations per iteration, forward", result.ForwardEvaluationsPerIteration.ToString("F1", ic));
            table.AddRow(settings.Gradient == OdeGradient.Adjoint ? "f evaluations per iteration, backward (adjoint solve, each with a VJP)" : "f evaluations per iteration, backward (none: VJPs of the recorded ones)",
                result.BackwardEvaluationsPerIteration.ToString("F1", ic));
            console.Write(table);
            if (plotFile is not null) console.MarkupLine($"plot written to [green]{Markup.Escape(plotFile.FullName)}[/]");
            if (gifFile is not null) console.MarkupLine($"animation of {frames!.Count} frames written to [green]{Markup.Escape(gifFile.FullName)}[/]");
            return 0;
        });
        return command;
    }

    internal sealed record Settings(int Iterations, int Points, double EndTime, int BatchSize, int BatchTime, int Hidden,
        OdeGradient Gradient, OdeSolverOptions Solver, double LearningRate, int ReportEvery, ulong Seed)
    {
        public void Validate()
        {
            if (Iterations < 1) throw new CliUsageException("--iterations must be at least 1.");
            if (Points < 3) throw new CliUsageException("--points must be at least 3.");
            if (!(EndTime > 0) || !double.IsFinite(EndTime)) throw new CliUsageException("--end-time must be a positive number.");
            if (BatchSize < 1) throw new CliUsageException("--batch-size must be at least 1.");
            if (BatchTime < 2 || BatchTime >= Points) throw new CliUsageException($"--batch-time must be between 2 and --points − 1 ({Points - 1}); got {BatchTime}.");
            if (Hidden < 1) throw new CliUsageException("--hidden must be at least 1.");
            if (!(LearningRate > 0)) throw new CliUsageException("--lr must be > 0.");
            if (ReportEvery < 1) throw new CliUsageException("--report-every must be at least 1.");
        }
    }

    internal static OdeGradient ParseGradient(string text) => text.ToLowerInvariant() switch
    {
        "adjoint" => OdeGradient.Adjoint,
        "backprop" => OdeGradient.Backprop,
        _ => throw new CliUsageException($"--gradient: '{text}' is not a method; use adjoint or backprop."),
    };

    internal static OdeSolverOptions ParseSolver(string text, int steps, double rtol, double atol)
    {
        var options = text.ToLowerInvariant() switch
        {
            "rk4" => OdeSolverOptions.Rk4(steps),
            "dopri5" => OdeSolverOptions.Dopri5(rtol, atol),
            _ => throw new CliUsageException($"--solver: '{text}' is not a solver; use rk4 or dopri5."),
        };
        if (options.Method == OdeMethod.Rk4 && steps < 1) throw new CliUsageException("--steps must be at least 1.");
        if (options.Method == OdeMethod.Dopri5 && (!(rtol > 0) || !(atol > 0))) throw new CliUsageException("--rtol and --atol must be > 0.");
        return options;
    }

    /// <summary>y ↦ y³ elementwise: the demo's f sees the cubed state, as torchdiffeq's ODEFunc does.</summary>
    private sealed class Cube : Module
    {
        public override Tensor Forward(Tensor x) => x * x * x;
        public override string ToString() => "Cube()";
    }

    /// <summary>Half the side of the phase plane drawn (the spiral starts at y = (2, 0)).</summary>
    internal const double PlaneExtent = 2.2;

    /// <summary>Trajectories are kept at the sample times (for the loss) and drawn at <see cref="DrawingFactor"/>× as many (for a smooth curve).</summary>
    private const int DrawingFactor = 8;

    internal sealed record TrainingResult(double[] Times, double[,] TrueTrajectory, double[,] LearnedTrajectory, OdeBlock Model,
        double InitialTrajectoryLoss, double TrajectoryLoss, double FinalBatchLoss, OdeStatistics Forward, OdeStatistics Backward,
        double ForwardEvaluationsPerIteration, double BackwardEvaluationsPerIteration, double Seconds);

    /// <summary>The true trajectory at the sample times, solved tightly with dopri5 (points × 2).</summary>
    internal static double[,] TrueTrajectory(double[] times)
    {
        var a = Tensor.FromArray(TrueA);
        var y = Tensor.FromArray(TrueY0, 1, 2);
        var result = new double[times.Length, 2];
        var options = OdeSolverOptions.Dopri5(1e-10, 1e-12);
        for (int i = 0; i < times.Length; i++)
        {
            if (i > 0) y = OdeSolver.Solve((_, v) => (v * v * v).MatMul(a), y, times[i - 1], times[i], options, out _);
            result[i, 0] = y[0, 0];
            result[i, 1] = y[0, 1];
        }
        return result;
    }

    internal static TrainingResult Train(Settings s, Action<string> progress, List<TrajectoryAnimation.Frame>? frames = null)
    {
        var ic = CultureInfo.InvariantCulture;
        var times = new double[s.Points];
        for (int i = 0; i < s.Points; i++) times[i] = s.EndTime * i / (s.Points - 1);
        var truth = TrueTrajectory(times);
        var truthTensor = Tensor.FromArray(truth);

        var rng = new Rng(s.Seed);
        var f = new Sequential(new Cube(), new Linear(2, s.Hidden, rng: rng, dtype: DType.Float64), new Tanh(), new Linear(s.Hidden, 2, rng: rng, dtype: DType.Float64));
        // The solver's step count is per call; the trajectory calls it once per interval between samples.
        var model = new OdeBlock(f, s.Solver, s.Gradient);
        var optimizer = new Adam(model.NamedParameters(), lr: s.LearningRate);
        var batchTimes = times.Take(s.BatchTime).ToArray();

        double initial = TrajectoryLoss(model, times, truthTensor, out _);
        progress(string.Create(ic, $"learning dy/dt = y³·A with {s.Gradient.ToString().ToLowerInvariant()} gradients and {s.Solver}: {s.Iterations} iterations of {s.BatchSize} pieces × {s.BatchTime} samples; trajectory loss {initial:F4}"));
        model.ResetStatistics();
        var clock = Stopwatch.StartNew();
        double batchLoss = double.NaN;
        var starts = new int[s.BatchSize];
        for (int iteration = 1; iteration <= s.Iterations; iteration++)
        {
            // Cosine decay to 5% of --lr: Adam's late steps then settle instead of hopping around the minimum.
            optimizer.LearningRate = s.LearningRate * (0.05 + 0.95 * 0.5 * (1 + Math.Cos(Math.PI * (iteration - 1) / s.Iterations)));
            for (int b = 0; b < s.BatchSize; b++) starts[b] = rng.NextInt(s.Points - s.BatchTime + 1);
            var y0 = Gather(truth, starts, 0);
            optimizer.ZeroGrad();
            var path = model.Trajectory(y0, batchTimes);
            Tensor loss = Tensor.Scalar(0, DType.Float64);
            for (int k = 1; k < path.Length; k++) loss = loss + (path[k] - Gather(truth, starts, k)).Abs().Mean();
            loss = loss / (path.Length - 1);
            loss.Backward();
            optimizer.Step();
            batchLoss = loss.Item();
            if (iteration % s.ReportEvery == 0 || iteration == s.Iterations)
            {
                var (fwd, bwd) = (model.ForwardStatistics, model.BackwardStatistics);
                double full = TrajectoryLoss(model, times, truthTensor, out var learnedNow);
                frames?.Add(new TrajectoryAnimation.Frame(iteration, full, learnedNow));
                progress(string.Create(ic,
                    $"iteration {iteration,5}/{s.Iterations}  batch loss {batchLoss:F4}  trajectory loss {full:F4}  f evaluations/iteration: forward {(double)fwd.Evaluations / iteration:F1}, backward {(double)bwd.Evaluations / iteration:F1}  {clock.Elapsed.TotalSeconds:F1} s"));
                RestoreStatistics(model, fwd, bwd);
            }
        }
        clock.Stop();
        var forward = model.ForwardStatistics;
        var backward = model.BackwardStatistics;
        double final = TrajectoryLoss(model, times, truthTensor, out _);
        var drawingTimes = new double[(s.Points - 1) * DrawingFactor + 1];
        for (int i = 0; i < drawingTimes.Length; i++) drawingTimes[i] = s.EndTime * i / (drawingTimes.Length - 1);
        TrajectoryLoss(model, drawingTimes, Tensor.FromArray(TrueTrajectory(drawingTimes)), out var learned);
        return new TrainingResult(drawingTimes, TrueTrajectory(drawingTimes), learned, model, initial, final, batchLoss, forward, backward,
            (double)forward.Evaluations / s.Iterations, (double)backward.Evaluations / s.Iterations, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Evaluation solves are not training cost: put the counters back as they were.</summary>
    private static void RestoreStatistics(OdeBlock model, OdeStatistics forward, OdeStatistics backward)
    {
        model.ResetStatistics();
        model.CountForward(forward);
        model.CountBackward(backward);
    }

    private static Tensor Gather(double[,] truth, int[] starts, int offset)
    {
        var values = new double[starts.Length, 2];
        for (int b = 0; b < starts.Length; b++)
        {
            values[b, 0] = truth[starts[b] + offset, 0];
            values[b, 1] = truth[starts[b] + offset, 1];
        }
        return Tensor.FromArray(values);
    }

    /// <summary>Mean |y − ŷ| over the whole trajectory integrated from y(0), and that trajectory.</summary>
    private static double TrajectoryLoss(OdeBlock model, double[] times, Tensor truth, out double[,] learned)
    {
        using (Autodiff.NoGrad())
        {
            var path = model.Trajectory(Tensor.FromArray(TrueY0, 1, 2), times);
            learned = new double[times.Length, 2];
            double sum = 0;
            for (int i = 0; i < path.Length; i++)
            {
                learned[i, 0] = path[i][0, 0];
                learned[i, 1] = path[i][0, 1];
                sum += Math.Abs(learned[i, 0] - truth[i, 0]) + Math.Abs(learned[i, 1] - truth[i, 1]);
            }
            return sum / (2 * times.Length);
        }
    }

    /// <summary>The phase plane: the learned vector field as arrows, the true trajectory and the learned one from y(0).</summary>
    internal static Plot Figure(TrainingResult r, string title)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel("y₁");
        plot.YLabel("y₂");
        const double extent = PlaneExtent;
        const int grid = 21;
        var vectors = new List<RootedCoordinateVector>();
        var points = new double[grid * grid, 2];
        for (int i = 0; i < grid; i++)
            for (int j = 0; j < grid; j++)
            {
                points[i * grid + j, 0] = -extent + 2 * extent * i / (grid - 1);
                points[i * grid + j, 1] = -extent + 2 * extent * j / (grid - 1);
            }
        Tensor field;
        using (Autodiff.NoGrad()) field = r.Model.Derivative(Tensor.FromArray(points), 0);
        double longest = 1e-12;
        for (int k = 0; k < grid * grid; k++) longest = Math.Max(longest, Math.Sqrt(field[k, 0] * field[k, 0] + field[k, 1] * field[k, 1]));
        // Arrows show direction with a length that grows slowly with speed (the field spans orders of magnitude).
        double cell = 2 * extent / (grid - 1);
        for (int k = 0; k < grid * grid; k++)
        {
            double fx = field[k, 0], fy = field[k, 1];
            double norm = Math.Sqrt(fx * fx + fy * fy);
            if (norm == 0) continue;
            double length = 0.85 * cell * Math.Pow(norm / longest, 0.3);
            vectors.Add(new RootedCoordinateVector(new Coordinates(points[k, 0], points[k, 1]),
                new System.Numerics.Vector2((float)(fx / norm * length), (float)(fy / norm * length))));
        }
        var arrows = plot.Add.VectorField(vectors);
        arrows.LegendText = "learned f(y)";
        arrows.ArrowStyle.ArrowWidth = 1;
        arrows.Colormap = null;
        arrows.ArrowStyle.LineColor = Colors.Gray.WithAlpha(0.7);
        var truth = plot.Add.ScatterLine(Column(r.TrueTrajectory, 0), Column(r.TrueTrajectory, 1));
        truth.LegendText = "true trajectory";
        truth.Color = Colors.Black;
        truth.LineWidth = 3;
        var learned = plot.Add.ScatterLine(Column(r.LearnedTrajectory, 0), Column(r.LearnedTrajectory, 1));
        learned.LegendText = "learned, from y(0) = [2, 0]";
        learned.Color = Colors.OrangeRed;
        learned.LineWidth = 2;
        learned.LinePattern = LinePattern.Dashed;
        plot.Axes.SetLimits(-extent, extent, -extent, extent);
        plot.Axes.SquareUnits();
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static double[] Column(double[,] values, int column)
    {
        var c = new double[values.GetLength(0)];
        for (int i = 0; i < c.Length; i++) c[i] = values[i, column];
        return c;
    }

    private static void Draw(string path, TrainingResult r, Settings s)
    {
        var title = string.Create(CultureInfo.InvariantCulture,
            $"Neural ODE, {s.Gradient.ToString().ToLowerInvariant()} gradient, {s.Solver}: trajectory loss {r.TrajectoryLoss:F3}");
        SaveFigure(Figure(r, title), path, 720, 700);
    }

    /// <summary>PNG or SVG by extension, written through AtomicFile.</summary>
    internal static void SaveFigure(Plot plot, string path, int width, int height)
    {
        if (path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase)) AtomicFile.WriteAllText(path, plot.GetSvgXml(width, height));
        else AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png));
    }

    internal sealed record MemoryRow(string Gradient, int Steps, long RetainedBytes, int GraphNodes, long SavedBytes, double ForwardMs, double BackwardMs,
        long ForwardEvaluations, long BackwardEvaluations);

    /// <summary>
    /// For each step count and gradient method: bytes still reachable after the forward pass (what is kept for
    /// backward: a full GC before and after, the output held), graph nodes kept, and the median time of the
    /// forward and backward passes over 5 runs. f is the demo's 2-50-2 network on a batch of <paramref name="batch"/> states.
    /// </summary>
    internal static List<MemoryRow> MeasureMemory(int[] stepCounts, int batch, ulong seed, Action<string> progress)
    {
        var rng = new Rng(seed);
        var f = new Sequential(new Linear(2, 50, rng: rng, dtype: DType.Float64), new Tanh(), new Linear(50, 2, rng: rng, dtype: DType.Float64));
        var h0 = Tensor.RandomNormal([batch, 2], rng, dtype: DType.Float64);
        var rows = new List<MemoryRow>();
        foreach (var gradient in new[] { OdeGradient.Adjoint, OdeGradient.Backprop })
            foreach (int steps in stepCounts)
            {
                progress($"measuring {gradient.ToString().ToLowerInvariant()} with rk4, {steps} steps …");
                var block = new OdeBlock(f, OdeSolverOptions.Rk4(steps), gradient);
                // Warm-up: the first pass compiles.
                block.Forward(h0).Square().Sum().Backward();
                long before = Retained();
                var loss = block.Forward(h0).Square().Sum();
                long after = Retained();
                var (nodes, saved) = GraphSize(loss);
                GC.KeepAlive(loss);
                loss.Backward();
                var forwardTimes = new List<double>();
                var backwardTimes = new List<double>();
                block.ResetStatistics();
                const int runs = 9;
                for (int run = 0; run < runs; run++)
                {
                    f.ZeroGrad();
                    // Each timed pass starts from a collected heap, so one pass's garbage is not charged to the next.
                    GC.Collect();
                    var clock = Stopwatch.StartNew();
                    var l = block.Forward(h0).Square().Sum();
                    forwardTimes.Add(clock.Elapsed.TotalMilliseconds);
                    clock.Restart();
                    l.Backward();
                    backwardTimes.Add(clock.Elapsed.TotalMilliseconds);
                }
                rows.Add(new MemoryRow(gradient.ToString().ToLowerInvariant(), steps, after - before, nodes, saved, Median(forwardTimes), Median(backwardTimes),
                    block.ForwardStatistics.Evaluations / runs, block.BackwardStatistics.Evaluations / runs));
            }
        return rows;
    }

    private static long Retained()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>Nodes of the eager graph behind <paramref name="t"/> and the bytes of the distinct tensors they keep for backward.</summary>
    internal static (int Nodes, long SavedBytes) GraphSize(Tensor t)
    {
        var seen = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var storages = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Node>();
        long bytes = 0;
        void Keep(Tensor saved)
        {
            if (storages.Add(saved.Storage)) bytes += (long)saved.Length * (saved.DType == DType.Float32 ? 4 : 8);
        }
        var root = Autodiff.AtOrBelow(t, Autodiff.EagerLevel);
        if (root.Node is { } first) { stack.Push(first); seen.Add(first); }
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            if (node.Op.VjpReadsOutput) Keep(node.Output);
            if (node.Op.VjpReadsInputs) foreach (var input in node.Primals) Keep(input);
            foreach (var input in node.Inputs)
                if (input.Node is { } child && seen.Add(child)) stack.Push(child);
        }
        return (seen.Count, bytes);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

    internal static string MemoryTableMarkdown(List<MemoryRow> rows)
    {
        var ic = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| gradient | rk4 steps | graph nodes | tensors saved for backward | heap retained after forward | forward ms | backward ms | f evaluations forward | f evaluations backward |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            sb.AppendLine(string.Create(ic,
                $"| {r.Gradient} | {r.Steps} | {r.GraphNodes} | {r.SavedBytes / 1024.0:F1} KiB | {r.RetainedBytes / 1024.0:F1} KiB | {r.ForwardMs:F2} | {r.BackwardMs:F2} | {r.ForwardEvaluations} | {r.BackwardEvaluations} |"));
        return sb.ToString();
    }
}
