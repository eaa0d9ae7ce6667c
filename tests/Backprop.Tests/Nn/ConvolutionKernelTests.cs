using Backprop.Kernels;

namespace Backprop.Tests.Nn;

/// <summary>The im2col convolution against the direct loop, and second derivatives of a small CNN.</summary>
public class ConvolutionKernelTests
{
    [Theory]
    [InlineData(2, 3, 7, 6, 4, 3, 2, 1, 1, 0, 0, 1, 1)]
    [InlineData(1, 2, 9, 8, 3, 3, 3, 2, 2, 1, 1, 2, 2)]
    [InlineData(3, 1, 5, 9, 2, 2, 3, 1, 2, 2, 0, 1, 2)]
    public void Im2ColGemmMatchesTheDirectLoop(int n, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw)
    {
        var g = new ConvGeometry(n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw);
        var x = Tensor.RandomNormal([n, c, h, w], 1, DType.Float64).ToDoubleArray();
        var weight = Tensor.RandomNormal([o, c, kh, kw], 2, DType.Float64).ToDoubleArray();
        var fast = new double[n * o * g.OutH * g.OutW];
        var naive = new double[fast.Length];
        Convolution.Forward<double>(g, x, weight, fast);
        Convolution.ForwardNaive(g, x, weight, naive);
        for (int i = 0; i < fast.Length; i++) Assert.Equal(naive[i], fast[i], 1e-12);
    }

    [Fact]
    public void HessianVectorProductOfACnnLossMatchesDifferencesOfItsGradient()
    {
        var x = Tensor.RandomNormal([2, 2, 6, 6], 3, DType.Float64);
        Tensor Loss(Tensor w) => x.Conv2d(w, null, 1, 1).MaxPool2d(2).Tanh().AvgPool2d(3).Square().Sum();
        var w0 = Tensor.RandomNormal([3, 2, 3, 3], 4, DType.Float64);
        var v = Tensor.RandomNormal([3, 2, 3, 3], 5, DType.Float64);
        var hv = Transforms.HessianVectorProduct(Loss, w0, v).ToDoubleArray();
        const double h = 1e-5;
        var plus = Transforms.Grad(Loss, (w0 + v * h).Detach()).ToDoubleArray();
        var minus = Transforms.Grad(Loss, (w0 - v * h).Detach()).ToDoubleArray();
        double scale = hv.Max(Math.Abs);
        Assert.True(scale > 1e-3, "the Hessian-vector product is not trivially zero");
        for (int i = 0; i < hv.Length; i++)
            Assert.True(Math.Abs(hv[i] - (plus[i] - minus[i]) / (2 * h)) <= 1e-6 * (1 + scale), $"element {i}: {hv[i]} vs {(plus[i] - minus[i]) / (2 * h)}");
    }
}
