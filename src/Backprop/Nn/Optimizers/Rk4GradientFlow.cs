namespace Backprop.Nn;

/// <summary>
/// The classical fourth-order Runge–Kutta method on the gradient flow dθ/dt = −∇L(θ), with a fixed
/// step h (the learning rate). With kᵢ = −∇L at the stage points
/// <code>
/// k₁ at θ,  k₂ at θ + h/2·k₁,  k₃ at θ + h/2·k₂,  k₄ at θ + h·k₃
/// θ ← θ + h/6·(k₁ + 2k₂ + 2k₃ + k₄)
/// </code>
/// Four gradient evaluations per step buy a local error of O(h⁵) (global O(h⁴)) against Euler's
/// (plain gradient descent's) O(h²) (global O(h)).
/// </summary>
public sealed class Rk4GradientFlow : GradientFlowOptimizer
{
    private readonly Tensor[] _origin;
    private readonly Tensor[] _gradient;
    private readonly Tensor[] _weightedSum;

    public Rk4GradientFlow(IEnumerable<(string Name, Tensor Parameter)> parameters, double stepSize)
        : base(parameters, stepSize)
    {
        _origin = new Tensor[ParameterCount];
        _gradient = new Tensor[ParameterCount];
        _weightedSum = new Tensor[ParameterCount];
        for (int i = 0; i < ParameterCount; i++)
        {
            _origin[i] = NewBufferLike(i);
            _gradient[i] = NewBufferLike(i);
            _weightedSum[i] = NewBufferLike(i);
        }
    }

    public Rk4GradientFlow(IEnumerable<Tensor> parameters, double stepSize) : this(NameByPosition(parameters), stepSize) { }

    /// <summary>The fixed integration step h (the same value as <see cref="Optimizer.LearningRate"/>).</summary>
    public double StepSize => LearningRate;

    protected override Tensor Advance(Func<Tensor> lossClosure)
    {
        double h = LearningRate;
        for (int i = 0; i < ParameterCount; i++) _origin[i].CopyFrom(Parameter(i).Detach());

        // The buffers hold gradients g = −k, so each coefficient carries the minus sign of the flow.
        // _weightedSum accumulates g₁ + 2g₂ + 2g₃ + g₄ as the stages come in.
        var loss = EvaluateGradient(lossClosure, i => _gradient[i]);
        for (int i = 0; i < ParameterCount; i++) _weightedSum[i].CopyFrom(_gradient[i]);
        MoveFromOrigin(-h / 2, _gradient);

        EvaluateGradient(lossClosure, i => _gradient[i]);
        AddToWeightedSum(2);
        MoveFromOrigin(-h / 2, _gradient);

        EvaluateGradient(lossClosure, i => _gradient[i]);
        AddToWeightedSum(2);
        MoveFromOrigin(-h, _gradient);

        EvaluateGradient(lossClosure, i => _gradient[i]);
        AddToWeightedSum(1);
        MoveFromOrigin(-h / 6, _weightedSum);

        Time += h;
        return loss;
    }

    private void AddToWeightedSum(double weight)
    {
        for (int i = 0; i < ParameterCount; i++)
            Combine(_weightedSum[i], _weightedSum[i], [weight], [_gradient[i]]);
    }

    /// <summary>θ ← θ₀ + coefficient·direction.</summary>
    private void MoveFromOrigin(double coefficient, Tensor[] direction)
    {
        using (Autodiff.NoGrad())
            for (int i = 0; i < ParameterCount; i++)
                Combine(Parameter(i), _origin[i], [coefficient], [direction[i]]);
    }

    protected override void SaveState(OptimizerStateWriter state) => SaveCounters(state);

    protected override void LoadState(OptimizerStateReader state) => LoadCounters(state);
}
