namespace Backprop.Data;

/// <summary>
/// Mini-batches of row indices for one epoch at a time, in a seeded shuffled order. The last batch keeps
/// the leftover rows, so it may be smaller. One index buffer is allocated up front and reused: each
/// <see cref="NextEpoch"/> resets it to the original order and shuffles it, so an epoch's order depends
/// only on the generator's state, which makes a run resumable from <see cref="Rng.GetState"/>.
/// </summary>
public sealed class BatchSampler
{
    private readonly int[] _source;
    private readonly int[] _order;
    private readonly Rng? _rng;

    /// <summary>
    /// Batches over the given row indices (e.g. a split's training rows), shuffled with
    /// <paramref name="rng"/>, or kept in the given order every epoch when it is null.
    /// </summary>
    public BatchSampler(ReadOnlySpan<int> indices, int batchSize, Rng? rng)
    {
        if (batchSize < 1) throw new BackpropException($"The batch size is {batchSize}; it must be at least 1.");
        if (indices.Length == 0) throw new BackpropException("Cannot draw batches from zero rows; the training split is empty.");
        _source = indices.ToArray();
        _order = indices.ToArray();
        BatchSize = batchSize;
        _rng = rng;
    }

    /// <summary>Batches over rows 0..rows-1, shuffled with a generator seeded by <paramref name="seed"/>.</summary>
    public BatchSampler(int rows, int batchSize, ulong seed) : this(Enumerable.Range(0, rows).ToArray(), batchSize, new Rng(seed)) { }

    public int BatchSize { get; }
    public int Count => _source.Length;
    public int BatchCount => (_source.Length + BatchSize - 1) / BatchSize;
    public int Epoch { get; private set; }
    /// <summary>The current epoch's full index order.</summary>
    public ReadOnlySpan<int> Order => _order;

    /// <summary>Starts the next epoch: a fresh order. Returns the number of batches.</summary>
    public int NextEpoch()
    {
        _source.CopyTo(_order, 0);
        _rng?.Shuffle(_order.AsSpan());
        Epoch++;
        return BatchCount;
    }

    /// <summary>The row indices of batch <paramref name="batch"/> of the current epoch; valid until the next <see cref="NextEpoch"/>.</summary>
    public ReadOnlySpan<int> Batch(int batch)
    {
        if ((uint)batch >= (uint)BatchCount)
            throw new ArgumentOutOfRangeException(nameof(batch), $"batch {batch} is outside 0..{BatchCount - 1}");
        int start = batch * BatchSize;
        return _order.AsSpan(start, Math.Min(BatchSize, _order.Length - start));
    }
}
