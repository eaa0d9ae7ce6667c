using System.Numerics;
using Backprop.Kernels;

namespace Backprop;

/// <summary>The activation a fused linear op applies to its pre-activation (math.md §1).</summary>
internal enum LinearActivation { Identity, Relu, LeakyRelu, Tanh, Sigmoid, Softplus }

/// <summary>
/// A fully connected layer and its activation as one op: y = g(z), z = x·Wᵀ + b, for x (m, in), W (out, in)
/// as <c>Nn.Linear.Weight</c>, b (out) or absent. The same value as MatMul, Add and the activation op in
/// turn, bias added after the product as there, so z agrees with the composition bit for bit.
/// <para>
/// Why fused: the composition makes three outputs of (m, out) and, backwards, three more gradients and a
/// separate reduction for db; here the bias and the activation are applied in one pass over each output
/// row while the GEMM has it in cache (<see cref="FusedLinear"/>), and the backward pass turns gy into dz
/// with one pass, then runs the two GEMMs and the row sum on it. On a training step of an MLP this is most
/// of the difference between the define-by-run engine and the compiled step.
/// </para>
/// <para>
/// Rules, with dz = gy ⊙ g′(z) (g′ from y for tanh, sigmoid and ReLU; from z, which is then kept, for
/// leaky ReLU and softplus):
///   VJP: gx = dz·W, gW = dzᵀ·x, gb = Σ_rows dz.
///   JVP: tz = tx·Wᵀ + x·tWᵀ + tb, ty = g′(z) ⊙ tz.
/// When every value is plain the VJP runs the kernels directly; when any is itself being differentiated
/// (a Hessian, forward over reverse) it is written with tensor ops, so the rule stays differentiable.
/// </para>
/// </summary>
internal sealed class LinearLayerOp(LinearActivation activation, double slope) : Op
{
    /// <summary>z, kept from the forward pass when g′ needs it and cannot be read off y.</summary>
    private Tensor? _preActivation;

    public override string Name => activation switch
    {
        LinearActivation.Identity => "Linear",
        LinearActivation.Relu => "Linear+ReLU",
        LinearActivation.LeakyRelu => "Linear+LeakyReLU",
        LinearActivation.Tanh => "Linear+Tanh",
        LinearActivation.Sigmoid => "Linear+Sigmoid",
        _ => "Linear+Softplus",
    };

    public override string Describe() => activation == LinearActivation.LeakyRelu ? $"Linear+LeakyReLU({slope})" : Name;

    public override bool VjpReadsOutput => true;

    private bool KeepsPreActivation => activation is LinearActivation.LeakyRelu or LinearActivation.Softplus;

    public override Tensor Forward(Tensor[] x)
    {
        Tensor input = x[0], weight = x[1];
        Tensor? bias = x.Length > 2 ? x[2] : null;
        int m = input.Dims[0], inF = input.Dims[1], outF = weight.Dims[0];
        var y = TensorOps.NewOutputToOverwrite([m, outF], input.DType);
        var z = KeepsPreActivation ? TensorOps.NewOutputToOverwrite([m, outF], input.DType) : y;
        if (KeepsPreActivation) _preActivation = z;
        if (input.DType == DType.Float32) Forward<float>(input, weight, bias, z, y, m, inF, outF);
        else Forward<double>(input, weight, bias, z, y, m, inF, outF);
        return y;
    }

