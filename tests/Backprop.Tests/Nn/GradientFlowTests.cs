using Backprop.Nn;

namespace Backprop.Tests.Nn;

/// <summary>
/// The gradient-flow optimizers against the exact flow of a quadratic, L(θ) = ½ θᵀAθ with A = R·diag(λ)·Rᵀ
/// symmetric positive definite: dθ/dt = −Aθ, so θ(t) = R·diag(e^(−λt))·Rᵀ·θ₀.
/// </summary>
public class GradientFlowTests
{
    private const double Angle = 0.6;
    private static readonly double[] Eigenvalues = [0.5, 2.0];
    private static readonly double[] Theta0 = [1.0, -0.7];

    private sealed class Quadratic
    {
        private readonly Tensor _a;
        public Tensor Theta { get; }

        public Quadratic()
        {
            double c = Math.Cos(Angle), s = Math.Sin(Angle);
            double[,] r = { { c, -s }, { s, c } };
            var a = new double[2, 2];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    for (int k = 0; k < 2; k++)
                        a[i, j] += r[i, k] * Eigenvalues[k] * r[j, k];
            _a = Tensor.FromArray(a, DType.Float64);
            Theta = Tensor.FromArray(Theta0, [1, 2], DType.Float64);
            Theta.RequiresGrad = true;
        }

        public Tensor Closure()
        {
            Theta.ZeroGrad();
            var loss = Theta.MatMul(_a).MatMul(Theta, transposeB: true).Sum() * 0.5;
            loss.Backward();
            return loss;
        }
    }

    private static double[] ExactFlow(double t)
    {
        double c = Math.Cos(Angle), s = Math.Sin(Angle);
        double[,] r = { { c, -s }, { s, c } };
        var result = new double[2];
        for (int k = 0; k < 2; k++)
        {
            double projection = r[0, k] * Theta0[0] + r[1, k] * Theta0[1];
            double decayed = Math.Exp(-Eigenvalues[k] * t) * projection;
            for (int i = 0; i < 2; i++) result[i] += r[i, k] * decayed;
        }
        return result;
    }

    private static double Distance(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum());

    private static double FixedStepError(Func<Quadratic, Optimizer> create, double h, double endTime)
    {
        var problem = new Quadratic();
        var optimizer = create(problem);
        int steps = (int)Math.Round(endTime / h);
        for (int s = 0; s < steps; s++) optimizer.Step(problem.Closure);
        return Distance(problem.Theta.ToDoubleArray(), ExactFlow(endTime));
    }

    [Fact]
    public void Rk4ErrorShrinksSixteenfoldWhenTheStepHalves()
    {
        const double endTime = 2;
        double coarse = FixedStepError(q => new Rk4GradientFlow([q.Theta], 0.1), 0.1, endTime);
        double fine = FixedStepError(q => new Rk4GradientFlow([q.Theta], 0.05), 0.05, endTime);
        Assert.InRange(coarse / fine, 12, 20);
        Assert.True(fine < 1e-6, $"RK4 error {fine}");
    }

    [Fact]
    public void EulerThatIsPlainSgdErrorOnlyHalvesWhenTheStepHalves()
    {
        const double endTime = 2;
        double coarse = FixedStepError(q => new Sgd([q.Theta], 0.02), 0.02, endTime);
        double fine = FixedStepError(q => new Sgd([q.Theta], 0.01), 0.01, endTime);
        Assert.InRange(coarse / fine, 1.8, 2.2);
        double rk4 = FixedStepError(q => new Rk4GradientFlow([q.Theta], 0.2), 0.2, endTime);
        Assert.True(rk4 < fine / 10, $"RK4 at h = 0.2 ({rk4}) should beat Euler at h = 0.01 ({fine})");
    }

    [Fact]
    public void Rk4CallsTheClosureFourTimesPerStepAndTracksTime()
    {
        var problem = new Quadratic();
        var rk4 = new Rk4GradientFlow([problem.Theta], 0.25);
        int calls = 0;
        var loss = rk4.Step(() => { calls++; return problem.Closure(); });
        Assert.Equal(4, calls);
        Assert.Equal(4, rk4.GradientEvaluations);
        Assert.Equal(0.25, rk4.Time);
        Assert.NotNull(loss);
        Assert.True(loss!.Item() > 0, "the returned loss is the loss at the starting point");
    }

