namespace Backprop.Nn;

/// <summary>
/// Initialisers that fill a parameter in place from a seeded <see cref="Rng"/>, in row-major order,
/// so the same seed gives the same network on every machine. They follow torch.nn.init: fan_in is
/// the number of columns of a weight of shape (out, in), fan_out the number of rows.
/// </summary>
public static class Initializers
{
    private static readonly Lock s_defaultLock = new();
    private static Rng s_defaultRng = new(0);

    /// <summary>
    /// The generator layers draw from when none is given (PyTorch's global generator). Seed it with
    /// <see cref="ManualSeed"/>. Like any Rng it must not be drawn from on two threads at once; code
    /// that builds layers concurrently, or needs independent streams, should pass its own Rng.
    /// </summary>
    public static Rng DefaultRng
    {
        get { lock (s_defaultLock) return s_defaultRng; }
    }

    /// <summary>Reseeds <see cref="DefaultRng"/> (PyTorch's <c>torch.manual_seed</c>).</summary>
    public static void ManualSeed(ulong seed)
    {
        lock (s_defaultLock) s_defaultRng = new Rng(seed);
    }

    /// <summary>(fan_in, fan_out) of a weight (out, in, …): receptive-field dimensions multiply both.</summary>
    public static (int FanIn, int FanOut) Fans(Tensor weight)
    {
        if (weight.Rank < 2)
            throw new ShapeException($"Fan-in and fan-out need a weight of rank 2 or more; got shape {ShapeUtil.Format(weight.Shape)}.");
        int receptive = 1;
        for (int i = 2; i < weight.Rank; i++) receptive *= weight.Shape[i];
        return (weight.Shape[1] * receptive, weight.Shape[0] * receptive);
    }

    /// <summary>
    /// The He gain of torch.nn.init.calculate_gain: √(2 / (1 + slope²)) for leaky ReLU, √2 otherwise
    /// (the ReLU value; He initialisation is derived for rectifiers).
    /// </summary>
    public static double HeGain(Activation activation, double leakySlope = 0.01) =>
        activation == Activation.LeakyRelu ? Math.Sqrt(2.0 / (1 + leakySlope * leakySlope)) : Math.Sqrt(2.0);

    /// <summary>Fills with U(low, high).</summary>
    public static void Uniform(Tensor tensor, Rng rng, double low, double high)
    {
        using var _ = Autodiff.NoGrad();
        if (tensor.DType == DType.Float32)
        {
            var s = tensor.AsSpan<float>();
            for (int i = 0; i < s.Length; i++) s[i] = (float)(low + (high - low) * rng.NextDouble());
        }
        else
        {
            var s = tensor.AsSpan<double>();
            for (int i = 0; i < s.Length; i++) s[i] = low + (high - low) * rng.NextDouble();
        }
    }

    /// <summary>Fills with N(mean, std²).</summary>
    public static void Normal(Tensor tensor, Rng rng, double mean, double std)
    {
        using var _ = Autodiff.NoGrad();
        if (tensor.DType == DType.Float32)
        {
            var s = tensor.AsSpan<float>();
            for (int i = 0; i < s.Length; i++) s[i] = (float)(mean + std * rng.NextNormal());
        }
        else
        {
            var s = tensor.AsSpan<double>();
            for (int i = 0; i < s.Length; i++) s[i] = mean + std * rng.NextNormal();
        }
    }

    public static void Zeros(Tensor tensor) => tensor.Fill(0);

    /// <summary>Glorot and Bengio (2010): U(−a, a) with a = gain·√(6 / (fan_in + fan_out)), variance gain²·2/(fan_in + fan_out).</summary>
    public static void XavierUniform(Tensor weight, Rng rng, double gain = 1)
    {
        var (fanIn, fanOut) = Fans(weight);
        double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        Uniform(weight, rng, -bound, bound);
    }

    /// <summary>N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)).</summary>
    public static void XavierNormal(Tensor weight, Rng rng, double gain = 1)
    {
        var (fanIn, fanOut) = Fans(weight);
        Normal(weight, rng, 0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)));
    }

    /// <summary>He et al. (2015), fan_in mode: U(−a, a) with a = gain·√(3 / fan_in), variance gain²/fan_in (2/fan_in for ReLU).</summary>
    public static void HeUniform(Tensor weight, Rng rng, double gain = 1.4142135623730951)
    {
        var (fanIn, _) = Fans(weight);
        double bound = gain * Math.Sqrt(3.0 / fanIn);
        Uniform(weight, rng, -bound, bound);
    }

    /// <summary>N(0, σ²) with σ = gain / √fan_in.</summary>
    public static void HeNormal(Tensor weight, Rng rng, double gain = 1.4142135623730951)
    {
        var (fanIn, _) = Fans(weight);
        Normal(weight, rng, 0, gain / Math.Sqrt(fanIn));
    }

    /// <summary>
    /// PyTorch's <c>nn.Linear.reset_parameters</c>: kaiming_uniform with a = √5, whose gain √(2/(1+5))
    /// makes the bound gain·√(3/fan_in) = 1/√fan_in; the bias uses the same bound.
    /// </summary>
    public static void PyTorchLinearDefault(Tensor weight, Tensor? bias, Rng rng)
    {
        var (fanIn, _) = Fans(weight);
        double bound = 1.0 / Math.Sqrt(fanIn);
        Uniform(weight, rng, -bound, bound);
        if (bias is not null) Uniform(bias, rng, -bound, bound);
    }

    /// <summary>The scheme <see cref="Init.Auto"/> stands for, given the network's activation.</summary>
    public static Init Resolve(Init init, Activation activation) =>
        init != Init.Auto ? init : activation.IsReluFamily() ? Init.HeUniform : Init.XavierUniform;

    /// <summary>Initialises a Linear layer's weight (then bias) with a scheme chosen for <paramref name="activation"/>.</summary>
    public static void Initialize(Linear layer, Init init, Activation activation, Rng rng, double leakySlope = 0.01)
    {
        switch (Resolve(init, activation))
        {
            case Init.PyTorchDefault:
                PyTorchLinearDefault(layer.Weight, layer.Bias, rng);
                return;
            case Init.XavierUniform: XavierUniform(layer.Weight, rng); break;
            case Init.XavierNormal: XavierNormal(layer.Weight, rng); break;
            case Init.HeUniform: HeUniform(layer.Weight, rng, HeGain(activation, leakySlope)); break;
            case Init.HeNormal: HeNormal(layer.Weight, rng, HeGain(activation, leakySlope)); break;
            default: throw new ArgumentOutOfRangeException(nameof(init), init, null);
        }
        if (layer.Bias is not null) Zeros(layer.Bias);
    }
}
