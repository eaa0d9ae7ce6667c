using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// The sizes of a 2-D convolution in NCHW layout: input (N, C, H, W), weight (O, C, kH, kW), output
/// (N, O, Ho, Wo) with Ho = ⌊(H + 2pH − dH(kH − 1) − 1)/sH⌋ + 1 (and likewise Wo), PyTorch's formula.
/// </summary>
public readonly record struct ConvGeometry(int N, int C, int H, int W, int O, int KH, int KW,
    int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW)
{
    public int OutH => (H + 2 * PadH - DilationH * (KH - 1) - 1) / StrideH + 1;
    public int OutW => (W + 2 * PadW - DilationW * (KW - 1) - 1) / StrideW + 1;
    /// <summary>Rows of a column matrix: C·kH·kW.</summary>
    public int K => C * KH * KW;
    /// <summary>Columns of a column matrix: Ho·Wo, one per output position.</summary>
    public int L => OutH * OutW;
}

/// <summary>
/// Convolution kernels through the packed GEMM (im2col): each sample's receptive fields are unrolled into
/// a (C·kH·kW, Ho·Wo) column matrix, so the convolution is one matrix product per sample. The three
/// products of the convolution's trilinear form ⟨conv(x, w), g⟩ are all here: the forward pass, its
/// transpose in x (columns from wᵀ·g, folded back by col2im) and its transpose in w (g·colsᵀ summed over
/// the batch).
/// </summary>
public static class Convolution
{
    /// <summary>y (N, O, Ho, Wo) = conv(x (N, C, H, W), w (O, C, kH, kW)), cross-correlation as in PyTorch.</summary>
    public static void Forward<T>(in ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K, l = g.L;
        if (g.N == 0 || l == 0) return;
        var cols = ArrayPool<T>.Shared.Rent(Math.Max(1, k * l));
        try
        {
            for (int n = 0; n < g.N; n++)
            {
                Im2Col(g, x.Slice(n * g.C * g.H * g.W, g.C * g.H * g.W), cols.AsSpan(0, k * l));
                // (O, K) · (K, L) → (O, L)
                Multiply(false, false, g.O, l, k, w, k, cols.AsSpan(0, k * l), l, T.Zero, y.Slice(n * g.O * l, g.O * l), l);
            }
        }
        finally { ArrayPool<T>.Shared.Return(cols); }
    }

    /// <summary>z (N, C, H, W) = the transpose of conv in x applied to gy (N, O, Ho, Wo): col = wᵀ·gy per sample, folded by col2im.</summary>
    public static void TransposeInput<T>(in ConvGeometry g, ReadOnlySpan<T> gy, ReadOnlySpan<T> w, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K, l = g.L;
        z.Clear();
        if (g.N == 0 || l == 0) return;
        var cols = ArrayPool<T>.Shared.Rent(Math.Max(1, k * l));
        try
        {
            for (int n = 0; n < g.N; n++)
            {
                // (K, O) · (O, L) → (K, L); w is stored (O, K)
                Multiply(true, false, k, l, g.O, w, k, gy.Slice(n * g.O * l, g.O * l), l, T.Zero, cols.AsSpan(0, k * l), l);
                Col2Im(g, cols.AsSpan(0, k * l), z.Slice(n * g.C * g.H * g.W, g.C * g.H * g.W));
            }
        }
        finally { ArrayPool<T>.Shared.Return(cols); }
    }

    /// <summary>v (O, C, kH, kW) = the transpose of conv in w: Σₙ gyₙ (O, L) · colsₙᵀ (L, K).</summary>
    public static void TransposeWeight<T>(in ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> gy, Span<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K, l = g.L;
        v.Clear();
        if (g.N == 0 || l == 0) return;
        var cols = ArrayPool<T>.Shared.Rent(Math.Max(1, k * l));
        try
        {
            for (int n = 0; n < g.N; n++)
            {
                Im2Col(g, x.Slice(n * g.C * g.H * g.W, g.C * g.H * g.W), cols.AsSpan(0, k * l));
                Multiply(false, true, g.O, k, l, gy.Slice(n * g.O * l, g.O * l), l, cols.AsSpan(0, k * l), l, T.One, v, k);
            }
        }
        finally { ArrayPool<T>.Shared.Return(cols); }
    }

