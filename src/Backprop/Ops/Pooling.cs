using Backprop.Kernels;

namespace Backprop;

// Pooling over NCHW planes, and the gather/scatter pair of embeddings.
// Average pooling is linear: its transpose spreads each cotangent over its window, and the transpose of
// that is average pooling again. Max pooling selects one input per window (the first maximum, as
// PyTorch): away from ties the selection is constant in x, so the op's derivative is a selection at
// those positions (MaxPoolSelect), whose transpose is a scatter to them (MaxPoolScatter), whose transpose
// is the selection. Both take x as an input with zero derivative and find the positions from it, so
// second derivatives need nothing more. Embedding is a gather of rows, whose transpose is a scatter-add.
// Every kernel here writes (or first clears) its whole output, so outputs come unzeroed from the pool.

/// <summary>y[o·block + e] = x[indices[o]·block + e]; linear in x.</summary>
internal sealed class GatherBlocksOp(int[] indices, int block, int[] outDims) : LinearOp
{
    public override string Name => "Gather";
    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutputToOverwrite(outDims, x[0].DType);
        if (y.DType == DType.Float32) Pooling.GatherBlocks(x[0].Span<float>(), indices, block, y.Span<float>());
        else Pooling.GatherBlocks(x[0].Span<double>(), indices, block, y.Span<double>());
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => Autodiff.Apply(new GatherBlocksOp(indices, block, outDims), t[0]);

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = Autodiff.Apply(new ScatterAddBlocksOp(indices, block, x[0].Dims), gy);
}

/// <summary>x[indices[o]·block + e] += y[o·block + e] into zeros of <paramref name="outDims"/>; the transpose of <see cref="GatherBlocksOp"/>.</summary>
internal sealed class ScatterAddBlocksOp(int[] indices, int block, int[] outDims) : LinearOp
{
    public override string Name => "ScatterAdd";
    public override Tensor Forward(Tensor[] x)
    {
        var y = TensorOps.NewOutputToOverwrite(outDims, x[0].DType);
        if (y.DType == DType.Float32) Pooling.ScatterAddBlocks(x[0].Span<float>(), indices, block, y.Span<float>());
        else Pooling.ScatterAddBlocks(x[0].Span<double>(), indices, block, y.Span<double>());
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => Autodiff.Apply(new ScatterAddBlocksOp(indices, block, outDims), t[0]);

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = Autodiff.Apply(new GatherBlocksOp(indices, block, x[0].Dims), gy);
}

/// <summary>The settings of a max pooling over k×k windows.</summary>
internal readonly record struct MaxPoolParams(int Kernel, int Stride, int Padding, int Dilation)
{
    public override string ToString() => $"kernel_size={Kernel}, stride={Stride}, padding={Padding}, dilation={Dilation}";
}

/// <summary>
/// Max over k×k windows of x (N, C, H, W). The rules select at each window's first maximum of x
/// (<see cref="MaxPoolSelectOp"/>) or scatter to it (<see cref="MaxPoolScatterOp"/>); both find the
/// maxima again from x rather than keeping an index array from the forward pass, so nothing but the
/// output is allocated.
/// </summary>
internal sealed class MaxPool2dOp(MaxPoolParams p) : Op
{
    public override string Name => "MaxPool2d";
    public override string Describe() => $"MaxPool2d({p})";

    public override Tensor Forward(Tensor[] x)
    {
        var (n, c, h, w, oh, ow) = TensorOps.PoolShape("MaxPool2d", x[0], p.Kernel, p.Stride, p.Padding, p.Dilation);
        var y = TensorOps.NewOutputToOverwrite([n, c, oh, ow], x[0].DType);
        if (y.DType == DType.Float32) Pooling.MaxForward(n * c, h, w, p.Kernel, p.Stride, p.Padding, p.Dilation, x[0].Span<float>(), y.Span<float>());
        else Pooling.MaxForward(n * c, h, w, p.Kernel, p.Stride, p.Padding, p.Dilation, x[0].Span<double>(), y.Span<double>());
        return y;
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) =>
        tx[0] is { } t ? Autodiff.Apply(new MaxPoolSelectOp(p), t, x[0]) : null;

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = Autodiff.Apply(new MaxPoolScatterOp(p), gy, x[0]);
}

/// <summary>
/// s (N, C, Ho, Wo) = g (N, C, H, W) at each window's first maximum of x (N, C, H, W): the max-pool's JVP.
/// Linear in g; constant in x (the selection changes only where x has ties, a set of measure zero), so
/// x's gradient and tangent are zero. Its transpose is <see cref="MaxPoolScatterOp"/>.
/// </summary>
internal sealed class MaxPoolSelectOp(MaxPoolParams p) : Op
{
    public override string Name => "MaxPool2dSelect";
    public override string Describe() => $"MaxPool2dSelect({p})";

