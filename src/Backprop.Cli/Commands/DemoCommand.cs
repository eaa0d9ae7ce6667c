using Backprop.IO;
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
/// its decision boundary drawn to a picture (and, with --animate, as it evolves) and sketched in the terminal.
/// </summary>
/// <remarks>
/// The points are split three ways, stratified by class: training rows the optimizer sees, validation
/// rows that pick the best epoch (the weights kept), and test rows used once, for the accuracy reported.
/// </remarks>
internal static class DemoCommand
{
    /// <summary>
    /// The default noise of each set: small enough that the classes are separable by a smooth boundary
    /// (the arms of three spirals are about 0.2 apart, so 0.15 would mix them), large enough to need one.
    /// </summary>
    internal static double DefaultNoise(string dataset) => dataset.ToLowerInvariant() switch
    {
        "spirals" or "spiral" => 0.03,
        "circles" => 0.08,
        "blobs" => 0.25,
        _ => 0.15,
    };

    /// <summary>Adam's default step for these small sets: larger than train's 0.001, so a demo takes seconds (spirals: 400 epochs, 1–2 s).</summary>
    internal static double DefaultLearningRate(string optimizer) => optimizer.ToLowerInvariant() switch
    {
        "adam" or "adamw" => 0.005,
        var other => OptimizerFactory.DefaultLearningRate(other),
    };

    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = $"Which 2-D set: {string.Join(", ", Synthetic.Names)}.", DefaultValueFactory = _ => "moons" }.OneOf(Synthetic.Names);
        var samples = new Option<int>("--samples") { Description = "Number of points (split 60% training, 20% validation, 20% test, stratified by class).", DefaultValueFactory = _ => 600 }.AtLeast(20);
        var noise = new Option<double?>("--noise") { Description = "Standard deviation of the Gaussian noise added to each coordinate. Default: spirals 0.03, circles 0.08, blobs 0.25, moons and xor 0.15." };
        var hidden = CliOptions.Hidden();
        hidden.DefaultValueFactory = _ => "16,16";
        var activation = CliOptions.Activation();
        activation.DefaultValueFactory = _ => "relu";
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training points; the weights of the epoch with the lowest validation loss are kept.", DefaultValueFactory = _ => 400 }.AtLeast(1);
        var optimizer = new Option<string>("--optimizer") { Description = $"One of {string.Join(", ", OptimizerFactory.Names.Where(n => !OptimizerFactory.IsGradientFlow(n)))}.", DefaultValueFactory = _ => "adam" };
        var lr = new Option<double?>("--lr") { Description = "Learning rate. Default: adam/adamw 0.005, sgd 0.05 (momentum 0.9), rmsprop 0.001." };
        var batch = new Option<int>("--batch-size") { Description = "Points per mini-batch.", DefaultValueFactory = _ => 32 }.AtLeast(1);
        var seed = CliOptions.Seed();
        var plot = new Option<FileInfo>("--plot") { Description = "Where to draw the decision boundary (.png or .svg).", DefaultValueFactory = _ => new FileInfo("demo.png") };
        var animate = new Option<FileInfo?>("--animate") { Description = "Also write an animated .gif of the boundary as it evolves over training (about 40 frames)." };
        var command = new Command("demo", "Train a small network on a synthetic 2-D data set in seconds and draw its decision boundary.\n" +
            "Examples: backprop demo --dataset spirals --hidden 32,32 --plot spirals.png\n" +
            "          backprop demo --dataset circles --hidden 4 --activation relu --animate circles.gif")
            { dataset, samples, noise, hidden, activation, epochs, optimizer, lr, batch, seed, plot, animate };
        command.SetAction(parse =>
        {
            var plotPath = CliOptions.OutputOf(parse.GetValue(plot))!;
            CliOptions.CheckOutputs([plotPath]);
            Plots.CheckPath(plotPath);
            OutputPath.Check(plotPath);
            var gifPath = parse.GetValue(animate)?.FullName;
            if (gifPath is not null)
            {
                if (!gifPath.EndsWith(".gif", StringComparison.OrdinalIgnoreCase))
                    throw new CliUsageException($"--animate: '{gifPath}' is not a .gif file name; use e.g. --animate boundary.gif.");
                OutputPath.Check(gifPath, plotPath);
            }
            int n = parse.GetValue(samples);
            if (n < 20) throw new CliUsageException($"--samples: {n} points are too few; use at least 20.");
            string name = parse.GetValue(dataset)!;
            double noiseValue = parse.GetValue(noise) ?? DefaultNoise(name);
            string opt = parse.GetValue(optimizer)!.ToLowerInvariant();
            OptimizerFactory.CheckName(opt);
            if (OptimizerFactory.IsGradientFlow(opt))
                throw new CliUsageException($"--optimizer: {opt} integrates the full-batch gradient flow; demo trains on mini-batches. Use adam, adamw, sgd or rmsprop.");
            double rate = parse.GetValue(lr) ?? DefaultLearningRate(opt);
            if (!(rate > 0) || !double.IsFinite(rate)) throw new CliUsageException($"--lr: {rate} is not a positive learning rate.");
            int batchSize = parse.GetValue(batch);
            if (batchSize < 1) throw new CliUsageException($"--batch-size: {batchSize} must be at least 1.");
            int epochCount = parse.GetValue(epochs);
            if (epochCount < 1) throw new CliUsageException($"--epochs: {epochCount} must be at least 1.");
            ulong seedValue = parse.GetValue(seed);
            var act = parse.GetValue(activation)!;

            DemoRun run;
            try
            {
                run = Run(new DemoSettings(name, n, noiseValue, CliOptions.ParseHidden(parse.GetValue(hidden)!), ActivationExtensions.Parse(act),
                    epochCount, opt, rate, batchSize, seedValue), gifPath is not null);
            }
            catch (DivergenceException e)
            {
                // Name the demo's own option that most likely caused it, not only the generic remedy.
                throw CliErrors.NameTheOption(e, cause => cause == DivergenceCause.Inputs
                    ? string.Create(CultureInfo.InvariantCulture, $"--noise {noiseValue:G3} made the points; use a smaller --noise")
                    : string.Create(CultureInfo.InvariantCulture, $"demo trains with {opt} at learning rate {rate}; try a smaller --lr or --noise"));
            }

            var set = run.Set;
            string title = string.Create(CultureInfo.InvariantCulture, $"{set.Name}: {run.Architecture} {act} network, test accuracy {run.TestAccuracy:P1}");
            Plots.DecisionBoundary(plotPath, title, run.Map, run.Extent, set, run.Split.Train, run.Split.Test, run.Task == TaskKind.Binary);
            if (gifPath is not null) BoundaryAnimation.Write(gifPath, run.Frames, run.Extent, set, run.Split.Train, run.Split.Test, run.Task == TaskKind.Binary);

            var console = Consoles.For(parse.InvocationConfiguration.Output, false);
            console.WriteLine(Sketch(run.Map, run.Task, set.ClassCount));
            console.MarkupLine($"[bold]{set.Name}[/]: {n} points (noise {noiseValue.ToString(CultureInfo.InvariantCulture)}), {run.Architecture} {Markup.Escape(act)} network, " +
                $"{run.ParameterCount} parameters, {opt} lr {rate.ToString(CultureInfo.InvariantCulture)}, batch {batchSize}, trained in {run.Seconds:F1} s");
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"{run.Split.Train.Length} training, {run.Split.Validation.Length} validation, {run.Split.Test.Length} test points; weights of epoch {run.BestEpoch} of {epochCount} (lowest validation loss)"));
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"train accuracy {run.TrainAccuracy:P1}, validation accuracy {run.ValidationAccuracy:P1}, test accuracy [bold]{run.TestAccuracy:P1}[/] (test points unseen until now)"));
            console.MarkupLine($"decision boundary drawn to [green]{Markup.Escape(plotPath)}[/]");
            if (gifPath is not null) console.MarkupLine($"animation of {run.Frames.Count} frames written to [green]{Markup.Escape(gifPath)}[/]");
            return 0;
        });
        return command;
    }

    internal sealed record DemoSettings(string Dataset, int Samples, double Noise, int[] Hidden, Activation Activation, int Epochs,
        string Optimizer, double LearningRate, int BatchSize, ulong Seed);

    /// <summary>The plane's extent drawn: the points' bounding box with a margin.</summary>
    internal sealed record PlaneExtent(double XMin, double XMax, double YMin, double YMax);

    /// <summary>One picture of the boundary during training.</summary>
    internal sealed record BoundaryFrame(int Epoch, double[,] Map, double ValidationAccuracy);

    internal sealed record DemoRun(SyntheticSet Set, TaskKind Task, SplitIndices Split, string Architecture, long ParameterCount,
        double TrainAccuracy, double ValidationAccuracy, double TestAccuracy, int BestEpoch, double Seconds,
        double[,] Map, PlaneExtent Extent, IReadOnlyList<BoundaryFrame> Frames);

    /// <summary>Grid cells per side of the scored plane.</summary>
    internal const int Grid = 120;

    /// <summary>Generates, splits, trains (keeping the best validation epoch) and scores the plane.</summary>
    internal static DemoRun Run(DemoSettings s, bool recordFrames)
    {
        var set = Synthetic.Generate(s.Dataset, s.Samples, s.Noise, s.Seed);
        var task = set.ClassCount == 2 ? TaskKind.Binary : TaskKind.Multiclass;
        var network = Mlp.Create(2, s.Hidden, TaskHead.Outputs(task, set.ClassCount), s.Activation, Init.Auto, new Rng(s.Seed));
        var split = Split.Stratified(set.Labels, 0.2, 0.2, s.Seed);
        TensorDataset Rows(int[] idx) => new(
            Tensor.FromArray(idx.SelectMany(i => new[] { set.X[2 * i], set.X[2 * i + 1] }).ToArray(), [idx.Length, 2], DType.Float32),
            TaskHead.Targets(task, idx.Select(i => set.Labels[i]).ToArray(), [], set.ClassCount, DType.Float32));
        var train = Rows(split.Train);
        var validation = Rows(split.Validation);
        var test = Rows(split.Test);
        var trainer = new Trainer(network, task, OptimizerFactory.Create(s.Optimizer, network.NamedParameters(), s.LearningRate, 0, 1e-3),
            new TrainingOptions { Epochs = s.Epochs, BatchSize = s.BatchSize, Patience = 0, Seed = s.Seed });

        var xs = set.X.Where((_, i) => i % 2 == 0).ToArray();
        var ys = set.X.Where((_, i) => i % 2 == 1).ToArray();
        // A square extent (the longer side's range on both axes), so distances look the same both ways.
        double half = Math.Max(xs.Max() - xs.Min(), ys.Max() - ys.Min()) / 2 + 0.3;
        double cx = (xs.Max() + xs.Min()) / 2, cy = (ys.Max() + ys.Min()) / 2;
        var extent = new PlaneExtent(cx - half, cx + half, cy - half, cy + half);
        var frames = new List<BoundaryFrame>();
        // About 40 frames, denser early where the boundary moves most (epochs spaced as a square).
        var frameEpochs = new SortedSet<int>();
        const int frameCount = 40;
        for (int k = 0; k <= frameCount; k++) frameEpochs.Add(Math.Max(1, (int)Math.Round(s.Epochs * (double)k * k / (frameCount * frameCount))));
        if (recordFrames) frames.Add(new BoundaryFrame(0, Score(network, task, set.ClassCount, extent), trainer.Evaluate(validation).Score));

        var started = DateTime.UtcNow;
        var history = trainer.Fit(train, validation, recordFrames
            ? m => { if (frameEpochs.Contains(m.Epoch)) frames.Add(new BoundaryFrame(m.Epoch, Score(network, task, set.ClassCount, extent), m.ValidationScore)); }
            : null);
        double seconds = (DateTime.UtcNow - started).TotalSeconds;
        return new DemoRun(set, task, split, TrainCommand.ArchitectureOf(network), network.ParameterCount,
            trainer.Evaluate(train).Score, trainer.Evaluate(validation).Score, trainer.Evaluate(test).Score, history.BestEpoch + 1, seconds,
            Score(network, task, set.ClassCount, extent), extent, frames);
    }

    /// <summary>The plane on a grid (row 0 at the top): the probability of class 1, or the predicted class.</summary>
    private static double[,] Score(Sequential network, TaskKind task, int classes, PlaneExtent e)
    {
        var points = new double[Grid * Grid * 2];
        for (int r = 0; r < Grid; r++)
            for (int c = 0; c < Grid; c++)
            {
                points[(r * Grid + c) * 2] = e.XMin + (e.XMax - e.XMin) * (c + 0.5) / Grid;
                points[(r * Grid + c) * 2 + 1] = e.YMax - (e.YMax - e.YMin) * (r + 0.5) / Grid;
            }
        Tensor scores;
        using (Autodiff.NoGrad()) scores = TaskHead.Activate(task, network.Forward(Tensor.FromArray(points, [Grid * Grid, 2], DType.Float32)));
        var s = scores.ToDoubleArray();
        var map = new double[Grid, Grid];
        for (int r = 0; r < Grid; r++)
            for (int c = 0; c < Grid; c++)
                map[r, c] = task == TaskKind.Binary ? s[r * Grid + c] : System.Numerics.Tensors.TensorPrimitives.IndexOfMax<double>(s.AsSpan((r * Grid + c) * classes, classes));
        return map;
    }

    internal const string SketchMarks = ".o+x*#";

    /// <summary>A coarse text picture of the boundary, one character per cell, with its key, for terminals.</summary>
    internal static string Sketch(double[,] map, TaskKind task, int classes)
    {
        int rows = map.GetLength(0), cols = map.GetLength(1);
        var sb = new StringBuilder();
        for (int r = 3; r < rows; r += 6)
        {
            for (int c = 1; c < cols; c += 2)
            {
                int cls = task == TaskKind.Binary ? (map[r, c] > 0.5 ? 1 : 0) : (int)map[r, c];
                sb.Append(SketchMarks[cls % SketchMarks.Length]);
            }
            sb.Append('\n');
        }
        sb.Append("key: ");
        sb.Append(string.Join("   ", Enumerable.Range(0, classes).Select(k => $"{SketchMarks[k % SketchMarks.Length]} predicted class {k}")));
        sb.Append(task == TaskKind.Binary ? " (probability of class 1 > 0.5)" : "");
        sb.Append("; x to the right, y up, over the points' extent\n");
        return sb.ToString();
    }
}
