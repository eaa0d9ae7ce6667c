namespace Backprop.Nn;

/// <summary>The integration methods of <see cref="OdeSolver"/>.</summary>
public enum OdeMethod
{
    /// <summary>Classical Runge–Kutta, fourth order, a fixed number of equal steps (4 evaluations each).</summary>
    Rk4,
    /// <summary>Dormand–Prince 5(4), adaptive steps under rtol/atol (6 new evaluations per attempt, first same as last).</summary>
    Dopri5,
}

/// <summary>How <see cref="OdeSolver"/> integrates: the method and its step count or tolerances.</summary>
public sealed record OdeSolverOptions
{
    public OdeMethod Method { get; init; } = OdeMethod.Rk4;

    /// <summary>RK4: the number of equal steps per integration from t₀ to t₁.</summary>
    public int Steps { get; init; } = 10;

    /// <summary>Dopri5: relative tolerance of the local error.</summary>
    public double RelTol { get; init; } = 1e-6;

    /// <summary>Dopri5: absolute tolerance of the local error.</summary>
    public double AbsTol { get; init; } = 1e-8;

    /// <summary>Dopri5: the first step to try; null chooses it from f at the start (Hairer, Nørsett and Wanner, §II.4).</summary>
    public double? InitialStep { get; init; }

    /// <summary>Dopri5: attempts (accepted and rejected) allowed per integration before giving up.</summary>
    public int MaxAttempts { get; init; } = 100_000;

    public ButcherTableau Tableau => Method == OdeMethod.Rk4 ? ButcherTableau.Rk4 : ButcherTableau.DormandPrince54;

    public static OdeSolverOptions Rk4(int steps) => new() { Method = OdeMethod.Rk4, Steps = steps };

    public static OdeSolverOptions Dopri5(double relTol = 1e-6, double absTol = 1e-8) => new() { Method = OdeMethod.Dopri5, RelTol = relTol, AbsTol = absTol };

    internal void Validate()
    {
        if (Method == OdeMethod.Rk4 && Steps < 1)
            throw new BackpropException($"OdeSolver: RK4 needs at least 1 step; got Steps = {Steps}.");
        if (Method == OdeMethod.Dopri5)
        {
            if (!(RelTol >= 0) || !(AbsTol >= 0) || RelTol + AbsTol <= 0)
                throw new BackpropException($"OdeSolver: tolerances must be ≥ 0 and not both 0; got RelTol = {RelTol}, AbsTol = {AbsTol}.");
            if (InitialStep is { } h && !(h > 0)) throw new BackpropException($"OdeSolver: InitialStep must be > 0; got {h}.");
            if (MaxAttempts < 1) throw new BackpropException($"OdeSolver: MaxAttempts must be ≥ 1; got {MaxAttempts}.");
        }
    }

    public override string ToString() => Method == OdeMethod.Rk4
        ? $"rk4(steps={Steps})"
        : FormattableString.Invariant($"dopri5(rtol={RelTol:G3}, atol={AbsTol:G3})");
}

/// <summary>What an integration cost: evaluations of f, and steps accepted and rejected (adaptive methods).</summary>
public readonly record struct OdeStatistics(long Evaluations, long AcceptedSteps, long RejectedSteps)
{
    public static OdeStatistics operator +(OdeStatistics a, OdeStatistics b) =>
        new(a.Evaluations + b.Evaluations, a.AcceptedSteps + b.AcceptedSteps, a.RejectedSteps + b.RejectedSteps);
}

/// <summary>dy/dt = f(t, y) for a state made of several tensors (the adjoint's [h, a, ∂L/∂θ…]).</summary>
public delegate Tensor[] OdeSystem(double t, Tensor[] y);

