using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// Threaded runs of the packed path: how a problem is cut into chunks, and how one chunk runs.
/// <para>
/// A chunk is a range of whole MR-row blocks of C (all its columns) or of whole NR-column blocks (all its
/// rows), always with the whole k. The caller and the workers take chunks from a shared queue
/// (<see cref="GemmThreads"/>) until none is left, so the split adapts to how much CPU each thread actually
/// gets: on an idle machine both threads take about half, and when the other core is busy with another
/// process the caller takes most of them and waits at most for the one chunk a preempted worker holds.
/// </para>
/// <para>
/// Packing. Cutting m means every chunk needs all of op(B) (and its own rows of op(A)); cutting n, all of
/// op(A). Re-packing that shared operand per chunk would multiply its cost by the chunk count (for the mid
/// network's 128×256×784 forward product, 8 chunks would pack op(A) 8 times, ~20 % of the product's time).
/// Instead each thread packs the shared operand whole, once per call, into its own scratch the first time
/// it takes a chunk of that call, and reuses it for its later chunks (<see cref="GemmScratch.SharedJob"/>
/// says which call the scratch holds). So each participating thread packs it once, as with a static split
/// in two halves, and no thread ever waits for another's packing. When the shared operand is larger than
/// <see cref="SharedPackBudget"/> it is packed per chunk instead, and chunks are fewer and larger.
/// </para>
/// </summary>
internal static unsafe partial class GemmDriver
{
    /// <summary>
    /// Largest packed shared operand (bytes) a thread keeps for a whole call. 8 MiB holds op(A) or op(B) of up
    /// to 2 M floats (e.g. 1024×2048), several times what the bench networks need (≤ 1 MiB) and within L3.
    /// </summary>
    internal static long SharedPackBudget { get; set; } = 8L << 20;

    /// <summary>
    /// Smallest work (multiply-adds) of a chunk when the shared operand is kept: 512 Ki (~10 µs on one core)
    /// makes the per-chunk costs (an atomic increment on a line both cores write, the loop setup, the C tile
    /// edges) negligible while leaving the mid network's products 8 to 25 chunks.
    /// </summary>
    internal static long MinChunkWork { get; set; } = 512L * 1024;

    /// <summary>
    /// Cutting n, a chunk reads one k slab of the kept op(A) (all m rows × kc) per k block, and reuses it across
    /// its columns only. Slabs up to this size stay in L2 from one chunk to the next; each multiple of it makes
    /// chunks one block wider, so that an op(A) slab streamed from L3 is used across more columns. Measured with
    /// gemm-quick chunk=N (idle machine, 2 threads): 1024³ (1 MiB slabs) 199 GFLOP/s with one-block chunks,
    /// 204 with four, as with the static split; 256×1024×1024 (256 KiB slabs) the same with one or four.
    /// </summary>
    internal static long ChunkSlabBytes { get; set; } = 256L * 1024;

    /// <summary>
    /// Chunks per thread when the shared operand is re-packed per chunk (too big to keep): each chunk packs all of
    /// it, ~1.5 % of a chunk's time for 2048³ (16 MiB shared), so few chunks; they still take tens of milliseconds.
    /// On the shared bench machine 2048³ measured 182–199 GFLOP/s with 4 per thread, 192–193 with 2, 197–206 with
    /// the former static split, and 1536³ 179–194 with 4, 198–203 with 2: within the machine's noise.
    /// </summary>
    private const int UncachedChunksPerThread = 2;

    /// <summary>
    /// Cost of packing one element, in multiply-add equivalents, for choosing the split: the strided gathers
    /// and 4×8 transposes move about one element per 0.25 cycle, and the kernel does 16 multiply-adds per cycle.
    /// </summary>
    private const long PackCost = 4;

    /// <summary>Runs the problem on the calling thread, or in chunks shared with the GEMM workers when large enough.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunThreaded<T, TK>(GemmProblem<T>* pr, long work)
        where T : unmanaged, INumber<T> where TK : struct, IGemmMicroKernel<T>
    {
        int threads = Math.Min(Gemm.MaxThreads, Environment.ProcessorCount);
        if (threads > 1 && work >= Gemm.ThreadMinWork)
        {
            int chunks = PlanChunks<T, TK>(pr, threads);
            if (chunks > 1 && GemmThreads.TryRun(&RunChunk<T, TK>, pr, chunks, threads)) return;
        }
        Run<T, TK>(pr, 0, pr->M, 0, pr->N);
    }

