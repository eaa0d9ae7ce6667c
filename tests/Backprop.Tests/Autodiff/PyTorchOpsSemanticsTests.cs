namespace Backprop.Tests.Autodiff;

/// <summary>
/// The semantics of the issue #14 ops that a gradient check cannot see: tie splitting, argmax's
/// choice, shapes of 1-D products, Hessian blocks, and the errors for bad arguments.
/// </summary>
public class PyTorchOpsSemanticsTests
{
    private static Tensor D(params double[] v) => Tensor.FromArray(v, [v.Length], DType.Float64);

    [Fact]
    public void MaximumAndMinimumSplitTiesHalfAndHalf()
    {
        var (_, g) = Transforms.Vjp(xs => xs[0].Maximum(xs[1]), [D(1, 2, 3), D(1, 5, 0)], D(1, 1, 1));
        Assert.Equal([0.5, 0, 1], g[0].ToDoubleArray());
        Assert.Equal([0.5, 1, 0], g[1].ToDoubleArray());
        var (_, h) = Transforms.Vjp(xs => xs[0].Minimum(xs[1]), [D(1, 2, 3), D(1, 5, 0)], D(1, 1, 1));
        Assert.Equal([0.5, 1, 0], h[0].ToDoubleArray());
        Assert.Equal([0.5, 0, 1], h[1].ToDoubleArray());
        var (_, t) = Transforms.Jvp(xs => xs[0].Maximum(xs[1]), [D(1, 2, 3), D(1, 5, 0)], [D(2, 2, 2), D(4, 4, 4)]);
        Assert.Equal([3, 4, 2], t.ToDoubleArray());
    }

    [Fact]
    public void ArgMaxPicksTheFirstExtremumAndNaN()
    {
        Assert.Equal(1.0, D(1, 3, 3, 2).ArgMax().Item());
        Assert.Equal(0.0, D(1, 3, 1, 2).ArgMin().Item());
        Assert.Equal(2.0, D(1, 3, double.NaN, 5).ArgMax().Item());
        var m = Tensor.FromArray(new double[,] { { 1, 9, 2 }, { 7, 0, 7 } });
        Assert.Equal([1.0, 0.0], m.ArgMax(1).ToDoubleArray());
        Assert.Equal([1.0, 0.0, 1.0], m.ArgMax(0).ToDoubleArray());
        Assert.Equal([2, 1], m.ArgMin(1, keepDims: true).Shape.ToArray());
        Assert.Throws<ShapeException>(() => Tensor.Zeros([2, 0], DType.Float64).ArgMax(1));
    }

