using System.Numerics.Tensors;
using Backprop.Metrics;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>Settings of a training run; the defaults train the shipped data sets well.</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 500;
    public int BatchSize { get; init; } = 32;
    /// <summary>Epochs without a better validation loss before stopping; 0 trains all epochs.</summary>
    public int Patience { get; init; } = 50;
    public ulong Seed { get; init; }

    /// <summary>
    /// Whether the loop may use the compiled step (<see cref="MlpTrainingStep"/>) when the model and
    /// optimizer allow; false forces the autodiff engine, for comparisons. Both give the same results to
    /// floating-point rounding.
    /// </summary>
    internal bool AllowCompiledStep { get; init; } = true;

    /// <summary>
    /// The processes that train together (data parallelism over MPI); one process by default. Every
    /// rank must run the same code on the same data with the same options; <see cref="BatchSize"/> is
    /// the global batch, which the ranks share.
    /// </summary>
    public ICommunicator Communicator { get; init; } = SingleProcess.Instance;

    public void Validate()
    {
        if (Epochs < 1) throw new BackpropException($"Epochs must be at least 1; got {Epochs}.");
        if (BatchSize < 1) throw new BackpropException($"The batch size must be at least 1; got {BatchSize}.");
        if (Patience < 0) throw new BackpropException($"Patience must be 0 (off) or more; got {Patience}.");
    }
}

/// <summary>Features (rows, inputs) and targets (rows, outputs) as tensors: one-hot for multiclass.</summary>
public sealed record TensorDataset(Tensor Features, Tensor Targets)
{
    public int Count => Features.Size(0);
}

/// <summary>One epoch's numbers. The score is accuracy for classification and R² for regression.</summary>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double ValidationLoss, double ValidationScore, double LearningRate, bool Improved);

/// <summary>What happened in a run: every epoch, the best one, and why it stopped.</summary>
public sealed class TrainingHistory
{
    public List<EpochMetrics> Epochs { get; } = [];
    public int BestEpoch { get; internal set; } = -1;
    public double BestValidationLoss { get; internal set; } = double.PositiveInfinity;
    public bool StoppedEarly { get; internal set; }
    public bool Cancelled { get; internal set; }
}

/// <summary>
/// The training loop: epochs of shuffled mini-batches, a validation pass after each epoch, early stopping
/// with patience that restores the best weights, and cancellation that stops cleanly after the current
/// batch. Every random choice comes from one seeded <see cref="Rng"/>, so a run is reproducible, and its
/// whole state (weights, optimizer, generator, best weights, counters) can be checkpointed and resumed
/// with results identical to an uninterrupted run.
/// </summary>
public sealed class Trainer
{
    private readonly Module _model;
    private readonly TaskKind? _task;
    private readonly Func<Tensor, Tensor, Tensor> _loss;
    private readonly Func<Tensor, Tensor, double>? _score;
    private readonly Optimizer _optimizer;
    private readonly LearningRateScheduler? _scheduler;
    private readonly TrainingOptions _options;
    // Parameters and buffers (state-dict order): what early stopping restores and a checkpoint saves.
    private readonly (string Name, Tensor Parameter)[] _parameters;
    private readonly Tensor[] _best;
    private Rng _rng;
    private int _nextEpoch;
    private int _epochsWithoutImprovement;
    private readonly DataParallel? _parallel;

    /// <summary>Trains a network for one of the CLI's tasks: the task's loss and score (accuracy or R²), and the compiled step for MLPs.</summary>
    public Trainer(Sequential model, TaskKind task, Optimizer optimizer, TrainingOptions options, LearningRateScheduler? scheduler = null)
        : this(model, (o, t) => TaskHead.Loss(task, o, t), optimizer, options, scheduler, (o, t) => Score(task, o, t))
    {
        _task = task;
    }

