using System.Numerics.Tensors;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop.Nn;

/// <summary>
/// Stochastic gradient descent with optional momentum, as torch.optim.SGD:
/// <code>
/// d ← g + λ·θ                              (weight decay λ)
/// b ← d on the first step, else μ·b + (1 − τ)·d   (momentum μ, dampening τ)
/// d ← d + μ·b if nesterov, else b
/// θ ← θ − η·d
/// </code>
/// With μ = 0 this is θ ← θ − η·g, the explicit Euler step of the gradient flow dθ/dt = −∇L.
/// </summary>
public sealed class Sgd : FirstOrderOptimizer
{
    private readonly Tensor[]? _momentumBuffers;
    private readonly bool[] _hasMomentumBuffer;

    public Sgd(IEnumerable<(string Name, Tensor Parameter)> parameters, double lr, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false)
        : base(parameters, lr, scratchSlots: 2)
    {
        if (!(momentum >= 0)) throw new BackpropException($"Sgd: momentum must be ≥ 0; got {momentum}.");
        if (!(weightDecay >= 0)) throw new BackpropException($"Sgd: weight decay must be ≥ 0; got {weightDecay}.");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new BackpropException("Sgd: Nesterov momentum requires momentum > 0 and dampening = 0.");
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _hasMomentumBuffer = new bool[ParameterCount];
        if (momentum != 0)
        {
            _momentumBuffers = new Tensor[ParameterCount];
            for (int i = 0; i < ParameterCount; i++) _momentumBuffers[i] = NewBufferLike(i);
        }
    }

    public Sgd(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : this(NameByPosition(parameters), lr, momentum, dampening, weightDecay, nesterov) { }

    public double Momentum { get; }
    public double Dampening { get; }
    public double WeightDecay { get; }
    public bool Nesterov { get; }

    protected override void Update(int index, Span<float> parameter, ReadOnlySpan<float> gradient) => Update<float>(index, parameter, gradient);
    protected override void Update(int index, Span<double> parameter, ReadOnlySpan<double> gradient) => Update<double>(index, parameter, gradient);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Update<T>(int index, Span<T> theta, ReadOnlySpan<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> d = g;
        if (WeightDecay != 0)
        {
            var decayed = Scratch<T>(0, theta.Length);
            TensorPrimitives.MultiplyAdd(theta, T.CreateChecked(WeightDecay), g, decayed);
            d = decayed;
        }
        if (_momentumBuffers is not null)
        {
            var mu = T.CreateChecked(Momentum);
            var b = BufferSpan<T>(_momentumBuffers[index]);
            if (!_hasMomentumBuffer[index])
            {
                d.CopyTo(b);
                _hasMomentumBuffer[index] = true;
            }
            else
            {
                TensorPrimitives.Multiply(b, mu, b);
                TensorPrimitives.MultiplyAdd(d, T.CreateChecked(1 - Dampening), b, b);
            }
            if (Nesterov)
            {
                var look = Scratch<T>(1, theta.Length);
                TensorPrimitives.MultiplyAdd(b, mu, d, look);
                d = look;
            }
            else d = b;
        }
        Kernels.Axpy.MultiplyAddInPlace(d, T.CreateChecked(-LearningRate), theta);
    }

    /// <summary>"&lt;name&gt;.momentum_buffer" for each parameter whose buffer exists (after its first step).</summary>
    protected override void SaveState(OptimizerStateWriter state)
    {
        if (_momentumBuffers is null) return;
        for (int i = 0; i < ParameterCount; i++)
            if (_hasMomentumBuffer[i]) state.Buffer($"{ParameterName(i)}.momentum_buffer", _momentumBuffers[i]);
    }

    protected override void LoadState(OptimizerStateReader state)
    {
        for (int i = 0; i < ParameterCount; i++)
        {
            string key = $"{ParameterName(i)}.momentum_buffer";
            _hasMomentumBuffer[i] = _momentumBuffers is not null && state.Contains(key);
            if (_hasMomentumBuffer[i]) state.Buffer(key, _momentumBuffers![i]);
        }
    }
}
