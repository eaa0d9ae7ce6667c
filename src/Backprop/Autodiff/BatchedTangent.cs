namespace Backprop;

/// <summary>
/// Shape helpers for batched tangents: a tangent of shape (K, …s) holds K directions for a value of
/// shape s (see <see cref="Op.JvpBatched"/>).
/// </summary>
internal static class BatchedTangent
{
    /// <summary>(k, …dims).</summary>
    public static int[] Dims(int k, ReadOnlySpan<int> dims)
    {
        var result = new int[dims.Length + 1];
        result[0] = k;
        dims.CopyTo(result.AsSpan(1));
        return result;
    }

    /// <summary>
    /// The number of directions a tangent carries for <paramref name="primal"/>: 0 for a plain tangent
    /// (same shape as the primal), K for a batched one. The rank tells them apart without a flag, since
    /// a plain tangent always has exactly its primal's shape.
    /// </summary>
    public static int Count(Tensor tangent, Tensor primal) => tangent.Rank == primal.Rank ? 0 : tangent.Dims[0];

    /// <summary>Whether <paramref name="tangent"/> has shape <paramref name="primal"/>'s or (K, …that).</summary>
    public static bool Fits(Tensor tangent, Tensor primal) =>
        ShapeUtil.SameShape(tangent.Dims, primal.Dims) ||
        (tangent.Rank == primal.Rank + 1 && ShapeUtil.SameShape(tangent.Dims.AsSpan(1), primal.Dims));

    /// <summary>
    /// A batched tangent (K, …s) reshaped to (K, 1, …, 1, …s) of rank <paramref name="rank"/> + 1, so
    /// that right-aligned broadcasting against values of rank <paramref name="rank"/> lines the
    /// direction axis up with nothing but itself.
    /// </summary>
    public static Tensor Lift(Tensor t, int rank)
    {
        if (t.Rank >= rank + 1) return t;
        var dims = new int[rank + 1];
        dims.AsSpan().Fill(1);
        dims[0] = t.Dims[0];
        t.Dims.AsSpan(1).CopyTo(dims.AsSpan(rank + 1 - (t.Rank - 1)));
        return t.Reshape(dims);
    }

    /// <summary>Direction <paramref name="j"/> of a batched tangent, in the primal's shape.</summary>
    public static Tensor Direction(Tensor t, int j, int[] primalDims) => t.Slice(0, j, 1).Reshape(primalDims);
}
