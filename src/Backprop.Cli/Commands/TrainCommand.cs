using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Training;
using Spectre.Console;

namespace Backprop.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create()
    {
        var data = CliOptions.DataArgument();
        var target = CliOptions.Target(required: true);
        var hidden = CliOptions.Hidden();
        var activation = CliOptions.Activation();
        var task = CliOptions.Task();
        var optimizer = new Option<string>("--optimizer") { Description = $"One of {string.Join(", ", OptimizerFactory.Names)}. rk4 and dopri5 integrate the gradient flow on the full batch.", DefaultValueFactory = _ => "adam" };
        var lr = new Option<double?>("--lr") { Description = "Learning rate (for rk4/dopri5: the integration step). Default depends on the optimizer: adam 0.001, sgd 0.05 (momentum 0.9), rmsprop 0.001, rk4/dopri5 0.5." };
        var epochs = new Option<int>("--epochs") { Description = "Maximum number of passes over the training rows.", DefaultValueFactory = _ => 500 };
        var batch = new Option<int>("--batch-size") { Description = "Rows per mini-batch.", DefaultValueFactory = _ => 32 };
        var patience = new Option<int>("--patience") { Description = "Stop after this many epochs without a better validation loss, keeping the best weights; 0 trains every epoch.", DefaultValueFactory = _ => 50 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "L2 penalty (decoupled for adamw).", DefaultValueFactory = _ => 0.0 };
        var tolerance = new Option<double>("--tolerance") { Description = "dopri5 relative error tolerance per step.", DefaultValueFactory = _ => 1e-3 };
        var seed = CliOptions.Seed();
        var testSplit = new Option<double>("--test-split") { Description = "Share of rows held out for the final test metrics.", DefaultValueFactory = _ => 0.25 };
        var valSplit = new Option<double>("--validation-split") { Description = "Share of the remaining rows used for early stopping.", DefaultValueFactory = _ => 0.15 };
        var dtype = CliOptions.DType();
        var output = new Option<FileInfo>("--out", "-o") { Description = "Where to save the model (.safetensors).", DefaultValueFactory = _ => new FileInfo("model.safetensors") };
        var plot = new Option<FileInfo?>("--plot") { Description = "Also draw the training and validation curves to this .png or .svg file." };
        var refit = new Option<bool>("--refit") { Description = "After early stopping picks the epoch count, retrain that long on training + validation rows (--refit false to keep the early-stopped weights).", DefaultValueFactory = _ => true };
        var json = CliOptions.Json();
        var features = new Option<string?>("--features") { Description = "Use only these columns as features, comma separated (default: every column but the target and --drop)." };
        var drop = new Option<string?>("--drop") { Description = "Columns that are not features, comma separated: an ID, free-text notes." };
        var categorical = new Option<string?>("--categorical") { Description = "Numeric columns to one-hot encode as categories, comma separated (text columns always are; categories are those of the training rows, sorted)." };
        var missing = new Option<string>("--missing")
        {
            Description = "Missing values (empty, NA, N/A, NaN, null, ?): impute (numeric: training mean plus a 0/1 'COLUMN (missing)' input; text: most frequent category), drop (leave out rows with one), or error. Rows without a target are always left out (error: refused).",
            DefaultValueFactory = _ => "impute",
        };
        var unknown = new Option<string>("--unknown") { Description = "A category at predict time that training never saw: error (default), or ignore (all-zero code, counted in the output).", DefaultValueFactory = _ => "error" };
        var encoding = CliOptions.Encoding();
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Write a resumable checkpoint (weights, optimizer state, random generator, epoch) every K epochs; 0 never. Under --distributed rank 0 writes it.", DefaultValueFactory = _ => 0 };
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "The checkpoint file. Default: the --out file's name with .checkpoint.safetensors." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in the checkpoint file (same options required); it ends with the model an uninterrupted run would give." };
        var distributed = new Option<bool>("--distributed") { Description = "Data-parallel training over MPI: run under mpirun (e.g. mpirun -np 4 backprop train … --distributed). Every rank takes its share of each global --batch-size batch and gradients are averaged with one allreduce per step; only rank 0 prints and writes files." };

        var command = new Command("train", "Train a network on a CSV file: shows progress, prints test metrics, saves the model.\n" +
            "Example: backprop train data/breast-cancer.csv --target diagnosis --hidden 32 --plot curves.png")
        {
            data, target, hidden, activation, task, optimizer, lr, epochs, batch, patience, weightDecay, tolerance, seed, testSplit, valSplit, dtype, refit, output, plot, json, checkpointEvery, checkpoint, resume, distributed,
            features, drop, categorical, missing, unknown, encoding,
        };
        command.SetAction(parse =>
        {
            var outWriter = parse.InvocationConfiguration.Output;
            var errWriter = parse.InvocationConfiguration.Error;
            using var mpi = parse.GetValue(distributed) ? DistributedRun.Start() : null;
            bool isRoot = mpi is null || mpi.Rank == 0;
            if (!isRoot) outWriter = errWriter = TextWriter.Null;
            var plotFile = parse.GetValue(plot);
            if (plotFile is not null) Plots.CheckPath(plotFile.FullName);
            var settings = new TrainSettings
            {
                Hidden = CliOptions.ParseHidden(parse.GetValue(hidden)!),
                Activation = ActivationExtensions.Parse(parse.GetValue(activation)!),
                Optimizer = parse.GetValue(optimizer)!,
                LearningRate = parse.GetValue(lr),
                WeightDecay = parse.GetValue(weightDecay),
                Tolerance = parse.GetValue(tolerance),
                TestFraction = parse.GetValue(testSplit),
                ValidationFraction = parse.GetValue(valSplit),
                DType = DTypeExtensions.Parse(parse.GetValue(dtype)!),
                Refit = parse.GetValue(refit),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                Resume = parse.GetValue(resume),
                CheckpointPath = parse.GetValue(checkpointEvery) > 0 || parse.GetValue(resume)
                    ? (parse.GetValue(checkpoint)?.FullName ?? CheckpointPathFor(parse.GetValue(output)!.FullName)) : null,
                Training = new TrainingOptions
                {
                    Epochs = parse.GetValue(epochs),
                    BatchSize = parse.GetValue(batch),
                    Patience = parse.GetValue(patience),
                    Seed = parse.GetValue(seed),
                    Communicator = (ICommunicator?)mpi ?? SingleProcess.Instance,
                },
            };
            settings.Validate();
            var preprocess = new PreprocessOptions
            {
                Features = parse.GetValue(features) is { } f ? CliOptions.ParseNames(f) : null,
                Drop = CliOptions.ParseNames(parse.GetValue(drop)),
                Categorical = CliOptions.ParseNames(parse.GetValue(categorical)),
                Missing = PreprocessOptions.ParseMissing(parse.GetValue(missing)!),
                Unknown = PreprocessOptions.ParseUnknown(parse.GetValue(unknown)!),
            };
            var dataPath = CliOptions.RequireFile(parse.GetRequiredValue(data));
            var table = TabularData.Load(dataPath, parse.GetValue(target)!, CliOptions.ParseTask(parse.GetValue(task)), preprocess,
                CliOptions.Csv(parse, encoding), CliOptions.LoadingProgress(errWriter, dataPath));
            foreach (var warning in table.Warnings) errWriter.WriteLine("warning: " + warning);
            var err = Consoles.For(errWriter, isError: true);
            bool asJson = parse.GetValue(json);

            // Ctrl-C stops after the current batch; the best weights so far are kept and saved.
            using var stop = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
            Console.CancelKeyPress += onCancel;
            TrainingRun run;
            try
            {
                run = RunWithProgress(err, table, settings, stop.Token);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }

            if (run.HeldOut.UnknownTotal > 0)
                errWriter.WriteLine($"warning: {run.HeldOut.UnknownTotal} validation and test cells had a category the training rows lack ({string.Join(", ", run.HeldOut.Unknown.Select(kv => $"{kv.Key}: {kv.Value}"))}); they were encoded as all zeros. At predict time the model applies --unknown {run.Model.Preprocessing.Unknown.ToString().ToLowerInvariant()}.");
            var outPath = parse.GetValue(output)!.FullName;
            if (!isRoot) return 0; // rank 0 holds the same model and writes it
            ModelFile.Save(run.Model, outPath);
            if (plotFile is not null) DrawCurves(plotFile.FullName, run);

            if (asJson)
            {
                var result = new JsonObject
                {
                    ["task"] = run.Model.Task.ToString().ToLowerInvariant(),
                    ["data"] = table.Source,
                    ["target"] = table.TargetName,
                    ["architecture"] = Architecture(run.Model),
                    ["parameters"] = run.Model.Network.ParameterCount,
                    ["epochs"] = run.History.Epochs.Count,
                    ["best_epoch"] = run.History.BestEpoch + 1,
                    ["stopped_early"] = run.History.StoppedEarly,
                    ["refit"] = run.Model.TrainingInfo.GetValueOrDefault("refit", "no"),
                    ["cancelled"] = run.History.Cancelled,
                    ["seconds"] = Math.Round(run.Duration.TotalSeconds, 3),
                    ["test"] = Reports.ToJson(run.Test),
                    ["model"] = outPath,
                };
                if (plotFile is not null) result["plot"] = plotFile.FullName;
                outWriter.WriteLine(result.ToJsonString());
            }
            else
            {
                var console = Consoles.For(outWriter, isError: false);
                console.MarkupLine($"[bold]{Markup.Escape(Architecture(run.Model))}[/] network, {run.Model.Network.ParameterCount} parameters, task {run.Model.Task.ToString().ToLowerInvariant()}");
                console.MarkupLine($"rows: {run.Model.TrainingInfo["rows"]}; {run.History.Epochs.Count} epochs in {run.Duration.TotalSeconds:F1} s, best epoch {run.History.BestEpoch + 1}" +
                    (run.History.StoppedEarly ? " (stopped early)" : "") + (run.History.Cancelled ? " (interrupted)" : ""));
                if (run.Model.TrainingInfo.GetValueOrDefault("refit", "no") != "no") console.MarkupLine($"then refit {Markup.Escape(run.Model.TrainingInfo["refit"])}");
                Reports.Write(console, "Test metrics", run.Test);
                console.MarkupLine($"model saved to [green]{Markup.Escape(outPath)}[/]" + (plotFile is null ? "" : $", curves to [green]{Markup.Escape(plotFile.FullName)}[/]"));
            }
            return 0;
        });
        return command;
    }

    /// <summary>model.safetensors → model.checkpoint.safetensors, beside it.</summary>
    internal static string CheckpointPathFor(string modelPath) =>
        Path.Combine(Path.GetDirectoryName(modelPath) ?? ".", Path.GetFileNameWithoutExtension(modelPath) + ".checkpoint.safetensors");

    internal static string Architecture(TrainedModel model) => ArchitectureOf(model.Network);

    /// <summary>Layer widths joined by dashes, e.g. 30-32-1.</summary>
    internal static string ArchitectureOf(Sequential network)
    {
        var linear = network.Layers.OfType<Linear>().ToArray();
        return string.Join("-", new[] { linear[0].InFeatures }.Concat(linear.Select(l => l.OutFeatures)));
    }

    private static TrainingRun RunWithProgress(IAnsiConsole err, TabularData table, TrainSettings settings, CancellationToken token)
    {
        int total = settings.Training.Epochs;
        if (!err.Profile.Capabilities.Interactive)
        {
            // Logs (CI, redirected stderr): a line every tenth of the run instead of a live bar.
            int every = Math.Max(1, total / 10);
            return TrainingPipeline.Run(table, settings, m =>
            {
                if (m.Epoch % every == 0 || m.Epoch == 1)
                    err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {m.Epoch}/{total}: train loss {m.TrainLoss:F4}, validation loss {m.ValidationLoss:F4}, {ScoreName(table.Task)} {m.ValidationScore:F4}"));
            }, token);
        }
        TrainingRun? run = null;
        err.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var bar = ctx.AddTask("training", maxValue: total);
                run = TrainingPipeline.Run(table, settings, m =>
                {
                    bar.Value = m.Epoch;
                    bar.Description = string.Create(CultureInfo.InvariantCulture,
                        $"epoch {m.Epoch,4}  loss {m.TrainLoss:F4}  val {m.ValidationLoss:F4}  {ScoreName(table.Task)} {m.ValidationScore:F3}");
                }, token);
                if (!run.History.Cancelled) bar.Value = total;
            });
        return run!;
    }

    private static string ScoreName(TaskKind task) => task == TaskKind.Regression ? "R²" : "accuracy";

    private static void DrawCurves(string path, TrainingRun run)
    {
        var epochs = run.History.Epochs;
        var x = epochs.Select(e => (double)e.Epoch).ToArray();
        string score = ScoreName(run.Model.Task);
        Plots.Lines(path, $"Training curves ({run.Model.TrainingInfo.GetValueOrDefault("source", "")})", "epoch", "loss",
        [
            new PlotSeries("train loss", x, epochs.Select(e => e.TrainLoss).ToArray()),
            new PlotSeries("validation loss", x, epochs.Select(e => e.ValidationLoss).ToArray()),
            new PlotSeries($"validation {score}", x, epochs.Select(e => e.ValidationScore).ToArray(), RightAxis: true),
        ], rightLabel: score);
    }
}