    /// <summary>
    /// Trains any module: <paramref name="loss"/> maps (model output, target batch) to a scalar, and the
    /// optional <paramref name="score"/> (e.g. <see cref="Accuracy"/>) is reported for the validation set.
    /// Targets are whatever tensor the loss takes, with one row per example.
    /// </summary>
    public Trainer(Module model, Func<Tensor, Tensor, Tensor> loss, Optimizer optimizer, TrainingOptions options,
        LearningRateScheduler? scheduler = null, Func<Tensor, Tensor, double>? score = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        options.Validate();
        _model = model;
        _loss = loss;
        _score = score;
        _optimizer = optimizer;
        _scheduler = scheduler;
        _options = options;
        _parameters = model.StateDict().Select(kv => (kv.Key, kv.Value)).ToArray();
        _best = _parameters.Select(p => p.Parameter.Clone()).ToArray();
        _rng = new Rng(options.Seed);
        if (options.Communicator.Size > 1)
        {
            _parallel = new DataParallel(options.Communicator, model.Parameters().ToArray());
            _parallel.BroadcastParameters();
        }
    }

    /// <summary>The share of rows whose largest output is at the target's class: targets one-hot (n, k) or class indices (n) / (n, 1).</summary>
    public static double Accuracy(Tensor outputs, Tensor targets)
    {
        var o = outputs.ToDoubleArray();
        var t = targets.ToDoubleArray();
        int rows = outputs.Size(0);
        if (rows == 0) return double.NaN;
        int k = outputs.Length / rows;
        bool oneHot = targets.Length == outputs.Length && k > 1;
        int correct = 0;
        for (int i = 0; i < rows; i++)
        {
            int predicted = k == 1 ? (o[i] > 0 ? 1 : 0) : TensorPrimitives.IndexOfMax<double>(o.AsSpan(i * k, k));
            int actual = oneHot ? TensorPrimitives.IndexOfMax<double>(t.AsSpan(i * k, k)) : k == 1 ? (t[i] > 0.5 ? 1 : 0) : (int)t[i];
            correct += predicted == actual ? 1 : 0;
        }
        return (double)correct / rows;
    }

    public TrainingHistory History { get; private set; } = new();

