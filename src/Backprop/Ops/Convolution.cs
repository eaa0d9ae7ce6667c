using Backprop.Kernels;

namespace Backprop;

// Convolution as three ops that close under differentiation. The trilinear form
//   T(x, w, g) = ⟨conv(x, w), g⟩ = ⟨x, convᵀₓ(g, w)⟩ = ⟨w, convᵀ_w(x, g)⟩
// gives every VJP as another member of the family:
//   conv(x, w)          (N,C,H,W),(O,C,kH,kW) → (N,O,Ho,Wo):  gx = convᵀₓ(gy, w),  gw = convᵀ_w(x, gy)
//   convᵀₓ(g, w)        (N,O,Ho,Wo),(O,C,kH,kW) → (N,C,H,W):  gg = conv(gz, w),    gw = convᵀ_w(gz, g)
//   convᵀ_w(x, g)       (N,C,H,W),(N,O,Ho,Wo) → (O,C,kH,kW):  gx = convᵀₓ(g, gv),  gg = conv(x, gv)
// Each is bilinear, so its JVP is the sum of the op applied with one tangent at a time. Because the
// rules are ops of the family, second derivatives (Hessian-vector products, reverse over reverse)
// need nothing more. All three run through the packed GEMM (Kernels/Convolution, im2col).
// conv may carry a per-channel bias b (O) as a third input: y = conv(x, w) + b, added while the output
// is written; its cotangent is the channel sum of gy (ChannelSumOp, whose transpose is a broadcast).
// Every kernel here writes (or first clears) its whole output, so outputs come unzeroed from the pool.
// Inside a tensor-pool scope, when the weight's gradient will be wanted, conv keeps the column matrix it
// unrolled x into (PyTorch's slow_conv2d keeps its "finput" the same way) and hands it to the weight's
// VJP, which then skips unrolling x a second time: the unrolling costs as much as a product.

/// <summary>The hyperparameters shared by the three convolution ops.</summary>
internal readonly record struct ConvParams(int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW)
{
    public ConvGeometry Geometry(int n, int c, int h, int w, int o, int kh, int kw) =>
        new(n, c, h, w, o, kh, kw, StrideH, StrideW, PadH, PadW, DilationH, DilationW);

    public override string ToString() => $"stride=({StrideH}, {StrideW}), padding=({PadH}, {PadW}), dilation=({DilationH}, {DilationW})";
}

/// <summary>
/// y = conv(x, w) (+ b): cross-correlation over NCHW, weight (O, C, kH, kW), optional bias (O) as a third
/// input. With <paramref name="saveColumns"/> the forward pass keeps x's column matrix (K, N·L, rows padded) in a pooled
/// tensor for the weight's VJP.
/// </summary>
internal sealed class Conv2dOp(ConvParams p, bool saveColumns = false) : Op
{
    /// <summary>Most elements of a saved column matrix (64 MiB of float); larger batches unroll x again in the VJP.</summary>
    internal const long MaxSavedColumns = 1L << 24;

    /// <summary>The column matrix of the input the last forward pass saw, or null.</summary>
    private Tensor? _columns;

    public override string Name => "Conv2d";
    public override string Describe() => $"Conv2d({p})";

    public override Tensor Forward(Tensor[] x)
    {
        Tensor input = x[0], weight = x[1];
        TensorOps.CheckSameDType(input, weight, Name);
        var g = CheckedGeometry(input, weight, p);
        Tensor? bias = x.Length > 2 ? x[2] : null;
        if (bias is not null)
        {
            TensorOps.CheckSameDType(input, bias, Name);
            if (bias.Rank != 1 || bias.Dims[0] != g.O)
                throw new ShapeException($"Conv2d: the bias must have shape ({g.O}) for weight {ShapeUtil.Format(weight.Dims)}; got {ShapeUtil.Format(bias.Dims)}.");
        }
        var y = TensorOps.NewOutputToOverwrite([g.N, g.O, g.OutH, g.OutW], input.DType);
        long columns = input.DType == DType.Float32 ? Convolution.SavedColumnsLength<float>(g) : Convolution.SavedColumnsLength<double>(g);
        _columns = saveColumns && columns > 0 && columns <= MaxSavedColumns && TensorPool.IsActive
            ? TensorOps.NewOutputToOverwrite([g.K, (int)(columns / g.K)], input.DType) : null;
        if (y.DType == DType.Float32)
            Convolution.Forward(g, input.Span<float>(), weight.Span<float>(), y.Span<float>(), bias is null ? default : bias.Span<float>(),
                _columns is null ? default : _columns.Span<float>());
        else Convolution.Forward(g, input.Span<double>(), weight.Span<double>(), y.Span<double>(), bias is null ? default : bias.Span<double>(),
            _columns is null ? default : _columns.Span<double>());
        return y;
    }

