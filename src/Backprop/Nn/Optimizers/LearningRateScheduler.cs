namespace Backprop.Nn;

/// <summary>
/// Sets an optimizer's learning rate from the epoch count, in the closed forms PyTorch documents.
/// Call <see cref="Step"/> once per epoch, after the epoch's optimizer steps; epoch 0 is the
/// learning rate the optimizer had when the scheduler was created.
/// </summary>
public abstract class LearningRateScheduler
{
    protected LearningRateScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        BaseLearningRate = optimizer.LearningRate;
    }

    public Optimizer Optimizer { get; }

    /// <summary>η₀, the learning rate at epoch 0 (PyTorch's <c>initial_lr</c>).</summary>
    public double BaseLearningRate { get; private set; }

    /// <summary>The number of completed epochs (PyTorch's <c>last_epoch</c>).</summary>
    public int Epoch { get; private set; }

    /// <summary>The learning rate this schedule gives at <paramref name="epoch"/>.</summary>
    public abstract double LearningRateAt(int epoch);

    /// <summary>Ends an epoch: advances <see cref="Epoch"/> and sets the optimizer's learning rate for the next one.</summary>
    public void Step()
    {
        Epoch++;
        Optimizer.LearningRate = LearningRateAt(Epoch);
    }

    /// <summary>"base_lr" and "last_epoch"; the optimizer's current learning rate is in the optimizer's own state.</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict() => new Dictionary<string, Tensor>(StringComparer.Ordinal)
    {
        ["base_lr"] = Tensor.Scalar(BaseLearningRate, DType.Float64),
        ["last_epoch"] = Tensor.Scalar(Epoch, DType.Float64),
    };

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        string owner = GetType().Name;
        double Read(string key) =>
            state.TryGetValue(key, out var t) && t.Length == 1 ? t.Item()
            : throw new BackpropException($"{owner}.LoadStateDict: the state needs a one-value entry '{key}'.");
        double baseLearningRate = Read("base_lr");
        int epoch = checked((int)Read("last_epoch"));
        if (state.Count != 2)
            throw new BackpropException($"{owner}.LoadStateDict: unexpected entries {string.Join(", ", state.Keys.Where(k => k is not ("base_lr" or "last_epoch")).Select(k => $"'{k}'"))}.");
        BaseLearningRate = baseLearningRate;
        Epoch = epoch;
    }
}

/// <summary>ηₜ = η₀·γ^⌊t / stepSize⌋: decays by γ every <c>stepSize</c> epochs (torch.optim.lr_scheduler.StepLR).</summary>
public sealed class StepLR : LearningRateScheduler
{
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        if (stepSize <= 0) throw new BackpropException($"StepLR: stepSize must be ≥ 1; got {stepSize}.");
        StepSize = stepSize;
        Gamma = gamma;
    }

    public int StepSize { get; }
    public double Gamma { get; }

    public override double LearningRateAt(int epoch) => BaseLearningRate * Math.Pow(Gamma, epoch / StepSize);
}

/// <summary>ηₜ = η₀·γᵗ (torch.optim.lr_scheduler.ExponentialLR).</summary>
public sealed class ExponentialLR(Optimizer optimizer, double gamma) : LearningRateScheduler(optimizer)
{
    public double Gamma { get; } = gamma;

    public override double LearningRateAt(int epoch) => BaseLearningRate * Math.Pow(Gamma, epoch);
}

/// <summary>
/// ηₜ = η_min + ½(η₀ − η_min)(1 + cos(π·t / T_max)) (torch.optim.lr_scheduler.CosineAnnealingLR, the
/// closed form of SGDR without restarts): from η₀ at t = 0 down to η_min at t = T_max. Past T_max
/// the closed form rises again along the cosine.
/// </summary>
public sealed class CosineAnnealingLR : LearningRateScheduler
{
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        if (tMax <= 0) throw new BackpropException($"CosineAnnealingLR: tMax must be ≥ 1; got {tMax}.");
        TMax = tMax;
        EtaMin = etaMin;
    }

    public int TMax { get; }
    public double EtaMin { get; }

    public override double LearningRateAt(int epoch) =>
        EtaMin + 0.5 * (BaseLearningRate - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax));
}