    /// <summary>cols[(c·kH + i)·kW + j, oh·Wo + ow] = x[c, oh·sH − pH + i·dH, ow·sW − pW + j·dW], or 0 in the padding.</summary>
    public static void Im2Col<T>(in ConvGeometry g, ReadOnlySpan<T> x, Span<T> cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int outH = g.OutH, outW = g.OutW, l = outH * outW;
        for (int c = 0; c < g.C; c++)
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++)
                {
                    var row = cols.Slice(((c * g.KH + i) * g.KW + j) * l, l);
                    for (int oh = 0; oh < outH; oh++)
                    {
                        int h = oh * g.StrideH - g.PadH + i * g.DilationH;
                        var dst = row.Slice(oh * outW, outW);
                        if ((uint)h >= (uint)g.H) { dst.Clear(); continue; }
                        var src = x.Slice((c * g.H + h) * g.W, g.W);
                        int w0 = j * g.DilationW - g.PadW;
                        for (int ow = 0; ow < outW; ow++)
                        {
                            int w = ow * g.StrideW + w0;
                            dst[ow] = (uint)w < (uint)g.W ? src[w] : T.Zero;
                        }
                    }
                }
    }

    /// <summary>The transpose of <see cref="Im2Col"/>: every column entry is added back to the input position it came from.</summary>
    public static void Col2Im<T>(in ConvGeometry g, ReadOnlySpan<T> cols, Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int outH = g.OutH, outW = g.OutW, l = outH * outW;
        for (int c = 0; c < g.C; c++)
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++)
                {
                    var row = cols.Slice(((c * g.KH + i) * g.KW + j) * l, l);
                    for (int oh = 0; oh < outH; oh++)
                    {
                        int h = oh * g.StrideH - g.PadH + i * g.DilationH;
                        if ((uint)h >= (uint)g.H) continue;
                        var dst = x.Slice((c * g.H + h) * g.W, g.W);
                        var src = row.Slice(oh * outW, outW);
                        int w0 = j * g.DilationW - g.PadW;
                        for (int ow = 0; ow < outW; ow++)
                        {
                            int w = ow * g.StrideW + w0;
                            if ((uint)w < (uint)g.W) dst[w] += src[ow];
                        }
                    }
                }
    }

    /// <summary>A direct 7-loop convolution, the reference the im2col path is tested against.</summary>
    public static void ForwardNaive(in ConvGeometry g, ReadOnlySpan<double> x, ReadOnlySpan<double> w, Span<double> y)
    {
        int outH = g.OutH, outW = g.OutW;
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.O; o++)
                for (int oh = 0; oh < outH; oh++)
                    for (int ow = 0; ow < outW; ow++)
                    {
                        double s = 0;
                        for (int c = 0; c < g.C; c++)
                            for (int i = 0; i < g.KH; i++)
                                for (int j = 0; j < g.KW; j++)
                                {
                                    int h = oh * g.StrideH - g.PadH + i * g.DilationH, ww = ow * g.StrideW - g.PadW + j * g.DilationW;
                                    if ((uint)h < (uint)g.H && (uint)ww < (uint)g.W)
                                        s += x[((n * g.C + c) * g.H + h) * g.W + ww] * w[((o * g.C + c) * g.KH + i) * g.KW + j];
                                }
                        y[((n * g.O + o) * outH + oh) * outW + ow] = s;
                    }
    }

    private static void Multiply<T>(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Gemm.Multiply(transA, transB, m, n, k, 1f, MemoryMarshal.Cast<T, float>(a), lda, MemoryMarshal.Cast<T, float>(b), ldb,
                (float)(object)beta, MemoryMarshal.Cast<T, float>(c), ldc);
        else
            Gemm.Multiply(transA, transB, m, n, k, 1.0, MemoryMarshal.Cast<T, double>(a), lda, MemoryMarshal.Cast<T, double>(b), ldb,
                (double)(object)beta, MemoryMarshal.Cast<T, double>(c), ldc);
    }
}

