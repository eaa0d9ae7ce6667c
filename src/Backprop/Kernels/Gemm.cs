using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// General matrix multiply, C = alpha · op(A) · op(B) + beta · C, on row-major spans.
/// <para>
/// Small problems (up to ~32³ multiply-adds) and skinny ones (m &lt; 8, or n so narrow that the packed tiles
/// would be mostly padding) run an unpacked register-blocked loop on the calling thread
/// (<see cref="GemmDirect"/>). Larger ones use BLIS/GotoBLAS blocking (<see cref="GemmDriver"/>): op(B) is packed into NR-column panels per (KC×NC) block, op(A)
/// into MR-row panels per (MC×KC) block, and a register-blocked micro-kernel (AVX-512, AVX2+FMA or
/// portable <see cref="Vector{T}"/>) computes MR×NR tiles. Transposed operands are read through strides
/// while packing; no operand is ever copied whole. Large problems are cut into chunks of whole MR-row or
/// NR-column blocks that the caller and a small persistent set of worker threads take from a shared queue
/// (<see cref="GemmThreads"/>), so a worker the OS does not schedule costs at most the chunk it holds.
/// </para>
/// <para>
/// Allocation: packing buffers are per thread and reused, so a call on a thread that has already done a
/// call at least as large allocates nothing. The worker threads, their buffers and their wake-up events
/// are created once, on the first threaded call; a threaded call allocates nothing after that.
/// </para>
/// </summary>
public static unsafe partial class Gemm
{
    private static int s_maxThreads = Environment.ProcessorCount;

