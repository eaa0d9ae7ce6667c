namespace Backprop.Nn;

/// <summary>
/// An <see cref="OdeBlock"/> solve as one op whose VJP is the adjoint method (Chen et al., 2018, §2).
/// Inputs: x[0] = h(t₀) and x[1…] = f's trainable parameters θ; output y = h(t₁). It lives beside
/// OdeBlock rather than in Ops/ because it calls a Module (the floor above Ops).
/// <code>
/// Forward:  y = h(t₁), solved on plain values (nothing recorded, memory independent of the steps)
/// Vjp:      from s(t₁) = [y, gy, 0], solve backwards to t₀
///             dh/dt = f(h, t),   da/dt = −aᵀ·∂f/∂h,   dg/dt = −aᵀ·∂f/∂θ
///           gx[0] = a(t₀) = ∂L/∂h(t₀),  gx[1…] = g(t₀) = ∫ aᵀ·∂f/∂θ dt
/// Jvp:      ty = (∂y/∂h₀)·tx[0], by forward mode through the solver's steps
/// </code>
/// aᵀ·∂f/∂h and aᵀ·∂f/∂θ are vector-Jacobian products of f by the engine, at the recomputed h.
/// </summary>
internal sealed class OdeAdjointOp(OdeBlock block, double t0, double t1, int parameterCount) : Op
{
    public override string Name => "OdeSolve";

    public override string Describe() => $"OdeSolve(adjoint, {block.Solver}, t={t0:G4}→{t1:G4})";

    public override Tensor Forward(Tensor[] x)
    {
        // f reads its own parameters, which may be eager leaves: NoGrad keeps them from recording a graph.
        using (Autodiff.NoGrad())
        {
            var y = OdeSolver.Solve((t, h) => block.Derivative(h, t), x[0], t0, t1, block.Solver, out var statistics);
            block.CountForward(statistics);
            return y.Detach();
        }
    }

    // The backward solve starts from y = h(t₁) and reads θ through f; h(t₀) itself is not needed.
    public override bool VjpReadsOutput => true;

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y)
    {
        for (int i = 1; i < tx.Length; i++)
            if (tx[i] is not null)
                throw new BackpropException("OdeSolve: a tangent on the dynamics' parameters reached the adjoint op; forward mode with respect to f's parameters is not supported.");
        if (tx[0] is not { } tangent) return null;
        return Transforms.Jvp(h => block.SolveThroughSteps(h, t0, t1), x[0], tangent).Tangent;
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        bool wantParameters = false;
        for (int i = 1; i < needsGrad.Length; i++) wantParameters |= needsGrad[i];
        var parameters = x.AsSpan(1).ToArray();

        // State: [h, a] and, when the parameters' gradient is wanted, one accumulator per parameter.
        var state = new Tensor[wantParameters ? 2 + parameterCount : 2];
        state[0] = y;
        state[1] = gy;
        for (int i = 0; i < parameterCount && wantParameters; i++) state[2 + i] = Tensor.ZerosLike(parameters[i].Detach());

        OdeSystem augmented = wantParameters ? (t, s) => WithParameterGradients(t, s) : (t, s) => StateGradientOnly(t, s);
        var final = OdeSolver.Solve(augmented, state, t1, t0, block.Solver, out var statistics);
        block.CountBackward(statistics);

        if (needsGrad[0]) gx[0] = final[1];
        for (int i = 0; i < parameterCount; i++)
            if (needsGrad[1 + i]) gx[1 + i] = final[2 + i];
    }

    /// <summary>
    /// [f, −aᵀ∂f/∂h] by a VJP at a fresh level. Written with tensor ops throughout, so when this VJP runs
    /// inside a transform (a Hessian, a gradient of a gradient) the result is itself differentiable.
    /// </summary>
    private Tensor[] StateGradientOnly(double t, Tensor[] s)
    {
        var (dh, ah) = Transforms.Vjp(h => block.Derivative(h, t), s[0], s[1]);
        return [dh, -ah];
    }

    /// <summary>
    /// [f, −aᵀ∂f/∂h, −aᵀ∂f/∂θ…]. f reads its parameters itself, so their VJP comes from a small eager
    /// backward pass over one evaluation of f. That pass adds into the parameters' .Grad, which is set
    /// aside and restored around it: the outer backward pass may already have put gradients there.
    /// This runs only in a first-order eager backward pass, where every value is plain.
    /// </summary>
    private Tensor[] WithParameterGradients(double t, Tensor[] s)
    {
        if (!Autodiff.IsGradEnabled)
            throw new BackpropException(
                "OdeSolve: the adjoint gradient of an OdeBlock's parameters needs gradient recording, but Backward() was called inside Autodiff.NoGrad(). " +
                "Call it outside the NoGrad scope.");
        var parameters = block.Dynamics.Parameters().Where(p => p.RequiresGrad).ToArray();
        if (parameters.Length != parameterCount)
            throw new BackpropException("OdeSolve: the dynamics' trainable parameters changed between the forward pass and Backward(); recompute the forward pass.");
        var saved = new Tensor?[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            saved[i] = parameters[i].Grad;
            parameters[i].Grad = null;
        }
        try
        {
            var h = s[0].Detach();
            h.RequiresGrad = true;
            var dh = block.Derivative(h, t);
            var root = Autodiff.AtOrBelow(dh, Autodiff.EagerLevel);
            if (root.Level == Autodiff.EagerLevel) Autodiff.Backward(root, s[1].Detach(), Autodiff.EagerLevel, retainGraph: false);
            var result = new Tensor[2 + parameterCount];
            result[0] = dh.Detach();
            result[1] = -(h.Grad ?? Tensor.ZerosLike(s[0].Detach()));
            for (int i = 0; i < parameterCount; i++)
                result[2 + i] = -(parameters[i].Grad ?? Tensor.ZerosLike(parameters[i].Detach()));
            return result;
        }
        finally
        {
            for (int i = 0; i < parameters.Length; i++) parameters[i].Grad = saved[i];
        }
    }
}