/// <summary>
/// Window reductions for pooling over (N·C) planes of (H, W): average (the divisor counts padding, as
/// PyTorch's default count_include_pad) and maximum, which records the flat input index of each window's
/// first maximum so that the gradient goes to one element (PyTorch's max_pool2d convention).
/// </summary>
public static class Pooling
{
    public static int OutSize(int size, int kernel, int stride, int pad, int dilation = 1) => (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;

    /// <summary>y[p, oh, ow] = mean of the window, padding counted as zeros.</summary>
    public static void AvgForward<T>(int planes, int h, int w, int k, int s, int pad, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = OutSize(h, k, s, pad), ow = OutSize(w, k, s, pad);
        T scale = T.One / T.CreateTruncating(k * k);
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    T sum = T.Zero;
                    for (int a = 0; a < k; a++)
                    {
                        int r = i * s - pad + a;
                        if ((uint)r >= (uint)h) continue;
                        for (int b = 0; b < k; b++)
                        {
                            int c = j * s - pad + b;
                            if ((uint)c < (uint)w) sum += x[(p * h + r) * w + c];
                        }
                    }
                    y[(p * oh + i) * ow + j] = sum * scale;
                }
    }

    /// <summary>The transpose of <see cref="AvgForward"/>: each window spreads gy/k² over its inputs.</summary>
    public static void AvgTranspose<T>(int planes, int h, int w, int k, int s, int pad, ReadOnlySpan<T> gy, Span<T> gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = OutSize(h, k, s, pad), ow = OutSize(w, k, s, pad);
        T scale = T.One / T.CreateTruncating(k * k);
        gx.Clear();
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    T v = gy[(p * oh + i) * ow + j] * scale;
                    for (int a = 0; a < k; a++)
                    {
                        int r = i * s - pad + a;
                        if ((uint)r >= (uint)h) continue;
                        for (int b = 0; b < k; b++)
                        {
                            int c = j * s - pad + b;
                            if ((uint)c < (uint)w) gx[(p * h + r) * w + c] += v;
                        }
                    }
                }
    }

    /// <summary>y = window maxima (padding is −∞); indices[o] = the flat input index of output o's first maximum.</summary>
    public static void MaxForward<T>(int planes, int h, int w, int k, int s, int pad, int dilation, ReadOnlySpan<T> x, Span<T> y, Span<int> indices)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = OutSize(h, k, s, pad, dilation), ow = OutSize(w, k, s, pad, dilation);
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    T best = T.NegativeInfinity;
                    int at = -1;
                    for (int a = 0; a < k; a++)
                    {
                        int r = i * s - pad + a * dilation;
                        if ((uint)r >= (uint)h) continue;
                        for (int b = 0; b < k; b++)
                        {
                            int c = j * s - pad + b * dilation;
                            if ((uint)c >= (uint)w) continue;
                            int index = (p * h + r) * w + c;
                            T v = x[index];
                            // NaN propagates, as in PyTorch.
                            if (at < 0 || v > best || T.IsNaN(v)) { best = v; at = index; if (T.IsNaN(v)) goto done; }
                        }
                    }
                done:
                    y[(p * oh + i) * ow + j] = best;
                    indices[(p * oh + i) * ow + j] = at;
                }
    }

    /// <summary>y[o·block + e] = x[indices[o]·block + e]: gathering blocks (pooling maxima: block 1; embedding rows: block D).</summary>
    public static void GatherBlocks<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> indices, int block, Span<T> y) where T : unmanaged
    {
        for (int o = 0; o < indices.Length; o++) x.Slice(indices[o] * block, block).CopyTo(y.Slice(o * block, block));
    }

    /// <summary>The transpose of <see cref="GatherBlocks"/>: x[indices[o]·block + e] += y[o·block + e], x cleared first.</summary>
    public static void ScatterAddBlocks<T>(ReadOnlySpan<T> y, ReadOnlySpan<int> indices, int block, Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        x.Clear();
        for (int o = 0; o < indices.Length; o++)
        {
            var dst = x.Slice(indices[o] * block, block);
            var src = y.Slice(o * block, block);
            for (int e = 0; e < block; e++) dst[e] += src[e];
        }
    }
}
