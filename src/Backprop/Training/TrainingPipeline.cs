using System.Globalization;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>Everything a training run can be told; the defaults train the shipped data sets well.</summary>
public sealed record TrainSettings
{
    public int[] Hidden { get; init; } = [32];
    public Activation Activation { get; init; } = Activation.Relu;
    /// <summary>adam, adamw, sgd, rmsprop, rk4 or dopri5.</summary>
    public string Optimizer { get; init; } = "adam";
    /// <summary>Null chooses the optimizer's default (<see cref="OptimizerFactory.DefaultLearningRate"/>).</summary>
    public double? LearningRate { get; init; }
    public double WeightDecay { get; init; }
    /// <summary>Dormand–Prince error tolerance (relative; the absolute one is 1e-3 of it).</summary>
    public double Tolerance { get; init; } = 1e-3;
    public TrainingOptions Training { get; init; } = new();
    public double TestFraction { get; init; } = 0.25;
    /// <summary>Share of the non-test rows held out for validation (early stopping).</summary>
    public double ValidationFraction { get; init; } = 0.15;
    public DType DType { get; init; } = DType.Float32;
    /// <summary>
    /// After early stopping has found the best number of epochs on the validation rows, retrain for that
    /// many epochs on training and validation rows together (the model saved is the refitted one).
    /// </summary>
    public bool Refit { get; init; } = true;

    /// <summary>Write a resumable checkpoint to <see cref="CheckpointPath"/> every this many epochs; 0 never.</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>Where checkpoints go (and are resumed from); needed with <see cref="CheckpointEvery"/> or <see cref="Resume"/>.</summary>
    public string? CheckpointPath { get; init; }
    /// <summary>Continue the run saved in <see cref="CheckpointPath"/> instead of starting anew.</summary>
    public bool Resume { get; init; }

    public void Validate()
    {
        Training.Validate();
        if (Hidden.Any(h => h < 1)) throw new BackpropException($"Hidden layer sizes must be at least 1; got {string.Join(",", Hidden)}.");
        if (LearningRate is double lr && !(lr > 0 && double.IsFinite(lr)))
            throw new BackpropException($"The learning rate must be a positive number; got {lr.ToString(CultureInfo.InvariantCulture)}.");
        if (!(TestFraction > 0 && TestFraction < 1)) throw new BackpropException($"The test split must be between 0 and 1 (exclusive); got {TestFraction}.");
        if (!(ValidationFraction > 0 && ValidationFraction < 1)) throw new BackpropException($"The validation split must be between 0 and 1 (exclusive); got {ValidationFraction}.");
        if (WeightDecay < 0) throw new BackpropException($"Weight decay must be 0 or more; got {WeightDecay}.");
        OptimizerFactory.CheckName(Optimizer);
        if (CheckpointEvery < 0) throw new BackpropException($"The checkpoint interval must be 0 (off) or a number of epochs; got {CheckpointEvery}.");
        if ((CheckpointEvery > 0 || Resume) && string.IsNullOrEmpty(CheckpointPath))
            throw new BackpropException("Checkpointing and resuming need a checkpoint file path.");
    }

    /// <summary>
    /// The settings a checkpoint must agree with to be resumed: the ones that shape the model, the
    /// data order and the optimizer (not the epoch budget, which a resumed run may extend).
    /// </summary>
    internal string Fingerprint(TabularData data) => string.Join(";",
        $"data={Path.GetFileName(data.Source)}:{data.Rows}x{data.FeatureColumns.Count}", $"target={data.TargetName}",
        $"features={string.Join(",", data.FeatureColumns)}", $"categorical={string.Join(",", data.Options.Categorical)}",
        $"missing={data.Options.Missing}", $"unknown={data.Options.Unknown}",
        $"hidden={string.Join(",", Hidden)}", $"activation={Activation}", $"optimizer={Optimizer}",
        $"lr={LearningRate?.ToString("R", CultureInfo.InvariantCulture) ?? "default"}", $"weight_decay={WeightDecay.ToString("R", CultureInfo.InvariantCulture)}",
        $"batch={Training.BatchSize}", $"seed={Training.Seed}", $"dtype={DType}", $"refit={Refit}",
        $"splits={TestFraction.ToString("R", CultureInfo.InvariantCulture)},{ValidationFraction.ToString("R", CultureInfo.InvariantCulture)}");
}

/// <summary>The result of <see cref="TrainingPipeline.Run"/>.</summary>
public sealed record TrainingRun(TrainedModel Model, TrainingHistory History, EvaluationReport Test, SplitIndices Split, TimeSpan Duration)
{
    /// <summary>
    /// Validation and test cells whose category the training rows did not have: encoded as all zeros
    /// during training whatever --unknown says (the saved model applies --unknown at predict time).
    /// </summary>
    public TransformCounts HeldOut { get; init; } = new();
}

