using System.CommandLine;
using System.Globalization;
using Backprop.Functional;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary>
/// "Why not compute the derivatives during the forward pass?" answered by measurement: the cost of a
/// reverse-mode gradient, a forward-mode full gradient and a forward-gradient estimate on networks of
/// growing parameter count P, relative to one forward pass.
/// </summary>
internal static class ModesCommand
{
    public static Command Create()
    {
        var widths = new Option<string>("--widths") { Description = "Hidden widths to try; each network is INPUTS-w-w-1.", DefaultValueFactory = _ => "4,8,16,32,48" };
        var inputs = new Option<int>("--inputs") { Description = "Input features of the networks.", DefaultValueFactory = _ => 10 }.AtLeast(1);
        var batch = new Option<int>("--batch-size") { Description = "Rows in the random batch.", DefaultValueFactory = _ => 32 }.AtLeast(1);
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per measurement (the median is reported).", DefaultValueFactory = _ => 15 }.AtLeast(1);
        var plot = new Option<FileInfo?>("--plot") { Description = "Draw cost against P to this .png or .svg file." };
        var json = CliOptions.Json();
        var command = new Command("modes", "Measure reverse mode, forward mode and forward gradients side by side on networks of growing size.\n" +
            "Example: backprop modes --plot modes.png") { widths, inputs, batch, repeats, plot, json };
        command.SetAction(parse =>
        {
            var plotPath = CliOptions.OutputOf(parse.GetValue(plot));
            CliOptions.CheckOutputs([plotPath]);
            if (plotPath is not null) Plots.CheckPath(plotPath);
            if (plotPath == "-" && parse.GetValue(json)) throw new CliUsageException("--plot - and --json both want standard output; give the plot a file name.");
            int n0 = parse.GetValue(inputs), m = parse.GetValue(batch), r = parse.GetValue(repeats);
            if (n0 < 1 || m < 1 || r < 1) throw new CliUsageException("--inputs, --batch-size and --repeats must be at least 1.");
            var sizes = CliOptions.ParseHidden(parse.GetValue(widths)!);
            if (sizes.Length < 2) throw new CliUsageException("--widths: give at least two widths, e.g. 4,8,16, so growth can be measured.");
            var err = Consoles.For(parse.InvocationConfiguration.Error, true);
            // An untimed first run, so the JIT's first compilations do not land in the smallest network's numbers.
            ModeCostMeasurement.Measure([n0, sizes[0], sizes[0], 1], m, MlpLoss.MeanSquaredError, 1, seed: 1);
            var reports = new List<ModeCostReport>();
            foreach (int w in sizes)
            {
                err.WriteLine($"measuring {n0}-{w}-{w}-1 …");
                reports.Add(ModeCostMeasurement.Measure([n0, w, w, 1], m, MlpLoss.MeanSquaredError, r, seed: 1));
            }
            var conclusion = Conclude(reports);
            if (plotPath is not null) Draw(plotPath, reports);
            if (parse.GetValue(json))
            {
                var rows = reports.Select(rep => new
                {
                    layers = rep.LayerSizes,
                    parameters = rep.ParameterCount,
                    costs = rep.Costs.Select(c => new { mode = c.Mode, ms = Math.Round(c.MedianMilliseconds, 4), bytes = c.AllocatedBytes, passes = c.Passes, x_forward = Math.Round(rep.RelativeToForward(c).Time, 2) }),
                    forward_vs_reverse_max_rel_diff = rep.ForwardVsReverseMaxRelError,
                });
                parse.InvocationConfiguration.Output.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { networks = rows, conclusion }));
                return 0;
            }
            var console = plotPath == "-" ? Consoles.For(parse.InvocationConfiguration.Error, true) : Consoles.For(parse.InvocationConfiguration.Output, false);
            var table = new Table().Title($"Cost of the gradient, batch {m}, float32 (× one forward pass; median of {r})")
                .AddColumn("network").AddColumn(new TableColumn("P").RightAligned())
                .AddColumn(new TableColumn("forward ms").RightAligned())
                .AddColumn(new TableColumn("reverse").RightAligned())
                .AddColumn(new TableColumn("forward-mode full").RightAligned())
                .AddColumn(new TableColumn("forward gradient").RightAligned())
                .AddColumn(new TableColumn("memory fwd-mode").RightAligned());
            foreach (var rep in reports)
            {
                string X(int i) => rep.RelativeToForward(rep.Costs[i]).Time.ToString("F1", CultureInfo.InvariantCulture) + "×";
                table.AddRow(string.Join("-", rep.LayerSizes), rep.ParameterCount.ToString(CultureInfo.InvariantCulture),
                    rep.Costs[0].MedianMilliseconds.ToString("F3", CultureInfo.InvariantCulture), X(1), X(2), X(3),
                    rep.RelativeToForward(rep.Costs[2]).Bytes.ToString("F0", CultureInfo.InvariantCulture) + "×");
            }
            console.Write(table);
            console.WriteLine("Columns: network = layer sizes (inputs-hidden-hidden-output); P = parameters; forward ms = median time of one forward pass;");
            console.WriteLine("reverse, forward-mode full, forward gradient = time of one gradient by that mode, in forward passes (×);");
            console.WriteLine("memory fwd-mode = bytes allocated by the forward-mode full gradient, in multiples of one forward pass's allocation.");
            console.WriteLine(conclusion);
            if (plotPath is not null) console.MarkupLine($"plot written to [green]{Markup.Escape(plotPath == "-" ? "standard output" : plotPath)}[/]");
            return 0;
        });
        return command;
    }

    /// <summary>The statement the measurements support: the growth exponent of each mode's cost in P.</summary>
    internal static string Conclude(IReadOnlyList<ModeCostReport> reports)
    {
        double Slope(int mode)
        {
            var xs = reports.Select(r => Math.Log(r.ParameterCount)).ToArray();
            var ys = reports.Select(r => Math.Log(r.RelativeToForward(r.Costs[mode]).Time)).ToArray();
            double mx = xs.Average(), my = ys.Average();
            double num = xs.Zip(ys).Sum(p => (p.First - mx) * (p.Second - my));
            double den = xs.Sum(x => (x - mx) * (x - mx));
            return den == 0 ? 0 : num / den;
        }
        var reverse = reports.Select(r => r.RelativeToForward(r.Costs[1]).Time).ToArray();
        var forward = reports.Select(r => r.RelativeToForward(r.Costs[2]).Time).ToArray();
        double maxDiff = reports.Max(r => r.ForwardVsReverseMaxRelError);
        var ic = CultureInfo.InvariantCulture;
        double reverseSlope = Slope(1), forwardSlope = Slope(2);
        string reverseText = reverseSlope < 0.35
            ? string.Create(ic, $"stays a small constant multiple of one forward pass ({reverse.Min():F1}–{reverse.Max():F1}×; its ratio grows only as P^{reverseSlope:F2})")
            : string.Create(ic, $"costs {reverse.Min():F1}–{reverse.Max():F1} forward passes (its ratio grew as P^{reverseSlope:F2} in this run; on tiny networks timer noise dominates, so rerun with more --repeats)");
        string forwardText = forwardSlope > 0.7
            ? string.Create(ic, $"grows about linearly with P ({forward.Min():F0}–{forward.Max():F0}×, as P^{forwardSlope:F2}): one tangent per parameter")
            : string.Create(ic, $"costs {forward.Min():F0}–{forward.Max():F0}× (as P^{forwardSlope:F2} in this run)");
        return string.Create(ic, $"Conclusion: from P = {reports[0].ParameterCount} to {reports[^1].ParameterCount}, the reverse-mode gradient {reverseText}, ")
            + $"while the forward-mode full gradient {forwardText}. "
            + string.Create(ic, $"Both give the same gradient (max relative difference {maxDiff:E1}). ")
            + "One forward-gradient estimate costs about one JVP, but it is only an unbiased guess of the gradient whose variance grows with P.";
    }

    private static void Draw(string path, IReadOnlyList<ModeCostReport> reports)
    {
        var p = reports.Select(r => (double)r.ParameterCount).ToArray();
        PlotSeries Series(int mode, string name) => new(name, p, reports.Select(r => r.RelativeToForward(r.Costs[mode]).Time).ToArray());
        Plots.Lines(path, "Cost of one gradient, in forward passes", "parameters P (log)", "time / forward pass (log)",
            [Series(1, "reverse mode (backprop)"), Series(2, "forward mode, full gradient"), Series(3, "forward gradient (1 estimate)")],
            logX: true, logY: true);
    }
}