    /// <summary>
    /// Chooses the split dimension, the chunk size and whether threads keep the shared operand (fields of
    /// <paramref name="pr"/>); returns the number of chunks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int PlanChunks<T, TK>(GemmProblem<T>* pr, int threads)
        where T : unmanaged, INumber<T> where TK : struct, IGemmMicroKernel<T>
    {
        int mr = TK.MR, nr = TK.NR;
        long m = pr->M, n = pr->N, k = pr->K;
        int mBlocks = (int)((m + mr - 1) / mr), nBlocks = (int)((n + nr - 1) / nr);
        long kPadded = KBlocking(pr->K, out int kcMax) * (long)kcMax;
        // Cutting m shares op(B) (k × n, padded to NR columns); cutting n shares op(A).
        long mPadded = (m + mr - 1) / mr * mr;
        var byM = Option(mBlocks, mr * n * k, (n + nr - 1) / nr * nr * kPadded, 1, threads);
        var byN = Option(nBlocks, nr * m * k, mPadded * kPadded, (int)((mPadded * kcMax * sizeof(T) + ChunkSlabBytes - 1) / ChunkSlabBytes), threads);
        bool splitM = Gemm.ForcedSplit switch
        {
            Gemm.SplitChoice.M => true,
            Gemm.SplitChoice.N => false,
            _ => byM.Cost < byN.Cost || (byM.Cost == byN.Cost && mBlocks >= nBlocks),
        };
        var chosen = splitM ? byM : byN;
        pr->SplitM = splitM;
        pr->CacheShared = chosen.Cache;
        pr->ChunkBlocks = chosen.ChunkBlocks;
        int blocks = splitM ? mBlocks : nBlocks;
        return (blocks + chosen.ChunkBlocks - 1) / chosen.ChunkBlocks;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        (long Cost, int ChunkBlocks, bool Cache) Option(int blocks, long blockWork, long sharedElements, int minBlocks, int threads)
        {
            bool cache = sharedElements * sizeof(T) <= SharedPackBudget;
            int chunkBlocks = Gemm.ForcedChunkBlocks > 0 ? Gemm.ForcedChunkBlocks
                : cache ? (int)Math.Min(blocks, Math.Max(minBlocks, (MinChunkWork + blockWork - 1) / blockWork))
                : (blocks + UncachedChunksPerThread * threads - 1) / (UncachedChunksPerThread * threads);
            chunkBlocks = Math.Clamp(chunkBlocks, 1, Math.Max(1, blocks));
            long chunks = (blocks + chunkBlocks - 1) / chunkBlocks;
            // Chunks of equal work in rounds over the threads (idle machine), plus the shared packing each
            // thread does: once if kept, else once per chunk it takes.
            long rounds = (chunks + threads - 1) / threads;
            long cost = rounds * chunkBlocks * blockWork + PackCost * sharedElements * (cache ? 1 : rounds);
            return (cost, chunkBlocks, cache);
        }
    }

    /// <summary>Number of k blocks and their common length: equal blocks (k = 300 → 150 + 150, not 256 + 44) keep every kernel call long.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int KBlocking(int k, out int kcMax)
    {
        int kBlocks = Math.Max(1, (k + KC - 1) / KC);
        kcMax = Math.Max(1, (k + kBlocks - 1) / kBlocks);
        return kBlocks;
    }

    /// <summary>Chunk <paramref name="chunk"/> of the call numbered <paramref name="job"/>, on whichever thread took it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunChunk<T, TK>(void* state, int chunk, long job)
        where T : unmanaged, INumber<T> where TK : struct, IGemmMicroKernel<T>
    {
        var pr = (GemmProblem<T>*)state;
        if (pr->SplitM)
        {
            int m0 = chunk * pr->ChunkBlocks * TK.MR, m1 = Math.Min(pr->M, m0 + pr->ChunkBlocks * TK.MR);
            if (pr->CacheShared) RunRowsSharingB<T, TK>(pr, m0, m1, job);
            else Run<T, TK>(pr, m0, m1, 0, pr->N);
        }
        else
        {
            int n0 = chunk * pr->ChunkBlocks * TK.NR, n1 = Math.Min(pr->N, n0 + pr->ChunkBlocks * TK.NR);
            if (pr->CacheShared) RunColumnsSharingA<T, TK>(pr, n0, n1, job);
            else Run<T, TK>(pr, 0, pr->M, n0, n1);
        }
    }

