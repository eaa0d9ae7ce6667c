namespace Backprop.Nn;

/// <summary>
/// The Dormand–Prince 5(4) embedded Runge–Kutta pair (Dormand and Prince, 1980; MATLAB's ode45,
/// SciPy's RK45) on the gradient flow dθ/dt = −∇L(θ), with adaptive steps. Each attempt evaluates
/// seven stages; the fifth-order solution θ₅ is kept, and its difference from the embedded
/// fourth-order solution estimates the local error
/// <code>
/// errᵢ = h·Σⱼ eⱼ·kⱼ,ᵢ                       (e = b₅ − b₄)
/// ‖err‖ = √(mean over i of (errᵢ / (atol + rtol·max(|θᵢ|, |θ₅,ᵢ|)))²)
/// </code>
/// The step is accepted when ‖err‖ ≤ 1, and the next step size is
/// h·min(5, max(0.2, 0.9·‖err‖^(−1/5))). The last stage is evaluated at θ₅ (first same as last,
/// FSAL), so an accepted step costs six new gradient evaluations and a rejected one six as well.
/// One <see cref="Optimizer.Step(Func{Tensor}?)"/> advances by exactly one accepted step, retrying
/// rejected attempts with smaller h.
/// </summary>
public sealed class DormandPrince54 : GradientFlowOptimizer
{
    // The coefficients and the error control are shared with OdeSolver (Nn/Ode): ButcherTableau.DormandPrince54, StepSizeControl.
    private static readonly ButcherTableau Tableau = ButcherTableau.DormandPrince54;
    private static readonly int Stages = Tableau.Stages;

    private readonly Tensor[] _origin;
    /// <summary>_stageGradients[i][s] = ∇L for parameter i at stage s (the gradient, i.e. −kₛ).</summary>
    private readonly Tensor[][] _stageGradients;
    private readonly Tensor[] _errorWork;
    private readonly Tensor[] _scaleWork;
    private readonly int[] _versionsAfterStep;
    private bool _firstGradientValid;
    private Tensor? _firstLoss;

    /// <param name="parameters">The parameters to move along the flow.</param>
    /// <param name="initialStep">The first step size h to try.</param>
    /// <param name="relTol">Relative tolerance of the local error.</param>
    /// <param name="absTol">Absolute tolerance of the local error.</param>
    /// <param name="minStepSize">Below this step size the integration gives up (the flow is too stiff or the loss not smooth).</param>
    /// <param name="maxRejectionsPerStep">How many rejected attempts one step may take before giving up.</param>
    public DormandPrince54(IEnumerable<(string Name, Tensor Parameter)> parameters, double initialStep, double relTol = 1e-3, double absTol = 1e-6,
        double minStepSize = 1e-12, int maxRejectionsPerStep = 50)
        : base(parameters, initialStep)
    {
        if (!(relTol >= 0) || !(absTol >= 0) || relTol + absTol <= 0)
            throw new BackpropException($"DormandPrince54: tolerances must be ≥ 0 and not both 0; got relTol={relTol}, absTol={absTol}.");
        if (!(minStepSize > 0)) throw new BackpropException($"DormandPrince54: minStepSize must be > 0; got {minStepSize}.");
        if (maxRejectionsPerStep < 1) throw new BackpropException($"DormandPrince54: maxRejectionsPerStep must be ≥ 1; got {maxRejectionsPerStep}.");
        RelTol = relTol;
        AbsTol = absTol;
        MinStepSize = minStepSize;
        MaxRejectionsPerStep = maxRejectionsPerStep;
        _origin = new Tensor[ParameterCount];
        _stageGradients = new Tensor[ParameterCount][];
        _errorWork = new Tensor[ParameterCount];
        _scaleWork = new Tensor[ParameterCount];
        _versionsAfterStep = new int[ParameterCount];
        for (int i = 0; i < ParameterCount; i++)
        {
            _origin[i] = NewBufferLike(i);
            _errorWork[i] = NewBufferLike(i);
            _scaleWork[i] = NewBufferLike(i);
            _stageGradients[i] = new Tensor[Stages];
            for (int s = 0; s < Stages; s++) _stageGradients[i][s] = NewBufferLike(i);
        }
    }

    public DormandPrince54(IEnumerable<Tensor> parameters, double initialStep, double relTol = 1e-3, double absTol = 1e-6,
        double minStepSize = 1e-12, int maxRejectionsPerStep = 50)
        : this(NameByPosition(parameters), initialStep, relTol, absTol, minStepSize, maxRejectionsPerStep) { }

