using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Tests.Nn;

/// <summary>The im2col convolution and the max-pool kernels against direct loops, and second derivatives of a small CNN.</summary>
[Collection(nameof(ConvolutionKernelTests))]   // changes Convolution.ColumnBudget, a static
public class ConvolutionKernelTests
{
    /// <summary>
    /// Geometries (N, C, H, W, O, kH, kW, sH, sW, pH, pW, dH, dW) for the three products: the LeNet layers,
    /// strides, padding, dilation, a 1×1 kernel, padding wider than the kernel's reach on the edge rows.
    /// </summary>
    public static TheoryData<int[]> Geometries => new()
    {
        new[] { 5, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1 },
        new[] { 7, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1 },
        new[] { 2, 3, 7, 6, 4, 3, 2, 1, 1, 0, 0, 1, 1 },
        new[] { 3, 2, 9, 8, 3, 3, 3, 2, 2, 1, 1, 2, 2 },
        new[] { 4, 1, 5, 9, 2, 2, 3, 1, 2, 2, 0, 1, 2 },
        new[] { 3, 4, 6, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1 },
        new[] { 2, 2, 4, 4, 3, 3, 3, 1, 1, 2, 2, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void AllThreeProductsMatchTheDirectLoopsWithOneOrManyImagesPerChunk(int[] d)
    {
        var g = new ConvGeometry(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12]);
        int n = g.N, c = g.C, h = g.H, w = g.W, o = g.O, kh = g.KH, kw = g.KW;
        var x = Tensor.RandomNormal([n, c, h, w], 1, DType.Float64).ToDoubleArray();
        var weight = Tensor.RandomNormal([o, c, kh, kw], 2, DType.Float64).ToDoubleArray();
        var gy = Tensor.RandomNormal([n, o, g.OutH, g.OutW], 3, DType.Float64).ToDoubleArray();
        var y = new double[gy.Length];
        var z = new double[x.Length];
        var v = new double[weight.Length];
        Convolution.ForwardNaive(g, x, weight, y);
        Convolution.TransposeNaive(g, x, weight, gy, z, v);
        int saved = Convolution.ColumnBudget;
        try
        {
            // One image per chunk, two, and the whole batch in one (the default budget covers these sizes).
            foreach (int budget in new[] { 1, 2 * g.K * g.L, saved })
            {
                Convolution.ColumnBudget = budget;
                var fastY = new double[y.Length];
                var fastZ = Enumerable.Repeat(double.NaN, z.Length).ToArray();   // the kernels must not read their outputs
                var fastV = Enumerable.Repeat(double.NaN, v.Length).ToArray();
                Convolution.Forward<double>(g, x, weight, fastY);
                Convolution.TransposeInput<double>(g, gy, weight, fastZ);
                Convolution.TransposeWeight<double>(g, x, gy, fastV);
                for (int i = 0; i < y.Length; i++) Assert.Equal(y[i], fastY[i], 1e-12);
                for (int i = 0; i < z.Length; i++) Assert.Equal(z[i], fastZ[i], 1e-12);
                for (int i = 0; i < v.Length; i++) Assert.Equal(v[i], fastV[i], 1e-11);

                // The forward pass saving the batch's column matrix, and the weight's transpose reading it instead of x.
                var columns = new double[Convolution.SavedColumnsLength<double>(g)];
                var savedY = new double[y.Length];
                var savedV = new double[v.Length];
                Convolution.Forward<double>(g, x, weight, savedY, default, columns);
                Convolution.TransposeWeight<double>(g, new double[x.Length], gy, savedV, columns);   // zeros for x: it must not be read
                Assert.Equal(fastY, savedY);
                for (int i = 0; i < v.Length; i++) Assert.Equal(v[i], savedV[i], 1e-11);

                // float32 takes the same path with the float GEMM kernels.
                var fy = new float[y.Length];
                var fz = new float[z.Length];
                var fv = new float[v.Length];
                var fx = x.Select(a => (float)a).ToArray();
                var fw = weight.Select(a => (float)a).ToArray();
                var fgy = gy.Select(a => (float)a).ToArray();
                Convolution.Forward<float>(g, fx, fw, fy);
                Convolution.TransposeInput<float>(g, fgy, fw, fz);
                Convolution.TransposeWeight<float>(g, fx, fgy, fv);
                for (int i = 0; i < y.Length; i++) Assert.Equal(y[i], fy[i], 1e-4 * (1 + Math.Abs(y[i])));
                for (int i = 0; i < z.Length; i++) Assert.Equal(z[i], fz[i], 1e-4 * (1 + Math.Abs(z[i])));
                for (int i = 0; i < v.Length; i++) Assert.Equal(v[i], fv[i], 1e-4 * (1 + Math.Abs(v[i])));
            }
        }
        finally { Convolution.ColumnBudget = saved; }
    }

    [Theory]
    [InlineData(2, 2, 0, 1, 8, 8)]     // 4 windows a row: one step of the 4-wide float path
    [InlineData(2, 2, 0, 1, 10, 10)]   // LeNet's second pooling, 5 windows a row: two overlapping steps
    [InlineData(2, 2, 0, 1, 6, 37)]    // 18 windows a row: 8-wide steps, the last overlapping
    [InlineData(2, 2, 0, 1, 4, 28)]    // LeNet's first pooling, 14 windows a row: two overlapping 8-wide steps
    [InlineData(2, 2, 0, 1, 4, 14)]    // 7 windows a row: two overlapping 4-wide steps
    [InlineData(2, 2, 0, 1, 7, 19)]    // 9 windows a row, odd sizes: the 8-wide path leaves a row and a column to clear
    [InlineData(2, 2, 0, 1, 6, 6)]     // 3 windows a row: the scalar loop
    [InlineData(2, 2, 0, 1, 7, 9)]     // odd sizes: the last row and column are in no window
    [InlineData(3, 3, 0, 1, 9, 7)]     // non-overlapping, k ≠ 2
    [InlineData(3, 2, 1, 1, 7, 7)]     // overlapping and padded: maxima shared by two windows add up
    [InlineData(2, 1, 0, 2, 6, 5)]     // dilated
    [InlineData(3, 1, 1, 1, 4, 4)]
    public void MaxPoolKernelsMatchTheArgmaxReference(int k, int s, int pad, int dilation, int h, int w)
    {
        CompareMaxPoolKernels<double>(k, s, pad, dilation, h, w);
        CompareMaxPoolKernels<float>(k, s, pad, dilation, h, w);
    }

    private static void CompareMaxPoolKernels<T>(int k, int s, int pad, int dilation, int h, int w) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int planes = 5;
        var dtype = typeof(T) == typeof(float) ? DType.Float32 : DType.Float64;
        var x = Tensor.RandomNormal([planes, h, w], 4, dtype).Span<T>().ToArray();
        // Ties (the first maximum must win; ReLU outputs are full of zeros), infinities and NaNs (the first NaN must win).
        for (int i = 0; i < x.Length; i += 7) x[i] = T.Round(x[i]);
        for (int i = 3; i < x.Length; i += 11) x[i] = x[i - 1];
        for (int i = 0; i < x.Length; i += 5) x[i] = T.Max(x[i], T.Zero);
        x[5] = T.NaN;
        x[6] = T.NaN;
        x[w + 3] = T.NaN;
        x[w + 2] = T.NegativeInfinity;
        x[^1] = T.PositiveInfinity;
        int oh = Pooling.OutSize(h, k, s, pad, dilation), ow = Pooling.OutSize(w, k, s, pad, dilation);
        var y = new T[planes * oh * ow];
        var indices = new int[y.Length];
        Pooling.MaxArgmaxNaive<T>(planes, h, w, k, s, pad, dilation, x, y, indices);
        var fastY = new T[y.Length];
        Pooling.MaxForward<T>(planes, h, w, k, s, pad, dilation, x, fastY);
        Assert.Equal(y, fastY);   // bit for bit, NaN where NaN

        var g = Tensor.RandomNormal([planes, h, w], 5, dtype).Span<T>().ToArray();
        var selected = new T[y.Length];
        var gathered = new T[y.Length];
        Pooling.MaxSelect<T>(planes, h, w, k, s, pad, dilation, x, g, selected);
        Pooling.GatherBlocks<T>(g, indices, 1, gathered);
        Assert.Equal(gathered, selected);

        var gy = Tensor.RandomNormal([planes, oh, ow], 6, dtype).Span<T>().ToArray();
        var reference = new T[x.Length];
        var fastGx = Enumerable.Repeat(T.NaN, x.Length).ToArray();
        Pooling.ScatterAddBlocks<T>(gy, indices, 1, reference);
        Pooling.MaxScatter<T>(planes, h, w, k, s, pad, dilation, x, gy, fastGx);
        Assert.Equal(reference, fastGx);
    }

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
    public void GradientsInsideAPoolScopeWhereConvSavesItsColumnsMatchTheOnesOutside()
    {
        var x = Tensor.RandomNormal([3, 2, 9, 9], 7, DType.Float64);
        var w1 = Tensor.RandomNormal([4, 2, 3, 3], 8, DType.Float64);
        var b1 = Tensor.RandomNormal([4], 9, DType.Float64);
        var w2 = Tensor.RandomNormal([5, 4, 2, 2], 10, DType.Float64);
        foreach (var t in new[] { x, w1, b1, w2 }) t.RequiresGrad = true;
        Tensor Loss() => x.Conv2d(w1, b1, 1, 1).Relu().MaxPool2d(2).Conv2d(w2, null, 2, 0).Tanh().Sum();

        Loss().Backward();
        var expected = new[] { x, w1, b1, w2 }.Select(t => t.Grad!.ToDoubleArray()).ToArray();
        foreach (var t in new[] { x, w1, b1, w2 }) t.ZeroGrad();
        using (TensorPool.BeginScope())
        {
            Loss().Backward();
            var actual = new[] { x, w1, b1, w2 }.Select(t => t.Grad!.ToDoubleArray()).ToArray();
            for (int i = 0; i < expected.Length; i++)
                for (int j = 0; j < expected[i].Length; j++) Assert.Equal(expected[i][j], actual[i][j], 1e-12);
        }
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