/// <summary>Makes the optimizers the tool offers by name, with defaults that suit small tabular networks.</summary>
public static class OptimizerFactory
{
    public static readonly IReadOnlyList<string> Names = ["adam", "adamw", "sgd", "rmsprop", "rk4", "dopri5"];

    public static void CheckName(string name)
    {
        if (!Names.Contains(name.ToLowerInvariant()))
            throw new BackpropException($"Unknown optimizer '{name}'; choose one of {string.Join(", ", Names)}.");
    }

    /// <summary>Whether the optimizer integrates the gradient flow, and so wants the full-batch gradient.</summary>
    public static bool IsGradientFlow(string name) => name.ToLowerInvariant() is "rk4" or "dopri5";

    public static double DefaultLearningRate(string name) => name.ToLowerInvariant() switch
    {
        "adam" or "adamw" => 1e-3,
        "sgd" => 0.05,
        "rmsprop" => 1e-3,
        "rk4" => 0.5,
        "dopri5" => 0.5,
        _ => throw new BackpropException($"Unknown optimizer '{name}'."),
    };

    public static Optimizer Create(string name, IEnumerable<(string Name, Tensor Parameter)> parameters, double learningRate, double weightDecay, double tolerance) =>
        name.ToLowerInvariant() switch
        {
            "adam" => new Adam(parameters, learningRate, weightDecay: weightDecay),
            "adamw" => new AdamW(parameters, learningRate, weightDecay: weightDecay == 0 ? 0.01 : weightDecay),
            "sgd" => new Sgd(parameters, learningRate, momentum: 0.9, weightDecay: weightDecay),
            "rmsprop" => new RmsProp(parameters, learningRate, weightDecay: weightDecay),
            "rk4" => new Rk4GradientFlow(parameters, learningRate),
            "dopri5" => new DormandPrince54(parameters, learningRate, relTol: tolerance, absTol: tolerance * 1e-3),
            _ => throw new BackpropException($"Unknown optimizer '{name}'; choose one of {string.Join(", ", Names)}."),
        };
}