    public override Tensor Forward(Tensor[] x)
    {
        Tensor g = x[0], input = x[1];
        TensorOps.CheckSameDType(g, input, Name);
        if (!ShapeUtil.SameShape(g.Dims, input.Dims))
            throw new ShapeException($"{Name}: the tangent {ShapeUtil.Format(g.Dims)} and the input {ShapeUtil.Format(input.Dims)} must have the same shape.");
        var (n, c, h, w, oh, ow) = TensorOps.PoolShape(Name, input, p.Kernel, p.Stride, p.Padding, p.Dilation);
        var s = TensorOps.NewOutputToOverwrite([n, c, oh, ow], g.DType);
        if (s.DType == DType.Float32) Pooling.MaxSelect(n * c, h, w, p.Kernel, p.Stride, p.Padding, p.Dilation, input.Span<float>(), g.Span<float>(), s.Span<float>());
        else Pooling.MaxSelect(n * c, h, w, p.Kernel, p.Stride, p.Padding, p.Dilation, input.Span<double>(), g.Span<double>(), s.Span<double>());
        return s;
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) =>
        tx[0] is { } t ? Autodiff.Apply(new MaxPoolSelectOp(p), t, x[1]) : null;

    public override void Vjp(Tensor gs, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        if (needsGrad[0]) gx[0] = Autodiff.Apply(new MaxPoolScatterOp(p), gs, x[1]);
        if (needsGrad[1]) gx[1] = Tensor.ZerosLike(x[1]);
    }
}

/// <summary>
/// z (N, C, H, W) = zeros with gy (N, C, Ho, Wo) added at each window's first maximum of x (N, C, H, W):
/// the max-pool's VJP. Linear in gy, constant in x; its transpose is <see cref="MaxPoolSelectOp"/>.
/// </summary>
internal sealed class MaxPoolScatterOp(MaxPoolParams p) : Op
{
    public override string Name => "MaxPool2dScatter";
    public override string Describe() => $"MaxPool2dScatter({p})";

    public override Tensor Forward(Tensor[] x)
    {
        Tensor gy = x[0], input = x[1];
        TensorOps.CheckSameDType(gy, input, Name);
        var (n, c, h, w, oh, ow) = TensorOps.PoolShape(Name, input, p.Kernel, p.Stride, p.Padding, p.Dilation);
        if (gy.Rank != 4 || gy.Dims[0] != n || gy.Dims[1] != c || gy.Dims[2] != oh || gy.Dims[3] != ow)
            throw new ShapeException($"{Name}: the cotangent {ShapeUtil.Format(gy.Dims)} does not fit the pooling of input {ShapeUtil.Format(input.Dims)}; expected ({n}, {c}, {oh}, {ow}).");
        var z = TensorOps.NewOutputToOverwrite(input.Dims, gy.DType);
        if (z.DType == DType.Float32) Pooling.MaxScatter(n * c, h, w, p.Kernel, p.Stride, p.Padding, p.Dilation, input.Span<float>(), gy.Span<float>(), z.Span<float>());
        else Pooling.MaxScatter(n * c, h, w, p.Kernel, p.Stride, p.Padding, p.Dilation, input.Span<double>(), gy.Span<double>(), z.Span<double>());
        return z;
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) =>
        tx[0] is { } t ? Autodiff.Apply(new MaxPoolScatterOp(p), t, x[1]) : null;

    public override void Vjp(Tensor gz, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        if (needsGrad[0]) gx[0] = Autodiff.Apply(new MaxPoolSelectOp(p), gz, x[1]);
        if (needsGrad[1]) gx[1] = Tensor.ZerosLike(x[1]);
    }
}

/// <summary>Mean over k×k windows, zero padding counted in the divisor (PyTorch's count_include_pad=True). Linear.</summary>
internal sealed class AvgPool2dOp(int kernel, int stride, int padding) : LinearOp
{
    public override string Name => "AvgPool2d";
    public override string Describe() => $"AvgPool2d(kernel_size={kernel}, stride={stride}, padding={padding})";

    public override Tensor Forward(Tensor[] x)
    {
        var (n, c, h, w, oh, ow) = TensorOps.PoolShape("AvgPool2d", x[0], kernel, stride, padding, 1);
        var y = TensorOps.NewOutputToOverwrite([n, c, oh, ow], x[0].DType);
        if (y.DType == DType.Float32) Pooling.AvgForward(n * c, h, w, kernel, stride, padding, x[0].Span<float>(), y.Span<float>());
        else Pooling.AvgForward(n * c, h, w, kernel, stride, padding, x[0].Span<double>(), y.Span<double>());
        return y;
    }

    protected override Tensor ApplyTo(Tensor[] t) => Autodiff.Apply(new AvgPool2dOp(kernel, stride, padding), t[0]);

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = Autodiff.Apply(new AvgPoolTransposeOp(kernel, stride, padding, x[0].Dims), gy);
}

/// <summary>The transpose of average pooling: each window's cotangent spread evenly over its k² inputs.</summary>
internal sealed class AvgPoolTransposeOp(int kernel, int stride, int padding, int[] inputDims) : LinearOp
{
    public override string Name => "AvgPool2dTranspose";