    internal static ConvGeometry CheckedGeometry(Tensor input, Tensor weight, ConvParams p)
    {
        if (input.Rank != 4 || weight.Rank != 4)
            throw new ShapeException($"Conv2d expects input (N, C, H, W) and weight (out_channels, in_channels, kH, kW); got input {ShapeUtil.Format(input.Dims)} and weight {ShapeUtil.Format(weight.Dims)}.");
        if (input.Dims[1] != weight.Dims[1])
            throw new ShapeException($"Conv2d: the input has {input.Dims[1]} channels (shape {ShapeUtil.Format(input.Dims)}) but the weight {ShapeUtil.Format(weight.Dims)} expects {weight.Dims[1]}.");
        var g = p.Geometry(input.Dims[0], input.Dims[1], input.Dims[2], input.Dims[3], weight.Dims[0], weight.Dims[2], weight.Dims[3]);
        int effH = p.DilationH * (g.KH - 1) + 1, effW = p.DilationW * (g.KW - 1) + 1;
        if (g.KH < 1 || g.KW < 1 || g.H + 2 * p.PadH < effH || g.W + 2 * p.PadW < effW)
            throw new ShapeException($"Conv2d: the input {ShapeUtil.Format(input.Dims)} padded by ({p.PadH}, {p.PadW}) is smaller than the dilated kernel ({effH}, {effW}) of weight {ShapeUtil.Format(weight.Dims)}; give a larger input or more padding.");
        return g;
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y)
    {
        Tensor? a = tx[0] is { } t0 ? TensorOps.Conv2dRaw(t0, x[1], p) : null;
        Tensor? b = tx[1] is { } t1 ? TensorOps.Conv2dRaw(x[0], t1, p) : null;
        var ty = a is null ? b : b is null ? a : a + b;
        if (tx.Length < 3 || tx[2] is not { } tb) return ty;
        // The bias enters linearly: its tangent, broadcast over images and positions.
        var biasTerm = tb.Reshape(1, tb.Dims[0], 1, 1).BroadcastTo(y.Dims);
        return ty is null ? biasTerm : ty + biasTerm;
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        if (needsGrad[0]) gx[0] = Autodiff.Apply(new ConvTransposeInputOp(p, x[0].Dims[2], x[0].Dims[3]), gy, x[1]);
        // x[0] has the value the forward pass unrolled (the engine checks it was not modified in place).
        if (needsGrad[1]) gx[1] = Autodiff.Apply(new ConvTransposeWeightOp(p, x[1].Dims[2], x[1].Dims[3], _columns), x[0], gy);
        if (x.Length > 2 && needsGrad[2]) gx[2] = Autodiff.Apply(new ChannelSumOp(), gy);
    }
}

/// <summary>s (O) = Σ over n, h, w of g (N, O, H, W): the bias cotangent of a convolution. Linear; its transpose broadcasts s back.</summary>
internal sealed class ChannelSumOp : LinearOp
{
    public override string Name => "ChannelSum";

    public override Tensor Forward(Tensor[] x)
    {
        var g = x[0];
        if (g.Rank != 4) throw new ShapeException($"{Name} expects (N, C, H, W); got {ShapeUtil.Format(g.Dims)}.");
        int n = g.Dims[0], c = g.Dims[1], l = g.Dims[2] * g.Dims[3];
        var s = TensorOps.NewOutputToOverwrite([c], g.DType);
        if (s.DType == DType.Float32) Convolution.BiasGradient(g.Span<float>(), n, c, l, s.Span<float>());
        else Convolution.BiasGradient(g.Span<double>(), n, c, l, s.Span<double>());
        return s;
    }

