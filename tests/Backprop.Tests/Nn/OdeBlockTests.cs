using Backprop.Nn;

namespace Backprop.Tests.Nn;

/// <summary>
/// OdeBlock in float64: the solution of a linear system against the matrix exponential, the adjoint
/// gradient against backpropagation through the solver and both against central differences, forward
/// mode through the solver, the memory each gradient keeps as the step count grows, and the counters.
/// </summary>
public class OdeBlockTests
{
    // A non-normal matrix with complex eigenvalues (a damped rotation with shear), so that expm is not trivial.
    private static readonly double[,] A = { { -0.3, 1.2 }, { -0.9, 0.1 } };

    private static Linear LinearDynamics(double[,] a)
    {
        var f = new Linear(2, 2, bias: false, rng: new Rng(1), dtype: DType.Float64);
        using (Backprop.Autodiff.NoGrad()) f.Weight.CopyFrom(Tensor.FromArray(a, DType.Float64));
        return f;
    }

    /// <summary>expm(M) by scaling and squaring with a Taylor series (terms until they vanish in float64).</summary>
    internal static double[,] Expm(double[,] m)
    {
        int n = m.GetLength(0);
        double norm = 0;
        foreach (var v in m) norm = Math.Max(norm, Math.Abs(v));
        int squarings = Math.Max(0, (int)Math.Ceiling(Math.Log2(norm * n)) + 4);
        double scale = Math.Pow(2, -squarings);
        var sum = Identity(n);
        var term = Identity(n);
        for (int k = 1; k < 30; k++)
        {
            term = Multiply(term, m);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    term[i, j] *= scale / k;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    sum[i, j] += term[i, j];
        }
        for (int s = 0; s < squarings; s++) sum = Multiply(sum, sum);
        return sum;
    }

