using Backprop.Nn;

namespace Backprop.Tests.Nn;

public class AllocationAndTrainingTests
{
    private static long AllocatedBytesDuringSteps(Optimizer optimizer, int steps)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int s = 0; s < steps; s++) optimizer.Step();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    public static TheoryData<string, DType> Kinds => new()
    {
        { "sgd-momentum", DType.Float32 },
        { "sgd-momentum", DType.Float64 },
        { "adam", DType.Float32 },
        { "adam", DType.Float64 },
        { "adamw", DType.Float32 },
        { "rmsprop", DType.Float32 },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void StepAllocatesNothingInSteadyState(string kind, DType dtype)
    {
        var mlp = Mlp.Create(64, [32], 10, Activation.Relu, Init.Auto, new Rng(1), dtype);
        var x = Tensor.RandomNormal([16, 64], new Rng(2), dtype: dtype);
        Losses.SoftmaxCrossEntropy(mlp.Forward(x), new int[16]).Backward();
        Optimizer optimizer = kind switch
        {
            "sgd-momentum" => new Sgd(mlp.NamedParameters(), 0.01, momentum: 0.9, weightDecay: 1e-4, nesterov: true),
            "adam" => new Adam(mlp.NamedParameters(), weightDecay: 1e-4),
            "adamw" => new AdamW(mlp.NamedParameters()),
            "rmsprop" => new RmsProp(mlp.NamedParameters(), momentum: 0.9, centered: true),
            _ => throw new ArgumentException(kind),
        };
        AllocatedBytesDuringSteps(optimizer, 50);
        Assert.Equal(0, AllocatedBytesDuringSteps(optimizer, 20));
    }

    [Fact]
    public void AdamFitsXor()
    {
        var x = Tensor.FromArray([0f, 0f, 0f, 1f, 1f, 0f, 1f, 1f], 4, 2);
        var y = Tensor.FromArray([0f, 1f, 1f, 0f], 4, 1);
        var mlp = Mlp.Create(2, [8], 1, Activation.Tanh, Init.Auto, new Rng(1234));
        var adam = new Adam(mlp.NamedParameters(), lr: 0.05);
        Tensor Closure()
        {
            mlp.ZeroGrad();
            var loss = Losses.BinaryCrossEntropyWithLogits(mlp.Forward(x), y);
            loss.Backward();
            return loss;
        }
        double loss = double.NaN;
        for (int step = 0; step < 300; step++) loss = adam.Step(Closure)!.Item();

        Tensor logits;
        using (Backprop.Autodiff.NoGrad()) logits = mlp.Forward(x);
        var predictions = logits.ToDoubleArray().Select(z => z > 0 ? 1.0 : 0.0);
        Assert.Equal(y.ToDoubleArray(), predictions);
        Assert.True(loss < 0.05, $"final loss {loss}");
    }

    [Fact]
    public void ATrainingLoopRunsWithEitherKindOfOptimizer()
    {
        foreach (bool gradientFlow in new[] { false, true })
        {
            var x = Tensor.FromArray([0.0, 0, 0, 1, 1, 0, 1, 1], [4, 2], DType.Float64);
            var y = Tensor.FromArray([0.0, 1, 1, 0], [4, 1], DType.Float64);
            var mlp = Mlp.Create(2, [8], 1, Activation.Tanh, Init.Auto, new Rng(7), DType.Float64);
            Optimizer optimizer = gradientFlow ? new Rk4GradientFlow(mlp.NamedParameters(), 0.05) : new Sgd(mlp.NamedParameters(), 0.05);
            Tensor Closure()
            {
                mlp.ZeroGrad();
                var loss = Losses.MeanSquaredError(mlp.Forward(x), y);
                loss.Backward();
                return loss;
            }
            double first = optimizer.Step(Closure)!.Item();
            double last = first;
            for (int step = 0; step < 50; step++) last = optimizer.Step(Closure)!.Item();
            Assert.True(last < first, $"{optimizer.GetType().Name}: loss went from {first} to {last}");
        }
    }
}