    private void Forward<T>(Tensor x, Tensor w, Tensor? b, Tensor z, Tensor y, int m, int inF, int outF)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> zs = z.Span<T>(), ys = y.Span<T>();
        ReadOnlySpan<T> xs = x.Span<T>(), ws = w.Span<T>(), bs = b is null ? default : b.Span<T>();
        T p = T.CreateTruncating(slope);
        switch (activation)
        {
            case LinearActivation.Identity: FusedLinear.LinearForward<T, IdentityActivation>(zs, ys, xs, ws, bs, m, inF, outF, p); break;
            case LinearActivation.Relu: FusedLinear.LinearForward<T, ReluActivation>(zs, ys, xs, ws, bs, m, inF, outF, p); break;
            case LinearActivation.LeakyRelu: FusedLinear.LinearForward<T, LeakyReluActivation>(zs, ys, xs, ws, bs, m, inF, outF, p); break;
            case LinearActivation.Tanh: FusedLinear.LinearForward<T, TanhActivation>(zs, ys, xs, ws, bs, m, inF, outF, p); break;
            case LinearActivation.Sigmoid: FusedLinear.LinearForward<T, SigmoidActivation>(zs, ys, xs, ws, bs, m, inF, outF, p); break;
            default: FusedLinear.LinearForward<T, SoftplusActivation>(zs, ys, xs, ws, bs, m, inF, outF, p); break;
        }
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        bool plain = gy.Level == 0 && y.Level == 0;
        foreach (var t in x) plain &= t.Level == 0;
        if (!plain)
        {
            var dz = activation == LinearActivation.Identity ? gy : gy * Derivative(x, y);
            if (needsGrad[0]) gx[0] = dz.MatMul(x[1]);
            if (needsGrad[1]) gx[1] = dz.MatMul(x[0], transposeA: true);
            if (x.Length > 2 && needsGrad[2]) gx[2] = dz.Sum(0);
            return;
        }
        if (gy.DType == DType.Float32) VjpKernels<float>(gy, x, y, needsGrad, gx);
        else VjpKernels<double>(gy, x, y, needsGrad, gx);
    }

    private void VjpKernels<T>(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor input = x[0], weight = x[1];
        int m = input.Dims[0], inF = input.Dims[1], outF = weight.Dims[0];
        Tensor dz = gy;
        if (activation != LinearActivation.Identity)
        {
            // gy may be shared (a rule can hand one tensor to two inputs), so dz is a copy scaled in place.
            dz = TensorOps.NewOutputToOverwrite(y.Dims, y.DType);
            Span<T> d = dz.Span<T>();
            gy.Span<T>().CopyTo(d);
            ReadOnlySpan<T> ys = y.Span<T>(), zs = _preActivation is null ? default : _preActivation.Span<T>();
            T p = T.CreateTruncating(slope);
            switch (activation)
            {
                case LinearActivation.Relu: ReluActivation.Backward(d, zs, ys, p); break;
                case LinearActivation.LeakyRelu: LeakyReluActivation.Backward(d, zs, ys, p); break;
                case LinearActivation.Tanh: TanhActivation.Backward(d, zs, ys, p); break;
                case LinearActivation.Sigmoid: SigmoidActivation.Backward(d, zs, ys, p); break;
                default: SoftplusActivation.Backward(d, zs, ys, p); break;
            }
        }
        ReadOnlySpan<T> dzs = dz.Span<T>();
        if (needsGrad[0])
        {
            var dx = TensorOps.NewOutputToOverwrite([m, inF], input.DType);
            Gemm.MultiplyCore(false, false, m, inF, outF, T.One, dzs, outF, weight.Span<T>(), inF, T.Zero, dx.Span<T>(), inF);
            gx[0] = dx;
        }
        if (needsGrad[1])
        {
            // dW = dzᵀ·x: dz is stored (m, out), so op(A) = dzᵀ is a transpose flag, not a copy.
            var dw = TensorOps.NewOutputToOverwrite([outF, inF], weight.DType);
            Gemm.MultiplyCore(true, false, outF, inF, m, T.One, dzs, outF, input.Span<T>(), inF, T.Zero, dw.Span<T>(), inF);
            gx[1] = dw;
        }
        if (x.Length > 2 && needsGrad[2])
        {
            var db = TensorOps.NewOutput([outF], weight.DType);
            if (m > 0) FusedLinear.SumRows(dzs, db.Span<T>(), m, outF);
            gx[2] = db;
        }
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => Tangent(x, tx[0], tx[1], tx.Length > 2 ? tx[2] : null, y, y.Dims);

    // Lifting each tangent to the output's rank + 1 makes the direction axis a batch dimension of the
    // products (as MatMul's batched rule does); g′(z) has y's shape and broadcasts over it.
    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k) =>
        Tangent(x, Lift(tx[0], y), Lift(tx[1], y), Lift(tx.Length > 2 ? tx[2] : null, y), y, BatchedTangent.Dims(k, y.Dims));

    private static Tensor? Lift(Tensor? t, Tensor y) => t is null ? null : BatchedTangent.Lift(t, y.Rank);

    private Tensor? Tangent(Tensor[] x, Tensor? tInput, Tensor? tWeight, Tensor? tBias, Tensor y, int[] shape)
    {
        Tensor? tz = null;
        if (tInput is not null) tz = tInput.MatMul(x[1], transposeB: true);
        if (tWeight is not null) tz = Add(tz, x[0].MatMul(tWeight, transposeB: true));
        if (tBias is not null) tz = Add(tz, tBias);
        if (tz is null) return null;
        var ty = activation == LinearActivation.Identity ? tz : tz * Derivative(x, y);
        return ty.BroadcastTo(shape);

        static Tensor Add(Tensor? a, Tensor b) => a is null ? b : a + b;
    }

    /// <summary>g′ at the op's point as a tensor of y's shape, with the same formulas as the activation ops (Ops/Activations.cs).</summary>
    private Tensor Derivative(Tensor[] x, Tensor y) => activation switch
    {
        // y > 0 exactly where z > 0, so the mask can be read off y (relu′(0) = 0 as in ReluOp).
        LinearActivation.Relu => TensorOps.ConstantMap<StepOperator>(y, 0),
        LinearActivation.Tanh => 1.0 - y.Square(),
        LinearActivation.Sigmoid => y * (1.0 - y),
        LinearActivation.LeakyRelu => TensorOps.ConstantMap<StepOperator>(PreActivation(x), slope),
        LinearActivation.Softplus => PreActivation(x).Sigmoid(),
        _ => throw new InvalidOperationException("The identity has no derivative factor."),
    };

    /// <summary>z, recomputed with tensor ops at the inputs' own levels (so that it is differentiable there).</summary>
    private static Tensor PreActivation(Tensor[] x)
    {
        var z = x[0].MatMul(x[1], transposeB: true);
        return x.Length > 2 ? z + x[2] : z;
    }
}

