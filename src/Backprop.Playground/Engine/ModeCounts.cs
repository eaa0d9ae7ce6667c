namespace Backprop.Playground.Engine;

/// <summary>One layer's share of the three counts.</summary>
/// <param name="Layer">l = 1..L.</param>
/// <param name="ForwardMultiplyAdds">z[l] = W[l] a[l−1] + b[l]: m·n_l·n_{l−1}.</param>
/// <param name="BackwardMultiplyAdds">dW[l] = δ[l] a[l−1]ᵀ, plus da[l−1] = W[l]ᵀ δ[l] when l ≥ 2.</param>
/// <param name="TangentMultiplyAdds">Forward mode, P tangents: W[l] ȧ[l−1] per tangent (l ≥ 2) plus Ẇ[l] a[l−1] for this layer's weights.</param>
/// <param name="TangentNumbers">ȧ[l]: P tangents of shape (n_l, m), carried to the next layer.</param>
public sealed record LayerModeCount(int Layer, long ForwardMultiplyAdds, long BackwardMultiplyAdds, long TangentMultiplyAdds, long TangentNumbers);

/// <summary>
/// Multiply-adds of the network on screen (math.md §4, "why not compute the derivatives during the
/// forward pass?"): backpropagation (one forward pass, one backward pass) against forward mode carrying
/// one tangent per parameter through every layer (dense tangents, as a batched JVP carries them).
/// Biases' tangents add no multiplications and are counted in P only.
/// </summary>
public sealed record ModeCounts(int[] Sizes, int BatchSize, long Parameters, IReadOnlyList<LayerModeCount> Layers)
{
    public long ForwardPass => Layers.Sum(l => l.ForwardMultiplyAdds);
    public long Backpropagation => ForwardPass + Layers.Sum(l => l.BackwardMultiplyAdds);
    /// <summary>The primal pass, every layer's tangent products, and L̇ = Σ ∂L/∂a[L] · ȧ[L] per tangent.</summary>
    public long ForwardMode => ForwardPass + Layers.Sum(l => l.TangentMultiplyAdds) + Parameters * BatchSize * Sizes[^1];
    /// <summary>Numbers reverse mode keeps from the forward pass for the backward one: a[l] and z[l], l = 1..L.</summary>
    public long ReverseStored => 2L * BatchSize * Sizes.Skip(1).Sum();
    public long ForwardModeLargestTangent => Layers.Max(l => l.TangentNumbers);

    public static ModeCounts Of(int[] sizes, int m)
    {
        long p = 0;
        for (int l = 1; l < sizes.Length; l++) p += (long)sizes[l] * (sizes[l - 1] + 1);
        var layers = new List<LayerModeCount>();
        for (int l = 1; l < sizes.Length; l++)
        {
            long mnk = (long)m * sizes[l] * sizes[l - 1];
            long tangent = (l >= 2 ? p * mnk : 0) + mnk; // W ȧ for every tangent (ȧ[0] = 0), then Ẇ a for this layer's weights
            layers.Add(new LayerModeCount(l, mnk, l >= 2 ? 2 * mnk : mnk, tangent, p * sizes[l] * m));
        }
        return new ModeCounts(sizes, m, p, layers);
    }
}
