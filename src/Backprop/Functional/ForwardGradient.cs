namespace Backprop;

/// <summary>One forward-gradient estimate: the direction v, ∇f·v, and g = (∇f·v)·v for each input.</summary>
public sealed record ForwardGradientEstimate(Tensor Value, Tensor DirectionalDerivative, Tensor[] Directions, Tensor[] Gradients);

/// <summary>
/// The forward gradient of Baydin et al. (2022), "Gradients without Backpropagation": with v drawn
/// from N(0, I), g = (∇f·v)·v is an unbiased estimate of ∇f, because E[v vᵀ] = I. It takes one
/// forward-mode pass (one JVP) and no graph. Per component, Var(gᵢ) = (∇f)ᵢ² + |∇f|², so the noise
/// grows with the number of parameters (math.md §4).
/// </summary>
public static class ForwardGradient
{
    /// <summary>Draws v ~ N(0, I) (one tensor per input, in its dtype) and returns f(x), ∇f·v and (∇f·v)·v.</summary>
    public static ForwardGradientEstimate Estimate(Func<Tensor[], Tensor> f, Tensor[] x, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Length == 0) throw new BackpropException("ForwardGradient.Estimate: give at least one input tensor.");
        var v = new Tensor[x.Length];
        for (int i = 0; i < x.Length; i++) v[i] = Tensor.RandomNormal(x[i].Dims.ToArray(), rng, dtype: x[i].DType);
        return FromDirections(f, x, v);
    }

    /// <summary>The estimate for a function of one tensor.</summary>
    public static (Tensor Value, Tensor Gradient) Estimate(Func<Tensor, Tensor> f, Tensor x, Rng rng)
    {
        var e = Estimate(xs => f(xs[0]), [x], rng);
        return (e.Value, e.Gradients[0]);
    }

    /// <summary>
    /// (∇f·v)·v for given directions: unbiased only when v has E[v vᵀ] = I (as N(0, I) does). Exposed
    /// so other distributions (Rademacher, or biased ones for comparison) can be tried.
    /// </summary>
    public static ForwardGradientEstimate FromDirections(Func<Tensor[], Tensor> f, Tensor[] x, Tensor[] v)
    {
        var (value, derivative) = Transforms.Jvp(f, x, v);
        if (value.Length != 1)
            throw new ShapeException($"ForwardGradient needs f to return a single element (a loss), but f returned shape {ShapeUtil.Format(value.Dims)}.");
        var grads = new Tensor[x.Length];
        for (int i = 0; i < x.Length; i++) grads[i] = v[i] * derivative.Reshape();
        return new ForwardGradientEstimate(value, derivative, v, grads);
    }
}
