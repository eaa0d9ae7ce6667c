namespace Backprop.Kernels;

/// <summary>
/// A small persistent set of GEMM worker threads. The caller publishes one job (an unmanaged function
/// pointer and a pointer to its <see cref="GemmProblem{T}"/> on its own stack, which it keeps pinned and
/// alive by waiting), wakes parts - 1 workers, runs part 0 itself and waits for the rest.
/// <para>
/// Why not <see cref="Parallel"/> or the thread pool: they allocate per call (closures, tasks) and their
/// worker threads change from call to call, so the per-thread packing buffers would be rebuilt and the
/// steady state would not be allocation-free. Here a threaded call allocates nothing once the workers
/// exist; creating them (lazily, on the first threaded call that needs them) allocates the threads, one
/// <see cref="ManualResetEventSlim"/> each, and later each worker's packing scratch (<see cref="GemmScratch"/>).
/// </para>
/// <para>
/// One job runs at a time. A call made while the workers are busy (GEMMs from several threads at once)
/// does not queue: <see cref="TryRun"/> returns false and the caller computes its problem alone.
/// </para>
/// </summary>
internal static unsafe class GemmThreads
{
    /// <summary>
    /// How long a worker spins (<see cref="SpinWait"/> iterations, which end in yields) for the next job before
    /// it blocks. Training runs GEMMs back to back with short elementwise ops between; a blocked thread takes
    /// tens of microseconds to wake, a spinning one about one.
    /// </summary>
    private const int SpinCount = 200;

    private sealed class Worker
    {
        public readonly ManualResetEventSlim Go = new(false, SpinCount);
        public int Part;
    }

    private static readonly object s_createLock = new();
    private static Worker[] s_workers = [];
    private static int s_busy;

    private static delegate*<void*, int, int, void> s_run;
    private static void* s_state;
    private static int s_parts;
    private static int s_pending;
    private static Exception? s_error;
    private static readonly ManualResetEventSlim s_done = new(false, SpinCount);

    /// <summary>
    /// Runs run(state, part, parts) for part = 0..parts-1, part 0 on the calling thread, and returns after all
    /// have finished. Returns false without running anything when another call is using the workers.
    /// </summary>
    public static bool TryRun(delegate*<void*, int, int, void> run, void* state, int parts)
    {
        if (parts < 2 || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0) return false;
        try
        {
            Worker[] workers = EnsureWorkers(parts - 1);
            s_run = run;
            s_state = state;
            s_parts = parts;
            s_error = null;
            s_pending = parts - 1;
            // Set() is a full fence, so each worker sees the job fields written above.
            for (int w = 0; w < parts - 1; w++)
            {
                workers[w].Part = w + 1;
                workers[w].Go.Set();
            }
            Exception? own = null;
            try { run(state, 0, parts); }
            catch (Exception e) { own = e; }
            // Always wait, even after an exception: the workers read the caller's pinned stack frame.
            s_done.Wait();
            s_done.Reset();
            if (own is not null) throw own;
            if (s_error is { } error) throw new AggregateException("A GEMM worker thread failed.", error);
            return true;
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static Worker[] EnsureWorkers(int count)
    {
        if (s_workers.Length >= count) return s_workers;
        lock (s_createLock)
        {
            var grown = new Worker[count];
            s_workers.CopyTo(grown, 0);
            for (int i = s_workers.Length; i < count; i++)
            {
                var worker = new Worker();
                grown[i] = worker;
                new Thread(() => Loop(worker)) { IsBackground = true, Name = $"Backprop GEMM worker {i + 1}" }.Start();
            }
            s_workers = grown;
            return grown;
        }
    }

    private static void Loop(Worker worker)
    {
        while (true)
        {
            worker.Go.Wait();
            // Reset before running: the caller cannot publish the next job before this part reports done,
            // so a Set() for the next job always comes after this Reset().
            worker.Go.Reset();
            try { s_run(s_state, worker.Part, s_parts); }
            catch (Exception e) { s_error = e; }
            if (Interlocked.Decrement(ref s_pending) == 0) s_done.Set();
        }
    }
}
