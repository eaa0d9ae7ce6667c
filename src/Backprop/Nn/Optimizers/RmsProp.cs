using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Nn;

/// <summary>
/// RMSprop as torch.optim.RMSprop (no bias correction; every buffer starts at zero):
/// <code>
/// g ← g + λ·θ
/// s ← α·s + (1 − α)·g²
/// a ← α·a + (1 − α)·g,  r ← √(s − a²) + ε        (centered)
///                       r ← √s + ε               (otherwise)
/// b ← μ·b + g / r,  θ ← θ − η·b                  (momentum μ &gt; 0)
/// θ ← θ − η·g / r                                (otherwise)
/// </code>
/// </summary>
public sealed class RmsProp : FirstOrderOptimizer
{
    private readonly Tensor[] _squareAvg;
    private readonly Tensor[]? _gradAvg;
    private readonly Tensor[]? _momentumBuffers;

    public RmsProp(IEnumerable<(string Name, Tensor Parameter)> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false)
        : base(parameters, lr, scratchSlots: 2)
    {
        if (!(alpha >= 0)) throw new BackpropException($"RmsProp: alpha must be ≥ 0; got {alpha}.");
        if (!(eps >= 0)) throw new BackpropException($"RmsProp: eps must be ≥ 0; got {eps}.");
        if (!(momentum >= 0)) throw new BackpropException($"RmsProp: momentum must be ≥ 0; got {momentum}.");
        if (!(weightDecay >= 0)) throw new BackpropException($"RmsProp: weight decay must be ≥ 0; got {weightDecay}.");
        Alpha = alpha;
        Eps = eps;
        WeightDecay = weightDecay;
        Momentum = momentum;
        Centered = centered;
        _squareAvg = new Tensor[ParameterCount];
        if (centered) _gradAvg = new Tensor[ParameterCount];
        if (momentum > 0) _momentumBuffers = new Tensor[ParameterCount];
        for (int i = 0; i < ParameterCount; i++)
        {
            _squareAvg[i] = NewBufferLike(i);
            if (_gradAvg is not null) _gradAvg[i] = NewBufferLike(i);
            if (_momentumBuffers is not null) _momentumBuffers[i] = NewBufferLike(i);
        }
    }

    public RmsProp(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false)
        : this(NameByPosition(parameters), lr, alpha, eps, weightDecay, momentum, centered) { }

    public double Alpha { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    public double Momentum { get; }
    public bool Centered { get; }

    protected override void Update(int index, Span<float> parameter, ReadOnlySpan<float> gradient) => Update<float>(index, parameter, gradient);
    protected override void Update(int index, Span<double> parameter, ReadOnlySpan<double> gradient) => Update<double>(index, parameter, gradient);

    private void Update<T>(int index, Span<T> theta, ReadOnlySpan<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (WeightDecay != 0)
        {
            var decayed = Scratch<T>(0, theta.Length);
            TensorPrimitives.MultiplyAdd(theta, T.CreateChecked(WeightDecay), g, decayed);
            g = decayed;
        }
        var alpha = T.CreateChecked(Alpha);
        var oneMinusAlpha = T.CreateChecked(1 - Alpha);
        var s = BufferSpan<T>(_squareAvg[index]);
        var r = Scratch<T>(1, theta.Length);

        TensorPrimitives.Multiply(s, alpha, s);
        TensorPrimitives.Multiply(g, oneMinusAlpha, r);
        TensorPrimitives.MultiplyAdd(r, g, s, s);

        if (_gradAvg is not null)
        {
            var a = BufferSpan<T>(_gradAvg[index]);
            TensorPrimitives.Multiply(a, alpha, a);
            TensorPrimitives.MultiplyAdd(g, oneMinusAlpha, a, a);
            TensorPrimitives.Multiply(a, a, r);
            TensorPrimitives.Subtract(s, r, r);
            TensorPrimitives.Sqrt(r, r);
        }
        else TensorPrimitives.Sqrt(s, r);
        TensorPrimitives.Add(r, T.CreateChecked(Eps), r);
        TensorPrimitives.Divide(g, r, r);

        var step = T.CreateChecked(-LearningRate);
        if (_momentumBuffers is not null)
        {
            var b = BufferSpan<T>(_momentumBuffers[index]);
            TensorPrimitives.MultiplyAdd(b, T.CreateChecked(Momentum), r, b);
            TensorPrimitives.MultiplyAdd(b, step, theta, theta);
        }
        else TensorPrimitives.MultiplyAdd(r, step, theta, theta);
    }

    /// <summary>"&lt;name&gt;.square_avg", and "&lt;name&gt;.grad_avg" (centered) and "&lt;name&gt;.momentum_buffer" (momentum) per parameter.</summary>
    protected override void SaveState(OptimizerStateWriter state)
    {
        for (int i = 0; i < ParameterCount; i++)
        {
            string name = ParameterName(i);
            state.Buffer($"{name}.square_avg", _squareAvg[i]);
            if (_gradAvg is not null) state.Buffer($"{name}.grad_avg", _gradAvg[i]);
            if (_momentumBuffers is not null) state.Buffer($"{name}.momentum_buffer", _momentumBuffers[i]);
        }
    }

    protected override void LoadState(OptimizerStateReader state)
    {
        for (int i = 0; i < ParameterCount; i++)
        {
            string name = ParameterName(i);
            state.Buffer($"{name}.square_avg", _squareAvg[i]);
            if (_gradAvg is not null) state.Buffer($"{name}.grad_avg", _gradAvg[i]);
            if (_momentumBuffers is not null) state.Buffer($"{name}.momentum_buffer", _momentumBuffers[i]);
        }
    }
}
