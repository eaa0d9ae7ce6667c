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

    public override Tensor Forward(Tensor x)
    {
        foreach (var layer in _layers) x = layer.Forward(x);
        return x;
    }
}