    /// <summary>
    /// C[0..m, n0..n1]: packs its own op(B) columns per k block, and takes op(A) (all m rows) from this thread's
    /// copy for the call, packing each k block of it the first time this thread needs it.
    /// Scratch: [op(B) block, ChunkBlocks·NR × kc | op(A), k blocks × (m rounded up to MR) × kc].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunColumnsSharingA<T, TK>(GemmProblem<T>* pr, int n0, int n1, long job)
        where T : unmanaged, INumber<T> where TK : struct, IGemmMicroKernel<T>
    {
        int mr = TK.MR, nr = TK.NR;
        int m = pr->M, k = pr->K;
        int kBlocks = KBlocking(k, out int kcMax);
        int mcMax = Math.Max(mr, MC / mr * mr);
        int ncMax = Math.Max(nr, NC / nr * nr);
        // Sizes from the call's parameters, not this chunk's, so every chunk asks for the same scratch and
        // none of them grows it (which would forget the packed op(A)) after the first.
        nint bElems = ((nint)Math.Min(ncMax, pr->ChunkBlocks * nr) * kcMax + 63) & ~(nint)63;
        nint aBlock = (nint)RoundUp(m, mr) * kcMax;
        var scratch = GemmScratch.Current;
        T* bp = (T*)scratch.Reserve((bElems + aBlock * kBlocks) * sizeof(T));
        T* shared = bp + bElems;

        for (int jc = n0; jc < n1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, n1 - jc);
            int q = 0;
            for (int pc = 0; pc < k; pc += kcMax, q++)
            {
                int kc = Math.Min(kcMax, k - pc);
                T beta = pc == 0 ? pr->Beta : T.One;
                PackB(bp, pr->B + pc * pr->RsB + jc * pr->CsB, pr->RsB, pr->CsB, kc, nc, nr);
                T* ablock = shared + q * aBlock;
                if (scratch.SharedJob != job || q >= scratch.SharedBlocks)
                {
                    PackA(ablock, pr->A + pc * pr->CsA, pr->RsA, pr->CsA, m, kc, mr);
                    scratch.SharedJob = job;
                    scratch.SharedBlocks = q + 1;
                }
                for (int ic = 0; ic < m; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, m - ic);
                    // Panels of MR rows are consecutive, kc·MR elements each, so row ic starts at ic·kc.
                    Macro<T, TK>(mc, nc, kc, ablock + (nint)ic * kc, bp, pr->C + ic * pr->Ldc + jc, pr->Ldc, pr->Alpha, beta);
                }
            }
        }
    }

    /// <summary>
    /// C[m0..m1, 0..n]: packs its own op(A) rows per k block, and takes op(B) (all n columns) from this thread's
    /// copy for the call, packing each k block of it the first time this thread needs it.
    /// Scratch: [op(A) block, min(MC, ChunkBlocks·MR) × kc | op(B), k blocks × (n rounded up to NR) × kc].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunRowsSharingB<T, TK>(GemmProblem<T>* pr, int m0, int m1, long job)
        where T : unmanaged, INumber<T> where TK : struct, IGemmMicroKernel<T>
    {
        int mr = TK.MR, nr = TK.NR;
        int n = pr->N, k = pr->K;
        int kBlocks = KBlocking(k, out int kcMax);
        int mcMax = Math.Max(mr, MC / mr * mr);
        nint aElems = ((nint)Math.Min(mcMax, pr->ChunkBlocks * mr) * kcMax + 63) & ~(nint)63;
        nint bBlock = (nint)RoundUp(n, nr) * kcMax;
        var scratch = GemmScratch.Current;
        T* ap = (T*)scratch.Reserve((aElems + bBlock * kBlocks) * sizeof(T));
        T* shared = ap + aElems;

        int q = 0;
        for (int pc = 0; pc < k; pc += kcMax, q++)
        {
            int kc = Math.Min(kcMax, k - pc);
            T beta = pc == 0 ? pr->Beta : T.One;
            T* bblock = shared + q * bBlock;
            if (scratch.SharedJob != job || q >= scratch.SharedBlocks)
            {
                PackB(bblock, pr->B + pc * pr->RsB, pr->RsB, pr->CsB, kc, n, nr);
                scratch.SharedJob = job;
                scratch.SharedBlocks = q + 1;
            }
            for (int ic = m0; ic < m1; ic += mcMax)
            {
                int mc = Math.Min(mcMax, m1 - ic);
                PackA(ap, pr->A + ic * pr->RsA + pc * pr->CsA, pr->RsA, pr->CsA, mc, kc, mr);
                // The whole op(B) block is packed already, so there is no NC loop: the macro kernel walks all n.
                Macro<T, TK>(mc, n, kc, ap, bblock, pr->C + ic * pr->Ldc, pr->Ldc, pr->Alpha, beta);
            }
        }
    }
}