    /// <summary>
    /// Trains until the epochs run out, patience runs out, or <paramref name="cancellation"/> fires;
    /// the model ends with the weights of the best validation epoch. Without a validation set there is
    /// no early stopping: every epoch runs, the validation figures are NaN, and the last weights stay.
    /// The model is in training mode during epochs and in evaluation mode when measured, and ends in
    /// evaluation mode.
    /// </summary>
    public TrainingHistory Fit(TensorDataset train, TensorDataset? validation = null, Action<EpochMetrics>? onEpoch = null, CancellationToken cancellation = default)
    {
        if (train.Count == 0) throw new BackpropException("The training set is empty.");
        if (validation is not null && validation.Count == 0) throw new BackpropException("The validation set is empty; give more rows or a larger validation fraction, or pass none.");
        if (train.Targets.Size(0) != train.Count)
            throw new ShapeException($"The training set has {train.Count} feature rows but {train.Targets.Size(0)} target rows.");
        var order = new int[train.Count];
        int capacity = Math.Min(_options.BatchSize, train.Count);
        if (_parallel is not null) capacity = Math.Max(1, DataParallel.Share(capacity, 0, _parallel.Size).Count);
        var fast = CreateFastStep(train, capacity);
        // The closure path reuses one batch tensor per size (a full batch, and the smaller last batch of an
        // epoch) instead of gathering into a new one per step; nothing outlives a step that reads them.
        BatchBuffers? buffers = fast is null ? new BatchBuffers(train, capacity) : null;
        while (_nextEpoch < _options.Epochs)
        {
            _model.Train();
            for (int i = 0; i < order.Length; i++) order[i] = i;
            _rng.Shuffle(order.AsSpan());
            double lossSum = 0;
            int seen = 0;
            for (int start = 0; start < order.Length; start += _options.BatchSize)
            {
                int count = Math.Min(_options.BatchSize, order.Length - start);
                var rows = order.AsSpan(start, count);
                if (_parallel is not null)
                {
                    var share = DataParallel.Share(count, _parallel.Rank, _parallel.Size);
                    rows = rows.Slice(share.Start, share.Count);
                }
                bool stop = cancellation.IsCancellationRequested;
                if (_parallel is null && stop)
                {
                    History.Cancelled = true;
                    RestoreBest();
                    _model.Eval();
                    return History;
                }
                double value;
                if (fast is not null)
                {
                    if (rows.Length > 0)
                    {
                        fast.GatherBatch(train, rows);
                        value = fast.Step(rows.Length);
                    }
                    else value = 0;
                    if (_parallel is not null)
                    {
                        (value, stop) = _parallel.Synchronize(value, rows.Length, count, stop);
                        if (stop) { History.Cancelled = true; RestoreBest(); _model.Eval(); return History; }
                    }
                    if (!double.IsFinite(value)) throw Diverged(GatherRows(train.Features, rows), GatherRows(train.Targets, rows), value);
                    _optimizer.Step();
                }
                else
                {
                    // A gradient flow evaluates the loss at points of its own, so each evaluation is
                    // synchronised inside the closure; the stop flag is decided on the batch's first.
                    bool first = true;
                    var (x, y) = buffers!.Gather(train, rows);
                    // The step's activations and gradients come from the tensor pool and go back to it at the
                    // end of the step; the parameters' gradients are kept and zeroed in place, so a steady-state
                    // step allocates no tensor memory.
                    using var step = TensorPool.BeginScope();
                    var loss = _optimizer.Step(() =>
                    {
                        _optimizer.ZeroGrad(setToNone: false);
                        if (_parallel is null)
                        {
                            var l = _loss(_model.Forward(x), y);
                            l.Backward();
                            return l;
                        }
                        double local = 0;
                        if (x.Size(0) > 0)
                        {
                            var l = _loss(_model.Forward(x), y);
                            l.Backward();
                            local = l.Item();
                        }
                        var (global, anyStop) = _parallel.Synchronize(local, x.Size(0), count, first && stop);
                        if (first) stop = anyStop;
                        first = false;
                        return Tensor.Scalar(global, x.DType);
                    })!;
                    value = loss.Item();
                    if (stop) { History.Cancelled = true; RestoreBest(); _model.Eval(); return History; }
                    if (!double.IsFinite(value)) throw Diverged(x, y, value);
                }
                lossSum += value * count;
                seen += count;
            }

            var (valLoss, valScore) = validation is null ? (double.NaN, double.NaN) : Evaluate(validation);
            if (_parallel is not null && validation is not null) (valLoss, valScore) = _parallel.FromRankZero(valLoss, valScore);
            bool improved = validation is not null && valLoss < History.BestValidationLoss;
            if (improved)
            {
                History.BestValidationLoss = valLoss;
                History.BestEpoch = _nextEpoch;
                _epochsWithoutImprovement = 0;
                for (int i = 0; i < _parameters.Length; i++) _best[i].CopyFrom(_parameters[i].Parameter);
            }
            else _epochsWithoutImprovement++;
            var metrics = new EpochMetrics(_nextEpoch + 1, lossSum / seen, valLoss, valScore, _optimizer.LearningRate, improved);
            History.Epochs.Add(metrics);
            _scheduler?.Step();
            // The epoch is complete before the callback runs, so a checkpoint taken there resumes at the next one.
            _nextEpoch++;
            onEpoch?.Invoke(metrics);
            if (validation is not null && _options.Patience > 0 && _epochsWithoutImprovement >= _options.Patience)
            {
                History.StoppedEarly = true;
                break;
            }
        }
        RestoreBest();
        _model.Eval();
        return History;
    }

    /// <summary>
    /// Mean loss and score (accuracy, or R² for regression, or the score function given; NaN without one)
    /// of the model on a data set, in evaluation mode; the module's mode is restored afterwards.
    /// </summary>
    public (double Loss, double Score) Evaluate(TensorDataset data)
    {
        using var _ = Autodiff.NoGrad();
        bool wasTraining = _model.Training;
        _model.Eval();
        try
        {
            var outputs = _model.Forward(data.Features);
            double loss = _loss(outputs, data.Targets).Item();
            return (loss, _score is null ? double.NaN : _score(outputs, data.Targets));
        }
        finally { _model.Train(wasTraining); }
    }

