using Backprop.Nn;

namespace Backprop.Tests.Nn;

public class OptimizerStateTests
{
    public static TheoryData<string> Optimizers => new()
    {
        "sgd", "sgd-nesterov", "adam", "adamw", "rmsprop-centered-momentum", "rk4", "dormand-prince",
    };

    private static Optimizer Create(string kind, IEnumerable<(string Name, Tensor Parameter)> parameters) => kind switch
    {
        "sgd" => new Sgd(parameters, 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
        "sgd-nesterov" => new Sgd(parameters, 0.05, momentum: 0.9, nesterov: true),
        "adam" => new Adam(parameters, 0.05, weightDecay: 0.01),
        "adamw" => new AdamW(parameters, 0.05),
        "rmsprop-centered-momentum" => new RmsProp(parameters, 0.01, momentum: 0.5, centered: true),
        "rk4" => new Rk4GradientFlow(parameters, 0.1),
        "dormand-prince" => new DormandPrince54(parameters, 0.5, relTol: 1e-4, absTol: 1e-7),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void ResumingFromAStateDictEqualsUninterruptedTrainingBitForBit(string kind)
    {
        var original = new OptimizerTestProblem();
        var optimizer = Create(kind, original.Named);
        var scheduler = new StepLR(optimizer, stepSize: 2, gamma: 0.5);
        for (int s = 0; s < 3; s++)
        {
            optimizer.Step(original.Closure);
            scheduler.Step();
        }
        var savedParameters = original.Values();
        var savedState = optimizer.StateDict();
        var savedSchedule = scheduler.StateDict();
        for (int s = 0; s < 2; s++)
        {
            optimizer.Step(original.Closure);
            scheduler.Step();
        }

        var resumed = new OptimizerTestProblem();
        resumed.SetValues(savedParameters);
        var resumedOptimizer = Create(kind, resumed.Named);
        var resumedScheduler = new StepLR(resumedOptimizer, stepSize: 2, gamma: 0.5);
        resumedOptimizer.LoadStateDict(savedState);
        resumedScheduler.LoadStateDict(savedSchedule);
        for (int s = 0; s < 2; s++)
        {
            resumedOptimizer.Step(resumed.Closure);
            resumedScheduler.Step();
        }

        Assert.Equal(original.Values(), resumed.Values());
        Assert.Equal(optimizer.LearningRate, resumedOptimizer.LearningRate);
        Assert.Equal(optimizer.StepCount, resumedOptimizer.StepCount);
        if (optimizer is GradientFlowOptimizer flow)
            Assert.Equal(flow.GradientEvaluations, ((GradientFlowOptimizer)resumedOptimizer).GradientEvaluations);
    }

    [Fact]
    public void StateDictNamesEntriesByParameter()
    {
        var problem = new OptimizerTestProblem();
        var adam = new Adam(problem.Named);
        adam.Step(problem.Closure);
        var keys = adam.StateDict().Keys.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["b.exp_avg", "b.exp_avg_sq", "b.step", "lr", "step", "w.exp_avg", "w.exp_avg_sq", "w.step"], keys);

        var sgd = new Sgd(problem.Named, 0.1, momentum: 0.9);
        Assert.DoesNotContain("w.momentum_buffer", sgd.StateDict().Keys);
        sgd.Step(problem.Closure);
        Assert.Equal([2, 3], sgd.StateDict()["w.momentum_buffer"].Shape.ToArray());
    }

    [Fact]
    public void LoadingAMismatchedStateFailsAndLeavesTheStateUnchanged()
    {
        var problem = new OptimizerTestProblem();
        var adam = new Adam(problem.Named);
        adam.Step(problem.Closure);
        var before = adam.StateDict();

        var wrongShape = new Dictionary<string, Tensor>(before) { ["w.exp_avg"] = Tensor.Zeros([3, 2], DType.Float64), ["lr"] = Tensor.Scalar(0.5, DType.Float64) };
        var error = Assert.Throws<BackpropException>(() => adam.LoadStateDict(wrongShape));
        Assert.Contains("w.exp_avg", error.Message);
        Assert.Equal(1e-3, adam.LearningRate);

        var extra = new Dictionary<string, Tensor>(before) { ["w.momentum_buffer"] = Tensor.Zeros([2, 3], DType.Float64) };
        Assert.Contains("unexpected entries 'w.momentum_buffer'", Assert.Throws<BackpropException>(() => adam.LoadStateDict(extra)).Message);

        var missing = new Dictionary<string, Tensor>(before);
        missing.Remove("b.step");
        Assert.Contains("'b.step'", Assert.Throws<BackpropException>(() => adam.LoadStateDict(missing)).Message);

        var after = adam.StateDict();
        foreach (var (key, value) in before) Assert.Equal(value.ToDoubleArray(), after[key].ToDoubleArray());
    }
}