    public override Tensor Forward(Tensor[] x)
    {
        var z = TensorOps.NewOutputToOverwrite(inputDims, x[0].DType);
        int planes = inputDims[0] * inputDims[1];
        if (z.DType == DType.Float32) Pooling.AvgTranspose(planes, inputDims[2], inputDims[3], kernel, stride, padding, x[0].Span<float>(), z.Span<float>());
        else Pooling.AvgTranspose(planes, inputDims[2], inputDims[3], kernel, stride, padding, x[0].Span<double>(), z.Span<double>());
        return z;
    }

    protected override Tensor ApplyTo(Tensor[] t) => Autodiff.Apply(new AvgPoolTransposeOp(kernel, stride, padding, inputDims), t[0]);

    public override void Vjp(Tensor gz, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) =>
        gx[0] = Autodiff.Apply(new AvgPool2dOp(kernel, stride, padding), gz);
}

public static partial class TensorOps
{
    internal static (int N, int C, int H, int W, int OutH, int OutW) PoolShape(string name, Tensor x, int kernel, int stride, int padding, int dilation)
    {
        if (x.Rank != 4) throw new ShapeException($"{name} expects input (N, C, H, W); got {ShapeUtil.Format(x.Dims)}.");
        int n = x.Dims[0], c = x.Dims[1], h = x.Dims[2], w = x.Dims[3];
        int oh = Pooling.OutSize(h, kernel, stride, padding, dilation), ow = Pooling.OutSize(w, kernel, stride, padding, dilation);
        if (oh < 1 || ow < 1 || h + 2 * padding < dilation * (kernel - 1) + 1 || w + 2 * padding < dilation * (kernel - 1) + 1)
            throw new ShapeException($"{name}: input {ShapeUtil.Format(x.Dims)} is smaller than the kernel {kernel} (dilation {dilation}, padding {padding}).");
        return (n, c, h, w, oh, ow);
    }

    private static void CheckPool(string name, int kernel, int stride, int padding, int dilation)
    {
        if (kernel < 1) throw new BackpropException($"{name}: kernel_size must be at least 1; got {kernel}.");
        if (stride < 1) throw new BackpropException($"{name}: stride must be at least 1; got {stride}.");
        if (dilation < 1) throw new BackpropException($"{name}: dilation must be at least 1; got {dilation}.");
        if (padding < 0 || 2 * padding > kernel)
            throw new BackpropException($"{name}: padding must be between 0 and half the kernel size ({kernel / 2}); got {padding}.");
    }

    /// <summary>Max over kernel×kernel windows of (N, C, H, W); stride defaults to the kernel size. Gradient to each window's first maximum.</summary>
    public static Tensor MaxPool2d(this Tensor x, int kernel, int? stride = null, int padding = 0, int dilation = 1)
    {
        int s = stride ?? kernel;
        CheckPool("MaxPool2d", kernel, s, padding, dilation);
        return Autodiff.Apply(new MaxPool2dOp(new MaxPoolParams(kernel, s, padding, dilation)), x);
    }

    /// <summary>Mean over kernel×kernel windows of (N, C, H, W); stride defaults to the kernel size; padding counts as zeros.</summary>
    public static Tensor AvgPool2d(this Tensor x, int kernel, int? stride = null, int padding = 0)
    {
        int s = stride ?? kernel;
        CheckPool("AvgPool2d", kernel, s, padding, 1);
        return Autodiff.Apply(new AvgPool2dOp(kernel, s, padding), x);
    }

    /// <summary>
    /// Rows of <paramref name="weight"/> (V, D) at integer <paramref name="indices"/> of any shape S:
    /// the result has shape (…S, D) (<c>torch.nn.functional.embedding</c>). Indices are given as a tensor
    /// of whole numbers; the gradient adds up the rows' cotangents.
    /// </summary>
    public static Tensor Embedding(Tensor indices, Tensor weight)
    {
        if (weight.Rank != 2) throw new ShapeException($"Embedding: the weight must be (num_embeddings, embedding_dim); got {ShapeUtil.Format(weight.Dims)}.");
        var values = indices.Detach().ToDoubleArray();
        var rows = new int[values.Length];
        int v = weight.Dims[0];
        for (int i = 0; i < values.Length; i++)
        {
            double d = values[i];
            if (d != Math.Floor(d) || d < 0 || d >= v)
                throw new BackpropException($"Embedding: index {d} at position {i} is not a whole number in [0, {v}) (num_embeddings = {v}).");
            rows[i] = (int)d;
        }
        var outDims = new int[indices.Rank + 1];
        indices.Dims.CopyTo(outDims, 0);
        outDims[^1] = weight.Dims[1];
        return Autodiff.Apply(new GatherBlocksOp(rows, weight.Dims[1], outDims), weight);
    }
}
