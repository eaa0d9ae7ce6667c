namespace Backprop.Training;

/// <summary>
/// Data parallelism for <see cref="Trainer"/>, after PyTorch's DistributedDataParallel: every rank
/// holds the same weights, takes its share of each global mini-batch, and the gradients are averaged
/// with one allreduce over a single fused buffer per step, so every rank takes the same optimizer step.
/// </summary>
/// <remarks>
/// With a global batch of B rows split into shares of b_r rows, rank r's gradient of its own mean loss,
/// weighted by b_r / B and summed over ranks, is the gradient of the mean loss over all B rows: the
/// step one process would take, up to the order of floating-point summation. The batch's loss value and
/// a "stop" flag (Ctrl-C on any rank) travel in the same buffer, so they cost no extra message.
/// </remarks>
internal sealed class DataParallel
{
    private readonly ICommunicator _comm;
    private readonly Tensor[] _parameters;
    private readonly double[]? _buffer64;
    private readonly float[]? _buffer32;
    private readonly int _gradientLength;

    public DataParallel(ICommunicator comm, IReadOnlyList<Tensor> parameters)
    {
        _comm = comm;
        _parameters = parameters.ToArray();
        _gradientLength = _parameters.Sum(p => p.Length);
        // [gradients…, weighted loss, stop flag]
        if (_parameters.Length > 0 && _parameters[0].DType == DType.Float32) _buffer32 = new float[_gradientLength + 2];
        else _buffer64 = new double[_gradientLength + 2];
    }

    /// <summary>Time spent inside the gradient allreduce (Stopwatch ticks), for the distributed benchmark.</summary>
    public long AllreduceTicks { get; private set; }
    /// <summary>Bytes of this rank's buffer reduced so far (the payload, not the wire traffic).</summary>
    public long BytesReduced { get; private set; }
    public int Steps { get; private set; }
    /// <summary>Bytes in one step's fused buffer.</summary>
    public int BufferBytes => (_gradientLength + 2) * (_buffer32 is not null ? sizeof(float) : sizeof(double));

    public int Rank => _comm.Rank;
    public int Size => _comm.Size;

    /// <summary>Rows [start, start + count) of a global batch of <paramref name="batch"/> rows belong to <paramref name="rank"/>.</summary>
    public static (int Start, int Count) Share(int batch, int rank, int size)
    {
        int baseCount = batch / size, extra = batch % size;
        int start = rank * baseCount + Math.Min(rank, extra);
        return (start, baseCount + (rank < extra ? 1 : 0));
    }

    /// <summary>Every rank starts from rank 0's weights.</summary>
    public void BroadcastParameters()
    {
        foreach (var p in _parameters)
        {
            var value = p.Detach();
            if (value.DType == DType.Float32) _comm.Broadcast(value.AsSpan<float>());
            else _comm.Broadcast(value.AsSpan<double>());
        }
    }

    /// <summary>
    /// Replaces each parameter's gradient (of this rank's mean loss over <paramref name="localRows"/>
    /// rows; absent or ignored when it has none) with the gradient of the mean loss over the whole batch
    /// of <paramref name="batchRows"/> rows, and returns that batch's mean loss and whether any rank
    /// asked to stop.
    /// </summary>
    public (double Loss, bool Stop) Synchronize(double localLoss, int localRows, int batchRows, bool stop)
    {
        double weight = (double)localRows / batchRows;
        if (_buffer32 is not null) return Synchronize(_buffer32, (float)weight, localLoss * weight, localRows, stop);
        return Synchronize(_buffer64!, weight, localLoss * weight, localRows, stop);
    }

    private (double, bool) Synchronize<T>(T[] buffer, T weight, double weightedLoss, int localRows, bool stop)
        where T : unmanaged, System.Numerics.IFloatingPoint<T>
    {
        var span = buffer.AsSpan();
        int offset = 0;
        foreach (var p in _parameters)
        {
            var target = span.Slice(offset, p.Length);
            if (localRows == 0 || p.Grad is null) target.Clear();
            else
            {
                var grad = p.Grad.AsReadOnlySpan<T>();
                for (int i = 0; i < grad.Length; i++) target[i] = grad[i] * weight;
            }
            offset += p.Length;
        }
        span[_gradientLength] = T.CreateChecked(localRows == 0 ? 0 : weightedLoss);
        span[_gradientLength + 1] = stop ? T.One : T.Zero;
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        _comm.Allreduce(span);
        AllreduceTicks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
        BytesReduced += BufferBytes;
        Steps++;
        offset = 0;
        foreach (var p in _parameters)
        {
            p.Grad ??= Tensor.Zeros(p.Shape.ToArray(), p.DType);
            span.Slice(offset, p.Length).CopyTo(p.Grad.AsSpan<T>());
            offset += p.Length;
        }
        return (double.CreateChecked(span[_gradientLength]), span[_gradientLength + 1] > T.Zero);
    }

    /// <summary>Rank 0's validation figures, so that every rank makes the same early-stopping decision.</summary>
    public (double Loss, double Score) FromRankZero(double loss, double score)
    {
        Span<double> pair = [loss, score];
        _comm.Broadcast(pair);
        return (pair[0], pair[1]);
    }
}