    protected override Tensor ApplyTo(Tensor[] t) => Autodiff.Apply(new ChannelSumOp(), t[0]);

    public override void Vjp(Tensor gs, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = gs.Reshape(1, gs.Dims[0], 1, 1).BroadcastTo(x[0].Dims);
}

/// <summary>z (N, C, H, W) = convᵀₓ(g, w): the transpose of conv in its input (a transposed convolution).</summary>
internal sealed class ConvTransposeInputOp(ConvParams p, int height, int width) : Op
{
    public override string Name => "Conv2dTransposeInput";

    public override Tensor Forward(Tensor[] x)
    {
        Tensor g = x[0], w = x[1];
        TensorOps.CheckSameDType(g, w, Name);
        var geo = p.Geometry(g.Dims[0], w.Dims[1], height, width, w.Dims[0], w.Dims[2], w.Dims[3]);
        if (g.Rank != 4 || g.Dims[1] != geo.O || g.Dims[2] != geo.OutH || g.Dims[3] != geo.OutW)
            throw new ShapeException($"{Name}: cotangent {ShapeUtil.Format(g.Dims)} does not fit weight {ShapeUtil.Format(w.Dims)} and input size ({height}, {width}).");
        var z = TensorOps.NewOutputToOverwrite([geo.N, geo.C, height, width], g.DType);
        if (z.DType == DType.Float32) Convolution.TransposeInput(geo, g.Span<float>(), w.Span<float>(), z.Span<float>());
        else Convolution.TransposeInput(geo, g.Span<double>(), w.Span<double>(), z.Span<double>());
        return z;
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y)
    {
        Tensor? a = tx[0] is { } t0 ? Autodiff.Apply(new ConvTransposeInputOp(p, height, width), t0, x[1]) : null;
        Tensor? b = tx[1] is { } t1 ? Autodiff.Apply(new ConvTransposeInputOp(p, height, width), x[0], t1) : null;
        return a is null ? b : b is null ? a : a + b;
    }

    public override void Vjp(Tensor gz, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        if (needsGrad[0]) gx[0] = TensorOps.Conv2dRaw(gz, x[1], p);
        if (needsGrad[1]) gx[1] = Autodiff.Apply(new ConvTransposeWeightOp(p, x[1].Dims[2], x[1].Dims[3]), gz, x[0]);
    }
}

/// <summary>
/// v (O, C, kH, kW) = convᵀ_w(x, g): the transpose of conv in its weight, Σₙ gₙ·colsₙᵀ. Given the column
/// matrix conv saved for this x (<paramref name="columns"/>), it is used instead of unrolling x again.
/// </summary>
internal sealed class ConvTransposeWeightOp(ConvParams p, int kernelH, int kernelW, Tensor? columns = null) : Op
{
    public override string Name => "Conv2dTransposeWeight";

    public override Tensor Forward(Tensor[] x)
    {
        Tensor input = x[0], g = x[1];
        TensorOps.CheckSameDType(input, g, Name);
        var geo = p.Geometry(input.Dims[0], input.Dims[1], input.Dims[2], input.Dims[3], g.Dims[1], kernelH, kernelW);
        if (g.Rank != 4 || g.Dims[0] != geo.N || g.Dims[2] != geo.OutH || g.Dims[3] != geo.OutW)
            throw new ShapeException($"{Name}: cotangent {ShapeUtil.Format(g.Dims)} does not fit input {ShapeUtil.Format(input.Dims)} and kernel ({kernelH}, {kernelW}).");
        var v = TensorOps.NewOutputToOverwrite([geo.O, geo.C, kernelH, kernelW], input.DType);
        long expected = input.DType == DType.Float32 ? Convolution.SavedColumnsLength<float>(geo) : Convolution.SavedColumnsLength<double>(geo);
        var saved = columns is not null && columns.DType == input.DType && columns.Length == expected ? columns : null;
        if (v.DType == DType.Float32)
            Convolution.TransposeWeight(geo, input.Span<float>(), g.Span<float>(), v.Span<float>(), saved is null ? default : saved.Span<float>());
        else Convolution.TransposeWeight(geo, input.Span<double>(), g.Span<double>(), v.Span<double>(), saved is null ? default : saved.Span<double>());
        return v;
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y)
    {
        Tensor? a = tx[0] is { } t0 ? Autodiff.Apply(new ConvTransposeWeightOp(p, kernelH, kernelW), t0, x[1]) : null;
        Tensor? b = tx[1] is { } t1 ? Autodiff.Apply(new ConvTransposeWeightOp(p, kernelH, kernelW), x[0], t1) : null;
        return a is null ? b : b is null ? a : a + b;
    }

