namespace Backprop.Nn;

/// <summary>Weight initialisation schemes for Linear layers.</summary>
public enum Init
{
    /// <summary>
    /// He (Kaiming) uniform for the ReLU family (ReLU, leaky ReLU, softplus), Xavier (Glorot) uniform
    /// for tanh, sigmoid and identity; biases zero. Each keeps the variance of activations roughly
    /// constant from layer to layer for the activation it was derived for.
    /// </summary>
    Auto,

    /// <summary>PyTorch's <c>nn.Linear</c> default: weights and bias from U(−1/√fan_in, 1/√fan_in).</summary>
    PyTorchDefault,

    /// <summary>U(−a, a), a = gain·√(6 / (fan_in + fan_out)), gain 1; biases zero.</summary>
    XavierUniform,

    /// <summary>N(0, σ²), σ = gain·√(2 / (fan_in + fan_out)), gain 1; biases zero.</summary>
    XavierNormal,

    /// <summary>U(−a, a), a = gain·√(3 / fan_in), gain √2 (√(2/(1+slope²)) for leaky ReLU); biases zero.</summary>
    HeUniform,

    /// <summary>N(0, σ²), σ = gain / √fan_in, gain √2 (√(2/(1+slope²)) for leaky ReLU); biases zero.</summary>
    HeNormal,
}
