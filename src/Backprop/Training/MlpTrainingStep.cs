using System.Numerics;
using System.Runtime.CompilerServices;
using Backprop.Data;
using Backprop.Kernels;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>
/// A compiled training step for a <see cref="Sequential"/> MLP (Linear layers, each optionally followed by
/// one of ReLU, LeakyReLU, Tanh, Sigmoid, Softplus or Identity) with a task head's loss. It computes the
/// same loss and gradients as <c>TaskHead.Loss(task, model.Forward(x), y).Backward()</c>, to floating-point
/// rounding, without the define-by-run engine: every activation, gradient and batch buffer is allocated
/// once for <see cref="BatchCapacity"/> rows, forward runs <see cref="FusedLinear.LinearForward{T, TAct}"/>
/// per layer (GEMM, then bias and activation in one pass), the loss is fused with its gradient
/// (<see cref="FusedLosses"/>), and backward runs <see cref="FusedLinear.LinearBackward{T}"/> per layer
/// with the activation's derivative applied in place. A step in steady state allocates nothing.
/// <para>
/// The per-step methods are marked AggressiveOptimization: a small network's whole run can be shorter
/// than the tiered JIT's delay (100 ms) before it recompiles hot methods, so without it a short run would
/// spend most of its time in unoptimized tier-0 code.
/// </para>
/// </summary>
/// <remarks>
/// Gradients are written into tensors this object owns, and each step assigns them to the parameters'
/// <see cref="Tensor.Grad"/>, so any <see cref="Optimizer"/> that uses existing gradients
/// (<c>optimizer.Step()</c>) updates the model from them. They are overwritten, not accumulated, by the
/// next step, as a training loop that clears gradients before each backward pass would see them.
/// Use <see cref="TryCreate"/>: a model with any other module, or parameters of mixed dtypes, is left to
/// the autodiff engine.
/// </remarks>
public sealed class MlpTrainingStep
{
    private readonly IStepCore _core;

    private MlpTrainingStep(IStepCore core, int batchCapacity, int inputs, int outputs, DType dtype)
    {
        _core = core;
        BatchCapacity = batchCapacity;
        Inputs = inputs;
        Outputs = outputs;
        DType = dtype;
    }

    /// <summary>Most rows one step takes; buffers are sized for it.</summary>
    public int BatchCapacity { get; }

    /// <summary>Input features of the first layer.</summary>
    public int Inputs { get; }

    /// <summary>Outputs of the last layer (the loss's input width).</summary>
    public int Outputs { get; }

    public DType DType { get; }

    /// <summary>
    /// The compiled step for <paramref name="model"/>, or null with the <paramref name="reason"/> why the
    /// model is not a supported MLP (then train it with the autodiff engine).
    /// </summary>
    public static MlpTrainingStep? TryCreate(Sequential model, TaskKind task, int batchCapacity, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (batchCapacity < 1) throw new BackpropException($"The batch capacity must be at least 1; got {batchCapacity}.");
        var plan = Plan(model, out reason);
        if (plan is null) return null;
        var dtype = plan[0].Layer.DType;
        foreach (var p in model.Parameters())
        {
            if (p.DType != dtype) { reason = "parameters of mixed dtypes"; return null; }
            if (!p.RequiresGrad || !p.IsLeaf) { reason = "a parameter that is not a trainable leaf"; return null; }
        }
        int inputs = plan[0].Layer.InFeatures, outputs = plan[^1].Layer.OutFeatures;
        IStepCore core = dtype == DType.Float32
            ? new StepCore<float>(plan, task, batchCapacity)
            : new StepCore<double>(plan, task, batchCapacity);
        reason = null;
        return new MlpTrainingStep(core, batchCapacity, inputs, outputs, dtype);
    }

    /// <summary>Whether <paramref name="model"/> is an MLP this step can compile.</summary>
    public static bool IsSupported(Sequential model, out string? reason) => Plan(model, out reason) is not null;

    /// <summary>
    /// Copies rows <paramref name="rows"/> of <paramref name="data"/> into the step's batch buffers (the
    /// gather of a shuffled mini-batch, without allocating a batch tensor).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void GatherBatch(TensorDataset data, ReadOnlySpan<int> rows)
    {
        Check(data.Features, data.Targets, rows.Length);
        _core.Gather(data.Features, data.Targets, rows);
    }