/// <summary>
/// From a loaded table to a trained, evaluated model: a seeded split (stratified for classification),
/// the preprocessing (categories, imputation, standardisation) fitted on the training rows only, training
/// with early stopping on the validation rows, and metrics on the untouched test rows.
/// </summary>
public static class TrainingPipeline
{
    public static TrainingRun Run(TabularData data, TrainSettings settings, Action<EpochMetrics>? onEpoch = null, CancellationToken cancellation = default)
    {
        settings.Validate();
        var started = DateTime.UtcNow;
        var split = Split.For(data, settings.TestFraction, settings.ValidationFraction, settings.Training.Seed);
        if (split.Train.Length == 0 || split.Validation.Length == 0 || split.Test.Length == 0)
            throw new DataException($"{data.Source} has {data.Rows} rows: too few to split into training, validation and test sets. Give more rows.");

        var preprocessing = Preprocessor.Fit(data, split.Train);
        double targetMean = 0, targetScale = 1;
        if (data.Task == TaskKind.Regression)
        {
            var t = split.Train.Select(i => data.Targets![i]).ToArray();
            targetMean = t.Average();
            double sd = Math.Sqrt(t.Select(v => (v - targetMean) * (v - targetMean)).Sum() / t.Length);
            targetScale = sd > 0 ? sd : 1;
        }
        int classes = data.Labels?.Count ?? 0;
        var rng = new Rng(settings.Training.Seed);
        var network = Mlp.Create(preprocessing.Width, settings.Hidden, TaskHead.Outputs(data.Task, classes), settings.Activation, Init.Auto, rng, settings.DType);
        var model = new TrainedModel
        {
            Network = network,
            Task = data.Task,
            Hidden = settings.Hidden,
            Activation = settings.Activation,
            Preprocessing = preprocessing,
            TargetName = data.TargetName,
            ClassLabels = data.Labels?.Classes.ToArray() ?? [],
            TargetMean = targetMean,
            TargetScale = targetScale,
        };

        var heldOut = new TransformCounts();
        var train = ToDataset(model, data, split.Train);
        var validation = ToDataset(model, data, split.Validation, heldOut);
        double lr = settings.LearningRate ?? OptimizerFactory.DefaultLearningRate(settings.Optimizer);
        var optimizer = OptimizerFactory.Create(settings.Optimizer, network.NamedParameters(), lr, settings.WeightDecay, settings.Tolerance);
        var options = OptimizerFactory.IsGradientFlow(settings.Optimizer)
            ? settings.Training with { BatchSize = Math.Max(settings.Training.BatchSize, split.Train.Length) }
            : settings.Training;
        var trainer = new Trainer(network, data.Task, optimizer, options);
        var checkpoints = new RunCheckpoints(settings, data);
        var resumed = checkpoints.LoadForResume();
        bool fitDone = false;
        if (resumed is { } r)
        {
            trainer.RestoreCheckpoint(r.Phase == 0 ? r.State : RunCheckpoints.Prefixed(r.State, "fit."));
            fitDone = r.Phase == 1;
        }
        var history = fitDone ? trainer.History
            : trainer.Fit(train, validation, checkpoints.Every(onEpoch, m => checkpoints.Save(0, trainer.CheckpointState())), cancellation);
        if (settings.Refit && !history.Cancelled && history.BestEpoch >= 0)
        {
            // Early stopping has chosen how long to train; now train that long again, from the same
            // initialisation, on every non-test row. On small data sets the held-out validation rows are
            // a large share of what there is to learn from (17 of 112 rows for iris).
            var refitNetwork = Mlp.Create(preprocessing.Width, settings.Hidden, TaskHead.Outputs(data.Task, classes), settings.Activation, Init.Auto, new Rng(settings.Training.Seed), settings.DType);
            var refitOptimizer = OptimizerFactory.Create(settings.Optimizer, refitNetwork.NamedParameters(), lr, settings.WeightDecay, settings.Tolerance);
            var refit = new Trainer(refitNetwork, data.Task, refitOptimizer, options with { Epochs = history.BestEpoch + 1, Patience = 0 });
            if (resumed is { Phase: 1 } inRefit) refit.RestoreCheckpoint(inRefit.State);
            refit.Fit(ToDataset(model, data, [.. split.Train, .. split.Validation], new TransformCounts()), validation,
                checkpoints.Every(null, m => checkpoints.Save(1, refit.CheckpointState(), trainer.CheckpointState())), cancellation);
            using (Autodiff.NoGrad())
                foreach (var ((_, target), (_, source)) in network.NamedParameters().Zip(refitNetwork.NamedParameters())) target.CopyFrom(source.Detach());
        }

        var report = Evaluation.Evaluate(model, HeldOutInputs(model, data, split.Test, heldOut),
            data.ClassIndices is { } ci ? split.Test.Select(i => ci[i]).ToArray() : null,
            data.Targets is { } tv ? split.Test.Select(i => tv[i]).ToArray() : null);

        var info = model.TrainingInfo;
        info["source"] = Path.GetFileName(data.Source);
        info["seed"] = settings.Training.Seed.ToString(CultureInfo.InvariantCulture);
        info["optimizer"] = settings.Optimizer;
        info["learning_rate"] = lr.ToString("R", CultureInfo.InvariantCulture);
        info["batch_size"] = options.BatchSize.ToString(CultureInfo.InvariantCulture);
        info["epochs_run"] = history.Epochs.Count.ToString(CultureInfo.InvariantCulture);
        info["best_epoch"] = (history.BestEpoch + 1).ToString(CultureInfo.InvariantCulture);
        info["refit"] = settings.Refit && !history.Cancelled ? $"on training + validation rows for {history.BestEpoch + 1} epochs" : "no";
        info["rows"] = $"{split.Train.Length} train, {split.Validation.Length} validation, {split.Test.Length} test";
        foreach (var (name, value) in report.Values()) info["test_" + name] = value.ToString("R", CultureInfo.InvariantCulture);
        return new TrainingRun(model, history, report, split, DateTime.UtcNow - started) { HeldOut = heldOut };
    }

    /// <summary>The given examples (indices into <paramref name="data"/>'s examples) as preprocessed tensors; regression targets standardised, classes one-hot.</summary>
    public static TensorDataset ToDataset(TrainedModel model, TabularData data, int[] rows, TransformCounts? heldOut = null)
    {
        var x = heldOut is null ? model.PrepareInputs(data.Table, TableRows(data, rows)) : HeldOutInputs(model, data, rows, heldOut);
        var classes = data.ClassIndices is { } ci ? rows.Select(i => ci[i]).ToArray() : [];
        var values = data.Targets is { } tv ? rows.Select(i => (tv[i] - model.TargetMean) / model.TargetScale).ToArray() : [];
        return new TensorDataset(x, TaskHead.Targets(data.Task, classes, values, model.ClassCount, model.DType));
    }

    // Rows the preprocessing was not fitted on may hold categories it has not seen; they are all zeros.
    private static Tensor HeldOutInputs(TrainedModel model, TabularData data, int[] rows, TransformCounts counts) =>
        model.Preprocessing.WithUnknown(UnknownCategoryPolicy.Ignore).Transform(data.Table, TableRows(data, rows), model.DType, counts);

    /// <summary>The table rows of the given examples.</summary>
    public static int[] TableRows(TabularData data, int[] examples)
    {
        var rows = new int[examples.Length];
        for (int i = 0; i < rows.Length; i++) rows[i] = data.TableRows[examples[i]];
        return rows;
    }
}
