using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Nn;

/// <summary>
/// Adam (Kingma and Ba, 2015) as torch.optim.Adam, with t counted per parameter:
/// <code>
/// g ← g + λ·θ                                  (L2 weight decay λ, folded into the gradient)
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// </code>
/// </summary>
public class Adam : FirstOrderOptimizer
{
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private readonly long[] _steps;
    private readonly bool _decoupledWeightDecay;

    public Adam(IEnumerable<(string Name, Tensor Parameter)> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay: false) { }

    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : this(NameByPosition(parameters), lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay: false) { }

    private protected Adam(IEnumerable<(string Name, Tensor Parameter)> parameters, double lr, double beta1, double beta2,
        double eps, double weightDecay, bool decoupledWeightDecay)
        : base(parameters, lr, scratchSlots: 2)
    {
        string name = GetType().Name;
        if (!(beta1 >= 0 && beta1 < 1)) throw new BackpropException($"{name}: beta1 must be in [0, 1); got {beta1}.");
        if (!(beta2 >= 0 && beta2 < 1)) throw new BackpropException($"{name}: beta2 must be in [0, 1); got {beta2}.");
        if (!(eps >= 0)) throw new BackpropException($"{name}: eps must be ≥ 0; got {eps}.");
        if (!(weightDecay >= 0)) throw new BackpropException($"{name}: weight decay must be ≥ 0; got {weightDecay}.");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        _decoupledWeightDecay = decoupledWeightDecay;
        _expAvg = new Tensor[ParameterCount];
        _expAvgSq = new Tensor[ParameterCount];
        _steps = new long[ParameterCount];
        for (int i = 0; i < ParameterCount; i++)
        {
            _expAvg[i] = NewBufferLike(i);
            _expAvgSq[i] = NewBufferLike(i);
        }
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    protected sealed override void Update(int index, Span<float> parameter, ReadOnlySpan<float> gradient) => Update<float>(index, parameter, gradient);
    protected sealed override void Update(int index, Span<double> parameter, ReadOnlySpan<double> gradient) => Update<double>(index, parameter, gradient);

    private void Update<T>(int index, Span<T> theta, ReadOnlySpan<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long t = ++_steps[index];
        if (WeightDecay != 0)
        {
            if (_decoupledWeightDecay) TensorPrimitives.Multiply(theta, T.CreateChecked(1 - LearningRate * WeightDecay), theta);
            else
            {
                var decayed = Scratch<T>(0, theta.Length);
                TensorPrimitives.MultiplyAdd(theta, T.CreateChecked(WeightDecay), g, decayed);
                g = decayed;
            }
        }
        var m = BufferSpan<T>(_expAvg[index]);
        var v = BufferSpan<T>(_expAvgSq[index]);
        var work = Scratch<T>(1, theta.Length);

        TensorPrimitives.Multiply(m, T.CreateChecked(Beta1), m);
        TensorPrimitives.MultiplyAdd(g, T.CreateChecked(1 - Beta1), m, m);

        TensorPrimitives.Multiply(v, T.CreateChecked(Beta2), v);
        TensorPrimitives.Multiply(g, T.CreateChecked(1 - Beta2), work);
        TensorPrimitives.MultiplyAdd(work, g, v, v);

        // The bias corrections are computed in double, as PyTorch does on the host, whatever the dtype.
        double biasCorrection1 = 1 - Math.Pow(Beta1, t);
        double biasCorrection2 = 1 - Math.Pow(Beta2, t);
        double stepSize = LearningRate / biasCorrection1;

        TensorPrimitives.Sqrt(v, work);
        TensorPrimitives.Divide(work, T.CreateChecked(Math.Sqrt(biasCorrection2)), work);
        TensorPrimitives.Add(work, T.CreateChecked(Eps), work);
        TensorPrimitives.Divide(m, work, work);
        TensorPrimitives.MultiplyAdd(work, T.CreateChecked(-stepSize), theta, theta);
    }

    /// <summary>"&lt;name&gt;.exp_avg", "&lt;name&gt;.exp_avg_sq" and "&lt;name&gt;.step" per parameter.</summary>
    protected sealed override void SaveState(OptimizerStateWriter state)
    {
        for (int i = 0; i < ParameterCount; i++)
        {
            string name = ParameterName(i);
            state.Scalar($"{name}.step", _steps[i]);
            state.Buffer($"{name}.exp_avg", _expAvg[i]);
            state.Buffer($"{name}.exp_avg_sq", _expAvgSq[i]);
        }
    }

    protected sealed override void LoadState(OptimizerStateReader state)
    {
        for (int i = 0; i < ParameterCount; i++)
        {
            string name = ParameterName(i);
            _steps[i] = checked((long)state.Scalar($"{name}.step"));
            state.Buffer($"{name}.exp_avg", _expAvg[i]);
            state.Buffer($"{name}.exp_avg_sq", _expAvgSq[i]);
        }
    }
}

/// <summary>
/// AdamW (Loshchilov and Hutter, 2019) as torch.optim.AdamW: Adam whose weight decay is decoupled
/// from the gradient, applied to the parameter before the Adam step, θ ← θ − η·λ·θ; m and v see only
/// the loss gradient. Default λ = 0.01.
/// </summary>
public sealed class AdamW : Adam
{
    public AdamW(IEnumerable<(string Name, Tensor Parameter)> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0.01)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay: true) { }

    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(NameByPosition(parameters), lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay: true) { }
}