public static partial class TensorOps
{
    /// <summary>
    /// z = x·Wᵀ + b for x of shape (m, in), W (out, in) and b (out) or null: PyTorch's
    /// <c>torch.nn.functional.linear</c>, as one op (one output, one backward step) rather than a product
    /// and an add.
    /// </summary>
    public static Tensor Linear(this Tensor x, Tensor weight, Tensor? bias = null) => LinearWith(x, weight, bias, LinearActivation.Identity, 0);

    /// <summary>g(x·Wᵀ + b) as one op; <paramref name="slope"/> is leaky ReLU's.</summary>
    internal static Tensor LinearWith(Tensor x, Tensor weight, Tensor? bias, LinearActivation activation, double slope)
    {
        if (x.Rank != 2 || weight.Rank != 2 || x.Dims[1] != weight.Dims[1])
            throw new ShapeException($"Linear expects x of shape (batch, in) and a weight of shape (out, in); got {ShapeUtil.Format(x.Dims)} and {ShapeUtil.Format(weight.Dims)}.");
        CheckSameDType(x, weight, "Linear");
        if (bias is not null)
        {
            CheckSameDType(x, bias, "Linear");
            if (bias.Rank != 1 || bias.Dims[0] != weight.Dims[0])
                throw new ShapeException($"Linear: the bias must have shape ({weight.Dims[0]}) for a weight of shape {ShapeUtil.Format(weight.Dims)}; got {ShapeUtil.Format(bias.Dims)}.");
            return Autodiff.Apply(new LinearLayerOp(activation, slope), x, weight, bias);
        }
        return Autodiff.Apply(new LinearLayerOp(activation, slope), x, weight);
    }
}
