using System.Numerics.Tensors;

namespace Backprop.Nn;

/// <summary>Gradient clipping, as torch.nn.utils.</summary>
public static class GradientClipping
{
    /// <summary>
    /// torch.nn.utils.clip_grad_norm_: the total norm is the L2 norm of all gradients taken together,
    /// ‖g‖ = √(Σ over parameters of Σᵢ gᵢ²); when it exceeds <paramref name="maxNorm"/>, every gradient
    /// is multiplied by maxNorm / (‖g‖ + 10⁻⁶). Parameters without a gradient are ignored.
    /// Returns the norm before clipping.
    /// </summary>
    /// <remarks>
    /// Each clipped gradient is replaced by a scaled copy rather than scaled in place: a backward pass
    /// may hand the same tensor to several leaves as their gradient (an Add's two operands both get
    /// the upstream gradient), and scaling it in place would clip those parameters twice.
    /// </remarks>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0)) throw new BackpropException($"ClipGradNorm: maxNorm must be ≥ 0; got {maxNorm}.");
        var withGradients = new List<Tensor>();
        double sumOfSquares = 0;
        foreach (var p in parameters)
        {
            if (p.Grad is not { } g) continue;
            withGradients.Add(p);
            double norm = g.DType == DType.Float32 ? TensorPrimitives.Norm(g.AsReadOnlySpan<float>()) : TensorPrimitives.Norm(g.AsReadOnlySpan<double>());
            sumOfSquares += norm * norm;
        }
        double totalNorm = Math.Sqrt(sumOfSquares);
        if (!double.IsFinite(totalNorm) && errorIfNonfinite)
            throw new BackpropException($"ClipGradNorm: the total gradient norm is {totalNorm}; some gradient holds NaN or infinity.");
        double coefficient = maxNorm / (totalNorm + 1e-6);
        // PyTorch multiplies by min(coefficient, 1); multiplying by 1 changes nothing, so only clip when below it.
        if (coefficient < 1 || double.IsNaN(coefficient))
        {
            using var _ = Autodiff.NoGrad();
            foreach (var p in withGradients) p.Grad = Scaled(p.Grad!, coefficient);
        }
        return totalNorm;
    }

    private static Tensor Scaled(Tensor gradient, double coefficient)
    {
        var result = Tensor.ZerosLike(gradient);
        if (gradient.DType == DType.Float32) TensorPrimitives.Multiply(gradient.AsReadOnlySpan<float>(), (float)coefficient, result.AsSpan<float>());
        else TensorPrimitives.Multiply(gradient.AsReadOnlySpan<double>(), coefficient, result.AsSpan<double>());
        return result;
    }
}
