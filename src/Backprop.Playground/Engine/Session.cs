using Backprop.Data;
using Backprop.Explain;
using Backprop.Nn;
using Backprop.Training;
using NnActivation = Backprop.Nn.Activation;

namespace Backprop.Playground.Engine;

/// <summary>Training and test loss after an epoch.</summary>
public readonly record struct LossPoint(int Epoch, double Train, double Test);

/// <summary>
/// One network training on one data set in the page: the model (a <see cref="Sequential"/> MLP), the
/// compiled training step (<see cref="MlpTrainingStep"/>, what <c>Trainer</c> uses), plain SGD with
/// TensorFlow Playground's L1/L2 penalty, the losses, the values every neuron computes over the map, and
/// one explained step (<see cref="Explainer"/>, what <c>backprop explain</c> prints).
/// </summary>
public sealed class Session
{
    /// <summary>Grid cells per side of every heatmap.</summary>
    public const int Grid = 50;

    private readonly MlpTrainingStep _step;
    private readonly TensorDataset _train;
    private readonly Tensor _trainTargets, _testX, _testTargets, _gridX;
    private readonly Rng _shuffle;
    private Sgd _optimizer;
    private int[] _order;
    private int _cursor;
    private MlpExplanation? _forwardMode;

    public Session(PlaygroundState state, TrainingData data)
    {
        State = state.Clone();
        Data = data;
        HiddenActivation = state.Activation switch
        {
            "relu" => NnActivation.Relu,
            "sigmoid" => NnActivation.Sigmoid,
            "linear" => NnActivation.Identity,
            _ => NnActivation.Tanh,
        };
        int outputs = TaskHead.Outputs(data.Task, data.ClassCount);
        var hidden = state.NetworkShape.ToArray();
        Model = Mlp.Create(data.Inputs, hidden, outputs, HiddenActivation, Init.Auto, new Rng(state.SeedValue), DType.Float32);
        Layers = Model.Layers.OfType<Linear>().ToArray();
        if (state.InitZero)
            foreach (var p in Model.Parameters()) p.AsSpan<float>().Clear();
        Sizes = [data.Inputs, .. hidden, outputs];

        var trainX = Tensor.FromArray(data.TrainX, [data.TrainCount, data.Inputs], DType.Float32);
        _trainTargets = Targets(data.TrainY);
        _train = new TensorDataset(trainX, _trainTargets);
        _testX = Tensor.FromArray(data.TestX, [data.TestCount, data.Inputs], DType.Float32);
        _testTargets = Targets(data.TestY);
        _gridX = Tensor.FromArray(data.GridInputs(Grid), [Grid * Grid, data.Inputs], DType.Float32);
        _step = MlpTrainingStep.TryCreate(Model, data.Task, Math.Max(1, state.BatchSize), out var reason)
            ?? throw new BackpropException($"The playground's network cannot use the compiled step: {reason}.");
        _optimizer = new Sgd(Model.NamedParameters(), state.LearningRate);
        _shuffle = new Rng(state.SeedValue ^ 0x9E3779B97F4A7C15UL);
        _order = NewOrder();
        Evaluate();
    }

    public PlaygroundState State { get; }
    public TrainingData Data { get; }
    public TaskKind Task => Data.Task;
    public NnActivation HiddenActivation { get; }
    public Sequential Model { get; }
    /// <summary>The Linear layers, input side first: layer l of the course is Layers[l − 1].</summary>
    public Linear[] Layers { get; }
    /// <summary>n_0 … n_L.</summary>
    public int[] Sizes { get; }
    public int L => Layers.Length;
    public int Epoch { get; private set; }
    public long StepCount { get; private set; }
    public double TrainLoss { get; private set; }
    public double TestLoss { get; private set; }
    public List<LossPoint> History { get; } = new();
    /// <summary>The last step taken with the Step button, explained.</summary>
    public ExplainedStep? LastStep { get; private set; }
    /// <summary>Rows of the current epoch still to train on.</summary>
    public int RemainingInEpoch => Data.TrainCount - _cursor;

    /// <summary>The hidden activation's name as the course and <c>explain</c> write it.</summary>
    public string ActivationName => HiddenActivation switch
    {
        NnActivation.Relu => "relu",
        NnActivation.Sigmoid => "sigmoid",
        NnActivation.Identity => "identity",
        _ => "tanh",
    };

