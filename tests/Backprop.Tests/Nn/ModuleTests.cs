using Backprop.Nn;

namespace Backprop.Tests.Nn;

public class ModuleTests
{
    [Fact]
    public void MlpNamesParametersLikePyTorchSequential()
    {
        var mlp = Mlp.Create(30, [16, 8], 2, Activation.Relu, Init.Auto, new Rng(1));
        var named = mlp.NamedParameters().Select(p => (p.Name, Shape: p.Parameter.Shape.ToArray())).ToArray();
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"], named.Select(p => p.Name));
        Assert.Equal([16, 30], named[0].Shape);
        Assert.Equal([16], named[1].Shape);
        Assert.Equal([8, 16], named[2].Shape);
        Assert.Equal([8], named[3].Shape);
        Assert.Equal([2, 8], named[4].Shape);
        Assert.Equal([2], named[5].Shape);
        Assert.Equal(16 * 30 + 16 + 8 * 16 + 8 + 2 * 8 + 2, mlp.ParameterCount);
        Assert.Equal(5, mlp.Count);
        Assert.IsType<Linear>(mlp[0]);
        Assert.IsType<ReLU>(mlp[1]);
        Assert.IsType<Linear>(mlp[4]);
        Assert.All(mlp.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.All(mlp.Parameters(), p => Assert.Equal(DType.Float32, p.DType));
    }

    [Fact]
    public void ParametersComeInTheRequestedDType()
    {
        var mlp = Mlp.Create(3, [4], 2, Activation.Tanh, Init.Auto, new Rng(1), DType.Float64);
        Assert.All(mlp.Parameters(), p => Assert.Equal(DType.Float64, p.DType));
        Assert.Equal(DType.Float64, mlp.Forward(Tensor.Ones([5, 3], DType.Float64)).DType);
    }

    [Fact]
    public void LinearForwardIsXTimesWTransposedPlusB()
    {
        var layer = new Linear(4, 3, rng: new Rng(5), dtype: DType.Float64);
        var x = Tensor.RandomNormal([5, 4], new Rng(6), dtype: DType.Float64);
        var z = layer.Forward(x);
        Assert.Equal([5, 3], z.Shape.ToArray());
        for (int r = 0; r < 5; r++)
            for (int o = 0; o < 3; o++)
            {
                double expected = layer.Bias![o];
                for (int k = 0; k < 4; k++) expected += x[r, k] * layer.Weight[o, k];
                Assert.Equal(expected, z[r, o], 1e-12);
            }
    }

    [Fact]
    public void LinearWithoutBiasHasOnlyAWeight()
    {
        var layer = new Linear(4, 3, bias: false, rng: new Rng(5));
        Assert.Null(layer.Bias);
        Assert.Equal(["weight"], layer.NamedParameters().Select(p => p.Name));
        Assert.Equal("Linear(in_features=4, out_features=3, bias=False)", layer.ToString());
    }

    [Fact]
    public void LinearRejectsInputOfTheWrongWidth()
    {
        var layer = new Linear(4, 3, rng: new Rng(5));
        var error = Assert.Throws<ShapeException>(() => layer.Forward(Tensor.Ones([2, 5])));
        Assert.Contains("(batch, 4)", error.Message);
    }

    [Fact]
    public void GradientsReachEveryParameter()
    {
        var mlp = Mlp.Create(3, [4], 2, Activation.Sigmoid, Init.Auto, new Rng(1), DType.Float64);
        var x = Tensor.RandomNormal([6, 3], new Rng(2), dtype: DType.Float64);
        Losses.SoftmaxCrossEntropy(mlp.Forward(x), [0, 1, 1, 0, 1, 0]).Backward();
        foreach (var (name, p) in mlp.NamedParameters())
        {
            Assert.NotNull(p.Grad);
            Assert.Equal(p.Shape.ToArray(), p.Grad!.Shape.ToArray());
        }
        mlp.ZeroGrad();
        Assert.All(mlp.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void DescribeShowsArchitectureAndParameterTable()
    {
        var mlp = Mlp.Create(30, [16], 2, Activation.LeakyRelu, Init.Auto, new Rng(1));
        string text = mlp.Describe();
        Assert.Contains("(0): Linear(in_features=30, out_features=16, bias=True)", text);
        Assert.Contains("(1): LeakyReLU(negative_slope=0.01)", text);
        Assert.Contains("0.weight", text);
        Assert.Contains("(16, 30)", text);
        Assert.Contains("total: 530 trainable parameters", text);
    }

    [Theory]
    [InlineData("relu", Activation.Relu)]
    [InlineData("ReLU", Activation.Relu)]
    [InlineData("leaky_relu", Activation.LeakyRelu)]
    [InlineData("leaky-relu", Activation.LeakyRelu)]
    [InlineData("tanh", Activation.Tanh)]
    [InlineData("sigmoid", Activation.Sigmoid)]
    [InlineData("softplus", Activation.Softplus)]
    [InlineData("identity", Activation.Identity)]
    [InlineData("linear", Activation.Identity)]
    public void ActivationNamesParse(string text, Activation expected) => Assert.Equal(expected, ActivationExtensions.Parse(text));

    [Fact]
    public void UnknownActivationListsTheValidNames()
    {
        var error = Assert.Throws<BackpropException>(() => ActivationExtensions.Parse("gelu"));
        Assert.Contains("'gelu'", error.Message);
        Assert.Contains("relu, leaky_relu, leaky-relu, tanh, sigmoid, softplus, identity, linear", error.Message);
    }

    [Fact]
    public void ActivationModulesApplyTheirFunction()
    {
        var x = Tensor.FromArray([-2.0, 0.0, 3.0], [3], DType.Float64);
        Assert.Equal([0.0, 0.0, 3.0], new ReLU().Forward(x).ToDoubleArray());
        Assert.Equal([-0.2, 0.0, 3.0], new LeakyReLU(0.1).Forward(x).ToDoubleArray());
        Assert.Equal(Math.Tanh(3), new Tanh().Forward(x)[2], 1e-15);
        Assert.Equal(0.5, new Sigmoid().Forward(x)[1], 1e-15);
        Assert.Equal(Math.Log(2), new Softplus().Forward(x)[1], 1e-15);
        Assert.Same(x, new Identity().Forward(x));
        Assert.Empty(new ReLU().NamedParameters());
    }
}
