using System.CommandLine;
using System.Globalization;
using Backprop.IO;
using Backprop.Nn;
using ScottPlot;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary>
/// Gradient descent as an ODE, seen: the contour plot of a 2-D loss with the paths of SGD at several
/// learning rates, SGD with momentum, RK4 and Dormand–Prince on the gradient flow dθ/dt = −∇L(θ), and the
/// exact flow where it is known (the quadratic's closed form). Every path is a real optimizer of the
/// library stepping on the loss; the exact flow is the matrix exponential of the quadratic.
/// </summary>
internal static class FlowCommand
{
    public static Command Create()
    {
        var loss = new Option<string>("--loss") { Description = "quadratic (½ θᵀHθ, H with eigenvalues 1 and --condition, rotated 30°) or rosenbrock ((1 − x)² + 100 (y − x²)²).", DefaultValueFactory = _ => "quadratic" };
        var condition = new Option<double>("--condition") { Description = "quadratic: the condition number K = λmax/λmin of H.", DefaultValueFactory = _ => 10.0 };
        var evaluations = new Option<int?>("--evaluations") { Description = "Gradient evaluations each method may spend (an RK4 step costs 4, an SGD step 1). Default: 120 for the quadratic, 4000 for Rosenbrock." };
        var rates = new Option<string>("--rates") { Description = "SGD learning rates as multiples of 1/λmax (the largest curvature; plain SGD diverges beyond 2).", DefaultValueFactory = _ => "0.3,1.0,1.9" };
        var momentum = new Option<double>("--momentum") { Description = "Momentum of the heavy-ball path (its rate is the first of --rates).", DefaultValueFactory = _ => 0.9 };
        var rtol = new Option<double>("--rtol") { Description = "Dormand–Prince relative tolerance.", DefaultValueFactory = _ => 1e-3 };
        var plot = new Option<FileInfo>("--plot") { Description = "Where to draw the contours and paths (.png or .svg).", DefaultValueFactory = _ => new FileInfo("flow.png") };
        var json = CliOptions.Json();
        var command = new Command("flow", "Draw gradient descent as the ODE dθ/dt = −∇L(θ): a 2-D loss's contours with the paths of SGD at several learning rates, momentum, " +
            "RK4 and Dormand–Prince on the gradient flow, and the exact flow of the quadratic.\n" +
            "Example: backprop flow --condition 20 --plot flow.png   or   backprop flow --loss rosenbrock --evaluations 2000")
        {
            loss, condition, evaluations, rates, momentum, rtol, plot, json,
        };
        command.SetAction(parse =>
        {
            // The demo computes in float64 (tensors made from double arrays and its layers follow the default).
            using var float64 = Tensor.UseDefaultDType(DType.Float64);
            var surface = parse.GetValue(loss)!.ToLowerInvariant() switch
            {
                "quadratic" => Surface.Quadratic(parse.GetValue(condition)),
                "rosenbrock" => Surface.Rosenbrock(),
                var other => throw new CliUsageException($"--loss: '{other}' is not a loss; use quadratic or rosenbrock."),
            };
            int budget = parse.GetValue(evaluations) ?? (surface.Name == "rosenbrock" ? 4000 : 120);
            if (budget < 4) throw new CliUsageException("--evaluations must be at least 4 (one RK4 step).");
            var multiples = ParseRates(parse.GetValue(rates)!);
            double beta = parse.GetValue(momentum);
            if (!(beta >= 0 && beta < 1)) throw new CliUsageException("--momentum must be in [0, 1).");
            double tolerance = parse.GetValue(rtol);
            if (!(tolerance > 0)) throw new CliUsageException("--rtol must be > 0.");
            var plotPath = parse.GetValue(plot)!.FullName;
            Plots.CheckPath(plotPath);
            OutputPath.Check(plotPath);

            var paths = Run(surface, budget, multiples, beta, tolerance);
            Draw(plotPath, surface, paths);
            var ic = CultureInfo.InvariantCulture;
            if (parse.GetValue(json))
            {
                parse.InvocationConfiguration.Output.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
                {
                    loss = surface.Name,
                    paths = paths.Select(p => new
                    {
                        method = p.Name, steps = p.Points.Count - 1, gradient_evaluations = p.Evaluations, flow_time = Finite(p.FlowTime),
                        final_loss = Finite(p.FinalLoss), diverged = double.IsInfinity(p.FinalLoss), distance_to_exact_flow = Finite(p.DistanceToExact),
                    }),
                    plot = plotPath,
                }));
                return 0;
            }
            var console = Consoles.For(parse.InvocationConfiguration.Output, false);
            var table = new Table().Title(Markup.Escape($"Gradient flow on {surface.Title}"))
                .AddColumn("path").AddColumn(new TableColumn("steps").RightAligned()).AddColumn(new TableColumn("gradients").RightAligned())
                .AddColumn(new TableColumn("flow time").RightAligned()).AddColumn(new TableColumn("final loss").RightAligned());
            if (surface.ExactFlow is not null) table.AddColumn(new TableColumn("distance to exact flow").RightAligned());
            foreach (var p in paths)
            {
                var cells = new List<string>
                {
                    Markup.Escape(p.Name), (p.Points.Count - 1).ToString(ic), p.Evaluations.ToString(ic),
                    double.IsNaN(p.FlowTime) ? "—" : p.FlowTime.ToString("G4", ic), FormatLoss(p.FinalLoss, ic),
                };
                if (surface.ExactFlow is not null) cells.Add(double.IsNaN(p.DistanceToExact) ? "—" : p.DistanceToExact.ToString("E2", ic));
                table.AddRow(cells.ToArray());
            }
            console.Write(table);
            console.MarkupLine($"plot written to [green]{Markup.Escape(plotPath)}[/]");
            return 0;
        });
        return command;
    }

    /// <summary>JSON has no NaN or ∞: a quantity that does not apply (momentum's flow time) or diverged is null.</summary>
    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static string FormatLoss(double v, IFormatProvider ic) => double.IsFinite(v) ? v.ToString("G4", ic) : "diverged";

    internal static double[] ParseRates(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out result[i]) || !(result[i] > 0))
                throw new CliUsageException($"--rates: '{parts[i]}' is not a positive number; give multiples of 1/λmax such as 0.3,1.0,1.9.");
        if (result.Length == 0) throw new CliUsageException("--rates: give at least one learning rate.");
        return result;
    }

    /// <summary>A 2-D loss: its value, a tensor version for the optimizers, where to start and what to show.</summary>
    internal sealed record Surface(string Name, string Title, Func<double, double, double> Value, Func<Tensor, Tensor> Loss, double[] Start,
        double LargestCurvature, (double XMin, double XMax, double YMin, double YMax) Extent, double[] Minimum, Func<double, double[]>? ExactFlow)
    {
        public static Surface Quadratic(double condition)
        {
            if (!(condition >= 1) || !double.IsFinite(condition)) throw new CliUsageException($"--condition must be ≥ 1; got {condition}.");
            // H = R·diag(1, K)·Rᵀ with R a rotation by 30°, so the valley is not aligned with the axes.
            double angle = Math.PI / 6, c = Math.Cos(angle), s = Math.Sin(angle);
            double[] lambda = [1, condition];
            double h00 = c * c * lambda[0] + s * s * lambda[1], h01 = c * s * (lambda[0] - lambda[1]), h11 = s * s * lambda[0] + c * c * lambda[1];
            var h = Tensor.FromArray(new double[,] { { h00, h01 }, { h01, h11 } });
            double[] start = [-4, 1.5];
            double[] Exact(double t)
            {
                // θ(t) = R·diag(e^(−λt))·Rᵀ·θ₀: each eigen-direction decays at its own rate.
                double p0 = c * start[0] + s * start[1], p1 = -s * start[0] + c * start[1];
                p0 *= Math.Exp(-lambda[0] * t);
                p1 *= Math.Exp(-lambda[1] * t);
                return [c * p0 - s * p1, s * p0 + c * p1];
            }
            return new Surface("quadratic", string.Create(CultureInfo.InvariantCulture, $"a quadratic with condition number {condition:G4}"),
                (x, y) => 0.5 * (h00 * x * x + 2 * h01 * x * y + h11 * y * y),
                theta => 0.5 * (theta.MatMul(h) * theta).Sum(), start, condition, (-4.6, 1.6, -2.6, 2.6), [0, 0], Exact);
        }

        public static Surface Rosenbrock() => new("rosenbrock", "the Rosenbrock function (1 − x)² + 100 (y − x²)²",
            (x, y) => (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x),
            theta =>
            {
                var x = theta.Slice(1, 0, 1);
                var y = theta.Slice(1, 1, 1);
                return ((1.0 - x).Square() + 100.0 * (y - x.Square()).Square()).Sum();
            },
            [-1.5, 2.0],
            // The Hessian's largest eigenvalue near the start, (x, y) = (−1.5, 2): about 1200·x² − 400·y + 2 + 200.
            1200 * 2.25 - 400 * 2 + 202, (-2, 2, -1, 3), [1, 1], null);
    }

    internal sealed record FlowPath(string Name, List<double[]> Points, long Evaluations, double FlowTime, double FinalLoss, double DistanceToExact);

    internal static List<FlowPath> Run(Surface surface, int budget, double[] rateMultiples, double momentum, double rtol)
    {
        var paths = new List<FlowPath>();
        double unit = 1 / surface.LargestCurvature;
        var ic = CultureInfo.InvariantCulture;
        foreach (double m in rateMultiples)
            paths.Add(Follow(surface, string.Create(ic, $"SGD, η = {m:G3}/λmax"), p => new Sgd(p, m * unit), budget, 1, m * unit));
        paths.Add(Follow(surface, string.Create(ic, $"momentum {momentum:G2}, η = {rateMultiples[0]:G3}/λmax"), p => new Sgd(p, rateMultiples[0] * unit, momentum), budget, 1, double.NaN));
        // RK4 with the step of the largest stable-for-SGD rate given: four gradients per step.
        double rkStep = rateMultiples.Max() * unit;
        paths.Add(Follow(surface, string.Create(ic, $"RK4 on the flow, h = {rateMultiples.Max():G3}/λmax"), p => new Rk4GradientFlow(p, rkStep), budget, 4, rkStep));
        paths.Add(Follow(surface, string.Create(ic, $"Dormand–Prince 5(4), rtol = {rtol:G2}"), p => new DormandPrince54(p, unit, rtol, rtol * 1e-3), budget, 0, double.NaN));
        if (surface.ExactFlow is { } exact)
        {
            // The exact flow over the longest flow time any solver path reached.
            double horizon = paths.Where(p => !double.IsNaN(p.FlowTime) && double.IsFinite(p.FinalLoss)).Select(p => p.FlowTime).DefaultIfEmpty(1).Max();
            var points = new List<double[]>();
            for (int i = 0; i <= 400; i++) points.Add(exact(horizon * i / 400));
            var end = points[^1];
            paths.Add(new FlowPath("exact flow θ(t) = e^(−Ht)·θ₀", points, 0, horizon, surface.Value(end[0], end[1]), 0));
        }
        return paths;
    }

    /// <summary>Runs one optimizer on the loss until the gradient budget is spent, recording θ after each step.</summary>
    private static FlowPath Follow(Surface surface, string name, Func<Tensor[], Optimizer> create, int budget, int evaluationsPerStep, double timePerStep)
    {
        var theta = Tensor.FromArray(surface.Start, 1, 2);
        theta.RequiresGrad = true;
        var optimizer = create([theta]);
        long evaluations = 0;
        Tensor Closure()
        {
            theta.ZeroGrad();
            var l = surface.Loss(theta);
            l.Backward();
            evaluations++;
            return l;
        }
        var points = new List<double[]> { new[] { theta[0, 0], theta[0, 1] } };
        while (true)
        {
            long before = evaluations;
            if (optimizer is GradientFlowOptimizer flow)
            {
                if (evaluations + (flow is DormandPrince54 ? 7 : evaluationsPerStep) > budget) break;
                try { flow.Step(Closure); }
                catch (BackpropException) { break; }
            }
            else
            {
                if (evaluations + 1 > budget) break;
                Closure();
                optimizer.Step();
            }
            double x = theta[0, 0], y = theta[0, 1];
            points.Add([x, y]);
            // A diverging path leaves the picture: stop before the numbers overflow.
            if (!double.IsFinite(x) || !double.IsFinite(y) || Math.Abs(x) + Math.Abs(y) > 1e6) break;
            if (evaluations == before) break;
        }
        double flowTime = optimizer is GradientFlowOptimizer g ? g.Time : double.IsNaN(timePerStep) ? double.NaN : timePerStep * (points.Count - 1);
        var last = points[^1];
        double final = surface.Value(last[0], last[1]);
        double distance = surface.ExactFlow is { } exact && !double.IsNaN(flowTime) && double.IsFinite(final)
            ? Distance(exact(flowTime), last) : double.NaN;
        return new FlowPath(name, points, evaluations, flowTime, double.IsFinite(final) && Math.Abs(last[0]) + Math.Abs(last[1]) <= 1e6 ? final : double.PositiveInfinity, distance);
    }

    private static double Distance(double[] a, double[] b) => Math.Sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]));

    internal static void Draw(string path, Surface surface, List<FlowPath> paths)
    {
        var plot = new Plot();
        plot.Title(Truncate($"Gradient descent as an ODE on {surface.Title}"));
        plot.XLabel("θ₁");
        plot.YLabel("θ₂");
        var (x0, x1, y0, y1) = surface.Extent;
        DrawContours(plot, surface, 120);
        var palette = new ScottPlot.Palettes.Category10();
        int colour = 0;
        // The exact flow first, wide and pale, so the solver paths that follow it stay visible on top.
        foreach (var p in paths.OrderBy(q => q.Name.StartsWith("exact", StringComparison.Ordinal) ? 0 : 1))
        {
            bool exact = p.Name.StartsWith("exact", StringComparison.Ordinal);
            // Clip to a margin around the view so diverging paths do not stretch the drawing.
            var visible = p.Points.Where(q => q[0] > x0 - 10 * (x1 - x0) && q[0] < x1 + 10 * (x1 - x0) && q[1] > y0 - 10 * (y1 - y0) && q[1] < y1 + 10 * (y1 - y0)).ToList();
            if (visible.Count == 0) continue;
            var line = plot.Add.Scatter(visible.Select(q => q[0]).ToArray(), visible.Select(q => q[1]).ToArray());
            line.LegendText = p.Name + (double.IsFinite(p.FinalLoss) ? "" : " (diverges)");
            line.Color = exact ? Colors.Black.WithAlpha(0.35) : palette.GetColor(colour++);
            line.LineWidth = exact ? 7 : 1.8f;
            // Long paths are drawn as lines (markers on thousands of steps would hide each other); each ends in a dot.
            line.MarkerSize = exact || visible.Count > 150 ? 0 : 4;
            if (!exact)
            {
                var end = plot.Add.Marker(visible[^1][0], visible[^1][1]);
                end.Color = line.Color;
                end.MarkerSize = 9;
            }
        }
        var start = plot.Add.Marker(surface.Start[0], surface.Start[1]);
        start.MarkerSize = 12;
        start.Color = Colors.Black;
        start.LegendText = "start";
        var minimum = plot.Add.Marker(surface.Minimum[0], surface.Minimum[1], MarkerShape.FilledDiamond);
        minimum.MarkerSize = 12;
        minimum.Color = Colors.Black;
        minimum.LegendText = "minimum";
        plot.Axes.SetLimits(x0, x1, y0, y1);
        plot.Axes.SquareUnits();
        plot.ShowLegend(Alignment.LowerRight);
        OdeCommand.SaveFigure(plot, path, 900, 760);
    }

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..77] + "…";

    /// <summary>
    /// Contour lines by marching squares on a grid, at levels spaced geometrically from the minimum
    /// (losses span orders of magnitude); each crossing of a cell becomes one short segment.
    /// </summary>
    private static void DrawContours(Plot plot, Surface surface, int grid)
    {
        var (x0, x1, y0, y1) = surface.Extent;
        var values = new double[grid + 1, grid + 1];
        double max = double.MinValue, min = double.MaxValue;
        for (int i = 0; i <= grid; i++)
            for (int j = 0; j <= grid; j++)
            {
                double v = surface.Value(x0 + (x1 - x0) * i / grid, y0 + (y1 - y0) * j / grid);
                values[i, j] = v;
                max = Math.Max(max, v);
                min = Math.Min(min, v);
            }
        double floor = Math.Max(min, 0) + 1e-5 * (max - min);
        const int levels = 14;
        var colormap = new ScottPlot.Colormaps.Viridis();
        Span<(double X, double Y)> crossings = stackalloc (double, double)[4];
        for (int l = 0; l < levels; l++)
        {
            double fraction = (double)l / (levels - 1);
            double level = floor * Math.Pow(max / floor, 0.3 + 0.65 * fraction);
            var color = colormap.GetColor(fraction).WithAlpha(0.8);
            for (int i = 0; i < grid; i++)
                for (int j = 0; j < grid; j++)
                {
                    int n = 0;
                    double xa = x0 + (x1 - x0) * i / grid, xb = x0 + (x1 - x0) * (i + 1) / grid;
                    double ya = y0 + (y1 - y0) * j / grid, yb = y0 + (y1 - y0) * (j + 1) / grid;
                    double v00 = values[i, j], v10 = values[i + 1, j], v01 = values[i, j + 1], v11 = values[i + 1, j + 1];
                    if ((v00 < level) != (v10 < level)) crossings[n++] = (xa + (xb - xa) * (level - v00) / (v10 - v00), ya);
                    if ((v10 < level) != (v11 < level)) crossings[n++] = (xb, ya + (yb - ya) * (level - v10) / (v11 - v10));
                    if ((v01 < level) != (v11 < level)) crossings[n++] = (xa + (xb - xa) * (level - v01) / (v11 - v01), yb);
                    if ((v00 < level) != (v01 < level)) crossings[n++] = (xa, ya + (yb - ya) * (level - v00) / (v01 - v00));
                    for (int k = 0; k + 1 < n; k += 2)
                    {
                        var segment = plot.Add.Line(crossings[k].X, crossings[k].Y, crossings[k + 1].X, crossings[k + 1].Y);
                        segment.LineColor = color;
                        segment.LineWidth = 1;
                        segment.MarkerSize = 0;
                    }
                }
        }
    }
}
