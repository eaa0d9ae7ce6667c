using System.Text;
using Backprop.Training;

namespace Backprop.Distributed;

/// <summary>An MPI call that failed, with MPI's own description of the error.</summary>
public sealed class MpiException(string message) : BackpropException(message);

/// <summary>
/// <c>MPI_COMM_WORLD</c> of Open MPI. <see cref="Initialize"/> calls MPI_Init once per process; the
/// communicator sets MPI_ERRORS_RETURN so that a failing call comes back as an <see cref="MpiException"/>
/// naming the call and MPI's message rather than aborting the process without a word.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator, IDisposable
{
    private static MpiCommunicator? _world;
    private readonly IntPtr _comm;
    private bool _disposed;

    private MpiCommunicator()
    {
        _comm = MpiNative.Symbol("ompi_mpi_comm_world");
        int initialized;
        Check(MpiNative.MPI_Initialized(&initialized), "MPI_Initialized");
        if (initialized == 0) Check(MpiNative.MPI_Init(IntPtr.Zero, IntPtr.Zero), "MPI_Init");
        Check(MpiNative.MPI_Comm_set_errhandler(_comm, MpiNative.Symbol("ompi_mpi_errors_return")), "MPI_Comm_set_errhandler");
        int rank, size;
        Check(MpiNative.MPI_Comm_rank(_comm, &rank), "MPI_Comm_rank");
        Check(MpiNative.MPI_Comm_size(_comm, &size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
    }

    /// <summary>True when this process was started by mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE).</summary>
    public static bool LaunchedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <summary>The world communicator, initialising MPI on first use.</summary>
    public static MpiCommunicator Initialize() => _world ??= new MpiCommunicator();

    public int Rank { get; }
    public int Size { get; }

    public void Allreduce<T>(Span<T> values, ReduceOp op = ReduceOp.Sum) where T : unmanaged
    {
        ThrowIfDisposed();
        if (values.IsEmpty) return;
        fixed (T* p = values)
            Check(MpiNative.MPI_Allreduce(MpiNative.InPlace, p, values.Length, DataType<T>(), Op(op), _comm), "MPI_Allreduce");
    }

    public void Broadcast<T>(Span<T> values, int root = 0) where T : unmanaged
    {
        ThrowIfDisposed();
        if (values.IsEmpty) return;
        fixed (T* p = values)
            Check(MpiNative.MPI_Bcast(p, values.Length, DataType<T>(), root, _comm), "MPI_Bcast");
    }

    public void Barrier()
    {
        ThrowIfDisposed();
        Check(MpiNative.MPI_Barrier(_comm), "MPI_Barrier");
    }

    /// <summary>Ends every rank of the job with <paramref name="code"/> (after an error on one rank, so the others do not wait forever).</summary>
    public void Abort(int code) => MpiNative.MPI_Abort(_comm, code);

    /// <summary>MPI_Finalize; after it no collective may be called.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        int finalized;
        MpiNative.MPI_Finalized(&finalized);
        if (finalized == 0) MpiNative.MPI_Finalize();
    }

    private void ThrowIfDisposed()
    {
        if (_disposed) throw new MpiException("MPI has been finalized; no further collective calls can be made in this process.");
    }

    private static IntPtr DataType<T>() where T : unmanaged =>
        typeof(T) == typeof(double) ? MpiNative.Symbol("ompi_mpi_double")
        : typeof(T) == typeof(float) ? MpiNative.Symbol("ompi_mpi_float")
        : typeof(T) == typeof(int) ? MpiNative.Symbol("ompi_mpi_int")
        : typeof(T) == typeof(long) ? MpiNative.Symbol("ompi_mpi_long_long_int")
        : typeof(T) == typeof(byte) ? MpiNative.Symbol("ompi_mpi_byte")
        : throw new ArgumentException($"MPI collectives take double, float, int, long or byte, not {typeof(T).Name}.");

    private static IntPtr Op(ReduceOp op) => op switch
    {
        ReduceOp.Sum => MpiNative.Symbol("ompi_mpi_op_sum"),
        ReduceOp.Max => MpiNative.Symbol("ompi_mpi_op_max"),
        ReduceOp.Min => MpiNative.Symbol("ompi_mpi_op_min"),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private static void Check(int code, string call)
    {
        if (code == 0) return;
        byte* text = stackalloc byte[512]; // MPI_MAX_ERROR_STRING is 256 in Open MPI
        int length = 0;
        string message = MpiNative.MPI_Error_string(code, text, &length) == 0 ? Encoding.ASCII.GetString(text, length) : $"error code {code}";
        throw new MpiException($"{call} failed: {message}.");
    }
}