    [Fact]
    public void GradientFlowsRequireAClosure()
    {
        var problem = new Quadratic();
        var rk4 = new Rk4GradientFlow([problem.Theta], 0.1);
        Assert.True(rk4.RequiresClosure);
        Assert.Contains("needs a loss closure", Assert.Throws<BackpropException>(() => rk4.Step()).Message);
    }

    private static (double MaxScaledError, DormandPrince54 Solver) IntegrateWithDormandPrince(double relTol, double absTol, double initialStep, double endTime = 3)
    {
        var problem = new Quadratic();
        var solver = new DormandPrince54([problem.Theta], initialStep, relTol, absTol);
        solver.IntegrateTo(problem.Closure, endTime);
        Assert.Equal(endTime, solver.Time);
        var exact = ExactFlow(endTime);
        var actual = problem.Theta.ToDoubleArray();
        double maxScaled = 0;
        for (int i = 0; i < 2; i++)
            maxScaled = Math.Max(maxScaled, Math.Abs(actual[i] - exact[i]) / (absTol + relTol * Math.Abs(exact[i])));
        return (maxScaled, solver);
    }

    [Fact]
    public void DormandPrinceMeetsItsTolerance()
    {
        var (scaledError, solver) = IntegrateWithDormandPrince(relTol: 1e-6, absTol: 1e-9, initialStep: 0.1);
        Assert.True(scaledError < 10, $"final error is {scaledError:G3} tolerance units");
        Assert.True(solver.AcceptedSteps > 3);
        // FSAL: the first step costs 7 evaluations, each later attempt 6.
        Assert.Equal(1 + 6 * (solver.AcceptedSteps + solver.RejectedSteps), solver.GradientEvaluations);
    }

    [Fact]
    public void DormandPrinceRejectsATooLargeInitialStepAndShrinksIt()
    {
        var (scaledError, solver) = IntegrateWithDormandPrince(relTol: 1e-6, absTol: 1e-9, initialStep: 5);
        Assert.True(solver.RejectedSteps > 0);
        Assert.True(scaledError < 10, $"final error is {scaledError:G3} tolerance units");
    }

    [Fact]
    public void TighterToleranceGivesSmallerErrorForMoreEvaluations()
    {
        var problemLoose = new Quadratic();
        var loose = new DormandPrince54([problemLoose.Theta], 0.1, relTol: 1e-3, absTol: 1e-6);
        loose.IntegrateTo(problemLoose.Closure, 3);
        var problemTight = new Quadratic();
        var tight = new DormandPrince54([problemTight.Theta], 0.1, relTol: 1e-8, absTol: 1e-11);
        tight.IntegrateTo(problemTight.Closure, 3);

        double looseError = Distance(problemLoose.Theta.ToDoubleArray(), ExactFlow(3));
        double tightError = Distance(problemTight.Theta.ToDoubleArray(), ExactFlow(3));
        Assert.True(tightError < looseError / 100, $"tight {tightError:G3}, loose {looseError:G3}");
        Assert.True(tight.GradientEvaluations > loose.GradientEvaluations);
    }

    [Fact]
    public void DormandPrinceStepAdvancesByOneAcceptedStepAndAdaptsTheStepSize()
    {
        var problem = new Quadratic();
        var solver = new DormandPrince54([problem.Theta], 0.01, relTol: 1e-3, absTol: 1e-6);
        solver.Step(problem.Closure);
        Assert.Equal(1, solver.AcceptedSteps);
        Assert.Equal(0.01, solver.Time);
        Assert.True(solver.StepSize > 0.01, "an easy step should let the step size grow");
        Assert.True(solver.StepSize <= 0.05 + 1e-15, "growth is capped at 5×");
    }

    [Fact]
    public void DormandPrinceReportsAStepSizeUnderflow()
    {
        var theta = Tensor.FromArray([1.0], [1], DType.Float64);
        theta.RequiresGrad = true;
        var solver = new DormandPrince54([theta], 0.1, minStepSize: 1e-6);
        // A gradient that is NaN everywhere makes every attempt fail.
        Tensor Closure()
        {
            theta.ZeroGrad();
            var loss = (theta * double.NaN).Sum();
            loss.Backward();
            return loss;
        }
        var error = Assert.Throws<BackpropException>(() => solver.Step(Closure));
        Assert.Contains("step size fell", error.Message);
    }
}