    public double RelTol { get; }
    public double AbsTol { get; }
    public double MinStepSize { get; }
    public int MaxRejectionsPerStep { get; }

    /// <summary>The step size the next attempt will use (the same value as <see cref="Optimizer.LearningRate"/>).</summary>
    public double StepSize => LearningRate;

    public long AcceptedSteps { get; private set; }
    public long RejectedSteps { get; private set; }

    /// <summary>The error norm of the last attempt (accepted when ≤ 1).</summary>
    public double LastErrorNorm { get; private set; }

    /// <summary>One accepted step no longer than <paramref name="maxStepSize"/>; returns the loss where it started.</summary>
    public Tensor Step(Func<Tensor> lossClosure, double maxStepSize)
    {
        ArgumentNullException.ThrowIfNull(lossClosure);
        if (!(maxStepSize > 0)) throw new BackpropException($"DormandPrince54: maxStepSize must be > 0; got {maxStepSize}.");
        var loss = AdvanceAtMost(lossClosure, maxStepSize, out _);
        StepCount++;
        return loss;
    }

    /// <summary>Integrates until <see cref="GradientFlowOptimizer.Time"/> reaches <paramref name="endTime"/>, shortening the last step to land on it; returns the final loss.</summary>
    public Tensor IntegrateTo(Func<Tensor> lossClosure, double endTime)
    {
        ArgumentNullException.ThrowIfNull(lossClosure);
        if (!(endTime >= Time)) throw new BackpropException($"DormandPrince54: cannot integrate back to time {endTime} from time {Time}.");
        while (Time < endTime)
        {
            AdvanceAtMost(lossClosure, endTime - Time, out bool reachedLimit);
            StepCount++;
            // Time + (endTime − Time) can miss endTime by an ulp; landing exactly avoids a final step of 1e-16.
            if (reachedLimit) Time = endTime;
        }
        return CurrentLoss(lossClosure);
    }

    protected override Tensor Advance(Func<Tensor> lossClosure) => AdvanceAtMost(lossClosure, double.PositiveInfinity, out _);

    private Tensor CurrentLoss(Func<Tensor> lossClosure)
    {
        if (!FirstGradientIsCurrent()) EvaluateFirstStage(lossClosure);
        return _firstLoss!;
    }

    /// <summary>
    /// Whether the gradient kept from the last accepted step (FSAL) is still the gradient at the
    /// parameters: it is not if anything wrote to them since, which their version counters show.
    /// </summary>
    private bool FirstGradientIsCurrent()
    {
        if (!_firstGradientValid) return false;
        for (int i = 0; i < ParameterCount; i++)
            if (Parameter(i).Storage.Version != _versionsAfterStep[i]) return false;
        return true;
    }

    private void EvaluateFirstStage(Func<Tensor> lossClosure)
    {
        _firstLoss = EvaluateGradient(lossClosure, i => _stageGradients[i][0]);
        RecordVersions();
        _firstGradientValid = true;
    }

    private void RecordVersions()
    {
        for (int i = 0; i < ParameterCount; i++) _versionsAfterStep[i] = Parameter(i).Storage.Version;
    }

    private Tensor AdvanceAtMost(Func<Tensor> lossClosure, double maxStepSize, out bool reachedLimit)
    {
        if (!(LearningRate > 0)) throw new BackpropException($"DormandPrince54: the step size must be > 0; got {LearningRate}.");
        if (!FirstGradientIsCurrent()) EvaluateFirstStage(lossClosure);
        var startLoss = _firstLoss!;
        for (int i = 0; i < ParameterCount; i++) _origin[i].CopyFrom(Parameter(i).Detach());

        for (int attempt = 0; ; attempt++)
        {
            reachedLimit = maxStepSize <= LearningRate;
            double h = reachedLimit ? maxStepSize : LearningRate;
            if (h < MinStepSize)
                throw new BackpropException(
                    $"DormandPrince54: the step size fell to {h:G3}, below the minimum {MinStepSize:G3}, at time {Time:G6} " +
                    $"(last error norm {LastErrorNorm:G3}; {AcceptedSteps} steps accepted, {RejectedSteps} rejected). " +
                    "The loss may be non-smooth or its gradient non-finite there; loosen relTol/absTol or lower minStepSize.");
            if (attempt >= MaxRejectionsPerStep)
                throw new BackpropException(
                    $"DormandPrince54: {MaxRejectionsPerStep} attempts in a row were rejected at time {Time:G6} (step size now {h:G3}, " +
                    $"last error norm {LastErrorNorm:G3}). Loosen relTol/absTol or raise maxRejectionsPerStep.");

            var endLoss = Attempt(lossClosure, h);
            double errorNorm = ErrorNorm(h);
            LastErrorNorm = errorNorm;
            // A NaN norm (the loss blew up at some stage) counts as the worst error: shrink and retry.
            double factor = StepSizeControl.NextFactor(errorNorm, Tableau);
            if (errorNorm <= 1)
            {
                AcceptedSteps++;
                Time += h;
                LearningRate = h * factor;
                for (int i = 0; i < ParameterCount; i++)
                {
                    var stages = _stageGradients[i];
                    (stages[0], stages[Stages - 1]) = (stages[Stages - 1], stages[0]);
                }
                _firstLoss = endLoss;
                RecordVersions();
                return startLoss;
            }
            RejectedSteps++;
            LearningRate = h * factor;
            using (Autodiff.NoGrad())
                for (int i = 0; i < ParameterCount; i++) Parameter(i).CopyFrom(_origin[i]);
        }
    }