    /// <summary>
    /// Upper bound on the threads one call uses, the calling thread included (default
    /// <see cref="Environment.ProcessorCount"/>); 1 disables threading. Values above the processor count
    /// are capped at it, because GEMM threads are compute-bound and oversubscription only adds switching.
    /// </summary>
    public static int MaxThreads
    {
        get => s_maxThreads;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "Gemm.MaxThreads must be at least 1.");
            s_maxThreads = value;
        }
    }

    /// <summary>
    /// Effectively computes C[i, j] = alpha · Σ_p op(A)[i, p] · op(B)[p, j] + beta · C[i, j] for i &lt; m, j &lt; n,
    /// all row-major. op(A) is m×k (A is stored k×m when <paramref name="transA"/>), op(B) is k×n (B is stored
    /// n×k when <paramref name="transB"/>). lda/ldb/ldc are row strides in elements and may exceed the row
    /// length (submatrix views). When beta == 0, C is overwritten without being read; when k == 0 or
    /// alpha == 0, C = beta · C and A and B are not read.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
        => MultiplyCore(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <inheritdoc cref="Multiply(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        double alpha, ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
        double beta, Span<double> c, int ldc)
        => MultiplyCore(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>
    /// The obvious triple loop (one float accumulator per element, p in order), kept as the reference the
    /// fast kernel is tested against. Same contract as <see cref="Multiply(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>.
    /// </summary>
    public static void MultiplyNaive(bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
        => NaiveCore(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <inheritdoc cref="MultiplyNaive(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>
    public static void MultiplyNaive(bool transA, bool transB, int m, int n, int k,
        double alpha, ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
        double beta, Span<double> c, int ldc)
        => NaiveCore(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    private static void NaiveCore<T>(bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, INumber<T>
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T x = transA ? a[p * lda + i] : a[i * lda + p];
                    T y = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += x * y;
                }
                ref T cij = ref c[i * ldc + j];
                cij = beta == T.Zero ? alpha * sum : alpha * sum + beta * cij;
            }
        }
    }

    /// <summary>Which kernel the packed path uses; tests force each one that this CPU can run.</summary>
    internal enum KernelChoice { Auto, Avx512, Avx2, Portable }

    /// <summary>Which path a call takes; tests force both on the same shapes.</summary>
    internal enum PathChoice { Auto, Direct, Packed }

    internal static KernelChoice ForcedKernel { get; set; }
    internal static PathChoice ForcedPath { get; set; }

    /// <summary>Which dimension a threaded call cuts into chunks; tests force both on the same shapes.</summary>
    internal enum SplitChoice { Auto, M, N }

    internal static SplitChoice ForcedSplit { get; set; }

    /// <summary>
    /// Tests and tuning: MR-row or NR-column blocks per chunk of a threaded call; 0 (default) lets
    /// <see cref="GemmDriver"/> choose. 1 makes as many chunks as the split dimension has blocks.
    /// </summary>
    internal static int ForcedChunkBlocks { get; set; }

    /// <summary>
    /// Problems with at most this many multiply-adds (m·n·k) take the direct, unpacked path whatever their
    /// shape: below ~32³ the packed path's fixed costs (packing, edge tiles, buffer lookup) outweigh its faster
    /// kernel. Measured with gemm-quick on the AVX-512 machine: 32×32×32 takes 0.59 µs packed, 0.68 µs direct;
    /// 32×16×30 takes 0.81 µs packed, 0.34 µs direct. Larger shapes go by <see cref="GemmDirect.Prefers{T}"/>.
    /// </summary>
    internal static long DirectMaxWork { get; set; } = 32L * 32 * 32;

    /// <summary>
    /// Problems with fewer multiply-adds than this stay on the calling thread. 128³ takes ~22 µs on one core;
    /// a worker still spinning from the previous call joins in ~1 µs (2 threads: ~14 µs, measured), but a
    /// blocked one takes tens of µs to wake, so smaller problems only gain in tight back-to-back loops.
    /// </summary>
    internal static long ThreadMinWork { get; set; } = 128L * 128 * 128;

    // Optimized on first call rather than after tiering: a training step of a small network makes several
    // sub-microsecond GEMM calls, and a short run would otherwise spend them in tier-0 code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MultiplyCore<T>(bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, INumber<T>
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        fixed (T* pc = c)
        {
            if (k == 0 || alpha == T.Zero)
            {
                ScaleC(pc, m, n, ldc, beta);
                return;
            }
            fixed (T* pa = a)
            fixed (T* pb = b)
            {
                // op(A)[i, p] = A[i·rsA + p·csA] and op(B)[p, j] = B[p·rsB + j·csB], so that one code path
                // serves all four transpose combinations. A size-1 dimension may take any stride; pick the
                // unit one so that the direct path sees the contiguous layout (e.g. n == 1 makes op(B)'s
                // one-element rows "contiguous").
                var pr = new GemmProblem<T>
                {
                    A = pa, RsA = transA ? 1 : lda, CsA = transA ? lda : 1,
                    B = pb, RsB = transB ? 1 : ldb, CsB = transB ? ldb : 1,
                    C = pc, Ldc = ldc, M = m, N = n, K = k, Alpha = alpha, Beta = beta,
                };
                if (n == 1) pr.CsB = 1;
                if (k == 1) pr.CsA = 1;
                if (m == 1) pr.RsA = 1;
                if (k == 1) pr.RsB = 1;
                long work = (long)m * n * k;
                bool direct = ForcedPath switch
                {
                    PathChoice.Direct => true,
                    PathChoice.Packed => false,
                    _ => work <= DirectMaxWork || GemmDirect.Prefers<T>(m, n, PackedNR<T>())
                         || (pr.CsA == 1 && pr.RsB == 1 && GemmDirect.PrefersDot<T>(n, k, PackedNR<T>())
                             && !(GemmThreads.Available > 1 && work >= ThreadMinWork)),
                };
                if (direct) GemmDirect.Run(&pr);
                else RunPacked(&pr, work);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunPacked<T>(GemmProblem<T>* pr, long work) where T : unmanaged, INumber<T>
    {
        switch (ForcedKernel)
        {
            case KernelChoice.Avx512 when Avx512Kernel<T>.IsSupported:
                GemmDriver.RunThreaded<T, Avx512Kernel<T>>(pr, work);
                return;
            case KernelChoice.Avx2 when Avx2Kernel<T>.IsSupported:
                GemmDriver.RunThreaded<T, Avx2Kernel<T>>(pr, work);
                return;
            case KernelChoice.Portable:
                GemmDriver.RunThreaded<T, PortableKernel<T>>(pr, work);
                return;
        }
        if (Avx512Kernel<T>.IsSupported) GemmDriver.RunThreaded<T, Avx512Kernel<T>>(pr, work);
        else if (Avx2Kernel<T>.IsSupported) GemmDriver.RunThreaded<T, Avx2Kernel<T>>(pr, work);
        else GemmDriver.RunThreaded<T, PortableKernel<T>>(pr, work);
    }

    /// <summary>NR of the micro-kernel <see cref="RunPacked{T}"/> would use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int PackedNR<T>() where T : unmanaged, INumber<T> => ForcedKernel switch
    {
        KernelChoice.Avx512 when Avx512Kernel<T>.IsSupported => Avx512Kernel<T>.NR,
        KernelChoice.Avx2 when Avx2Kernel<T>.IsSupported => Avx2Kernel<T>.NR,
        KernelChoice.Portable => PortableKernel<T>.NR,
        _ => Avx512Kernel<T>.IsSupported ? Avx512Kernel<T>.NR : Avx2Kernel<T>.IsSupported ? Avx2Kernel<T>.NR : PortableKernel<T>.NR,
    };

    /// <summary>C = beta · C on the m×n view; beta == 0 writes zeros without reading (C may be NaN).</summary>
    private static void ScaleC<T>(T* c, int m, int n, int ldc, T beta) where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<T>(c + (nint)i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else if (beta != T.One)
                for (int j = 0; j < row.Length; j++) row[j] *= beta;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "Gemm: m (rows of op(A) and C) must be non-negative.");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Gemm: n (columns of op(B) and C) must be non-negative.");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "Gemm: k (columns of op(A), rows of op(B)) must be non-negative.");
        // Stored shapes: A is m×k, or k×m when transposed; B is k×n, or n×k when transposed.
        CheckOperand("a", "lda", transA ? k : m, transA ? m : k, aLength, lda, transA, m, k, 'A');
        CheckOperand("b", "ldb", transB ? n : k, transB ? k : n, bLength, ldb, transB, k, n, 'B');
        CheckOperand("c", "ldc", m, n, cLength, ldc, false, m, n, 'C');
    }

    private static void CheckOperand(string name, string ldName, int rows, int cols, int length, int ld,
        bool trans, int opRows, int opCols, char label)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException(
                $"Gemm: {ldName} = {ld} is less than the row length {cols} ({Shape()}); the row stride must be at least max(1, {cols}).", ldName);
        if (rows == 0 || cols == 0) return;
        long needed = (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException(
                $"Gemm: {name} has {length} elements but {Shape()} with row stride {ldName} = {ld} needs at least {needed} ((rows - 1)·{ldName} + cols).", name);

        // Built only when throwing: the success path must not allocate.
        string Shape() => trans ? $"op({label}) is {opRows}×{opCols}, so {label} is stored transposed as {rows}×{cols}"
                                : $"{label} is {rows}×{cols}";
    }
}

/// <summary>
/// One multiply after argument checks, as raw pointers and strides: op(A)[i, p] = A[i·RsA + p·CsA],
/// op(B)[p, j] = B[p·RsB + j·CsB], C[i, j] = C[i·Ldc + j]. Lives on the caller's stack (its spans are pinned
/// there) while worker threads read it through a pointer.
/// </summary>
internal unsafe struct GemmProblem<T> where T : unmanaged
{
    public T* A; public nint RsA, CsA;
    public T* B; public nint RsB, CsB;
    public T* C; public nint Ldc;
    public int M, N, K;
    public T Alpha, Beta;
    /// <summary>Threaded runs: true when the chunks are row ranges of C (MR-row blocks), false when column ranges (NR-column blocks).</summary>
    public bool SplitM;
    /// <summary>Threaded runs: MR-row or NR-column blocks per chunk (the last chunk may have fewer).</summary>
    public int ChunkBlocks;
    /// <summary>
    /// Threaded runs: whether each thread packs the operand every chunk needs whole (op(B) when splitting m,
    /// op(A) when splitting n) once per call and reuses it across its chunks, rather than per chunk.
    /// </summary>
    public bool CacheShared;
}
