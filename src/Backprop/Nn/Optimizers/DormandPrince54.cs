using System.Numerics;
using System.Numerics.Tensors;

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
    // The Butcher tableau. Row s gives the coefficients of stages 0..s−1 for the point of stage s;
    // row 6 is also the fifth-order weights b₅ (b₅ has no weight on stage 6).
    private static readonly double[][] A =
    [
        [],
        [1.0 / 5],
        [3.0 / 40, 9.0 / 40],
        [44.0 / 45, -56.0 / 15, 32.0 / 9],
        [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
        [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
        [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
    ];

    /// <summary>e = b₅ − b₄ over the seven stages, with b₄ = (5179/57600, 0, 7571/16695, 393/640, −92097/339200, 187/2100, 1/40).</summary>
    private static readonly double[] ErrorWeights =
        [71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40];

    private const int Stages = 7;
    private const double SafetyFactor = 0.9;
    private const double MinFactor = 0.2;
    private const double MaxFactor = 5;

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
            // A NaN norm (the loss blew up at some stage) is treated as the worst error: shrink and retry.
            double factor = double.IsNaN(errorNorm) ? MinFactor
                : errorNorm == 0 ? MaxFactor
                : Math.Min(MaxFactor, Math.Max(MinFactor, SafetyFactor * Math.Pow(errorNorm, -0.2)));
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
            var a = A[s];
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
        for (int s = 0; s < Stages; s++) coefficients[s] = h * ErrorWeights[s];
        double sumOfSquares = 0;
        long count = 0;
        for (int i = 0; i < ParameterCount; i++)
        {
            _errorWork[i].Fill(0);
            Combine(_errorWork[i], _errorWork[i], coefficients, _stageGradients[i]);
            sumOfSquares += Parameter(i).DType == DType.Float32 ? ScaledSumOfSquares<float>(i) : ScaledSumOfSquares<double>(i);
            count += Parameter(i).Length;
        }
        return Math.Sqrt(sumOfSquares / count);
    }

    private double ScaledSumOfSquares<T>(int i) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var error = _errorWork[i].AsSpan<T>();
        var scale = _scaleWork[i].AsSpan<T>();
        TensorPrimitives.MaxMagnitude(_origin[i].AsReadOnlySpan<T>(), Parameter(i).AsReadOnlySpan<T>(), scale);
        TensorPrimitives.Abs(scale, scale);
        TensorPrimitives.Multiply(scale, T.CreateChecked(RelTol), scale);
        TensorPrimitives.Add(scale, T.CreateChecked(AbsTol), scale);
        TensorPrimitives.Divide(error, scale, error);
        return double.CreateChecked(TensorPrimitives.SumOfSquares<T>(error));
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
