using System.CommandLine;
using System.Globalization;
using System.Text;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Training;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary>
/// A TensorFlow-Playground-style first run: a synthetic 2-D set, a small network trained in seconds, and
/// its decision boundary drawn to a picture and sketched in the terminal.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = $"Which 2-D set: {string.Join(", ", Synthetic.Names)}.", DefaultValueFactory = _ => "moons" }.OneOf(Synthetic.Names);
        var samples = new Option<int>("--samples") { Description = "Number of points (at least 20).", DefaultValueFactory = _ => 400 }.AtLeast(20);
        var noise = new Option<double>("--noise") { Description = "Noise added to the points.", DefaultValueFactory = _ => 0.15 }.AtLeast(0);
        var hidden = CliOptions.Hidden();
        hidden.DefaultValueFactory = _ => "16,16";
        var activation = CliOptions.Activation();
        activation.DefaultValueFactory = _ => "tanh";
        var epochs = new Option<int>("--epochs") { Description = "Passes over the points.", DefaultValueFactory = _ => 300 }.AtLeast(1);
        var seed = CliOptions.Seed();
        var plot = new Option<FileInfo>("--plot") { Description = "Where to draw the decision boundary (.png or .svg; - for a PNG on stdout, the text then goes to stderr).", DefaultValueFactory = _ => new FileInfo("demo.png") };
        var command = new Command("demo", "Train a small network on a synthetic 2-D data set in seconds and draw its decision boundary.\n" +
            "Example: backprop demo --dataset spirals --hidden 32,32 --plot spirals.png") { dataset, samples, noise, hidden, activation, epochs, seed, plot };
        command.SetAction(parse =>
        {
            var plotPath = CliOptions.OutputOf(parse.GetValue(plot))!;
            CliOptions.CheckOutputs([plotPath]);
            Plots.CheckPath(plotPath);
            int n = parse.GetValue(samples);
            if (n < 20) throw new CliUsageException($"--samples: {n} points are too few; use at least 20.");
            ulong seedValue = parse.GetValue(seed);
            var set = Synthetic.Generate(parse.GetValue(dataset)!, n, parse.GetValue(noise), seedValue);
            var task = set.ClassCount == 2 ? TaskKind.Binary : TaskKind.Multiclass;
            var network = Mlp.Create(2, CliOptions.ParseHidden(parse.GetValue(hidden)!), TaskHead.Outputs(task, set.ClassCount),
                ActivationExtensions.Parse(parse.GetValue(activation)!), Init.Auto, new Rng(seedValue));
            var split = Split.Stratified(set.Labels, 0.2, 0.01, seedValue);
            TensorDataset Rows(int[] idx) => new(
                Tensor.FromArray(idx.SelectMany(i => new[] { set.X[2 * i], set.X[2 * i + 1] }).ToArray(), [idx.Length, 2], DType.Float32),
                TaskHead.Targets(task, idx.Select(i => set.Labels[i]).ToArray(), [], set.ClassCount, DType.Float32));
            var train = Rows([.. split.Train, .. split.Validation]);
            var test = Rows(split.Test);
            var trainer = new Trainer(network, task, new Adam(network.NamedParameters(), 0.01),
                new TrainingOptions { Epochs = parse.GetValue(epochs), BatchSize = 32, Patience = 0, Seed = seedValue });
            var started = DateTime.UtcNow;
            try
            {
                trainer.Fit(train, test);
            }
            catch (DivergenceException e)
            {
                throw CliErrors.NameTheOption(e, cause => cause == DivergenceCause.Inputs
                    ? string.Create(CultureInfo.InvariantCulture, $"--noise {parse.GetValue(noise):G3} made the points; use a smaller --noise")
                    : "demo trains with Adam at learning rate 0.01; try a smaller --noise or other --hidden widths");
            }
            var (_, accuracy) = trainer.Evaluate(test);
            var (_, trainAccuracy) = trainer.Evaluate(train);

            // Score the plane on a grid: the probability of class 1, or the predicted class.
            double xMin = set.X.Where((_, i) => i % 2 == 0).Min() - 0.5, xMax = set.X.Where((_, i) => i % 2 == 0).Max() + 0.5;
            double yMin = set.X.Where((_, i) => i % 2 == 1).Min() - 0.5, yMax = set.X.Where((_, i) => i % 2 == 1).Max() + 0.5;
            const int grid = 120;
            var points = new double[grid * grid * 2];
            for (int r = 0; r < grid; r++)
                for (int c = 0; c < grid; c++)
                {
                    points[(r * grid + c) * 2] = xMin + (xMax - xMin) * (c + 0.5) / grid;
                    points[(r * grid + c) * 2 + 1] = yMax - (yMax - yMin) * (r + 0.5) / grid; // row 0 is the top
                }
            Tensor scores;
            using (Autodiff.NoGrad()) scores = TaskHead.Activate(task, network.Forward(Tensor.FromArray(points, [grid * grid, 2], DType.Float32)));
            var s = scores.ToDoubleArray();
            var map = new double[grid, grid];
            for (int r = 0; r < grid; r++)
                for (int c = 0; c < grid; c++)
                    map[r, c] = task == TaskKind.Binary ? s[r * grid + c] : System.Numerics.Tensors.TensorPrimitives.IndexOfMax<double>(s.AsSpan((r * grid + c) * set.ClassCount, set.ClassCount));
            Plots.DecisionBoundary(plotPath, $"{set.Name}: {TrainCommand.ArchitectureOf(network)} network, test accuracy {accuracy:P1}", map, xMin, xMax, yMin, yMax,
                set.X.Where((_, i) => i % 2 == 0).ToArray(), set.X.Where((_, i) => i % 2 == 1).ToArray(), set.Labels);

            var console = plotPath == "-" ? Consoles.For(parse.InvocationConfiguration.Error, true) : Consoles.For(parse.InvocationConfiguration.Output, false);
            console.WriteLine(Sketch(map, task, set));
            console.MarkupLine($"[bold]{Markup.Escape(set.Name)}[/]: {n} points, {TrainCommand.ArchitectureOf(network)} {Markup.Escape(parse.GetValue(activation)!)} network, " +
                $"{network.ParameterCount} parameters, trained in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"train accuracy {trainAccuracy:P1}, test accuracy [bold]{accuracy:P1}[/]"));
            console.MarkupLine($"decision boundary drawn to [green]{Markup.Escape(plotPath == "-" ? "standard output" : plotPath)}[/]");
            return 0;
        });
        return command;
    }

    /// <summary>A coarse text picture of the boundary, one character per cell, for terminals.</summary>
    private static string Sketch(double[,] map, TaskKind task, SyntheticSet set)
    {
        const string marks = ".o+x*#";
        int rows = map.GetLength(0), cols = map.GetLength(1);
        var sb = new StringBuilder();
        for (int r = 0; r < rows; r += 6)
        {
            for (int c = 0; c < cols; c += 2)
            {
                int cls = task == TaskKind.Binary ? (map[r, c] > 0.5 ? 1 : 0) : (int)map[r, c];
                sb.Append(marks[cls % marks.Length]);
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
