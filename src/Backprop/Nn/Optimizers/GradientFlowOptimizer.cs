using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Nn;

/// <summary>
/// An optimizer that integrates the gradient flow dθ/dt = −∇L(θ) (math.md §5) with an ODE solver.
/// Plain gradient descent is its explicit Euler step with h = η; higher-order solvers evaluate the
/// gradient at intermediate points, so <see cref="Optimizer.Step(Func{Tensor}?)"/> needs the loss closure and calls it
/// several times per step. <see cref="Optimizer.LearningRate"/> is the integration step h.
/// </summary>
public abstract class GradientFlowOptimizer : Optimizer
{
    protected GradientFlowOptimizer(IEnumerable<(string Name, Tensor Parameter)> parameters, double stepSize)
        : base(parameters, stepSize)
    {
    }

    public sealed override bool RequiresClosure => true;

    /// <summary>The flow time integrated so far: the sum of the accepted step sizes.</summary>
    public double Time { get; protected set; }

    /// <summary>How many times the closure has been called.</summary>
    public long GradientEvaluations { get; protected set; }

    /// <summary>Advances the flow by one step and returns the loss at the point the step started from.</summary>
    public sealed override Tensor? Step(Func<Tensor>? lossClosure)
    {
        if (lossClosure is null)
            throw new BackpropException(
                $"{GetType().Name} integrates the gradient flow and evaluates the gradient at points of its own choosing, so it needs a loss closure: " +
                "Step(() => { model.ZeroGrad(); var loss = ...; loss.Backward(); return loss; }).");
        if (!(LearningRate > 0)) throw new BackpropException($"{GetType().Name}: the step size must be > 0; got {LearningRate}.");
        var loss = Advance(lossClosure);
        StepCount++;
        return loss;
    }

    /// <summary>One step of the solver from the current parameters.</summary>
    protected abstract Tensor Advance(Func<Tensor> lossClosure);

    /// <summary>
    /// Calls the closure at the current parameters and copies each parameter's gradient into
    /// <paramref name="gradientOf"/>(i); a parameter without a gradient gets zeros.
    /// </summary>
    protected Tensor EvaluateGradient(Func<Tensor> lossClosure, Func<int, Tensor> gradientOf)
    {
        // Gradients are cleared here even though the closure should do it: every evaluation is at a
        // different point, and a closure that forgot would silently sum the stages' gradients.
        ZeroGrad();
        var loss = lossClosure() ?? throw new BackpropException($"{GetType().Name}: the loss closure returned null; it must return the loss it called Backward() on.");
        GradientEvaluations++;
        for (int i = 0; i < ParameterCount; i++)
        {
            var target = gradientOf(i);
            var g = GradientOf(i);
            if (g is null) target.Fill(0);
            else target.CopyFrom(g);
        }
        // A copy cut from the graph: solvers keep a stage's loss for the next step (Dormand–Prince's first
        // stage is the last one's), beyond the TensorPool scope of the step that computed it.
        return loss.Detach().Clone();
    }

    /// <summary>destination ← origin + Σⱼ coefficients[j]·terms[j], skipping zero coefficients; destination may be origin or a term.</summary>
    protected static void Combine(Tensor destination, Tensor origin, ReadOnlySpan<double> coefficients, ReadOnlySpan<Tensor> terms)
    {
        if (destination.DType == DType.Float32) Combine<float>(destination, origin, coefficients, terms);
        else Combine<double>(destination, origin, coefficients, terms);
    }

    private static void Combine<T>(Tensor destination, Tensor origin, ReadOnlySpan<double> coefficients, ReadOnlySpan<Tensor> terms)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dest = destination.AsSpan<T>();
        int start = 0;
        // Folding the first term into the copy keeps "destination is a term" correct: the term is read before dest is overwritten.
        while (start < coefficients.Length && coefficients[start] == 0) start++;
        if (start == coefficients.Length)
        {
            origin.AsReadOnlySpan<T>().CopyTo(dest);
            return;
        }
        TensorPrimitives.MultiplyAdd(terms[start].AsReadOnlySpan<T>(), T.CreateChecked(coefficients[start]), origin.AsReadOnlySpan<T>(), dest);
        for (int j = start + 1; j < coefficients.Length; j++)
            if (coefficients[j] != 0)
                TensorPrimitives.MultiplyAdd(terms[j].AsReadOnlySpan<T>(), T.CreateChecked(coefficients[j]), dest, dest);
    }

    protected void SaveCounters(OptimizerStateWriter state)
    {
        state.Scalar("time", Time);
        state.Scalar("gradient_evaluations", GradientEvaluations);
    }

    protected void LoadCounters(OptimizerStateReader state)
    {
        Time = state.Scalar("time");
        GradientEvaluations = checked((long)state.Scalar("gradient_evaluations"));
    }
}