/// <summary>
/// Explicit Runge–Kutta integration of dy/dt = f(t, y) from t₀ to t₁ (t₁ &lt; t₀ integrates backwards),
/// on the coefficients of <see cref="ButcherTableau"/>. Every step is written with tensor ops, so the
/// integration is define-by-run: on tensors that carry tangents or a graph, forward and reverse mode
/// differentiate through the solver's steps. Step-size decisions (error norms, accept/reject) are made on
/// the plain values and are not differentiated, as in torchdiffeq.
/// </summary>
public static class OdeSolver
{
    /// <summary>Integrates a system; <paramref name="statistics"/> counts the evaluations of f.</summary>
    public static Tensor[] Solve(OdeSystem f, Tensor[] y0, double t0, double t1, OdeSolverOptions options, out OdeStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(y0);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!double.IsFinite(t0) || !double.IsFinite(t1))
            throw new BackpropException($"OdeSolver: the interval must be finite; got t0 = {t0}, t1 = {t1}.");
        if (t0 == t1)
        {
            statistics = default;
            return (Tensor[])y0.Clone();
        }
        return options.Method == OdeMethod.Rk4
            ? FixedSteps(options.Tableau, f, y0, t0, t1, options.Steps, out statistics)
            : Adaptive(options.Tableau, f, y0, t0, t1, options, out statistics);
    }

    /// <summary>Integrates dy/dt = f(t, y) for one tensor.</summary>
    public static Tensor Solve(Func<double, Tensor, Tensor> f, Tensor y0, double t0, double t1, OdeSolverOptions options, out OdeStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(f);
        return Solve((t, y) => [f(t, y[0])], [y0], t0, t1, options, out statistics)[0];
    }

    private static Tensor[] Evaluate(OdeSystem f, double t, Tensor[] y, ref long evaluations)
    {
        var dy = f(t, y);
        evaluations++;
        if (dy is null || dy.Length != y.Length)
            throw new BackpropException($"OdeSolver: f returned {dy?.Length ?? 0} tensors for a state of {y.Length}.");
        for (int i = 0; i < y.Length; i++)
            if (!ShapeUtil.SameShape(dy[i].Dims, y[i].Dims))
                throw new ShapeException($"OdeSolver: f returned shape {ShapeUtil.Format(dy[i].Dims)} for state component {i} of shape {ShapeUtil.Format(y[i].Dims)}; dy/dt must have the state's shape.");
        return dy;
    }

    /// <summary>origin + h·Σⱼ coefficients[j]·k[j], component by component; zero coefficients add nothing.</summary>
    private static Tensor[] Combine(Tensor[] origin, ReadOnlySpan<double> coefficients, Tensor[][] k, double h)
    {
        var result = new Tensor[origin.Length];
        for (int i = 0; i < origin.Length; i++)
        {
            var sum = origin[i];
            for (int j = 0; j < coefficients.Length; j++)
                if (coefficients[j] != 0) sum = sum + k[j][i] * (h * coefficients[j]);
            result[i] = sum;
        }
        return result;
    }

    /// <summary>
    /// Stages 1 … S−1 of one step of size h from (t, y) given stage 0 in k[0]; returns the new solution.
    /// For a first-same-as-last tableau the last stage point is the solution itself, so it is not formed twice.
    /// </summary>
    private static Tensor[] Attempt(ButcherTableau tableau, OdeSystem f, double t, Tensor[] y, double h, Tensor[][] k, ref long evaluations)
    {
        Tensor[]? point = null;
        for (int s = 1; s < tableau.Stages; s++)
        {
            point = Combine(y, tableau.Row(s), k, h);
            k[s] = Evaluate(f, t + tableau.Nodes[s] * h, point, ref evaluations);
        }
        return tableau.FirstSameAsLast ? point! : Combine(y, tableau.Weights, k, h);
    }

    private static Tensor[] FixedSteps(ButcherTableau tableau, OdeSystem f, Tensor[] y0, double t0, double t1, int steps, out OdeStatistics statistics)
    {
        long evaluations = 0;
        var k = new Tensor[tableau.Stages][];
        var y = y0;
        double h = (t1 - t0) / steps;
        for (int n = 0; n < steps; n++)
        {
            // From t₀ each time rather than t += h, so that rounding does not drift over many steps.
            double t = t0 + (t1 - t0) * n / steps;
            k[0] = Evaluate(f, t, y, ref evaluations);
            y = Attempt(tableau, f, t, y, h, k, ref evaluations);
        }
        statistics = new OdeStatistics(evaluations, steps, 0);
        return y;
    }

    private static Tensor[] Adaptive(ButcherTableau tableau, OdeSystem f, Tensor[] y0, double t0, double t1, OdeSolverOptions options, out OdeStatistics statistics)
    {
        long evaluations = 0, accepted = 0, rejected = 0;
        double direction = Math.Sign(t1 - t0);
        var k = new Tensor[tableau.Stages][];
        var y = y0;
        double t = t0;
        k[0] = Evaluate(f, t, y, ref evaluations);
        double h = options.InitialStep ?? InitialStep(f, t0, y0, k[0], direction, tableau, options, ref evaluations);
        double lastNorm = double.NaN;
        while (direction * (t1 - t) > 0)
        {
            double remaining = Math.Abs(t1 - t);
            if (accepted + rejected >= options.MaxAttempts)
                throw new BackpropException(
                    $"OdeSolver: dopri5 took {options.MaxAttempts} attempts between t = {t0:G6} and t = {t1:G6} and reached only t = {t:G6} " +
                    $"(step size {h:G3}, last error norm {lastNorm:G3}). The dynamics may be stiff or blow up; loosen RelTol/AbsTol, raise MaxAttempts or use rk4.");
            bool last = h >= remaining;
            double step = last ? remaining : h;
            if (step < 1e-14 * Math.Max(1, Math.Abs(t)))
                throw new BackpropException(
                    $"OdeSolver: dopri5's step size fell to {step:G3} at t = {t:G6} (last error norm {lastNorm:G3}): the dynamics are not smooth there or produced NaN/∞. " +
                    "Check f at that point, or loosen RelTol/AbsTol.");
            double signed = direction * step;
            var candidate = Attempt(tableau, f, t, y, signed, k, ref evaluations);
            double norm = ErrorNorm(tableau, y, candidate, k, signed, options.RelTol, options.AbsTol);
            lastNorm = norm;
            double factor = StepSizeControl.NextFactor(norm, tableau);
            if (norm <= 1)
            {
                accepted++;
                t = last ? t1 : t + signed;
                y = candidate;
                k[0] = tableau.FirstSameAsLast ? k[tableau.Stages - 1] : Evaluate(f, t, y, ref evaluations);
            }
            else rejected++;
            h = step * factor;
        }
        statistics = new OdeStatistics(evaluations, accepted, rejected);
        return y;
    }

    /// <summary>The RMS over every element of every component of the scaled local error h·Σ eₛ·kₛ (plain values).</summary>
    private static double ErrorNorm(ButcherTableau tableau, Tensor[] y, Tensor[] candidate, Tensor[][] k, double h, double relTol, double absTol)
    {
        double sum = 0;
        long count = 0;
        var e = tableau.ErrorWeights;
        using (Autodiff.NoGrad())
            for (int i = 0; i < y.Length; i++)
            {
                if (y[i].Length == 0) continue;
                var error = Tensor.ZerosLike(y[i].Detach());
                for (int s = 0; s < e.Length; s++)
                    if (e[s] != 0) error = error + k[s][i].Detach() * (h * e[s]);
                sum += StepSizeControl.ScaledSumOfSquares(error, y[i].Detach(), candidate[i].Detach(), Tensor.ZerosLike(error), relTol, absTol);
                count += y[i].Length;
            }
        return count == 0 ? 0 : Math.Sqrt(sum / count);
    }

    /// <summary>
    /// The first step from the sizes of y₀, f₀ and an estimate of the second derivative
    /// (Hairer, Nørsett and Wanner, Solving ODEs I, §II.4; SciPy's select_initial_step). One evaluation.
    /// </summary>
    private static double InitialStep(OdeSystem f, double t0, Tensor[] y0, Tensor[] f0, double direction, ButcherTableau tableau,
        OdeSolverOptions options, ref long evaluations)
    {
        double d0 = ScaledRms(y0, y0, options), d1 = ScaledRms(f0, y0, options);
        double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
        // On plain values, but not under NoGrad: f may need gradient recording inside (the adjoint's VJPs).
        var plain = y0.Select(v => v.Detach()).ToArray();
        var slope = f0.Select(v => v.Detach()).ToArray();
        var y1 = Combine(plain, [1.0], [slope], direction * h0);
        var f1 = Evaluate(f, t0 + direction * h0, y1, ref evaluations);
        var change = new Tensor[f1.Length];
        for (int i = 0; i < f1.Length; i++) change[i] = f1[i].Detach() - slope[i];
        double d2 = ScaledRms(change, y0, options) / h0;
        double h1 = Math.Max(d1, d2) <= 1e-15 ? Math.Max(1e-6, h0 * 1e-3) : Math.Pow(0.01 / Math.Max(d1, d2), tableau.ControlExponent);
        return Math.Min(100 * h0, h1);
    }

    private static double ScaledRms(Tensor[] values, Tensor[] reference, OdeSolverOptions options)
    {
        double sum = 0;
        long count = 0;
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i].Length == 0) continue;
            var v = values[i].Detach().Clone();
            sum += StepSizeControl.ScaledSumOfSquares(v, reference[i].Detach(), reference[i].Detach(), Tensor.ZerosLike(v), options.RelTol, options.AbsTol);
            count += values[i].Length;
        }
        return count == 0 ? 0 : Math.Sqrt(sum / count);
    }
}
