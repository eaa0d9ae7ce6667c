namespace Backprop.Training;

/// <summary>The reduction an <see cref="ICommunicator.Allreduce{T}"/> applies.</summary>
public enum ReduceOp { Sum, Max, Min }

/// <summary>
/// The collective operations data-parallel training needs. <c>Backprop.Distributed.MpiCommunicator</c> runs them over
/// MPI; <see cref="SingleProcess"/> is the one-process identity, so the same training code runs with or
/// without mpirun.
/// </summary>
public interface ICommunicator
{
    int Rank { get; }
    int Size { get; }
    /// <summary>Replaces every rank's <paramref name="values"/> with their element-wise reduction over all ranks.</summary>
    void Allreduce<T>(Span<T> values, ReduceOp op = ReduceOp.Sum) where T : unmanaged;
    /// <summary>Copies <paramref name="root"/>'s <paramref name="values"/> to every rank.</summary>
    void Broadcast<T>(Span<T> values, int root = 0) where T : unmanaged;
    void Barrier();
}

/// <summary>One process: every collective is the identity.</summary>
public sealed class SingleProcess : ICommunicator
{
    public static readonly SingleProcess Instance = new();
    public int Rank => 0;
    public int Size => 1;
    public void Allreduce<T>(Span<T> values, ReduceOp op = ReduceOp.Sum) where T : unmanaged { }
    public void Broadcast<T>(Span<T> values, int root = 0) where T : unmanaged { }
    public void Barrier() { }
}