    /// <summary>Changes the learning rate, keeping the network as it is.</summary>
    public void SetLearningRate(double lr)
    {
        State.LearningRate = lr;
        _optimizer = new Sgd(Model.NamedParameters(), lr);
    }

    /// <summary>Changes the L1/L2 penalty, keeping the network as it is.</summary>
    public void SetRegularization(string kind, double rate)
    {
        State.Regularization = kind;
        State.RegularizationRate = rate;
    }

    private Tensor Targets(double[] y)
    {
        var classes = Task == TaskKind.Regression ? [] : Array.ConvertAll(y, v => (int)v);
        return TaskHead.Targets(Task, classes, y, Data.ClassCount, DType.Float32);
    }

    private int[] NewOrder()
    {
        var order = new int[Data.TrainCount];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        _shuffle.Shuffle(order.AsSpan());
        return order;
    }

    /// <summary>The rows of the next mini-batch (in this epoch's shuffled order).</summary>
    public ReadOnlySpan<int> NextBatchRows => _order.AsSpan(_cursor, Math.Min(State.BatchSize, Data.TrainCount - _cursor));

    /// <summary>One mini-batch: forward, loss and backward by the compiled step, the penalty, and the SGD update.</summary>
    public void TrainBatch()
    {
        var rows = NextBatchRows;
        _step.GatherBatch(_train, rows);
        _step.Step(rows.Length);
        AddPenaltyGradient();
        _optimizer.Step();
        Advance(rows.Length);
    }

    private void Advance(int rows)
    {
        StepCount++;
        _cursor += rows;
        if (_cursor >= Data.TrainCount)
        {
            _cursor = 0;
            _order = NewOrder();
            Epoch++;
        }
    }

    /// <summary>Trains to the end of the current epoch, then measures both losses.</summary>
    public void TrainEpoch()
    {
        int epoch = Epoch;
        while (Epoch == epoch) TrainBatch();
        Evaluate();
    }

    /// <summary>dL/dW += λ·sign(W) (L1) or λ·W (L2) on the weights (not the biases), as TensorFlow Playground.</summary>
    private void AddPenaltyGradient()
    {
        double rate = State.RegularizationRate;
        if (State.Regularization == "none" || rate == 0) return;
        bool l1 = State.Regularization == "L1";
        float r = (float)rate;
        foreach (var layer in Layers)
        {
            var w = layer.Weight.AsSpan<float>();
            var g = layer.Weight.Grad!.AsSpan<float>();
            for (int i = 0; i < w.Length; i++) g[i] += l1 ? r * MathF.Sign(w[i]) : r * w[i];
        }
    }

    /// <summary>Training and test loss (the task's loss, mean over the rows; the penalty is not included).</summary>
    public void Evaluate()
    {
        TrainLoss = Loss(_train.Features, _trainTargets);
        TestLoss = Data.TestCount == 0 ? double.NaN : Loss(_testX, _testTargets);
        if (History.Count > 0 && History[^1].Epoch == Epoch) History[^1] = new LossPoint(Epoch, TrainLoss, TestLoss);
        else History.Add(new LossPoint(Epoch, TrainLoss, TestLoss));
        if (History.Count > 2000) History.RemoveRange(0, History.Count - 2000);
    }

    private double Loss(Tensor x, Tensor targets) => TaskHead.Loss(Task, ForwardAll(x).A[^1], targets).Item();

    /// <summary>
    /// z[l] and a[l] for l = 1..L on rows <paramref name="x"/> (m, n_0), with the engine's tensor ops on
    /// plain values (nothing is recorded); a[L] is the logits, as the losses take them.
    /// </summary>
    public (Tensor[] Z, Tensor[] A) ForwardAll(Tensor x)
    {
        var z = new Tensor[L + 1];
        var a = new Tensor[L + 1];
        a[0] = x;
        for (int l = 1; l <= L; l++)
        {
            var layer = Layers[l - 1];
            z[l] = a[l - 1].MatMul(layer.Weight.Detach(), transposeB: true) + layer.Bias!.Detach();
            a[l] = l == L ? z[l] : HiddenActivation switch
            {
                NnActivation.Relu => z[l].Relu(),
                NnActivation.Sigmoid => z[l].Sigmoid(),
                NnActivation.Identity => z[l],
                _ => z[l].Tanh(),
            };
        }
        return (z, a);
    }

    /// <summary>Output values the map colours: 2p − 1 for binary, class probabilities for multiclass, the value for regression.</summary>
    public int OutputWidth => Task == TaskKind.Multiclass ? Data.ClassCount : 1;

