using Backprop.Nn;

namespace Backprop.Tests.Nn;

/// <summary>
/// Linear with its activation as one op (Ops/Linear.cs) against the composition it replaced, MatMul then
/// Add then the activation op: the same forward values bit for bit, and the same gradients to rounding
/// (the two GEMM calls and the row sum add the same products, in other orders only where the kernels do).
/// </summary>
public class FusedLinearOpTests
{
    public static TheoryData<Activation, DType> Cases()
    {
        var data = new TheoryData<Activation, DType>();
        foreach (var activation in Enum.GetValues<Activation>())
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                data.Add(activation, dtype);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SequentialGivesTheComposedValuesAndGradients(Activation activation, DType dtype)
    {
        var first = new Linear(7, 5, rng: new Rng(1), dtype: dtype);
        var second = new Linear(5, 3, rng: new Rng(2), dtype: dtype);
        var model = new Sequential(first, activation.CreateModule(0.05), second);
        var x = Tensor.RandomNormal([9, 7], new Rng(3), std: 2, dtype: dtype);
        var weights = Tensor.RandomNormal([9, 3], new Rng(4), dtype: dtype);

        var fused = model.Forward(x);
        (fused * weights).Sum().Backward();
        var fusedGrads = model.NamedParameters().Select(p => p.Parameter.Grad!.ToDoubleArray()).ToArray();

        model.ZeroGrad();
        var hidden = activation.CreateModule(0.05).Forward(x.MatMul(first.Weight, transposeB: true) + first.Bias!);
        var composed = hidden.MatMul(second.Weight, transposeB: true) + second.Bias!;
        (composed * weights).Sum().Backward();
        var composedGrads = model.NamedParameters().Select(p => p.Parameter.Grad!.ToDoubleArray()).ToArray();

        Assert.Equal(composed.ToDoubleArray(), fused.ToDoubleArray());
        double tolerance = dtype == DType.Float32 ? 1e-5 : 1e-13;
        for (int i = 0; i < fusedGrads.Length; i++)
        {
            double scale = composedGrads[i].Max(Math.Abs) + 1e-30;
            double worst = fusedGrads[i].Zip(composedGrads[i], (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= tolerance * scale, $"parameter {i}: max |fused − composed| {worst:E3}, scale {scale:E3}");
        }
    }

    [Fact]
    public void TheGraphHasOneNodePerLayer()
    {
        var model = new Sequential(new Linear(3, 4, rng: new Rng(1)), new ReLU(), new Linear(4, 2, rng: new Rng(2)), new Tanh());
        var y = model.Forward(Tensor.RandomNormal([2, 3], new Rng(3)));
        Assert.Equal("Linear+Tanh", y.GradFnName);
        var single = new Linear(3, 2, rng: new Rng(4)).Forward(Tensor.RandomNormal([5, 3], new Rng(5)));
        Assert.Equal("Linear", single.GradFnName);
    }

    [Fact]
    public void OtherRanksGoThroughMatMulAndAdd()
    {
        var layer = new Linear(3, 2, rng: new Rng(1));
        var one = Tensor.RandomNormal([3], new Rng(2));
        var batched = Tensor.RandomNormal([4, 5, 3], new Rng(3));
        Assert.Equal([2], layer.Forward(one).Shape.ToArray());
        Assert.Equal([4, 5, 2], layer.Forward(batched, Activation.Relu).Shape.ToArray());
        Assert.Equal("ReLU", layer.Forward(batched, Activation.Relu).GradFnName);
    }

    [Fact]
    public void MismatchedShapesNameBoth()
    {
        var e = Assert.Throws<ShapeException>(() => Tensor.Zeros([2, 3]).Linear(Tensor.Zeros([4, 5])));
        Assert.Contains("(2, 3)", e.Message);
        Assert.Contains("(4, 5)", e.Message);
    }
}