    /// <summary>Accuracy for classification, R² for regression, from raw outputs and targets.</summary>
    public static double Score(TaskKind task, Tensor outputs, Tensor targets)
    {
        var o = outputs.ToDoubleArray();
        var t = targets.ToDoubleArray();
        int rows = outputs.Size(0);
        if (task == TaskKind.Regression) return RegressionMetrics.R2(t, o);
        int correct = 0;
        if (task == TaskKind.Binary)
        {
            for (int i = 0; i < rows; i++) correct += (o[i] > 0) == (t[i] > 0.5) ? 1 : 0;
        }
        else
        {
            int k = outputs.Size(1);
            for (int i = 0; i < rows; i++)
                correct += TensorPrimitives.IndexOfMax<double>(o.AsSpan(i * k, k)) == TensorPrimitives.IndexOfMax<double>(t.AsSpan(i * k, k)) ? 1 : 0;
        }
        return (double)correct / rows;
    }

    private void RestoreBest()
    {
        if (History.BestEpoch < 0) return;
        using var _ = Autodiff.NoGrad();
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].Parameter.CopyFrom(_best[i]);
    }

    /// <summary>
    /// A non-finite loss: replay the batch with non-finite detection on, so the error names the op that
    /// first produced NaN or ∞, and name the setting most likely responsible (<see cref="Divergence"/>).
    /// </summary>
    private DivergenceException Diverged(Tensor x, Tensor y, double value) =>
        Divergence.Diagnose(_nextEpoch + 1, value, x, _optimizer, _parameters, () =>
        {
            try
            {
                using var detect = Autodiff.DetectNonFinite();
                _optimizer.ZeroGrad();
                _loss(_model.Forward(x), y).Backward();
                return null;
            }
            catch (NonFiniteException e)
            {
                return e;
            }
        });

    /// <summary>
    /// The compiled step (<see cref="MlpTrainingStep"/>) when it computes what the closure would: a
    /// first-order optimizer (gradient flows evaluate the loss at points of their own, through the closure),
    /// an MLP it supports, data in the model's dtype, and gradients being recorded. Otherwise null, and the
    /// loop runs the autodiff engine.
    /// </summary>
    private MlpTrainingStep? CreateFastStep(TensorDataset train, int capacity)
    {
        if (!_options.AllowCompiledStep || _optimizer.RequiresClosure || !Autodiff.IsGradEnabled) return null;
        if (_task is not TaskKind task || _model is not Sequential sequential) return null;
        var step = MlpTrainingStep.TryCreate(sequential, task, capacity, out _);
        if (step is null) return null;
        var x = train.Features;
        var y = train.Targets;
        if (x.DType != step.DType || y.DType != step.DType) return null;
        if (x.Rank != 2 || x.Size(1) != step.Inputs || y.Size(0) != x.Size(0) || y.Length != x.Size(0) * step.Outputs) return null;
        return step;
    }

    /// <summary>Batch tensors reused across steps: one of the full batch size, one for the last, smaller batch.</summary>
    /// <summary>The batch tensors of the closure path, reused from step to step: one for full batches, one for the last.</summary>
    internal sealed class BatchBuffers(TensorDataset data, int capacity)
    {
        private (Tensor X, Tensor Y)? _full;
        private (Tensor X, Tensor Y)? _partial;

        public (Tensor X, Tensor Y) Gather(TensorDataset source, ReadOnlySpan<int> rows)
        {
            ref var slot = ref rows.Length == capacity ? ref _full : ref _partial;
            if (slot is not { } buffers || buffers.X.Size(0) != rows.Length)
                slot = buffers = (EmptyRows(data.Features, rows.Length), EmptyRows(data.Targets, rows.Length));
            GatherInto(source.Features, rows, buffers.X);
            GatherInto(source.Targets, rows, buffers.Y);
            return buffers;
        }

        private static Tensor EmptyRows(Tensor source, int rows)
        {
            var dims = source.Shape.ToArray();
            dims[0] = rows;
            return Tensor.Zeros(dims, source.DType);
        }
    }

    private static void GatherInto(Tensor source, ReadOnlySpan<int> indices, Tensor destination)
    {
        int width = source.Length / Math.Max(1, source.Size(0));
        if (source.DType == DType.Float32) Gather(source.AsReadOnlySpan<float>(), destination.AsSpan<float>(), indices, width);
        else Gather(source.AsReadOnlySpan<double>(), destination.AsSpan<double>(), indices, width);
    }

    /// <summary>The rows of <paramref name="source"/> at <paramref name="indices"/>, as a new plain tensor.</summary>
    internal static Tensor GatherRows(Tensor source, ReadOnlySpan<int> indices) => DataLoader.GatherRows(source, indices);

    private static void Gather<T>(ReadOnlySpan<T> source, Span<T> destination, ReadOnlySpan<int> indices, int width) =>
        DataLoader.Gather(source, destination, indices, width);

    /// <summary>
    /// Everything needed to continue this run exactly: model and best weights, optimizer and scheduler
    /// state, the generator and the counters, as named tensors for a safetensors checkpoint.
    /// </summary>
    public Dictionary<string, Tensor> CheckpointState()
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < _parameters.Length; i++)
        {
            state["model." + _parameters[i].Name] = _parameters[i].Parameter.Clone();
            state["best." + _parameters[i].Name] = _best[i].Clone();
        }
        foreach (var (k, v) in _optimizer.StateDict()) state["optimizer." + k] = v;
        if (_scheduler is not null)
            foreach (var (k, v) in _scheduler.StateDict()) state["scheduler." + k] = v;
        var rngState = _rng.GetState();
        // float64 on purpose: the generator's 64-bit words travel as the bit patterns of doubles.
        state["trainer.rng"] = Tensor.FromArray(rngState.Select(w => BitConverter.UInt64BitsToDouble(w)).ToArray(), [rngState.Length], DType.Float64);
        state["trainer.counters"] = Tensor.FromArray(new double[]
        {
            _nextEpoch, _epochsWithoutImprovement, History.BestEpoch, History.BestValidationLoss,
        }, [4], DType.Float64);
        var h = History.Epochs;
        var rows = new double[h.Count * 6];
        for (int i = 0; i < h.Count; i++)
        {
            var e = h[i];
            new[] { e.Epoch, e.TrainLoss, e.ValidationLoss, e.ValidationScore, e.LearningRate, e.Improved ? 1.0 : 0.0 }.CopyTo(rows, i * 6);
        }
        state["trainer.history"] = Tensor.FromArray(rows, [h.Count, 6], DType.Float64);
        return state;
    }

    /// <summary>Restores a <see cref="CheckpointState"/> of a trainer built with the same model shape and options.</summary>
    public void RestoreCheckpoint(IReadOnlyDictionary<string, Tensor> state)
    {
        Tensor Get(string name) => state.TryGetValue(name, out var t) ? t
            : throw new BackpropException($"The checkpoint has no '{name}'; it was written for a different model or by another tool.");
        using (Autodiff.NoGrad())
        {
            for (int i = 0; i < _parameters.Length; i++)
            {
                _parameters[i].Parameter.CopyFrom(Get("model." + _parameters[i].Name).To(_parameters[i].Parameter.DType));
                _best[i].CopyFrom(Get("best." + _parameters[i].Name).To(_best[i].DType));
            }
        }
        _optimizer.LoadStateDict(Prefixed(state, "optimizer."));
        if (_scheduler is not null) _scheduler.LoadStateDict(Prefixed(state, "scheduler."));
        var rngWords = Get("trainer.rng").ToDoubleArray().Select(BitConverter.DoubleToUInt64Bits).ToArray();
        _rng = new Rng(0);
        _rng.SetState(rngWords);
        var counters = Get("trainer.counters").ToDoubleArray();
        _nextEpoch = (int)counters[0];
        _epochsWithoutImprovement = (int)counters[1];
        History = new TrainingHistory { BestEpoch = (int)counters[2], BestValidationLoss = counters[3] };
        var rows = Get("trainer.history");
        var values = rows.ToDoubleArray();
        for (int i = 0; i < rows.Size(0); i++)
        {
            var r = values.AsSpan(i * 6, 6);
            History.Epochs.Add(new EpochMetrics((int)r[0], r[1], r[2], r[3], r[4], r[5] != 0));
        }
    }

    private static Dictionary<string, Tensor> Prefixed(IReadOnlyDictionary<string, Tensor> state, string prefix) =>
        state.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
             .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
}
