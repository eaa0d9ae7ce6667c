namespace Backprop.Nn;

/// <summary>
/// Modules applied in order. Parameters are named by the layer's index in the sequence, as in
/// PyTorch's <c>nn.Sequential</c>: "0.weight", "0.bias", "2.weight", … (activations at odd indices own
/// no parameters, so the numbers skip).
/// </summary>
public sealed class Sequential : Module
{
    [NotRegistered] private readonly Module[] _layers;

    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        for (int i = 0; i < layers.Length; i++)
            if (layers[i] is null) throw new BackpropException($"Sequential: layer {i} is null.");
        _layers = (Module[])layers.Clone();
        for (int i = 0; i < _layers.Length; i++) RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), _layers[i]);
    }

    public IReadOnlyList<Module> Layers => _layers;

    public int Count => _layers.Length;

    public Module this[int index] => _layers[index];

    /// <summary>
    /// Applies the layers in order. A <see cref="Linear"/> followed by an activation module runs as one
    /// fused op (<see cref="Linear.Forward(Tensor, Activation, double)"/>): the same values, one output and
    /// one backward step instead of three.
    /// </summary>
    public override Tensor Forward(Tensor x)
    {
        for (int i = 0; i < _layers.Length; i++)
        {
            if (_layers[i] is Linear linear && i + 1 < _layers.Length && ActivationOf(_layers[i + 1]) is var (activation, slope))
            {
                x = linear.Forward(x, activation, slope);
                i++;
            }
            else x = _layers[i].Forward(x);
        }
        return x;
    }

    private static (Activation, double)? ActivationOf(Module module) => module switch
    {
        ReLU => (Activation.Relu, 0),
        LeakyReLU leaky => (Activation.LeakyRelu, leaky.NegativeSlope),
        Tanh => (Activation.Tanh, 0),
        Sigmoid => (Activation.Sigmoid, 0),
        Softplus => (Activation.Softplus, 0),
        _ => null,
    };
}
