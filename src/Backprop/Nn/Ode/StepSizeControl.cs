using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Nn;

/// <summary>
/// The error control shared by the adaptive solvers (the <see cref="DormandPrince54"/> optimizer and
/// <see cref="OdeSolver"/>), as in Hairer, Nørsett and Wanner, Solving ODEs I, §II.4:
/// <code>
/// ‖err‖ = √(mean over i of (errᵢ / (atol + rtol·max(|y₀ᵢ|, |y₁ᵢ|)))²)
/// accept when ‖err‖ ≤ 1;   h ← h·min(5, max(0.2, 0.9·‖err‖^(−1/(q+1))))
/// </code>
/// </summary>
public static class StepSizeControl
{
    public const double SafetyFactor = 0.9;
    public const double MinFactor = 0.2;
    public const double MaxFactor = 5;

    /// <summary>The factor the step size is multiplied by after an attempt with this error norm (accepted or not).</summary>
    public static double NextFactor(double errorNorm, ButcherTableau tableau) =>
        // A NaN norm (the function blew up at some stage) is treated as the worst error: shrink and retry.
        double.IsNaN(errorNorm) ? MinFactor
        : errorNorm == 0 ? MaxFactor
        : Math.Min(MaxFactor, Math.Max(MinFactor, SafetyFactor * Math.Pow(errorNorm, -tableau.ControlExponent)));

    /// <summary>
    /// Σᵢ (errorᵢ / (atol + rtol·max(|originᵢ|, |resultᵢ|)))² over one tensor's elements (plain values).
    /// <paramref name="error"/> is overwritten and <paramref name="scale"/> is scratch of the same shape.
    /// </summary>
    public static double ScaledSumOfSquares(Tensor error, Tensor origin, Tensor result, Tensor scale, double relTol, double absTol) =>
        error.DType == DType.Float32
            ? ScaledSumOfSquares<float>(error, origin, result, scale, relTol, absTol)
            : ScaledSumOfSquares<double>(error, origin, result, scale, relTol, absTol);

    private static double ScaledSumOfSquares<T>(Tensor error, Tensor origin, Tensor result, Tensor scale, double relTol, double absTol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var e = error.AsSpan<T>();
        var s = scale.AsSpan<T>();
        TensorPrimitives.MaxMagnitude(origin.AsReadOnlySpan<T>(), result.AsReadOnlySpan<T>(), s);
        TensorPrimitives.Abs(s, s);
        TensorPrimitives.Multiply(s, T.CreateChecked(relTol), s);
        TensorPrimitives.Add(s, T.CreateChecked(absTol), s);
        TensorPrimitives.Divide(e, s, e);
        return double.CreateChecked(TensorPrimitives.SumOfSquares<T>(e));
    }
}