    /// <summary>Copies a whole batch (x of shape (m, inputs), y of shape (m, outputs)) into the batch buffers.</summary>
    public void SetBatch(Tensor x, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        Check(x, y, x.Size(0));
        if (y.Size(0) != x.Size(0)) throw new ShapeException($"The batch has {x.Size(0)} rows of features but {y.Size(0)} rows of targets.");
        _core.Copy(x, y);
    }

    /// <summary>
    /// Forward, loss and backward on the first <paramref name="rows"/> rows of the batch buffers. Returns
    /// the mean loss; afterwards every parameter's <see cref="Tensor.Grad"/> holds its gradient.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Step(int rows)
    {
        if (rows < 1 || rows > BatchCapacity) throw new BackpropException($"A step takes 1 to {BatchCapacity} rows; got {rows}.");
        return _core.Step(rows);
    }

    /// <summary><see cref="SetBatch"/> followed by <see cref="Step(int)"/> on all its rows.</summary>
    public double Step(Tensor x, Tensor y)
    {
        SetBatch(x, y);
        return Step(x.Size(0));
    }

    /// <summary>Multiply-adds × 2 of one step on <paramref name="rows"/> rows: every GEMM, forward and backward.</summary>
    public long FlopsPerStep(int rows) => _core.Flops(rows);

    private void Check(Tensor x, Tensor y, int rows)
    {
        if (rows > BatchCapacity) throw new BackpropException($"A batch of {rows} rows exceeds this step's capacity of {BatchCapacity}.");
        if (x.DType != DType || y.DType != DType)
            throw new BackpropException($"The step was compiled for {DType.Name()} but the batch is {x.DType.Name()} features and {y.DType.Name()} targets.");
        if (x.Rank != 2 || x.Size(1) != Inputs) throw new ShapeException($"Features must have shape (rows, {Inputs}); got {ShapeUtil.Format(x.Shape)}.");
        if (y.Length != y.Size(0) * Outputs || y.Size(0) != x.Size(0))
            throw new ShapeException($"Targets must have shape (rows, {Outputs}) with one row per feature row; got {ShapeUtil.Format(y.Shape)}.");
    }

    /// <summary>One Linear layer and the activation that follows it (Identity when none does).</summary>
    private sealed record LayerPlan(Linear Layer, Activation Activation, double Slope);

