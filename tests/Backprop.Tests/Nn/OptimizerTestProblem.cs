using Backprop.Nn;

namespace Backprop.Tests.Nn;

/// <summary>
/// A small smooth loss on two parameters whose gradient the tests can also write by hand:
/// L = Σᵢ (½ aᵢ θᵢ² − cᵢ θᵢ + 0.1 θᵢ⁴), so ∂L/∂θᵢ = aᵢ θᵢ − cᵢ + 0.4 θᵢ³.
/// </summary>
internal sealed class OptimizerTestProblem
{
    public static readonly double[] InitialW = [0.5, -1.2, 0.8, 2.0, -0.3, 0.1];
    public static readonly double[] InitialB = [0.7, -0.4];
    private static readonly double[] Ws = [1.0, 2.0, 0.5, 3.0, 1.5, 0.7];
    private static readonly double[] Bs = [0.9, 1.7];

    public Tensor W { get; }
    public Tensor B { get; }
    private readonly Tensor _aW, _cW, _aB, _cB;

    public OptimizerTestProblem(DType dtype = DType.Float64)
    {
        W = Tensor.FromArray(InitialW, [2, 3], dtype);
        B = Tensor.FromArray(InitialB, [2], dtype);
        W.RequiresGrad = true;
        B.RequiresGrad = true;
        _aW = Tensor.FromArray(Ws, [2, 3], dtype);
        _cW = Tensor.FromArray(Ws.Select(a => 0.3 * a - 0.2).ToArray(), [2, 3], dtype);
        _aB = Tensor.FromArray(Bs, [2], dtype);
        _cB = Tensor.FromArray(Bs.Select(a => -0.5 * a).ToArray(), [2], dtype);
    }

    public IEnumerable<(string Name, Tensor Parameter)> Named => [("w", W), ("b", B)];

    public Tensor Loss()
    {
        static Tensor Part(Tensor t, Tensor a, Tensor c) => (0.5 * a * t.Square() - c * t + 0.1 * t.Pow(4)).Sum();
        return Part(W, _aW, _cW) + Part(B, _aB, _cB);
    }

    /// <summary>The closure optimizers call: clear, evaluate, backpropagate.</summary>
    public Tensor Closure()
    {
        W.ZeroGrad();
        B.ZeroGrad();
        var loss = Loss();
        loss.Backward();
        return loss;
    }

    /// <summary>All parameters as one vector (w then b).</summary>
    public double[] Values() => [.. W.ToDoubleArray(), .. B.ToDoubleArray()];

    public void SetValues(double[] values)
    {
        W.CopyFrom(Tensor.FromArray(values[..6], [2, 3], W.DType));
        B.CopyFrom(Tensor.FromArray(values[6..], [2], B.DType));
    }

    public static double[] InitialValues => [.. InitialW, .. InitialB];

    /// <summary>The hand-written gradient for the flattened vector.</summary>
    public static double[] Gradient(double[] theta)
    {
        double[] a = [.. Ws, .. Bs];
        double[] c = [.. Ws.Select(x => 0.3 * x - 0.2), .. Bs.Select(x => -0.5 * x)];
        var g = new double[theta.Length];
        for (int i = 0; i < theta.Length; i++) g[i] = a[i] * theta[i] - c[i] + 0.4 * Math.Pow(theta[i], 3);
        return g;
    }
}
