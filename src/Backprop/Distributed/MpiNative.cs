using System.Runtime.InteropServices;

namespace Backprop.Distributed;

/// <summary>
/// The few MPI C functions data parallelism needs, bound by P/Invoke to Open MPI's <c>libmpi.so.40</c>
/// (Debian's openmpi-bin / libopenmpi3). Nothing of the transport is written here: every byte moves
/// through MPI.
/// </summary>
/// <remarks>
/// Open MPI's handles (<c>MPI_COMM_WORLD</c>, <c>MPI_DOUBLE</c>, <c>MPI_SUM</c>, …) are the addresses of
/// global objects in the library (<c>ompi_mpi_comm_world</c> and so on), so they are read with
/// <see cref="NativeLibrary.GetExport"/>. MPICH's integer handles are a different ABI and are not
/// supported.
/// </remarks>
internal static unsafe class MpiNative
{
    public const string Library = "libmpi.so.40";

    private static IntPtr _handle;

    // Loaded before the first P/Invoke (the communicator asks for a handle first), so a machine
    // without Open MPI gets this message instead of a DllNotFoundException.
    public static IntPtr Handle
    {
        get
        {
            if (_handle != IntPtr.Zero) return _handle;
            foreach (var candidate in new[] { Library, "libmpi.so", "/usr/lib/x86_64-linux-gnu/libmpi.so.40", "/usr/lib/aarch64-linux-gnu/libmpi.so.40" })
                if (NativeLibrary.TryLoad(candidate, out _handle)) return _handle;
            throw new MpiException("Open MPI's library (libmpi.so.40) is not installed; on Debian or Ubuntu: apt-get install openmpi-bin. Run distributed jobs with mpirun.");
        }
    }

    public static IntPtr Symbol(string name) =>
        NativeLibrary.TryGetExport(Handle, name, out var address) ? address
            : throw new MpiException($"libmpi.so.40 has no '{name}': Backprop's MPI binding needs Open MPI (MPICH is not supported).");

    public static readonly IntPtr InPlace = 1; // MPI_IN_PLACE is ((void *) 1) in Open MPI

    [DllImport(Library)] public static extern int MPI_Initialized(int* flag);
    [DllImport(Library)] public static extern int MPI_Finalized(int* flag);
    [DllImport(Library)] public static extern int MPI_Init(IntPtr argc, IntPtr argv);
    [DllImport(Library)] public static extern int MPI_Finalize();
    [DllImport(Library)] public static extern int MPI_Comm_rank(IntPtr comm, int* rank);
    [DllImport(Library)] public static extern int MPI_Comm_size(IntPtr comm, int* size);
    [DllImport(Library)] public static extern int MPI_Comm_set_errhandler(IntPtr comm, IntPtr handler);
    [DllImport(Library)] public static extern int MPI_Allreduce(IntPtr send, void* receive, int count, IntPtr type, IntPtr op, IntPtr comm);
    [DllImport(Library)] public static extern int MPI_Bcast(void* buffer, int count, IntPtr type, int root, IntPtr comm);
    [DllImport(Library)] public static extern int MPI_Barrier(IntPtr comm);
    [DllImport(Library)] public static extern int MPI_Abort(IntPtr comm, int code);
    [DllImport(Library)] public static extern int MPI_Error_string(int code, byte* text, int* length);
}