    private static LayerPlan[]? Plan(Sequential model, out string? reason)
    {
        var plan = new List<LayerPlan>();
        var layers = model.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] is not Linear linear)
            {
                reason = $"layer {i} ({layers[i]}) is not a Linear layer after which an activation may follow";
                return null;
            }
            var activation = Activation.Identity;
            double slope = 0;
            if (i + 1 < layers.Count && layers[i + 1] is not Linear)
            {
                switch (layers[i + 1])
                {
                    case ReLU: activation = Activation.Relu; break;
                    case LeakyReLU leaky: activation = Activation.LeakyRelu; slope = leaky.NegativeSlope; break;
                    case Tanh: activation = Activation.Tanh; break;
                    case Sigmoid: activation = Activation.Sigmoid; break;
                    case Softplus: activation = Activation.Softplus; break;
                    case Identity: break;
                    default:
                        reason = $"layer {i + 1} ({layers[i + 1]}) has no fused kernel";
                        return null;
                }
                i++;
            }
            if (plan.Count > 0 && plan[^1].Layer.OutFeatures != linear.InFeatures)
            {
                reason = $"layer {i} expects {linear.InFeatures} inputs but the previous layer gives {plan[^1].Layer.OutFeatures}";
                return null;
            }
            plan.Add(new LayerPlan(linear, activation, slope));
        }
        if (plan.Count == 0)
        {
            reason = "the model has no layers";
            return null;
        }
        reason = null;
        return [.. plan];
    }

    private interface IStepCore
    {
        void Gather(Tensor features, Tensor targets, ReadOnlySpan<int> rows);
        void Copy(Tensor x, Tensor y);
        double Step(int rows);
        long Flops(int rows);
    }

    private sealed class StepCore<T> : IStepCore where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly TaskKind _task;
        private readonly Linear[] _layers;
        private readonly Activation[] _activations;
        private readonly T[] _slopes;
        private readonly int[] _widths;          // widths[0] = inputs, widths[l + 1] = outputs of layer l
        private readonly AlignedBuffer<T> _x;                 // (capacity, widths[0]): the batch's features
        private readonly AlignedBuffer<T> _y;                 // (capacity, widths[^1]): the batch's targets
        private readonly AlignedBuffer<T>[] _z;               // per layer (capacity, widths[l + 1]): pre-activation; the same array as _a[l] when the activation does not need it
        private readonly AlignedBuffer<T>[] _a;               // per layer (capacity, widths[l + 1]): activation, the next layer's input
        private readonly AlignedBuffer<T>[] _d;               // per layer (capacity, widths[l + 1]): dL/da, turned into dL/dz in place
        private readonly Tensor[] _weightGrads;  // per layer (out, in), assigned to Weight.Grad
        private readonly Tensor?[] _biasGrads;   // per layer (out), assigned to Bias.Grad
        private readonly AlignedBuffer<T>?[] _transposed;     // per small layer (in, out): Wᵀ in forward, then dWᵀ in backward; null for large layers

        public StepCore(LayerPlan[] plan, TaskKind task, int capacity)
        {
            _task = task;
            int n = plan.Length;
            _layers = new Linear[n];
            _activations = new Activation[n];
            _slopes = new T[n];
            _widths = new int[n + 1];
            _z = new AlignedBuffer<T>[n];
            _a = new AlignedBuffer<T>[n];
            _d = new AlignedBuffer<T>[n];
            _weightGrads = new Tensor[n];
            _biasGrads = new Tensor?[n];
            _transposed = new AlignedBuffer<T>?[n];
            _widths[0] = plan[0].Layer.InFeatures;
            for (int l = 0; l < n; l++)
            {
                var (layer, activation, slope) = plan[l];
                _layers[l] = layer;
                _activations[l] = activation;
                _slopes[l] = T.CreateChecked(slope);
                _widths[l + 1] = layer.OutFeatures;
                _a[l] = new AlignedBuffer<T>(capacity * layer.OutFeatures);
                _z[l] = NeedsPreActivation(activation) ? new AlignedBuffer<T>(capacity * layer.OutFeatures) : _a[l];
                _d[l] = new AlignedBuffer<T>(capacity * layer.OutFeatures);
                _weightGrads[l] = Tensor.ZerosLike(layer.Weight.Detach());
                _biasGrads[l] = layer.Bias is null ? null : Tensor.ZerosLike(layer.Bias.Detach());
                if (FusedLinear.PrefersTransposedWeights(capacity, layer.InFeatures, layer.OutFeatures))
                    _transposed[l] = new AlignedBuffer<T>(layer.InFeatures * layer.OutFeatures);
            }
            _x = new AlignedBuffer<T>(capacity * _widths[0]);
            _y = new AlignedBuffer<T>(capacity * _widths[n]);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Gather(Tensor features, Tensor targets, ReadOnlySpan<int> rows)
        {
            RowGather.Gather<T>(features.Span<T>(), _x.Span, rows, _widths[0]);
            RowGather.Gather<T>(targets.Span<T>(), _y.Span, rows, _widths[^1]);
        }

        public void Copy(Tensor x, Tensor y)
        {
            x.Span<T>().CopyTo(_x.Span);
            y.Span<T>().CopyTo(_y.Span);
        }

        public long Flops(int rows)
        {
            long flops = 0;
            for (int l = 0; l < _layers.Length; l++)
            {
                long mnk = (long)rows * _widths[l] * _widths[l + 1];
                flops += 2 * mnk * (l == 0 ? 2 : 3); // forward and dW; dX too except for the first layer
            }
            return flops;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public double Step(int m)
        {
            int n = _layers.Length;
            for (int l = 0; l < n; l++)
            {
                int inF = _widths[l], outF = _widths[l + 1];
                ReadOnlySpan<T> input = l == 0 ? _x.AsSpan(0, m * inF) : _a[l - 1].AsSpan(0, m * inF);
                Forward(l, input, m, inF, outF);
            }

            int outputs = _widths[n];
            var logits = _a[n - 1].AsSpan(0, m * outputs);
            var dOut = _d[n - 1].AsSpan(0, m * outputs);
            var targets = _y.AsSpan(0, m * outputs);
            double loss = _task switch
            {
                TaskKind.Binary => FusedLosses.BinaryCrossEntropyWithLogitsForwardBackward<T>(dOut, logits, targets, m * outputs),
                TaskKind.Multiclass => FusedLosses.SoftmaxCrossEntropyForwardBackward<T>(dOut, logits, targets, m, outputs),
                _ => FusedLosses.MeanSquaredErrorForwardBackward<T>(dOut, logits, targets, m * outputs),
            };

            for (int l = n - 1; l >= 0; l--)
            {
                int inF = _widths[l], outF = _widths[l + 1];
                var dz = _d[l].AsSpan(0, m * outF);
                ActivationBackward(l, dz, m * outF);
                ReadOnlySpan<T> input = l == 0 ? _x.AsSpan(0, m * inF) : _a[l - 1].AsSpan(0, m * inF);
                Span<T> dx = l == 0 ? default : _d[l - 1].AsSpan(0, m * inF);
                var layer = _layers[l];
                var bias = _biasGrads[l];
                FusedLinear.LinearBackward<T>(dx, _weightGrads[l].Span<T>(), bias is null ? default : bias.Span<T>(), dz, input,
                    layer.Weight.Span<T>(), m, inF, outF, _transposed[l] is { } t ? t.Span : default);
                layer.Weight.Grad = _weightGrads[l];
                if (layer.Bias is not null) layer.Bias.Grad = bias;
            }
            return loss;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Forward(int l, ReadOnlySpan<T> input, int m, int inF, int outF)
        {
            var layer = _layers[l];
            var z = _z[l].AsSpan(0, m * outF);
            var a = _a[l].AsSpan(0, m * outF);
            ReadOnlySpan<T> w = layer.Weight.Span<T>();
            ReadOnlySpan<T> b = layer.Bias is null ? default : layer.Bias.Span<T>();
            T p = _slopes[l];
            Span<T> wt = _transposed[l] is { } t ? t.Span : default;
            switch (_activations[l])
            {
                case Activation.Relu: FusedLinear.LinearForward<T, ReluActivation>(z, a, input, w, b, m, inF, outF, p, wt); break;
                case Activation.LeakyRelu: FusedLinear.LinearForward<T, LeakyReluActivation>(z, a, input, w, b, m, inF, outF, p, wt); break;
                case Activation.Tanh: FusedLinear.LinearForward<T, TanhActivation>(z, a, input, w, b, m, inF, outF, p, wt); break;
                case Activation.Sigmoid: FusedLinear.LinearForward<T, SigmoidActivation>(z, a, input, w, b, m, inF, outF, p, wt); break;
                case Activation.Softplus: FusedLinear.LinearForward<T, SoftplusActivation>(z, a, input, w, b, m, inF, outF, p, wt); break;
                default: FusedLinear.LinearForward<T, IdentityActivation>(z, a, input, w, b, m, inF, outF, p, wt); break;
            }
        }

        /// <summary>Whether the activation's backward reads z; otherwise z and a share one buffer.</summary>
        private static bool NeedsPreActivation(Activation activation) => activation switch
        {
            Activation.Relu => ReluActivation.NeedsPreActivation,
            Activation.LeakyRelu => LeakyReluActivation.NeedsPreActivation,
            Activation.Tanh => TanhActivation.NeedsPreActivation,
            Activation.Sigmoid => SigmoidActivation.NeedsPreActivation,
            Activation.Softplus => SoftplusActivation.NeedsPreActivation,
            _ => IdentityActivation.NeedsPreActivation,
        };

        /// <summary>dL/da → dL/dz in place for layer <paramref name="l"/>'s activation.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ActivationBackward(int l, Span<T> g, int count)
        {
            ReadOnlySpan<T> z = _z[l].AsSpan(0, count), a = _a[l].AsSpan(0, count);
            T p = _slopes[l];
            switch (_activations[l])
            {
                case Activation.Relu: ReluActivation.Backward(g, z, a, p); break;
                case Activation.LeakyRelu: LeakyReluActivation.Backward(g, z, a, p); break;
                case Activation.Tanh: TanhActivation.Backward(g, z, a, p); break;
                case Activation.Sigmoid: SigmoidActivation.Backward(g, z, a, p); break;
                case Activation.Softplus: SoftplusActivation.Backward(g, z, a, p); break;
                default: break;
            }
        }
    }
}
