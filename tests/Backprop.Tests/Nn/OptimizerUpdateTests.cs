using Backprop.Nn;

namespace Backprop.Tests.Nn;

/// <summary>Each optimizer against its published update rule, written out elementwise in the test.</summary>
public class OptimizerUpdateTests
{
    private const int Steps = 3;

    private static void AssertClose(double[] expected, double[] actual, double tolerance = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    private static double[] Run(Func<OptimizerTestProblem, Optimizer> create, int steps = Steps)
    {
        var problem = new OptimizerTestProblem();
        var optimizer = create(problem);
        for (int s = 0; s < steps; s++) optimizer.Step(problem.Closure);
        return problem.Values();
    }

    [Theory]
    [InlineData(0.0, 0.0, 0.0, false)]
    [InlineData(0.9, 0.0, 0.0, false)]
    [InlineData(0.9, 0.3, 0.0, false)]
    [InlineData(0.9, 0.0, 0.05, true)]
    [InlineData(0.0, 0.0, 0.1, false)]
    public void SgdFollowsTorchRule(double momentum, double dampening, double weightDecay, bool nesterov)
    {
        const double lr = 0.05;
        var theta = OptimizerTestProblem.InitialValues;
        double[]? buffer = null;
        for (int s = 0; s < Steps; s++)
        {
            var g = OptimizerTestProblem.Gradient(theta);
            var d = g.Select((gi, i) => gi + weightDecay * theta[i]).ToArray();
            if (momentum != 0)
            {
                buffer = buffer is null ? (double[])d.Clone() : buffer.Select((b, i) => momentum * b + (1 - dampening) * d[i]).ToArray();
                d = nesterov ? d.Select((di, i) => di + momentum * buffer[i]).ToArray() : buffer;
            }
            theta = theta.Select((t, i) => t - lr * d[i]).ToArray();
        }
        AssertClose(theta, Run(p => new Sgd(p.Named, lr, momentum, dampening, weightDecay, nesterov)));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    public void AdamFollowsTorchRuleWithBiasCorrection(double weightDecay)
    {
        const double lr = 0.1, beta1 = 0.8, beta2 = 0.95, eps = 1e-3;
        var theta = OptimizerTestProblem.InitialValues;
        var m = new double[theta.Length];
        var v = new double[theta.Length];
        for (int t = 1; t <= Steps; t++)
        {
            var g = OptimizerTestProblem.Gradient(theta);
            for (int i = 0; i < theta.Length; i++)
            {
                double gi = g[i] + weightDecay * theta[i];
                m[i] = beta1 * m[i] + (1 - beta1) * gi;
                v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
                double mHat = m[i] / (1 - Math.Pow(beta1, t));
                double vHat = v[i] / (1 - Math.Pow(beta2, t));
                theta[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
        }
        AssertClose(theta, Run(p => new Adam(p.Named, lr, beta1, beta2, eps, weightDecay)));
    }

    [Fact]
    public void AdamFirstStepMovesEachCoordinateByAboutTheLearningRate()
    {
        // With bias correction, m̂/√v̂ = g/|g| on step 1: every coordinate moves by lr·|g|/(|g| + eps).
        var problem = new OptimizerTestProblem();
        var before = problem.Values();
        var g = OptimizerTestProblem.Gradient(before);
        new Adam(problem.Named, lr: 0.01).Step(problem.Closure);
        var after = problem.Values();
        for (int i = 0; i < before.Length; i++)
            Assert.Equal(-0.01 * g[i] / (Math.Abs(g[i]) + 1e-8), after[i] - before[i], 1e-12);
    }

    [Fact]
    public void AdamWDecaysTheParameterNotTheGradient()
    {
        const double lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.2;
        var theta = OptimizerTestProblem.InitialValues;
        var m = new double[theta.Length];
        var v = new double[theta.Length];
        for (int t = 1; t <= Steps; t++)
        {
            var g = OptimizerTestProblem.Gradient(theta);
            for (int i = 0; i < theta.Length; i++)
            {
                theta[i] *= 1 - lr * weightDecay;
                m[i] = beta1 * m[i] + (1 - beta1) * g[i];
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
                theta[i] -= lr / (1 - Math.Pow(beta1, t)) * m[i] / (Math.Sqrt(v[i] / (1 - Math.Pow(beta2, t))) + eps);
            }
        }
        AssertClose(theta, Run(p => new AdamW(p.Named, lr, beta1, beta2, eps, weightDecay)));
        Assert.Equal(0.01, new AdamW(new OptimizerTestProblem().Named).WeightDecay);
    }

    [Theory]
    [InlineData(false, 0.0, 0.0)]
    [InlineData(true, 0.0, 0.0)]
    [InlineData(false, 0.9, 0.0)]
    [InlineData(true, 0.8, 0.1)]
    public void RmsPropFollowsTorchRule(bool centered, double momentum, double weightDecay)
    {
        const double lr = 0.01, alpha = 0.9, eps = 1e-6;
        var theta = OptimizerTestProblem.InitialValues;
        int n = theta.Length;
        double[] square = new double[n], average = new double[n], buffer = new double[n];
        for (int s = 0; s < Steps; s++)
        {
            var g = OptimizerTestProblem.Gradient(theta);
            for (int i = 0; i < n; i++)
            {
                double gi = g[i] + weightDecay * theta[i];
                square[i] = alpha * square[i] + (1 - alpha) * gi * gi;
                double denominator;
                if (centered)
                {
                    average[i] = alpha * average[i] + (1 - alpha) * gi;
                    denominator = Math.Sqrt(square[i] - average[i] * average[i]) + eps;
                }
                else denominator = Math.Sqrt(square[i]) + eps;
                if (momentum > 0)
                {
                    buffer[i] = momentum * buffer[i] + gi / denominator;
                    theta[i] -= lr * buffer[i];
                }
                else theta[i] -= lr * gi / denominator;
            }
        }
        AssertClose(theta, Run(p => new RmsProp(p.Named, lr, alpha, eps, weightDecay, momentum, centered)));
    }

    [Fact]
    public void StepWithoutClosureUsesExistingGradientsAndSkipsParametersWithout()
    {
        var problem = new OptimizerTestProblem();
        var optimizer = new Sgd(problem.Named, lr: 0.5);
        problem.Closure();
        problem.B.ZeroGrad();
        var before = problem.Values();
        var g = OptimizerTestProblem.Gradient(before);
        optimizer.Step();
        var after = problem.Values();
        for (int i = 0; i < 6; i++) Assert.Equal(before[i] - 0.5 * g[i], after[i], 1e-14);
        for (int i = 6; i < 8; i++) Assert.Equal(before[i], after[i]);
    }

    [Fact]
    public void Float32ParametersFollowTheSameRule()
    {
        var p64 = new OptimizerTestProblem(DType.Float64);
        var p32 = new OptimizerTestProblem(DType.Float32);
        var a64 = new Adam(p64.Named, lr: 0.05);
        var a32 = new Adam(p32.Named, lr: 0.05);
        for (int s = 0; s < 5; s++)
        {
            a64.Step(p64.Closure);
            a32.Step(p32.Closure);
        }
        AssertClose(p64.Values(), p32.Values(), 1e-5);
    }

    [Fact]
    public void ConstructorRejectsBadParameterLists()
    {
        var w = Tensor.Ones([2]);
        Assert.Contains("does not require gradients", Assert.Throws<BackpropException>(() => new Sgd([w], 0.1)).Message);
        w.RequiresGrad = true;
        Assert.Contains("listed twice", Assert.Throws<BackpropException>(() => new Sgd([("a", w), ("b", w)], 0.1)).Message);
        Assert.Contains("Nesterov", Assert.Throws<BackpropException>(() => new Sgd([w], 0.1, nesterov: true)).Message);
        Assert.Contains("only leaf", Assert.Throws<BackpropException>(() => new Sgd([w * 2.0], 0.1)).Message);
    }
}
