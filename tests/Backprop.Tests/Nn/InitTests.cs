using Backprop.Nn;

namespace Backprop.Tests.Nn;

public class InitTests
{
    private static (double Mean, double Variance) Moments(Tensor t)
    {
        var v = t.ToDoubleArray();
        double mean = v.Average();
        return (mean, v.Sum(x => (x - mean) * (x - mean)) / v.Length);
    }

    [Fact]
    public void SameSeedGivesTheSameNetworkBitForBit()
    {
        var a = Mlp.Create(5, [7, 3], 2, Activation.Relu, Init.Auto, new Rng(42));
        var b = Mlp.Create(5, [7, 3], 2, Activation.Relu, Init.Auto, new Rng(42));
        var c = Mlp.Create(5, [7, 3], 2, Activation.Relu, Init.Auto, new Rng(43));
        foreach (var ((_, pa), (_, pb)) in a.NamedParameters().Zip(b.NamedParameters()))
            Assert.Equal(pa.ToArray<float>(), pb.ToArray<float>());
        Assert.NotEqual(a.Parameters().First().ToArray<float>(), c.Parameters().First().ToArray<float>());
    }

    [Fact]
    public void DrawsFollowRowMajorOrderFromTheRng()
    {
        // Pins the stream: the first weight is the first uniform draw mapped onto the He bound.
        var layer = (Linear)Mlp.Create(10, [], 4, Activation.Relu, Init.HeUniform, new Rng(7), DType.Float64)[0];
        double bound = Math.Sqrt(2.0) * Math.Sqrt(3.0 / 10);
        var reference = new Rng(7);
        double first = -bound + 2 * bound * reference.NextDouble();
        double second = -bound + 2 * bound * reference.NextDouble();
        Assert.Equal(first, layer.Weight[0, 0]);
        Assert.Equal(second, layer.Weight[0, 1]);
        Assert.All(layer.Bias!.ToDoubleArray(), b => Assert.Equal(0.0, b));
    }

    [Theory]
    [InlineData(Init.HeUniform)]
    [InlineData(Init.HeNormal)]
    public void HeInitHasVarianceTwoOverFanIn(Init init)
    {
        var layer = (Linear)Mlp.Create(1000, [], 400, Activation.Relu, init, new Rng(3))[0];
        var (mean, variance) = Moments(layer.Weight);
        Assert.InRange(mean, -0.002, 0.002);
        Assert.InRange(variance / (2.0 / 1000), 0.97, 1.03);
    }

    [Theory]
    [InlineData(Init.XavierUniform)]
    [InlineData(Init.XavierNormal)]
    public void XavierInitHasVarianceTwoOverFanInPlusFanOut(Init init)
    {
        var layer = (Linear)Mlp.Create(1000, [], 400, Activation.Tanh, init, new Rng(3))[0];
        var (_, variance) = Moments(layer.Weight);
        Assert.InRange(variance / (2.0 / 1400), 0.97, 1.03);
    }

    [Fact]
    public void PyTorchDefaultIsUniformOnOneOverSqrtFanIn()
    {
        var layer = new Linear(400, 300, rng: new Rng(9));
        double bound = 1 / Math.Sqrt(400);
        Assert.All(layer.Weight.ToDoubleArray(), w => Assert.InRange(w, -bound, bound));
        Assert.All(layer.Bias!.ToDoubleArray(), b => Assert.InRange(b, -bound, bound));
        var (_, variance) = Moments(layer.Weight);
        Assert.InRange(variance / (bound * bound / 3), 0.97, 1.03);
        Assert.Contains(layer.Bias!.ToDoubleArray(), b => b != 0);
    }

    [Fact]
    public void AutoPicksHeForReluFamilyAndXavierOtherwise()
    {
        Assert.Equal(Init.HeUniform, Initializers.Resolve(Init.Auto, Activation.Relu));
        Assert.Equal(Init.HeUniform, Initializers.Resolve(Init.Auto, Activation.LeakyRelu));
        Assert.Equal(Init.XavierUniform, Initializers.Resolve(Init.Auto, Activation.Tanh));
        Assert.Equal(Init.XavierUniform, Initializers.Resolve(Init.Auto, Activation.Sigmoid));
        Assert.Equal(Init.HeNormal, Initializers.Resolve(Init.HeNormal, Activation.Tanh));
        Assert.Equal(Math.Sqrt(2 / (1 + 0.2 * 0.2)), Initializers.HeGain(Activation.LeakyRelu, 0.2), 1e-15);
    }
}
