namespace Backprop.Nn;

/// <summary>Multilayer perceptrons: Linear, activation, Linear, …, Linear.</summary>
public static class Mlp
{
    /// <summary>
    /// A Sequential of Linear layers with <paramref name="activation"/> between them and none after the
    /// last, so the output is logits for the losses in <see cref="Losses"/>. Linear layers sit at
    /// indices 0, 2, 4, …, so parameters are named "0.weight", "0.bias", "2.weight", ….
    /// Every Linear layer is initialised with <paramref name="init"/> (see <see cref="Init.Auto"/> for
    /// the default choice), drawing from <paramref name="rng"/> layer by layer, weight before bias.
    /// </summary>
    public static Sequential Create(int inputs, int[] hidden, int outputs, Activation activation, Init init, Rng rng,
        DType dtype = DType.Float32, double leakySlope = 0.01)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(rng);
        var layers = new List<Module>();
        int previous = inputs;
        foreach (int width in hidden)
        {
            layers.Add(CreateLinear(previous, width, activation, init, rng, dtype, leakySlope));
            layers.Add(activation.CreateModule(leakySlope));
            previous = width;
        }
        layers.Add(CreateLinear(previous, outputs, activation, init, rng, dtype, leakySlope));
        return new Sequential([.. layers]);
    }

    private static Linear CreateLinear(int inFeatures, int outFeatures, Activation activation, Init init, Rng rng, DType dtype, double leakySlope)
    {
        var layer = Linear.Zeroed(inFeatures, outFeatures, bias: true, dtype);
        Initializers.Initialize(layer, init, activation, rng, leakySlope);
        return layer;
    }
}