    public override void Vjp(Tensor gv, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        if (needsGrad[0]) gx[0] = Autodiff.Apply(new ConvTransposeInputOp(p, x[0].Dims[2], x[0].Dims[3]), x[1], gv);
        if (needsGrad[1]) gx[1] = TensorOps.Conv2dRaw(x[0], gv, p);
    }
}

public static partial class TensorOps
{
    internal static Tensor Conv2dRaw(Tensor x, Tensor w, ConvParams p) => Autodiff.Apply(new Conv2dOp(p), x, w);

    /// <summary>
    /// Whether a backward pass will want w's gradient from an op applied now: w is recorded in reverse mode
    /// (eagerly with grad enabled, or by a transform), not only carrying a forward-mode tangent.
    /// </summary>
    private static bool WeightGradientRecorded(Tensor w) =>
        w.Level > 0 && w.TangentTensor is null && (w.Level > Autodiff.EagerLevel || Autodiff.IsGradEnabled);

    /// <summary>
    /// 2-D convolution (cross-correlation, as <c>torch.nn.functional.conv2d</c> with groups = 1): input
    /// (N, C, H, W), weight (O, C, kH, kW), optional bias (O); output (N, O, Ho, Wo) with
    /// Ho = ⌊(H + 2·padding − dilation·(kH − 1) − 1)/stride⌋ + 1.
    /// </summary>
    public static Tensor Conv2d(this Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1) =>
        Conv2d(x, weight, bias, (stride, stride), (padding, padding), (dilation, dilation));

    /// <summary>2-D convolution with separate (height, width) stride, padding and dilation.</summary>
    public static Tensor Conv2d(this Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation)
    {
        if (stride.H < 1 || stride.W < 1) throw new BackpropException($"Conv2d: stride must be at least 1; got ({stride.H}, {stride.W}).");
        if (padding.H < 0 || padding.W < 0) throw new BackpropException($"Conv2d: padding must be 0 or more; got ({padding.H}, {padding.W}).");
        if (dilation.H < 1 || dilation.W < 1) throw new BackpropException($"Conv2d: dilation must be at least 1; got ({dilation.H}, {dilation.W}).");
        var p = new ConvParams(stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W);
        // The op checks the bias's shape against the weight's.
        var op = new Conv2dOp(p, saveColumns: WeightGradientRecorded(weight));
        return bias is null ? Autodiff.Apply(op, x, weight) : Autodiff.Apply(op, x, weight, bias);
    }

    /// <summary>
    /// 1-D convolution (<c>torch.nn.functional.conv1d</c>): input (N, C, L), weight (O, C, k), bias (O);
    /// computed as a 2-D convolution of height 1, so its derivatives are the same ops.
    /// </summary>
    public static Tensor Conv1d(this Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1)
    {
        if (x.Rank != 3 || weight.Rank != 3)
            throw new ShapeException($"Conv1d expects input (N, C, L) and weight (out_channels, in_channels, k); got input {ShapeUtil.Format(x.Dims)} and weight {ShapeUtil.Format(weight.Dims)}.");
        if (bias is not null && (bias.Rank != 1 || bias.Dims[0] != weight.Dims[0]))
            throw new ShapeException($"Conv1d: the bias must have shape ({weight.Dims[0]}) for weight {ShapeUtil.Format(weight.Dims)}; got {ShapeUtil.Format(bias.Dims)}.");
        var y = Conv2d(x.Reshape(x.Dims[0], x.Dims[1], 1, x.Dims[2]), weight.Reshape(weight.Dims[0], weight.Dims[1], 1, weight.Dims[2]),
            bias, (1, stride), (0, padding), (1, dilation));
        return y.Reshape(y.Dims[0], y.Dims[1], y.Dims[3]);
    }
}