    /// <summary>
    /// The values drawn this frame, as one float32 array: the output over the grid (grid², OutputWidth),
    /// then a[l] over the grid (grid², n_l) for each hidden layer l = 1..L−1, row-major.
    /// </summary>
    public float[] ComputeFrame()
    {
        var (_, a) = ForwardAll(_gridX);
        int g2 = Grid * Grid;
        int total = g2 * OutputWidth;
        for (int l = 1; l < L; l++) total += g2 * Sizes[l];
        var frame = new float[total];
        var output = Task switch
        {
            TaskKind.Binary => a[L].Sigmoid() * 2.0 - 1.0,
            TaskKind.Multiclass => a[L].Softmax(-1),
            _ => a[L],
        };
        output.AsSpan<float>().CopyTo(frame);
        int offset = g2 * OutputWidth;
        for (int l = 1; l < L; l++)
        {
            a[l].AsSpan<float>().CopyTo(frame.AsSpan(offset));
            offset += g2 * Sizes[l];
        }
        return frame;
    }

    /// <summary>Every weight, layer by layer, each W[l] row-major (n_l, n_{l−1}).</summary>
    public double[] Weights()
    {
        var all = new List<double>();
        foreach (var layer in Layers) all.AddRange(layer.Weight.ToDoubleArray());
        return [.. all];
    }

    /// <summary>Network inputs of point <paramref name="point"/> (training rows first, then test rows).</summary>
    public float[] PointInputs(int point)
    {
        int k = Data.Inputs;
        var source = point < Data.TrainCount ? Data.TrainX : Data.TestX;
        int row = point < Data.TrainCount ? point : point - Data.TrainCount;
        var x = new float[k];
        for (int c = 0; c < k; c++) x[c] = (float)source[row * k + c];
        return x;
    }

    /// <summary>z[l] and a[l] of one point, l = 0..L (z[0] unused; a[0] the inputs).</summary>
    public (double[][] Z, double[][] A) ForwardPoint(int point)
    {
        var (z, a) = ForwardAll(Tensor.FromArray(PointInputs(point), 1, Data.Inputs));
        var zs = new double[L + 1][];
        var acts = new double[L + 1][];
        zs[0] = [];
        for (int l = 0; l <= L; l++)
        {
            acts[l] = a[l].ToDoubleArray();
            if (l > 0) zs[l] = z[l].ToDoubleArray();
        }
        return (zs, acts);
    }

    /// <summary>
    /// <c>backprop explain --mode forward</c> on this network: <see cref="Explainer"/> with its forward-mode
    /// scheme (<see cref="MlpExplanation.ForwardMode"/>: what forward mode carries through each layer, and
    /// the multiply-adds and numbers held by both modes), run on the next mini-batch and the current weights
    /// when first asked for, without training on it. Kept for the session: its counts depend only on the
    /// layer sizes and m, and running the scheme costs what forward mode costs.
    /// </summary>
    public MlpExplanation ForwardModeExplanation
    {
        get
        {
            if (_forwardMode is null)
            {
                var (x, y) = Batch(NextBatchRows.ToArray());
                _forwardMode = Explain(x, y, new ExplainOptions { ForwardMode = true });
            }
            return _forwardMode;
        }
    }

    /// <summary>Training rows <paramref name="rows"/> as explain takes them: X (m, n_0) in float64, and the targets' values.</summary>
    private (Tensor X, double[] Y) Batch(int[] rows)
    {
        int m = rows.Length, k = Data.Inputs;
        var x = new double[m * k];
        var trainX = _train.Features.AsSpan<float>();
        for (int i = 0; i < m; i++)
            for (int c = 0; c < k; c++) x[i * k + c] = trainX[rows[i] * k + c];
        return (Tensor.FromArray(x, [m, k], DType.Float64), rows.Select(r => Data.TrainY[r]).ToArray());
    }

    /// <summary><see cref="Explainer"/> on a batch from <see cref="Batch"/> and the current weights.</summary>
    private MlpExplanation Explain(Tensor batchX, double[] yValues, ExplainOptions options)
    {
        int m = yValues.Length;
        var explainTask = Task switch { TaskKind.Binary => ExplainTask.Binary, TaskKind.Multiclass => ExplainTask.Multiclass, _ => ExplainTask.Regression };
        var batchY = Task == TaskKind.Multiclass ? Tensor.FromArray(yValues, [m], DType.Float64) : Tensor.FromArray(yValues, [m, 1], DType.Float64);
        var layers = new List<ExplainLayer>();
        for (int l = 1; l <= L; l++)
            layers.Add(new ExplainLayer(Layers[l - 1].Weight.Detach().To(DType.Float64), Layers[l - 1].Bias!.Detach().To(DType.Float64),
                l == L ? "identity" : ActivationName));
        return Explainer.Explain(layers, explainTask, batchX, batchY, options);
    }