    [Fact]
    public void MatMulWithVectorsHasPyTorchShapes()
    {
        var v = D(1, 2);
        var m = Tensor.FromArray(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.Equal([9.0, 12, 15], v.MatMul(m).ToDoubleArray());
        Assert.Equal([14.0, 32], m.MatMul(D(1, 2, 3)).ToDoubleArray());
        var dot = v.MatMul(v);
        Assert.Equal(0, dot.Rank);
        Assert.Equal(5.0, dot.Item());
        Assert.Equal([4, 3], v.MatMul(Tensor.Zeros([4, 2, 3], DType.Float64)).Shape.ToArray());
        Assert.Throws<ShapeException>(() => v.MatMul(D(1, 2, 3)));
        Assert.Throws<ShapeException>(() => Tensor.Scalar(2, DType.Float64).MatMul(v));
    }

    [Fact]
    public void HessianOfSeveralInputsHasOneBlockPerPair()
    {
        // f(a, b) = Σ a²·b: ∂²f/∂a² = diag(2b), ∂²f/∂a∂b = diag(2a), ∂²f/∂b² = 0.
        var a = D(1, 2);
        var b = D(3, -1);
        var h = Transforms.Hessian(xs => (xs[0] * xs[0] * xs[1]).Sum(), [a, b]);
        Assert.Equal([6.0, 0, 0, -2], h[0][0].ToDoubleArray());
        Assert.Equal([2.0, 0, 0, 4], h[0][1].ToDoubleArray());
        Assert.Equal([2.0, 0, 0, 4], h[1][0].ToDoubleArray());
        Assert.Equal([0.0, 0, 0, 0], h[1][1].ToDoubleArray());
        Assert.Equal([2, 2], h[0][1].Shape.ToArray());
    }

    [Fact]
    public void ProdGradientWithZerosIsTheProductOfTheOthers()
    {
        var (_, g) = Transforms.Vjp(x => x.Prod(), D(2, 0, 3), Tensor.Scalar(1, DType.Float64));
        Assert.Equal([0.0, 6, 0], g.ToDoubleArray());
        var (_, g2) = Transforms.Vjp(x => x.Prod(), D(0, 0, 3), Tensor.Scalar(1, DType.Float64));
        Assert.Equal([0.0, 0, 0], g2.ToDoubleArray());
        Assert.Equal([1.0, 1.0], Tensor.Zeros([2, 0], DType.Float64).Prod(1).ToDoubleArray());
    }

    [Fact]
    public void NormGradientAtZeroIsZeroAndVarHasCorrection()
    {
        var (_, g) = Transforms.Vjp(x => x.Norm(), D(0, 0, 0), Tensor.Scalar(1, DType.Float64));
        Assert.Equal([0.0, 0, 0], g.ToDoubleArray());
        Assert.Equal(5.0, D(3, 4).Norm().Item(), 14);
        Assert.Equal(2.0 / 3, D(1, 2, 3).Var(correction: 0).Item(), 14);
        Assert.Equal(1.0, D(1, 2, 3).Var().Item(), 14);
        Assert.True(double.IsNaN(D(1).Var().Item())); // one element, correction 1: 0/0 as in PyTorch
    }

    [Fact]
    public void BadArgumentsAreErrorsThatSayWhatIsWrong()
    {
        var x = Tensor.Zeros([3, 4], DType.Float64);
        Assert.Contains("not a whole number in [0, 4)", Assert.Throws<ShapeException>(() => x.Gather(1, Tensor.FromArray(new double[,] { { 4 } }))).Message);
        Assert.Contains("out of range", Assert.Throws<ShapeException>(() => x.IndexSelect(0, [3])).Message);
        Assert.Contains("out of range for 4 classes", Assert.Throws<BackpropException>(() => Losses.CrossEntropy(x, [0, 4, 1])).Message);
        Assert.Contains("one value per class", Assert.Throws<ShapeException>(() => Losses.NLLLoss(x, [0, 1, 2], D(1, 2))).Message);
        Assert.Contains("must be in [0, 1]", Assert.Throws<BackpropException>(() => Losses.CrossEntropy(x, [0, 1, 2], labelSmoothing: 2)).Message);
        Assert.Contains("same dimension twice", Assert.Throws<ShapeException>(() => x.Sum([1, -1])).Message);
        Assert.Contains("p ≥ 1", Assert.Throws<BackpropException>(() => x.Norm(0.5)).Message);
    }

    [Fact]
    public void StackSqueezeUnsqueezeAndFlipMoveValuesAsPyTorch()
    {
        var s = TensorOps.Stack([D(1, 2), D(3, 4)], 1);
        Assert.Equal([2, 2], s.Shape.ToArray());
        Assert.Equal([1.0, 3, 2, 4], s.ToDoubleArray());
        Assert.Equal([2], Tensor.Zeros([1, 2, 1], DType.Float64).Squeeze().Shape.ToArray());
        Assert.Equal([1, 2, 1], Tensor.Zeros([1, 2, 1], DType.Float64).Squeeze(1).Shape.ToArray());
        Assert.Equal([2, 1], D(1, 2).Unsqueeze(-1).Shape.ToArray());
        var m = Tensor.FromArray(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.Equal([6.0, 5, 4, 3, 2, 1], m.Flip(0, 1).ToDoubleArray());
        Assert.Equal([4.0, 5, 6, 1, 2, 3], m.Flip(0).ToDoubleArray());
        Assert.Equal([1.0, 3, 6, 4, 9, 15], m.CumSum(1).ToDoubleArray());
    }
}
