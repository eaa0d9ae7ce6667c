namespace Backprop.Nn;

/// <summary>
/// The coefficients of an explicit Runge–Kutta method, written once and used by every solver in
/// Backprop: the gradient-flow optimizers (<see cref="Rk4GradientFlow"/>, <see cref="DormandPrince54"/>)
/// and <see cref="OdeSolver"/> (which <see cref="OdeBlock"/> calls). For dy/dt = f(t, y) and a step h:
/// <code>
/// kₛ = f(t + cₛ·h, y + h·Σⱼ&lt;ₛ aₛⱼ·kⱼ)        s = 0 … stages−1
/// y₁ = y + h·Σₛ bₛ·kₛ
/// err = h·Σₛ eₛ·kₛ                         (embedded pairs: e = b − b̂, the lower-order weights' difference)
/// </code>
/// </summary>
public sealed class ButcherTableau
{
    private readonly double[][] _a;
    private readonly double[] _b;
    private readonly double[] _c;
    private readonly double[]? _e;

    private ButcherTableau(string name, int order, double[][] a, double[] b, double[] c, double[]? errorWeights, bool firstSameAsLast)
    {
        Name = name;
        Order = order;
        _a = a;
        _b = b;
        _c = c;
        _e = errorWeights;
        FirstSameAsLast = firstSameAsLast;
    }

    /// <summary>"rk4", "dopri5".</summary>
    public string Name { get; }

    /// <summary>The order of the solution that is kept (4 for RK4, 5 for Dormand–Prince 5(4)).</summary>
    public int Order { get; }

    public int Stages => _b.Length;

    /// <summary>Row s of the matrix a: the weights of stages 0 … s−1 in the point where stage s is evaluated.</summary>
    public ReadOnlySpan<double> Row(int stage) => _a[stage];

    /// <summary>The weights b of the kept solution.</summary>
    public ReadOnlySpan<double> Weights => _b;

    /// <summary>The nodes c: stage s is evaluated at time t + cₛ·h.</summary>
    public ReadOnlySpan<double> Nodes => _c;

    /// <summary>Whether the method carries an embedded lower-order solution (error estimate, adaptive steps).</summary>
    public bool IsAdaptive => _e is not null;

    /// <summary>e = b − b̂ for an embedded pair; empty for a fixed-step method.</summary>
    public ReadOnlySpan<double> ErrorWeights => _e;

    /// <summary>
    /// The last stage is evaluated at the new solution (its row of a equals b), so after an accepted
    /// step it is the next step's first stage: one evaluation saved per step.
    /// </summary>
    public bool FirstSameAsLast { get; }

    /// <summary>The exponent of the error in the step-size update: 1/(q + 1) with q the lower of the pair's orders.</summary>
    public double ControlExponent => 1.0 / Order;

    /// <summary>The classical fourth-order Runge–Kutta method (Kutta, 1901).</summary>
    public static ButcherTableau Rk4 { get; } = new("rk4", 4,
        [
            [],
            [1.0 / 2],
            [0, 1.0 / 2],
            [0, 0, 1],
        ],
        [1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6],
        [0, 1.0 / 2, 1.0 / 2, 1],
        errorWeights: null, firstSameAsLast: false);

    /// <summary>
    /// The Dormand–Prince 5(4) pair (Dormand and Prince, 1980; MATLAB's ode45, SciPy's RK45,
    /// torchdiffeq's dopri5). Row 6 of a is b₅ (first same as last); the embedded fourth-order weights are
    /// b₄ = (5179/57600, 0, 7571/16695, 393/640, −92097/339200, 187/2100, 1/40).
    /// </summary>
    public static ButcherTableau DormandPrince54 { get; } = new("dopri5", 5,
        [
            [],
            [1.0 / 5],
            [3.0 / 40, 9.0 / 40],
            [44.0 / 45, -56.0 / 15, 32.0 / 9],
            [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
            [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
            [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
        ],
        [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0],
        [0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1],
        errorWeights: [71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40],
        firstSameAsLast: true);
}