    /// <summary>
    /// The Step button: explains the next mini-batch with <see cref="Explainer"/> on the current weights
    /// (float64, the course's column layout), then trains on it with the compiled step and updates, and
    /// records both so the page can walk the backward pass and check one against the other.
    /// </summary>
    public ExplainedStep StepExplained()
    {
        var rows = NextBatchRows.ToArray();
        int m = rows.Length;
        var (batchX, yValues) = Batch(rows);
        var wBefore = Layers.Select(layer => layer.Weight.ToDoubleArray()).ToArray();
        var bBefore = Layers.Select(layer => layer.Bias!.ToDoubleArray()).ToArray();
        var explanation = Explain(batchX, yValues, new ExplainOptions { Source = $"{Data.Source}, epoch {Epoch}, training rows {string.Join(", ", rows)}" });

        _step.GatherBatch(_train, rows);
        double lossBefore = _step.Step(m);
        var dW = Layers.Select(layer => layer.Weight.Grad!.ToDoubleArray()).ToArray();
        var db = Layers.Select(layer => layer.Bias!.Grad!.ToDoubleArray()).ToArray();
        AddPenaltyGradient();
        var update = Layers.Select(layer => layer.Weight.Grad!.ToDoubleArray()).ToArray();
        _optimizer.Step();
        var wAfter = Layers.Select(layer => layer.Weight.ToDoubleArray()).ToArray();
        var bAfter = Layers.Select(layer => layer.Bias!.ToDoubleArray()).ToArray();
        var batchX32 = batchX.To(DType.Float32);
        var batchTargets = TaskHead.Targets(Task, Task == TaskKind.Regression ? [] : Array.ConvertAll(yValues, v => (int)v), yValues, Data.ClassCount, DType.Float32);
        double lossAfter = TaskHead.Loss(Task, ForwardAll(batchX32).A[^1], batchTargets).Item();
        Advance(m);
        Evaluate();

        // The compiled float32 step against explain's float64 hand formulas: same gradients up to float32 rounding.
        double maxDiff = 0, scale = 0;
        for (int l = 1; l <= L; l++)
        {
            var ew = explanation.Step($"dW[{l}]").Values.ToDoubleArray();
            var eb = explanation.Step($"db[{l}]").Values.ToDoubleArray();
            for (int i = 0; i < ew.Length; i++) { maxDiff = Math.Max(maxDiff, Math.Abs(ew[i] - dW[l - 1][i])); scale = Math.Max(scale, Math.Abs(ew[i])); }
            for (int i = 0; i < eb.Length; i++) { maxDiff = Math.Max(maxDiff, Math.Abs(eb[i] - db[l - 1][i])); scale = Math.Max(scale, Math.Abs(eb[i])); }
        }
        LastStep = new ExplainedStep(rows, explanation, lossBefore, lossAfter, State.LearningRate, State.Regularization, State.RegularizationRate,
            wBefore, bBefore, dW, db, update, wAfter, bAfter, maxDiff, 1e-5 * Math.Max(1, scale));
        return LastStep;
    }
}

/// <summary>
/// One explained step: the batch rows, <c>explain</c>'s derivation on the weights before the step, the
/// compiled step's gradients, and the update W ← W − α (dW + penalty) with the batch loss before and after.
/// Arrays are per layer (index l − 1), W row-major (n_l, n_{l−1}).
/// </summary>
public sealed record ExplainedStep(
    int[] Rows,
    MlpExplanation Explanation,
    double LossBefore,
    double LossAfter,
    double LearningRate,
    string Regularization,
    double RegularizationRate,
    double[][] WeightsBefore,
    double[][] BiasesBefore,
    double[][] CompiledDW,
    double[][] CompiledDb,
    double[][] UpdateDirection,
    double[][] WeightsAfter,
    double[][] BiasesAfter,
    double CompiledVsExplainMaxError,
    double CompiledVsExplainTolerance)
{
    public bool CompiledAgrees => CompiledVsExplainMaxError <= CompiledVsExplainTolerance;
}
