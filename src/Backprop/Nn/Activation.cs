namespace Backprop.Nn;

/// <summary>The hidden-layer activations a network can be built with (math.md §1).</summary>
public enum Activation
{
    Relu,
    LeakyRelu,
    Tanh,
    Sigmoid,
    Softplus,
    Identity,
}

public static class ActivationExtensions
{
    /// <summary>The names <see cref="Parse"/> accepts, canonical spelling first for each activation.</summary>
    public static IReadOnlyList<string> ValidNames { get; } =
        ["relu", "leaky_relu", "leaky-relu", "tanh", "sigmoid", "softplus", "identity", "linear"];

    /// <summary>Parses "relu", "leaky_relu"/"leaky-relu", "tanh", "sigmoid", "softplus", "identity"/"linear" (any case).</summary>
    public static Activation Parse(string text) =>
        TryParse(text, out var activation)
            ? activation
            : throw new BackpropException($"Unknown activation '{text}': use one of {string.Join(", ", ValidNames)}.");

    public static bool TryParse(string? text, out Activation activation)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "relu": activation = Activation.Relu; return true;
            case "leaky_relu" or "leaky-relu" or "leakyrelu": activation = Activation.LeakyRelu; return true;
            case "tanh": activation = Activation.Tanh; return true;
            case "sigmoid": activation = Activation.Sigmoid; return true;
            case "softplus": activation = Activation.Softplus; return true;
            case "identity" or "linear": activation = Activation.Identity; return true;
            default: activation = default; return false;
        }
    }

    /// <summary>The canonical lower-case name, as accepted by <see cref="Parse"/>.</summary>
    public static string Name(this Activation activation) => activation switch
    {
        Activation.Relu => "relu",
        Activation.LeakyRelu => "leaky_relu",
        Activation.Tanh => "tanh",
        Activation.Sigmoid => "sigmoid",
        Activation.Softplus => "softplus",
        Activation.Identity => "identity",
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, null),
    };

    /// <summary>A module applying the activation; <paramref name="leakySlope"/> is used by leaky ReLU only.</summary>
    public static Module CreateModule(this Activation activation, double leakySlope = 0.01) => activation switch
    {
        Activation.Relu => new ReLU(),
        Activation.LeakyRelu => new LeakyReLU(leakySlope),
        Activation.Tanh => new Tanh(),
        Activation.Sigmoid => new Sigmoid(),
        Activation.Softplus => new Softplus(),
        Activation.Identity => new Identity(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, null),
    };

    /// <summary>Whether the activation is ReLU-like (unbounded above, about half its inputs damped), the case He initialisation is derived for.</summary>
    public static bool IsReluFamily(this Activation activation) =>
        activation is Activation.Relu or Activation.LeakyRelu or Activation.Softplus;
}
