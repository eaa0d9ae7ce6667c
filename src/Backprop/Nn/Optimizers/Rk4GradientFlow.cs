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
    // The coefficients are shared with OdeSolver (Nn/Ode), which integrates OdeBlocks with the same method.
    private static readonly ButcherTableau Tableau = ButcherTableau.Rk4;

    private readonly Tensor[] _origin;
    /// <summary>_stageGradients[i][s] = ∇L for parameter i at stage s (the gradient, i.e. −kₛ).</summary>
    private readonly Tensor[][] _stageGradients;

    public Rk4GradientFlow(IEnumerable<(string Name, Tensor Parameter)> parameters, double stepSize)
        : base(parameters, stepSize)
    {
        _origin = new Tensor[ParameterCount];
        _stageGradients = new Tensor[ParameterCount][];
        for (int i = 0; i < ParameterCount; i++)
        {
            _origin[i] = NewBufferLike(i);
            _stageGradients[i] = new Tensor[Tableau.Stages];
            for (int s = 0; s < Tableau.Stages; s++) _stageGradients[i][s] = NewBufferLike(i);
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
        Span<double> coefficients = stackalloc double[Tableau.Stages];
        var loss = EvaluateGradient(lossClosure, i => _stageGradients[i][0]);
        for (int s = 1; s < Tableau.Stages; s++)
        {
            var a = Tableau.Row(s);
            for (int j = 0; j < s; j++) coefficients[j] = -h * a[j];
            MoveFromOrigin(coefficients[..s]);
            int stage = s;
            EvaluateGradient(lossClosure, i => _stageGradients[i][stage]);
        }
        var b = Tableau.Weights;
        for (int j = 0; j < b.Length; j++) coefficients[j] = -h * b[j];
        MoveFromOrigin(coefficients);

        Time += h;
        return loss;
    }

    /// <summary>θ ← θ₀ + Σⱼ coefficients[j]·gⱼ over the stages evaluated so far.</summary>
    private void MoveFromOrigin(ReadOnlySpan<double> coefficients)
    {
        using (Autodiff.NoGrad())
            for (int i = 0; i < ParameterCount; i++)
                Combine(Parameter(i), _origin[i], coefficients, _stageGradients[i].AsSpan(0, coefficients.Length));
    }

    protected override void SaveState(OptimizerStateWriter state) => SaveCounters(state);

    protected override void LoadState(OptimizerStateReader state) => LoadCounters(state);
}
