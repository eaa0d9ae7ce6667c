using Backprop.Kernels;

namespace Backprop.Tests.Autodiff;

/// <summary>
/// The library numerics of issue #10, each with its exact expected value: extreme logits in float32,
/// 0·∞ traps in derivative formulas, and reductions of zero-size tensors as PyTorch defines them. The
/// OpInfo table checks the same classes at random points; these pin the named cases down.
/// </summary>
public class NumericsEdgeTests
{
    private static readonly double Log3 = Math.Log(3);

    private static Tensor F32(params float[] v) => Tensor.FromArray(v, v.Length);

    [Fact]
    public void Float32SoftmaxOfEqualHugeLogitsIsAThirdEach()
    {
        var x = F32(1e8f, 1e8f, 1e8f);
        Assert.All(x.Softmax().ToDoubleArray(), p => Assert.Equal(1.0 / 3, p, 7));
        Assert.All(x.LogSoftmax().ToDoubleArray(), lp => Assert.Equal(-Log3, lp, 6));
        Assert.Equal((double)(float)(1e8 + Log3), x.LogSumExp(0).Item()); // 1e8 + log 3 rounds to 1e8 in float32: that is right
        // Its gradient is softmax: 1/3 each, not exp(x − logsumexp) = exp(0) = 1.
        var (_, g) = Transforms.Vjp(t => t.LogSumExp(0), x, Tensor.Scalar(1f));
        Assert.All(g.ToDoubleArray(), v => Assert.Equal(1.0 / 3, v, 7));
    }

    [Fact]
    public void Float32CrossEntropyOfEqualHugeLogitsIsLog3InEveryForm()
    {
        var logits = Tensor.FromArray(new float[] { 1e8f, 1e8f, 1e8f, -1e8f, -1e8f, -1e8f }, 2, 3);
        Assert.Equal(Log3, Losses.SoftmaxCrossEntropy(logits, [0, 2]).Item(), 6);
        Assert.Equal(Log3, Losses.SoftmaxCrossEntropy(logits, Losses.OneHot([1, 0], 3)).Item(), 6);

        // The compiled training step's fused loss, on the same logits.
        var targets = Losses.OneHot([0, 2], 3).ToFloatArray();
        var dz = new float[6];
        double loss = FusedLosses.SoftmaxCrossEntropyForwardBackward<float>(dz, logits.ToFloatArray(), targets, 2, 3);
        Assert.Equal(Log3, loss, 6);
        Assert.Equal([(1 / 3f - 1) / 2, 1 / 6f, 1 / 6f, 1 / 6f, 1 / 6f, (1 / 3f - 1) / 2], dz.Select(v => MathF.Round(v, 6)).ToArray(),
            new Func<float, float, bool>((a, b) => Math.Abs(a - b) < 1e-6));

        // Its gradient: (softmax − onehot)/m.
        logits.RequiresGrad = true;
        Losses.SoftmaxCrossEntropy(logits, [0, 2]).Backward();
        var grad = logits.Grad!.ToDoubleArray();
        Assert.Equal((1.0 / 3 - 1) / 2, grad[0], 6);
        Assert.Equal(1.0 / 6, grad[1], 6);
        Assert.Equal((1.0 / 3 - 1) / 2, grad[5], 6);
    }

    [Fact]
    public void CrossEntropyByIndexWithMinusInfinityInAnotherClassIsFinite()
    {
        float inf = float.PositiveInfinity;
        var logits = Tensor.FromArray(new float[] { 0, -inf, 1 }, 1, 3);
        logits.RequiresGrad = true;
        var loss = Losses.SoftmaxCrossEntropy(logits, [0]);
        Assert.Equal(1.3132616875182228, loss.Item(), 6); // log(1 + e), PyTorch: 1.3133
        loss.Backward();
        var g = logits.Grad!.ToDoubleArray();
        Assert.Equal(-0.7310585786300049, g[0], 6);
        Assert.Equal(0, g[1]);
        Assert.Equal(0.7310585786300049, g[2], 6);

        // Soft targets with no mass on the −∞ class are finite too (t·log p is 0 where t = 0).
        Assert.Equal(1.3132616875182228, Losses.SoftmaxCrossEntropy(logits.Detach(), Tensor.FromArray(new float[] { 1, 0, 0 }, 1, 3)).Item(), 6);

        // And in the compiled step's fused loss.
        var dz = new float[3];
        double fused = FusedLosses.SoftmaxCrossEntropyForwardBackward<float>(dz, [0, -inf, 1], [1, 0, 0], 1, 3);
        Assert.Equal(1.3132616875182228, fused, 6);
        Assert.Equal(0, dz[1]);
    }