    /// <summary>Evaluates stages 1..6 of a step of size h from the origin, leaving the parameters at θ₅; returns the loss there.</summary>
    private Tensor Attempt(Func<Tensor> lossClosure, double h)
    {
        Span<double> coefficients = stackalloc double[Stages];
        Tensor loss = null!;
        for (int s = 1; s < Stages; s++)
        {
            var a = Tableau.Row(s);
            for (int j = 0; j < s; j++) coefficients[j] = -h * a[j];
            using (Autodiff.NoGrad())
                for (int i = 0; i < ParameterCount; i++)
                    Combine(Parameter(i), _origin[i], coefficients[..s], _stageGradients[i].AsSpan(0, s));
            int stage = s;
            loss = EvaluateGradient(lossClosure, i => _stageGradients[i][stage]);
        }
        return loss;
    }

    /// <summary>The RMS over all parameter elements of errᵢ / (atol + rtol·max(|θ₀ᵢ|, |θ₅ᵢ|)).</summary>
    private double ErrorNorm(double h)
    {
        Span<double> coefficients = stackalloc double[Stages];
        var errorWeights = Tableau.ErrorWeights;
        for (int s = 0; s < Stages; s++) coefficients[s] = h * errorWeights[s];
        double sumOfSquares = 0;
        long count = 0;
        for (int i = 0; i < ParameterCount; i++)
        {
            _errorWork[i].Fill(0);
            Combine(_errorWork[i], _errorWork[i], coefficients, _stageGradients[i]);
            sumOfSquares += StepSizeControl.ScaledSumOfSquares(_errorWork[i], _origin[i], Parameter(i).Detach(), _scaleWork[i], RelTol, AbsTol);
            count += Parameter(i).Length;
        }
        return Math.Sqrt(sumOfSquares / count);
    }

    /// <summary>
    /// Counters, and when it is still current the gradient kept for the next step's first stage
    /// ("&lt;name&gt;.fsal_gradient", "fsal_loss"), so a resumed run takes the same steps with the same evaluations.
    /// </summary>
    protected override void SaveState(OptimizerStateWriter state)
    {
        SaveCounters(state);
        state.Scalar("accepted_steps", AcceptedSteps);
        state.Scalar("rejected_steps", RejectedSteps);
        state.Scalar("last_error_norm", LastErrorNorm);
        if (!FirstGradientIsCurrent()) return;
        state.Buffer("fsal_loss", _firstLoss!.Detach());
        for (int i = 0; i < ParameterCount; i++) state.Buffer($"{ParameterName(i)}.fsal_gradient", _stageGradients[i][0]);
    }

    protected override void LoadState(OptimizerStateReader state)
    {
        LoadCounters(state);
        AcceptedSteps = checked((long)state.Scalar("accepted_steps"));
        RejectedSteps = checked((long)state.Scalar("rejected_steps"));
        LastErrorNorm = state.Scalar("last_error_norm");
        _firstGradientValid = state.Contains("fsal_loss");
        if (!_firstGradientValid) return;
        _firstLoss = Tensor.Scalar(state.Scalar("fsal_loss"), DType.Float64);
        for (int i = 0; i < ParameterCount; i++) state.Buffer($"{ParameterName(i)}.fsal_gradient", _stageGradients[i][0]);
        // The saved gradient belongs to the parameters as they are now: restore them before this state,
        // or the version check will (correctly) discard it and evaluate afresh.
        RecordVersions();
    }
}