    private static double[,] Identity(int n)
    {
        var r = new double[n, n];
        for (int i = 0; i < n; i++) r[i, i] = 1;
        return r;
    }

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), m = b.GetLength(1), k = a.GetLength(1);
        var r = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
                for (int l = 0; l < k; l++)
                    r[i, j] += a[i, l] * b[l, j];
        return r;
    }

    private static double[,] Transpose(double[,] a)
    {
        var r = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++)
                r[j, i] = a[i, j];
        return r;
    }

    private static double[,] Scaled(double[,] a, double s)
    {
        var r = (double[,])a.Clone();
        for (int i = 0; i < r.GetLength(0); i++)
            for (int j = 0; j < r.GetLength(1); j++)
                r[i, j] *= s;
        return r;
    }

    private static double MaxAbsDiff(Tensor t, double[,] expected)
    {
        double worst = 0;
        for (int i = 0; i < expected.GetLength(0); i++)
            for (int j = 0; j < expected.GetLength(1); j++)
                worst = Math.Max(worst, Math.Abs(t[i, j] - expected[i, j]));
        return worst;
    }

    [Fact]
    public void ExpmReferenceIsTheExponential()
    {
        // The test's own reference: expm of a rotation generator is the rotation.
        var e = Expm(new double[,] { { 0, -1.3 }, { 1.3, 0 } });
        Assert.Equal(Math.Cos(1.3), e[0, 0], 13);
        Assert.Equal(-Math.Sin(1.3), e[0, 1], 13);
        Assert.Equal(Math.Sin(1.3), e[1, 0], 13);
    }

    public static TheoryData<string, OdeGradient> SolverAndGradient => new()
    {
        { "rk4", OdeGradient.Adjoint }, { "rk4", OdeGradient.Backprop },
        { "dopri5", OdeGradient.Adjoint }, { "dopri5", OdeGradient.Backprop },
    };

    private static OdeSolverOptions Tight(string solver) =>
        solver == "rk4" ? OdeSolverOptions.Rk4(200) : OdeSolverOptions.Dopri5(1e-11, 1e-13);

    [Theory]
    [MemberData(nameof(SolverAndGradient))]
    public void LinearDynamicsGiveTheMatrixExponential(string solver, OdeGradient gradient)
    {
        // Rows are batch items, f(h) = h·Aᵀ, so h(t) = h₀·expm(A t)ᵀ.
        double t1 = 1.7;
        var block = new OdeBlock(LinearDynamics(A), Tight(solver), gradient, 0, t1);
        var h0 = Tensor.FromArray(new double[,] { { 1, 0 }, { 0, 1 }, { 0.5, -2 } }, DType.Float64);
        var h1 = block.Forward(h0);
        var expected = Multiply(new double[,] { { 1, 0 }, { 0, 1 }, { 0.5, -2 } }, Transpose(Expm(Scaled(A, t1))));
        Assert.True(MaxAbsDiff(h1, expected) < 1e-9, $"max |h(t₁) − expm| = {MaxAbsDiff(h1, expected):E2}");
    }

    [Theory]
    [MemberData(nameof(SolverAndGradient))]
    public void GradientsOfALinearSystemMatchTheExponentialsDerivatives(string solver, OdeGradient gradient)
    {
        // L = Σ w ⊙ h(t₁) with h(t₁) = h₀·Eᵀ, E = expm(A t₁): ∂L/∂h₀ = w·E; ∂L/∂A by central differences of expm.
        double t1 = 1.3;
        var f = LinearDynamics(A);
        var block = new OdeBlock(f, Tight(solver), gradient, 0, t1);
        double[,] h0Values = { { 0.7, -0.4 }, { 1.1, 0.3 } };
        double[,] w = { { 0.2, -1.0 }, { 0.5, 0.8 } };
        var h0 = Tensor.FromArray(h0Values, DType.Float64);
        h0.RequiresGrad = true;
        (block.Forward(h0) * Tensor.FromArray(w, DType.Float64)).Sum().Backward();

        var expectedH0 = Multiply(w, Expm(Scaled(A, t1)));
        Assert.True(MaxAbsDiff(h0.Grad!, expectedH0) < 1e-8, $"∂L/∂h₀ off by {MaxAbsDiff(h0.Grad!, expectedH0):E2}");

        double Loss(double[,] a)
        {
            var h = Multiply(h0Values, Transpose(Expm(Scaled(a, t1))));
            double s = 0;
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) s += w[i, j] * h[i, j];
            return s;
        }
        const double step = 1e-6;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
            {
                var plus = (double[,])A.Clone();
                var minus = (double[,])A.Clone();
                plus[i, j] += step;
                minus[i, j] -= step;
                double numeric = (Loss(plus) - Loss(minus)) / (2 * step);
                Assert.True(Math.Abs(f.Weight.Grad![i, j] - numeric) < 1e-7, $"∂L/∂A[{i},{j}] = {f.Weight.Grad![i, j]} but expm gives {numeric}");
            }
    }

    private static Sequential SmallNetwork(ulong seed) => new(
        new Linear(2, 8, rng: new Rng(seed), dtype: DType.Float64), new Tanh(),
        new Linear(8, 2, rng: new Rng(seed + 1), dtype: DType.Float64));

    private static (Tensor H0Grad, Tensor[] ParameterGrads) Gradients(OdeBlock block, Tensor h0Values, Tensor target)
    {
        block.Dynamics.ZeroGrad();
        var h0 = h0Values.Clone();
        h0.RequiresGrad = true;
        var h1 = block.Forward(h0);
        ((h1 - target).Square().Sum() + h1.Sum() * 0.3).Backward();
        return (h0.Grad!, block.Dynamics.Parameters().Select(p => p.Grad!.Clone()).ToArray());
    }

    private static double MaxRelDiff(Tensor a, Tensor b)
    {
        double worst = 0, scale = 1e-3;
        for (int i = 0; i < a.Length; i++) scale = Math.Max(scale, Math.Abs(b.Reshape(-1)[i]));
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a.Reshape(-1)[i] - b.Reshape(-1)[i]) / scale);
        return worst;
    }

    [Theory]
    [InlineData("rk4")]
    [InlineData("dopri5")]
    public void AdjointEqualsBackpropThroughTheSolverAndBothEqualCentralDifferences(string solver)
    {
        var f = SmallNetwork(7);
        var options = solver == "rk4" ? OdeSolverOptions.Rk4(80) : OdeSolverOptions.Dopri5(1e-10, 1e-12);
        var h0 = Tensor.FromArray(new double[,] { { 0.5, -1.0 }, { 1.5, 0.2 }, { -0.3, 0.9 } }, DType.Float64);
        var target = Tensor.FromArray(new double[,] { { 0.1, 0.2 }, { -0.5, 0.4 }, { 0.3, -0.2 } }, DType.Float64);
        var adjointBlock = new OdeBlock(f, options, OdeGradient.Adjoint, 0, 1.5);
        var backpropBlock = new OdeBlock(f, options, OdeGradient.Backprop, 0, 1.5);
        var (adjointH0, adjointTheta) = Gradients(adjointBlock, h0, target);
        var (backpropH0, backpropTheta) = Gradients(backpropBlock, h0, target);

        // The adjoint solves a different (continuous) problem's discretisation: equal to the solver's accuracy.
        double tolerance = solver == "rk4" ? 1e-7 : 1e-7;
        Assert.True(MaxRelDiff(adjointH0, backpropH0) < tolerance, $"∂L/∂h₀: adjoint vs backprop {MaxRelDiff(adjointH0, backpropH0):E2}");
        for (int i = 0; i < adjointTheta.Length; i++)
            Assert.True(MaxRelDiff(adjointTheta[i], backpropTheta[i]) < tolerance, $"parameter {i}: adjoint vs backprop {MaxRelDiff(adjointTheta[i], backpropTheta[i]):E2}");
        // Nothing coincidental: the gradients are not zero.
        Assert.True(adjointTheta.All(g => g.Abs().Sum().Item() > 1e-3));

        // Both against central differences of the loss, for every element of h₀ and of each parameter.
        double Loss()
        {
            using (Backprop.Autodiff.NoGrad())
            {
                var h1 = backpropBlock.Forward(h0);
                return ((h1 - target).Square().Sum() + h1.Sum() * 0.3).Item();
            }
        }
        const double step = 1e-6;
        var tensors = new List<(Tensor Value, Tensor Grad, string Name)> { (h0, backpropH0, "h0") };
        var names = f.NamedParameters().Select(p => p.Name).ToArray();
        var parameters = f.Parameters().ToArray();
        for (int i = 0; i < parameters.Length; i++) tensors.Add((parameters[i], backpropTheta[i], names[i]));
        foreach (var (value, grad, name) in tensors)
        {
            var numeric = Tensor.ZerosLike(value.Detach());
            for (int e = 0; e < value.Length; e++)
            {
                var flat = value.Detach().Reshape(-1);
                double original = flat[e];
                using (Backprop.Autodiff.NoGrad())
                {
                    Set(flat, e, original + step);
                    double up = Loss();
                    Set(flat, e, original - step);
                    double down = Loss();
                    Set(flat, e, original);
                    Set(numeric.Reshape(-1), e, (up - down) / (2 * step));
                }
            }
            Assert.True(MaxRelDiff(grad, numeric) < 1e-6, $"{name}: backprop vs central differences {MaxRelDiff(grad, numeric):E2}");
            var adjoint = name == "h0" ? adjointH0 : adjointTheta[Array.IndexOf(names, name)];
            Assert.True(MaxRelDiff(adjoint, numeric) < 1e-6, $"{name}: adjoint vs central differences {MaxRelDiff(adjoint, numeric):E2}");
        }
    }

    private static void Set(Tensor flat, int index, double value) => flat.AsSpan<double>()[index] = value;

    [Fact]
    public void AParameterGradientAlreadyAccumulatedIsKeptAndAddedTo()
    {
        // The adjoint's inner backward passes set .Grad aside; a gradient from elsewhere in the graph must survive.
        var f = SmallNetwork(3);
        var block = new OdeBlock(f, OdeSolverOptions.Rk4(20), OdeGradient.Adjoint);
        var reference = new OdeBlock(f, OdeSolverOptions.Rk4(20), OdeGradient.Backprop);
        var h0 = Tensor.FromArray(new double[,] { { 0.3, -0.6 } }, DType.Float64);
        var first = f.Parameters().First();

        f.ZeroGrad();
        (reference.Forward(h0).Sum() + first.Square().Sum()).Backward();
        var expected = first.Grad!.Clone();
        f.ZeroGrad();
        (block.Forward(h0).Sum() + first.Square().Sum()).Backward();
        Assert.True(MaxRelDiff(first.Grad!, expected) < 1e-8, $"{MaxRelDiff(first.Grad!, expected):E2}");
    }

    [Theory]
    [InlineData(OdeGradient.Adjoint)]
    [InlineData(OdeGradient.Backprop)]
    public void ForwardModeThroughTheBlockGivesTheExponentialTimesTheTangent(OdeGradient gradient)
    {
        double t1 = 0.9;
        var block = new OdeBlock(LinearDynamics(A), OdeSolverOptions.Rk4(100), gradient, 0, t1);
        var h0 = Tensor.FromArray(new double[,] { { 0.4, 0.1 } }, DType.Float64);
        var v = Tensor.FromArray(new double[,] { { -1.0, 2.0 } }, DType.Float64);
        var (value, tangent) = Transforms.Jvp(block.Forward, h0, v);
        var e = Transpose(Expm(Scaled(A, t1)));
        Assert.True(MaxAbsDiff(tangent, Multiply(new double[,] { { -1.0, 2.0 } }, e)) < 1e-9);
        Assert.True(MaxAbsDiff(value, Multiply(new double[,] { { 0.4, 0.1 } }, e)) < 1e-9);
    }

    [Fact]
    public void ForwardAndReverseAgreeThroughANonlinearBlock()
    {
        // ⟨w, J u⟩ = ⟨Jᵀ w, u⟩ with J from forward mode through the steps and Jᵀ from the adjoint.
        var block = new OdeBlock(SmallNetwork(11), OdeSolverOptions.Dopri5(1e-10, 1e-12), OdeGradient.Adjoint);
        var h0 = Tensor.RandomNormal([4, 2], 5, DType.Float64);
        var u = Tensor.RandomNormal([4, 2], 6, DType.Float64);
        var w = Tensor.RandomNormal([4, 2], 7, DType.Float64);
        var (_, ju) = Transforms.Jvp(block.Forward, h0, u);
        var (_, jtw) = Transforms.Vjp(block.Forward, h0, w);
        double lhs = (w * ju).Sum().Item(), rhs = (jtw * u).Sum().Item();
        Assert.True(Math.Abs(lhs - rhs) < 1e-8 * Math.Max(1, Math.Abs(lhs)), $"⟨w, Ju⟩ = {lhs}, ⟨Jᵀw, u⟩ = {rhs}");
    }

    [Fact]
    public void AHessianVectorProductWorksThroughTheAdjoint()
    {
        // Forward over reverse: the adjoint's backward solve is written with tensor ops, so it carries tangents.
        var block = new OdeBlock(new Tanh(), OdeSolverOptions.Rk4(50), OdeGradient.Adjoint, 0, 0.8);
        var reference = new OdeBlock(new Tanh(), OdeSolverOptions.Rk4(50), OdeGradient.Backprop, 0, 0.8);
        var x = Tensor.FromArray(new double[] { 0.3, -0.8, 1.1 }, [3], DType.Float64);
        var v = Tensor.FromArray(new double[] { 1.0, 0.5, -0.25 }, [3], DType.Float64);
        var hvp = Transforms.HessianVectorProduct(h => block.Forward(h).Square().Sum(), x, v);
        var expected = Transforms.HessianVectorProduct(h => reference.Forward(h).Square().Sum(), x, v);
        Assert.True(MaxRelDiff(hvp, expected) < 1e-7, $"{MaxRelDiff(hvp, expected):E2}");
    }

    [Fact]
    public void CountsEvaluationsForwardAndBackward()
    {
        var block = new OdeBlock(SmallNetwork(2), OdeSolverOptions.Rk4(10), OdeGradient.Adjoint);
        var h0 = Tensor.FromArray(new double[,] { { 0.3, -0.6 } }, DType.Float64);
        block.Forward(h0).Sum().Backward();
        Assert.Equal(new OdeStatistics(40, 10, 0), block.ForwardStatistics);
        Assert.Equal(new OdeStatistics(40, 10, 0), block.BackwardStatistics);

        var adaptive = new OdeBlock(SmallNetwork(2), OdeSolverOptions.Dopri5(1e-6, 1e-8), OdeGradient.Adjoint);
        adaptive.Forward(h0).Sum().Backward();
        var s = adaptive.ForwardStatistics;
        // One for f(t₀), one for the initial-step estimate, then six per attempt (first same as last).
        Assert.Equal(2 + 6 * (s.AcceptedSteps + s.RejectedSteps), s.Evaluations);
        Assert.True(adaptive.BackwardStatistics.Evaluations > 0);
    }

    /// <summary>The graph's saved values reachable from a tensor: (nodes, elements saved in their inputs and outputs).</summary>
    internal static (int Nodes, long SavedElements) GraphSize(Tensor t)
    {
        var seen = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Node>();
        long elements = 0;
        if (t.Node is { } root) { stack.Push(root); seen.Add(root); }
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            elements += node.Output.Length;
            foreach (var input in node.Primals) elements += input.Length;
            foreach (var input in node.Inputs)
                if (input.Node is { } child && seen.Add(child)) stack.Push(child);
        }
        return (seen.Count, elements);
    }

    [Fact]
    public void TheAdjointKeepsTheSameGraphAsStepsGrowAndBackpropKeepsAGrowingOne()
    {
        var f = SmallNetwork(4);
        var h0 = Tensor.FromArray(new double[,] { { 0.3, -0.6 }, { 1, 2 } }, DType.Float64);
        h0.RequiresGrad = true;
        var adjoint = new[] { 10, 20, 40 }.Select(n => GraphSize(new OdeBlock(f, OdeSolverOptions.Rk4(n), OdeGradient.Adjoint).Forward(h0))).ToArray();
        var backprop = new[] { 10, 20, 40 }.Select(n => GraphSize(new OdeBlock(f, OdeSolverOptions.Rk4(n), OdeGradient.Backprop).Forward(h0))).ToArray();
        Assert.All(adjoint, a => Assert.Equal(adjoint[0], a));
        Assert.Equal(1, adjoint[0].Nodes);
        // Linear in the step count: doubling the steps doubles the graph (up to the constant part).
        Assert.InRange(backprop[1].SavedElements - backprop[0].SavedElements, 0.95 * (backprop[2].SavedElements - backprop[1].SavedElements) / 2,
            1.05 * (backprop[2].SavedElements - backprop[1].SavedElements) / 2);
        Assert.True(backprop[0].SavedElements > 10 * adjoint[0].SavedElements);
    }

    [Fact]
    public void TrajectoryGradientsAgreeAcrossMethods()
    {
        var f = SmallNetwork(9);
        var times = new[] { 0.0, 0.4, 0.9, 1.5 };
        var h0 = Tensor.FromArray(new double[,] { { 0.5, -0.2 } }, DType.Float64);
        Tensor[] Grads(OdeGradient g)
        {
            f.ZeroGrad();
            var block = new OdeBlock(f, OdeSolverOptions.Dopri5(1e-10, 1e-12), g);
            var path = block.Trajectory(h0, times);
            Tensor loss = path[1].Square().Sum();
            for (int i = 2; i < path.Length; i++) loss = loss + path[i].Square().Sum() * i;
            loss.Backward();
            return f.Parameters().Select(p => p.Grad!.Clone()).ToArray();
        }
        var a = Grads(OdeGradient.Adjoint);
        var b = Grads(OdeGradient.Backprop);
        for (int i = 0; i < a.Length; i++) Assert.True(MaxRelDiff(a[i], b[i]) < 1e-7, $"parameter {i}: {MaxRelDiff(a[i], b[i]):E2}");
    }

    [Fact]
    public void TimeInputAppendsTAsAFeature()
    {
        // f([h, t]) = t·h (a Linear on [h, t] cannot express a product, so use a module that reads the column).
        var block = new OdeBlock(new TimesTime(), OdeSolverOptions.Rk4(400), OdeGradient.Adjoint, 0, 1.2, timeInput: true);
        var h0 = Tensor.FromArray(new double[,] { { 1.0, -2.0 } }, DType.Float64);
        var h1 = block.Forward(h0);
        // dh/dt = t·h  ⇒  h(t) = h₀·e^(t²/2)
        Assert.Equal(Math.Exp(0.72), h1[0, 0], 9);
        Assert.Equal(-2 * Math.Exp(0.72), h1[0, 1], 9);
    }

    private sealed class TimesTime : Module
    {
        public override Tensor Forward(Tensor x) => x.Slice(1, 0, 2) * x.Slice(1, 2, 1);
        public override string ToString() => "TimesTime()";
    }

    [Fact]
    public void DynamicsOfTheWrongShapeAreAnErrorThatSaysSo()
    {
        var block = new OdeBlock(new Linear(2, 3, dtype: DType.Float64));
        var e = Assert.Throws<ShapeException>(() => block.Forward(Tensor.Zeros([4, 2], DType.Float64)));
        Assert.Contains("dh/dt must have h's shape", e.Message);
        Assert.Throws<BackpropException>(() => new OdeBlock(new Tanh(), OdeSolverOptions.Rk4(0)));
        Assert.Throws<BackpropException>(() => new OdeBlock(new Tanh(), OdeSolverOptions.Dopri5(0, 0)));
    }

    [Fact]
    public void ParametersAreNamedUnderF()
    {
        var block = new OdeBlock(SmallNetwork(1));
        Assert.Equal(["f.0.weight", "f.0.bias", "f.2.weight", "f.2.bias"], block.NamedParameters().Select(p => p.Name));
        Assert.Contains("solver=rk4(steps=10), gradient=adjoint", block.ToString());
    }
}
