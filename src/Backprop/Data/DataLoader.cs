using System.Collections;

namespace Backprop.Data;

/// <summary>
/// Mini-batches of tensors along their first axis, PyTorch's <c>DataLoader</c> over a
/// <c>TensorDataset</c>: each enumeration is one epoch, shuffled (when asked) by a generator seeded once,
/// so the sequence of epochs is the same in every run. Every tensor given must have the same number of
/// rows; each batch holds the same rows of each, as new plain tensors.
/// </summary>
public sealed class DataLoader : IEnumerable<Tensor[]>
{
    private readonly Tensor[] _tensors;
    private readonly int[] _order;
    private readonly Rng _rng;

    /// <param name="tensors">Tensors with the same first dimension, e.g. features and targets.</param>
    /// <param name="batchSize">Rows per batch (the last may be smaller unless <paramref name="dropLast"/>).</param>
    /// <param name="shuffle">Whether each epoch visits the rows in a fresh random order.</param>
    /// <param name="dropLast">Whether to leave out a last batch smaller than <paramref name="batchSize"/>.</param>
    /// <param name="seed">Seed of the shuffling generator.</param>
    public DataLoader(IReadOnlyList<Tensor> tensors, int batchSize, bool shuffle = false, bool dropLast = false, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new BackpropException("DataLoader needs at least one tensor.");
        if (batchSize < 1) throw new BackpropException($"DataLoader: the batch size must be at least 1; got {batchSize}.");
        for (int i = 0; i < tensors.Count; i++)
        {
            if (tensors[i].Rank == 0) throw new ShapeException($"DataLoader: tensor {i} is a scalar; every tensor needs a first axis of rows.");
            if (tensors[i].Size(0) != tensors[0].Size(0))
                throw new ShapeException($"DataLoader: tensor {i} has {tensors[i].Size(0)} rows (shape {ShapeUtil.Format(tensors[i].Shape)}) but tensor 0 has {tensors[0].Size(0)}; all must have the same number.");
        }
        _tensors = [.. tensors.Select(t => t.Detach())];
        _order = new int[Count];
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        _rng = new Rng(seed);
    }

    /// <summary>Batches of (features, targets).</summary>
    public DataLoader(Tensor features, Tensor targets, int batchSize, bool shuffle = false, bool dropLast = false, ulong seed = 0)
        : this([features, targets], batchSize, shuffle, dropLast, seed) { }

    public int BatchSize { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    /// <summary>Rows in the data.</summary>
    public int Count => _tensors[0].Size(0);
    /// <summary>Batches per epoch.</summary>
    public int BatchCount => DropLast ? Count / BatchSize : (Count + BatchSize - 1) / BatchSize;

    /// <summary>One epoch of batches; each batch has one tensor per tensor given, in the same order.</summary>
    public IEnumerator<Tensor[]> GetEnumerator()
    {
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        if (Shuffle) _rng.Shuffle(_order.AsSpan());
        var order = (int[])_order.Clone();   // a later epoch started while this one runs does not change it
        for (int b = 0; b < BatchCount; b++)
        {
            int start = b * BatchSize, count = Math.Min(BatchSize, order.Length - start);
            var rows = order.AsSpan(start, count);
            var batch = new Tensor[_tensors.Length];
            for (int t = 0; t < _tensors.Length; t++) batch[t] = GatherRows(_tensors[t], rows);
            yield return batch;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The rows of <paramref name="source"/> at <paramref name="indices"/> (along the first axis), as a new plain tensor.</summary>
    internal static Tensor GatherRows(Tensor source, ReadOnlySpan<int> indices)
    {
        int width = source.Length / Math.Max(1, source.Size(0));
        var dims = source.Shape.ToArray();
        dims[0] = indices.Length;
        var result = Tensor.Zeros(dims, source.DType);
        if (source.DType == DType.Float32) Gather(source.AsReadOnlySpan<float>(), result.AsSpan<float>(), indices, width);
        else Gather(source.AsReadOnlySpan<double>(), result.AsSpan<double>(), indices, width);
        return result;
    }

    internal static void Gather<T>(ReadOnlySpan<T> source, Span<T> destination, ReadOnlySpan<int> indices, int width)
    {
        for (int i = 0; i < indices.Length; i++)
            source.Slice(indices[i] * width, width).CopyTo(destination.Slice(i * width, width));
    }
}
