using System.Globalization;

namespace Backprop.Nn;

/// <summary>How an <see cref="OdeBlock"/>'s gradient is computed.</summary>
public enum OdeGradient
{
    /// <summary>
    /// Backpropagation through the solver's steps: every stage's ops are recorded, so memory grows with
    /// the number of steps; the gradient is exactly the derivative of the discrete solution.
    /// </summary>
    Backprop,
    /// <summary>
    /// The adjoint method (Chen et al., 2018): only h(t₀) and h(t₁) are kept, and the backward pass solves
    /// the augmented system [h, a = ∂L/∂h, ∂L/∂θ] from t₁ back to t₀, recomputing h. Memory does not grow
    /// with the number of steps; the gradient equals the exact one to the solver's accuracy.
    /// </summary>
    Adjoint,
}

/// <summary>
/// A neural ODE layer (Chen et al., 2018): h(t₁) = h(t₀) + ∫ f(h, t; θ) dt from t₀ to t₁, for any
/// module f, integrated by <see cref="OdeSolver"/> with RK4 (fixed steps) or Dormand–Prince 5(4)
/// (tolerances). Forward mode (<see cref="Transforms.Jvp(Func{Tensor, Tensor}, Tensor, Tensor)"/>) and
/// reverse mode work through it with either <see cref="OdeGradient"/>. A residual block h + f(h) is this
/// layer's single Euler step.
/// </summary>
/// <remarks>
/// f receives h of shape (batch, d) (any shape f accepts, in fact) and returns dh/dt of the same shape.
/// With <see cref="TimeInput"/> f sees [h, t] instead: a column holding t is appended on the last axis,
/// so f maps (batch, d + 1) to (batch, d) and the dynamics may depend on time.
/// </remarks>
public sealed class OdeBlock : Module
{
    public OdeBlock(Module dynamics, OdeSolverOptions? solver = null, OdeGradient gradient = OdeGradient.Adjoint,
        double startTime = 0, double endTime = 1, bool timeInput = false)
    {
        ArgumentNullException.ThrowIfNull(dynamics);
        if (!double.IsFinite(startTime) || !double.IsFinite(endTime))
            throw new BackpropException($"OdeBlock: the interval must be finite; got [{startTime}, {endTime}].");
        // Registered as "f" (the name of the function in dh/dt = f(h, t)): parameters are f.0.weight, …
        Dynamics = RegisterModule("f", dynamics);
        Solver = solver ?? new OdeSolverOptions();
        Solver.Validate();
        Gradient = gradient;
        StartTime = startTime;
        EndTime = endTime;
        TimeInput = timeInput;
    }

    /// <summary>f, the module that gives dh/dt.</summary>
    [NotRegistered] public Module Dynamics { get; }

    public OdeSolverOptions Solver { get; set; }

    public OdeGradient Gradient { get; set; }

    public double StartTime { get; }

    public double EndTime { get; }

    /// <summary>Whether f receives t as an extra last feature.</summary>
    public bool TimeInput { get; }

    /// <summary>Evaluations of f by forward solves since the last <see cref="ResetStatistics"/>.</summary>
    public OdeStatistics ForwardStatistics { get; private set; }

    /// <summary>
    /// Evaluations of f by the adjoint's backward solves (each one also one VJP of f) since the last
    /// <see cref="ResetStatistics"/>. Zero for <see cref="OdeGradient.Backprop"/>, whose backward pass
    /// runs the VJPs of the evaluations recorded by the forward solve instead.
    /// </summary>
    public OdeStatistics BackwardStatistics { get; private set; }

    public void ResetStatistics()
    {
        ForwardStatistics = default;
        BackwardStatistics = default;
    }

    internal void CountForward(OdeStatistics s) => ForwardStatistics += s;

    internal void CountBackward(OdeStatistics s) => BackwardStatistics += s;

    /// <summary>h(t₁) from h(t₀) = <paramref name="x"/> over [<see cref="StartTime"/>, <see cref="EndTime"/>].</summary>
    public override Tensor Forward(Tensor x) => Integrate(x, StartTime, EndTime);

    /// <summary>h(<paramref name="t1"/>) from h(<paramref name="t0"/>) = <paramref name="h0"/>.</summary>
    public Tensor Integrate(Tensor h0, double t0, double t1)
    {
        ArgumentNullException.ThrowIfNull(h0);
        if (Gradient == OdeGradient.Backprop) return SolveThroughSteps(h0, t0, t1);
        var trainable = Dynamics.Parameters().Where(p => p.RequiresGrad).ToArray();
        var inputs = new Tensor[1 + trainable.Length];
        inputs[0] = h0;
        trainable.CopyTo(inputs, 1);
        return Autodiff.Apply(new OdeAdjointOp(this, t0, t1, trainable.Length), inputs);
    }

    /// <summary>
    /// h at each of <paramref name="times"/> (increasing or decreasing), starting from h(times[0]) =
    /// <paramref name="h0"/>: one integration per interval, so a loss on the whole trajectory gets its
    /// gradient through every interval (for the adjoint, one backward solve per interval).
    /// </summary>
    public Tensor[] Trajectory(Tensor h0, IReadOnlyList<double> times)
    {
        ArgumentNullException.ThrowIfNull(times);
        if (times.Count == 0) throw new BackpropException("OdeBlock.Trajectory: give at least one time.");
        var result = new Tensor[times.Count];
        result[0] = h0;
        for (int i = 1; i < times.Count; i++) result[i] = Integrate(result[i - 1], times[i - 1], times[i]);
        return result;
    }

    /// <summary>f(h, t): dh/dt at one point, with [h, t] as f's input when <see cref="TimeInput"/>.</summary>
    public Tensor Derivative(Tensor h, double t)
    {
        Tensor input = h;
        if (TimeInput)
        {
            if (h.Rank < 1) throw new ShapeException("OdeBlock with timeInput needs h of rank ≥ 1 (t is appended on the last axis); got a scalar.");
            var column = h.Dims.ToArray();
            column[^1] = 1;
            input = TensorOps.Concat([h, Tensor.Full(column, t, h.DType)], -1);
        }
        var dh = Dynamics.Forward(input);
        if (!ShapeUtil.SameShape(dh.Dims, h.Dims))
            throw new ShapeException(
                $"OdeBlock: the dynamics {Dynamics} returned shape {ShapeUtil.Format(dh.Dims)} for h of shape {ShapeUtil.Format(h.Dims)}; " +
                $"dh/dt must have h's shape{(TimeInput ? " (f maps [h, t] of width d + 1 to width d)" : "")}.");
        return dh;
    }

    /// <summary>The solve written with tensor ops: backprop through the steps, and the adjoint's forward-mode rule.</summary>
    internal Tensor SolveThroughSteps(Tensor h0, double t0, double t1)
    {
        var y = OdeSolver.Solve((t, h) => Derivative(h, t), h0, t0, t1, Solver, out var statistics);
        CountForward(statistics);
        return y;
    }

    public override string ToString()
    {
        var inner = Dynamics.ToString().Replace("\n", "\n  ", StringComparison.Ordinal);
        return string.Create(CultureInfo.InvariantCulture,
            $"OdeBlock(f={inner}, t=[{StartTime:G6}, {EndTime:G6}], solver={Solver}, gradient={Gradient.ToString().ToLowerInvariant()}{(TimeInput ? ", time_input=True" : "")})");
    }
}