    [Fact]
    public void PowZeroHasZeroGradientAtZeroInBothModes()
    {
        var x = Tensor.FromArray([0.0, 2.0, -1.5], 3);
        var (_, g) = Transforms.Vjp(t => t.Pow(0).Sum(), x, TensorScalar(1));
        Assert.Equal([0.0, 0.0, 0.0], g.ToDoubleArray());
        var (y, ty) = Transforms.Jvp(t => t.Pow(0), x, Tensor.FromArray([1.0, 1.0, 1.0], 3));
        Assert.Equal([1.0, 1.0, 1.0], y.ToDoubleArray());
        Assert.Equal([0.0, 0.0, 0.0], ty.ToDoubleArray());
        // The second derivative of x³ at 0 is 0, of x² is 2: no 0·∞ on the way.
        Assert.Equal(0.0, Transforms.Hessian(t => t.Pow(3).Sum(), Tensor.FromArray([0.0], 1)).Item());
        Assert.Equal(2.0, Transforms.Hessian(t => t.Pow(2).Sum(), Tensor.FromArray([0.0], 1)).Item());
    }

    private static Tensor TensorScalar(double v) => Tensor.Scalar(v, DType.Float64);

    [Fact]
    public void MeanOfEmptyIsNaNAndSumIsZero()
    {
        var empty = Tensor.Zeros([2, 0], DType.Float64);
        Assert.True(double.IsNaN(empty.Mean().Item()));
        Assert.Equal(0.0, empty.Sum().Item());
        Assert.Equal([0.0, 0.0], empty.Sum(1).ToDoubleArray());
        Assert.All(empty.Mean(1).ToDoubleArray(), v => Assert.True(double.IsNaN(v)));
        Assert.Equal([0], empty.Mean(0).Shape.ToArray());
        Assert.True(double.IsNaN(Tensor.Zeros([0], DType.Float32).Mean().Item()));
        Assert.Equal(double.NegativeInfinity, empty.LogSumExp(1).ToDoubleArray()[0]); // log Σ of nothing = log 0
    }

    [Fact]
    public void SumAndMeanBackwardOnZeroSizeGiveZeroSizeGradients()
    {
        foreach (var reduce in new Func<Tensor, Tensor>[] { t => t.Sum(), t => t.Mean(), t => t.Sum(1).Sum(), t => t.Mean(0).Sum() })
        {
            var x = Tensor.Zeros([2, 0], DType.Float64);
            x.RequiresGrad = true;
            reduce(x).Backward();
            Assert.Equal([2, 0], x.Grad!.Shape.ToArray());
            var (_, ty) = Transforms.Jvp(reduce, Tensor.Zeros([2, 0], DType.Float64), Tensor.Zeros([2, 0], DType.Float64));
            Assert.Equal(0, ty.Rank);
        }
    }

    [Fact]
    public void ZeroSizeShapesWorkInBothModes()
    {
        // BroadcastTo a zero-size shape, and back.
        var b = Tensor.FromArray([1.0, 2.0], 2, 1).BroadcastTo([2, 0]);
        Assert.Equal([2, 0], b.Shape.ToArray());
        var (_, gb) = Transforms.Vjp(t => t.BroadcastTo([2, 0]), Tensor.FromArray([1.0, 2.0], 2, 1), Tensor.Zeros([2, 0], DType.Float64));
        Assert.Equal([0.0, 0.0], gb.ToDoubleArray());

        // MatMul with a zero inner dimension is zeros, in both modes.
        var a = Tensor.Zeros([3, 0], DType.Float64);
        var c = Tensor.Zeros([0, 4], DType.Float64);
        var y = a.MatMul(c);
        Assert.Equal([3, 4], y.Shape.ToArray());
        Assert.All(y.ToDoubleArray(), v => Assert.Equal(0.0, v));
        var (_, ty) = Transforms.Jvp(xs => xs[0].MatMul(xs[1]), [a, c], [a, c]);
        Assert.All(ty.ToDoubleArray(), v => Assert.Equal(0.0, v));
        var (_, g) = Transforms.Vjp(xs => xs[0].MatMul(xs[1]), [a, c], Tensor.Ones([3, 4], DType.Float64));
        Assert.Equal([3, 0], g[0].Shape.ToArray());
        Assert.Equal([0, 4], g[1].Shape.ToArray());

        // Concat with empty parts keeps the other parts' values.
        var joined = TensorOps.Concat([Tensor.Zeros([0, 2], DType.Float64), Tensor.FromArray([1.0, 2.0], 1, 2)], 0);
        Assert.Equal([1.0, 2.0], joined.ToDoubleArray());
    }

    [Fact]
    public void EveryUnaryKernelAcceptsEmptyInput()
    {
        var empty = Tensor.Zeros([0, 3], DType.Float32);
        foreach (var f in new Func<Tensor, Tensor>[] { t => t.Exp(), t => t.Log(), t => t.Log1p(), t => t.Sqrt(), t => t.Tanh(), t => t.Sigmoid(),
                     t => t.Softplus(), t => t.Relu(), t => t.LeakyRelu(), t => t.Abs(), t => t.Square(), t => t.Pow(1.5), t => t.Clamp(0, 1), t => -t,
                     t => t.Softmax(), t => t.LogSoftmax(0) })
            Assert.Equal([0, 3], f(empty).Shape.ToArray());
    }
}
