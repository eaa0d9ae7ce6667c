using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// A small persistent set of GEMM worker threads that share one job's chunks with the caller. The caller
/// publishes the job (an unmanaged function pointer, a pointer to its <see cref="GemmProblem{T}"/> on its own
/// stack, which it keeps pinned and alive by waiting, and a chunk count), wakes the workers, and then takes
/// chunks itself; so does every worker once it runs. A chunk is taken by one atomic increment of a shared
/// counter, so whoever is on a core does the work: a worker that the OS has not scheduled (the other core is
/// busy with someone else's process) costs nothing, because the caller takes its chunks, and a worker that
/// wakes after the last chunk was taken finds the queue empty and goes back to sleep. The caller waits only
/// for chunks that were taken and are still running: at most one chunk per worker.
/// <para>
/// The queue is one 64-bit word, (back &lt;&lt; 32) | front: chunks front..back-1 are left. The caller takes
/// from the front, workers from the back, each with one compare-and-swap of the word, until the ends meet. So
/// on an idle machine each thread gets about the same half of every call, call after call: the caller computes
/// the first columns of the forward product, the first rows of dW, updates the first half of W in SGD and
/// gathers the first rows of the batch, and the data one thread writes is mostly what the same thread reads
/// next, in its own cache. (With one counter for all, which thread took which chunk changed from call to call
/// and the data moved between the cores. The bench VM has periods, seconds long, in which moving data between its
/// two vCPUs is slow; there the mid step took ~1180 µs with one counter and ~970 µs with two ends, against ~760
/// µs for both otherwise: step-breakdown mid.) A starved worker still leaves everything to the caller. The next
/// job replaces the whole word (Interlocked.Exchange); a compare-and-swap only succeeds on the current word, so
/// a chunk taken is always a chunk of the current job, even if the taker read the word of an older one. A
/// participant reads the job's function, state and size only after it has taken a chunk, when the job cannot
/// finish (and the caller cannot return and reuse its stack) before that chunk is done.
/// </para>
/// <para>
/// Why not <see cref="Parallel"/> or the thread pool: they allocate per call (closures, tasks) and their
/// worker threads change from call to call, so the per-thread packing buffers would be rebuilt and the
/// steady state would not be allocation-free. Here a threaded call allocates nothing once the workers
/// exist; creating them (lazily, on the first threaded call that needs them) allocates the threads, one
/// <see cref="ManualResetEventSlim"/> each, and later each worker's packing scratch (<see cref="GemmScratch"/>).
/// </para>
/// <para>
/// Back-off. When the other cores are busy with other processes, a worker gets little CPU: it takes a small
/// share of the chunks, and now and then the OS preempts it while it holds one, so that the caller waits for
/// the neighbour's time slice (~4 ms on the 2-core bench machine, in about 1 % of the mid network's steps). When
/// the workers took less than <see cref="MinWorkerShare"/> of the chunks over the last <see cref="WindowChunks"/>,
/// threading is not paying for that risk: calls run on the caller alone (<see cref="TryRun"/> returns false)
/// for a back-off period, after which threading is tried again. The period starts at
/// <see cref="MinBackoffMilliseconds"/>, short so that a brief burst of another process costs little, and
/// doubles, up to <see cref="MaxBackoffMilliseconds"/>, while trial windows find the workers starved (each
/// trial risks a stall); it starts over once a window shows them healthy (<see cref="HealthyWorkerShare"/>).
/// On an idle machine the workers take about half of the chunks, so this does not trigger there.
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
    /// it blocks, and how long the caller spins for the last running chunk before it blocks. Training runs GEMMs
    /// back to back with short elementwise ops between; a blocked thread takes tens of microseconds to wake (a
    /// threaded call then costs the caller ~7 µs for the wake-up on the bench VM, against 0.1–0.5 µs with the
    /// worker spinning: gemm-quick sync). The caller does block in the end rather than spin on: one might hope
    /// that its idle core then pulls over a worker that was preempted while holding a chunk, but Linux counts a
    /// task that just ran as cache-hot and leaves it, so such stalls last a time slice (hence the back-off).
    /// </summary>
    private const int SpinCount = 200;

    private sealed class Worker
    {
        public readonly ManualResetEventSlim Go = new(false, SpinCount);
    }

    private static readonly object s_createLock = new();
    private static Worker[] s_workers = [];
    private static int s_busy;

    private static delegate*<void*, int, long, void> s_run;
    private static void* s_state;
    private static long s_job;
    private static long s_queue = 0; // (back << 32) | front; starts empty
    private static int s_chunks;
    private static int s_finished;
    private static Exception? s_error;
    private static readonly ManualResetEventSlim s_allDone = new(false, SpinCount);

    /// <summary>
    /// Tests: false publishes each job without waking the workers, so the caller takes every chunk (the path a
    /// run takes when the workers are descheduled), deterministically.
    /// </summary>
    internal static bool WakeWorkers { get; set; } = true;

    /// <summary>Chunks of all threaded calls, and those taken by workers (not the caller), since the process started: diagnostics (bench --contention).</summary>
    internal static long TotalChunks, WorkerChunks;

    /// <summary>
    /// Chunks over which the workers' share is judged (~2 steps of the mid network): a starved worker takes ~3 %
    /// of them, an idle machine's ~45 %, so even one window tells them apart.
    /// </summary>
    internal const int WindowChunks = 128;

    /// <summary>Below this share of a window's chunks taken by workers, threading backs off.</summary>
    internal const double MinWorkerShare = 0.1;

    /// <summary>
    /// At or above this share the back-off period starts over from its minimum. Between the two it stays: a
    /// worker starved by a neighbour process still reaches 10–15 % in some windows (bench --contention, mid).
    /// </summary>
    internal const double HealthyWorkerShare = 0.25;

    /// <summary>Shortest and longest back-off periods.</summary>
    internal const int MinBackoffMilliseconds = 20, MaxBackoffMilliseconds = 800;

    /// <summary>Tests: false turns the back-off off, so that <see cref="TryRun"/> runs every job it can.</summary>
    internal static bool Backoff { get; set; } = true;

    private static int s_windowChunks, s_windowWorkerChunks;
    private static long s_backoffUntil;
    private static int s_backoffMilliseconds = MinBackoffMilliseconds;
    private static long s_backoffs;

    /// <summary>How many times threading has backed off since the process started (diagnostics).</summary>
    internal static long Backoffs => Volatile.Read(ref s_backoffs);

    /// <summary>
    /// Runs run(state, chunk, job) for chunk = 0..chunks-1 on the calling thread and up to threads - 1 workers,
    /// each chunk exactly once, and returns after all have finished. job is a number unique to this call, so a
    /// thread can tell whether what its scratch holds was packed for this call. Returns false without running
    /// anything when another call is using the workers or threading is backing off.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryRun(delegate*<void*, int, long, void> run, void* state, int chunks, int threads)
    {
        if (chunks < 2 || threads < 2) return false;
        if (Backoff && Volatile.Read(ref s_backoffUntil) != 0 && Stopwatch.GetTimestamp() < Volatile.Read(ref s_backoffUntil)) return false;
        if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0) return false;
        try
        {
            Worker[] workers = EnsureWorkers(threads - 1);
            s_run = run;
            s_state = state;
            s_finished = 0;
            s_error = null;
            s_chunks = chunks;
            s_job++;
            TotalChunks += chunks;
            s_allDone.Reset();
            // A full fence: a worker that takes a chunk of this job sees every field written above.
            Interlocked.Exchange(ref s_queue, (long)chunks << 32);
            if (WakeWorkers)
            {
                int wake = Math.Min(threads - 1, chunks - 1);
                for (int w = 0; w < wake; w++) workers[w].Go.Set();
            }
            long workerChunksBefore = Volatile.Read(ref WorkerChunks);
            Exception? own = Drain(caller: true);
            // Always wait for the chunks taken, even after an exception: workers read the caller's pinned stack frame.
            s_allDone.Wait();
            if (WakeWorkers) JudgeShare(chunks, (int)(Volatile.Read(ref WorkerChunks) - workerChunksBefore));
            if (own is not null) throw own;
            if (s_error is { } error) throw new AggregateException("A GEMM worker thread failed.", error);
            return true;
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    /// <summary>
    /// Threads a call may use: <see cref="Gemm.MaxThreads"/>, capped at the processor count.
    /// </summary>
    public static int Available => Math.Min(Gemm.MaxThreads, Environment.ProcessorCount);

    /// <summary>
    /// Runs run(state, chunk, job) for every chunk, shared with the workers when there are several threads and
    /// they are free, otherwise all on the calling thread (then job is -1). For memory-bound kernels between the
    /// GEMMs of a training step (the batch gather, the SGD update), which the workers would otherwise spend spinning.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunOrInline(delegate*<void*, int, long, void> run, void* state, int chunks)
    {
        if (chunks > 1 && Available > 1 && TryRun(run, state, chunks, Available)) return;
        for (int c = 0; c < chunks; c++) run(state, c, -1);
    }

    /// <summary>Tests: ends a back-off in progress and empties the window.</summary>
    internal static void ResetBackoff()
    {
        Volatile.Write(ref s_backoffUntil, 0);
        s_backoffMilliseconds = MinBackoffMilliseconds;
        s_windowChunks = 0;
        s_windowWorkerChunks = 0;
    }

    /// <summary>Adds a finished job to the window (under s_busy, or in tests) and starts a back-off when the workers' share was too small.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void JudgeShare(int chunks, int workerChunks)
    {
        s_windowChunks += chunks;
        s_windowWorkerChunks += workerChunks;
        if (s_windowChunks < WindowChunks) return;
        if (s_windowWorkerChunks < MinWorkerShare * s_windowChunks)
        {
            // Starved again since the last back-off, with no healthy window between: back off twice as long.
            bool again = s_backoffUntil != 0;
            s_backoffMilliseconds = again ? Math.Min(MaxBackoffMilliseconds, 2 * s_backoffMilliseconds) : MinBackoffMilliseconds;
            Volatile.Write(ref s_backoffUntil, Stopwatch.GetTimestamp() + s_backoffMilliseconds * Stopwatch.Frequency / 1000);
            s_backoffs++;
        }
        else if (s_windowWorkerChunks >= HealthyWorkerShare * s_windowChunks)
        {
            Volatile.Write(ref s_backoffUntil, 0);
            s_backoffMilliseconds = MinBackoffMilliseconds;
        }
        s_windowChunks = 0;
        s_windowWorkerChunks = 0;
    }

    /// <summary>
    /// Takes and runs chunks of the current job until none is left. The caller's exception is returned (and
    /// rethrown as is); a worker's is kept for the caller. The participant that finishes the last chunk signals.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Exception? Drain(bool caller)
    {
        Exception? own = null;
        while (true)
        {
            int chunk = Take(caller);
            if (chunk < 0) return own;
            int chunks = s_chunks;
            if (!caller) Interlocked.Increment(ref WorkerChunks);
            try { s_run(s_state, chunk, s_job); }
            catch (Exception e)
            {
                if (caller) own ??= e;
                else Interlocked.CompareExchange(ref s_error, e, null);
            }
            if (Interlocked.Increment(ref s_finished) == chunks) s_allDone.Set();
        }
    }

    /// <summary>The next chunk from the front (caller) or the back (workers), or -1 when none is left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Take(bool caller)
    {
        while (true)
        {
            long word = Volatile.Read(ref s_queue);
            int front = (int)(word & 0xFFFF_FFFF), back = (int)(word >> 32);
            if (front >= back) return -1;
            long next = caller ? word + 1 : word - (1L << 32);
            if (Interlocked.CompareExchange(ref s_queue, next, word) == word) return caller ? front : back - 1;
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Loop(Worker worker)
    {
        while (true)
        {
            worker.Go.Wait();
            // Reset before taking chunks: a Set() for a later job that lands before this Reset() published that
            // job's queue first, so the Drain below sees it; one that lands after leaves the event set.
            worker.Go.Reset();
            Drain(caller: false);
        }
    }
}
