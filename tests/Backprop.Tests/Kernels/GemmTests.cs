using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// Gemm.Multiply against a float64 naive reference, over the four transpose combinations, shapes that
/// straddle every blocking boundary (MR = 12, NR = 32 / 16, MC = 192, KC = 256, NC = 4096 for the AVX-512
/// kernel; MR = 6, NR = 16 for AVX2; MR = 4 for the portable one), strided views, alpha/beta variants,
/// both paths, every kernel this CPU runs, and one or several threads.
/// <para>
/// Tolerance, per element: |C − C_ref| ≤ (2k + 4)·u · (|alpha|·Σ_p |op(A)[i,p]|·|op(B)[p,j]| + |beta|·|C0[i,j]|),
/// with u the unit roundoff (2⁻²⁴ float, 2⁻⁵³ double). This is the classical worst-case bound γ_n for a sum of
/// products evaluated in any order, with n counting every rounding an element can see: k − 1 additions, the
/// products (none with FMA, one each without), one alpha multiply and one add into C per k block, beta·C.
/// (2k + 4) covers all of these for any blocking, so the test holds for every valid evaluation order, yet it
/// still catches a missing or doubled term for k up to a few thousand: one term is ~scale/k, above (2k+4)u·scale.
/// The reference is computed in double from the same (exactly converted) inputs; for double results its own
/// error, at most k·u·scale, is added to the bound. The scale uses the Cauchy–Schwarz bound for Σ|a||b|.
/// </para>
/// </summary>
public sealed class GemmTests
{
    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 7, 5), (5, 1, 9), (1, 1, 300), (2, 3, 1), (7, 13, 17), (32, 16, 30), (11, 31, 2),
        (12, 32, 256), (13, 33, 257), (24, 64, 255), (31, 97, 101), (1, 300, 70), (300, 1, 70), (3, 200, 90),
        (191, 65, 129), (193, 47, 300), (128, 10, 128), (64, 64, 64), (65, 65, 65), (13, 4099, 7), (300, 257, 513),
    ];

    private const long LargeWork = 5_000_000;

    public static TheoryData<bool, bool, int, int, int> AllShapes()
    {
        var data = new TheoryData<bool, bool, int, int, int>();
        foreach (var (m, n, k) in Shapes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(ta, tb, m, n, k);
        return data;
    }

    /// <summary>Smaller shapes for the forced path/kernel runs, still crossing MR, NR and KC edges.</summary>
    private static readonly (int M, int N, int K)[] KernelShapes =
    [
        (1, 1, 1), (3, 5, 7), (4, 8, 3), (6, 16, 16), (7, 17, 33), (12, 32, 64), (13, 33, 257), (25, 70, 520), (50, 3, 40),
    ];

    public static TheoryData<string, bool, bool> KernelChoices()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (string kernel in new[] { "Avx512", "Avx2", "Portable", "Direct" })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(kernel, ta, tb);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllShapes))]
    public void FloatMatchesReference(bool transA, bool transB, int m, int n, int k)
    {
        var rng = new Rng(Seed(transA, transB, m, n, k));
        // The largest shapes are there for the blocking; alpha/beta handling is covered by the rest.
        if ((long)m * n * k < LargeWork) Check<float>(rng, transA, transB, m, n, k, 1f, 0f, pad: false, 1, 2);
        Check<float>(rng, transA, transB, m, n, k, -0.75f, 1.5f, pad: true, 1, 2);
    }

    [Theory]
    [MemberData(nameof(AllShapes))]
    public void DoubleMatchesReference(bool transA, bool transB, int m, int n, int k)
    {
        var rng = new Rng(Seed(transA, transB, m, n, k) + 1);
        if ((long)m * n * k < LargeWork) Check<double>(rng, transA, transB, m, n, k, 1.0, 0.0, pad: true, 1, 2);
        Check<double>(rng, transA, transB, m, n, k, 2.5, -1.0, pad: false, 1, 2);
    }

    [Theory]
    [MemberData(nameof(KernelChoices))]
    public void EveryPathAndKernelMatchesReference(string choice, bool transA, bool transB)
    {
        var kernel = choice == "Direct" ? Gemm.KernelChoice.Auto : Enum.Parse<Gemm.KernelChoice>(choice);
        if (kernel == Gemm.KernelChoice.Avx512 && !Avx512Kernel<float>.IsSupported) return;
        if (kernel == Gemm.KernelChoice.Avx2 && !Avx2Kernel<float>.IsSupported) return;
        var rng = new Rng(77);
        try
        {
            Gemm.ForcedKernel = kernel;
            Gemm.ForcedPath = choice == "Direct" ? Gemm.PathChoice.Direct : Gemm.PathChoice.Packed;
            foreach (var (m, n, k) in KernelShapes)
            {
                Check<float>(rng, transA, transB, m, n, k, 1f, 0f, pad: true, 1);
                Check<float>(rng, transA, transB, m, n, k, 0.5f, 1f, pad: false, 2);
                Check<double>(rng, transA, transB, m, n, k, -1.0, 0.25, pad: true, 1);
            }
        }
        finally
        {
            Gemm.ForcedKernel = Gemm.KernelChoice.Auto;
            Gemm.ForcedPath = Gemm.PathChoice.Auto;
        }
    }

    /// <summary>
    /// Threaded calls under every way of cutting and scheduling them: the split dimension forced both ways,
    /// chunks of one block (more chunks than threads), the shared operand re-packed per chunk instead of kept,
    /// the caller taking every chunk (the workers not woken: what happens when the OS does not schedule them),
    /// and tiny cache blocks so that a chunk crosses several MC, NC and KC blocks.
    /// </summary>
    public static TheoryData<string, bool, bool> Schedules()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (string schedule in new[] { "auto", "one-block chunks, split m", "one-block chunks, split n",
                     "re-packed per chunk, split m", "re-packed per chunk, split n", "caller takes all, split m",
                     "caller takes all, split n", "tiny blocks, split m", "tiny blocks, split n" })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(schedule, ta, tb);
        return data;
    }

    private static readonly (int M, int N, int K)[] ScheduleShapes =
    [
        (1, 1, 1), (2, 3, 1), (7, 13, 17), (12, 32, 64), (13, 33, 257), (25, 70, 520), (50, 3, 40), (1, 300, 70),
        (300, 1, 70), (128, 10, 128), (37, 100, 600), (191, 65, 129), (13, 4099, 7),
    ];

    [Theory]
    [MemberData(nameof(Schedules))]
    public void EveryThreadScheduleMatchesReference(string schedule, bool transA, bool transB)
    {
        var rng = new Rng(91);
        var saved = (Gemm.ForcedPath, Gemm.ForcedSplit, Gemm.ForcedChunkBlocks, GemmDriver.SharedPackBudget, GemmThreads.WakeWorkers,
            GemmDriver.MC, GemmDriver.NC, GemmDriver.KC);
        try
        {
            // Every schedule but "auto" forces the packed path, so that even the small shapes are threaded.
            if (schedule != "auto") Gemm.ForcedPath = Gemm.PathChoice.Packed;
            if (schedule.EndsWith("split m", StringComparison.Ordinal)) Gemm.ForcedSplit = Gemm.SplitChoice.M;
            if (schedule.EndsWith("split n", StringComparison.Ordinal)) Gemm.ForcedSplit = Gemm.SplitChoice.N;
            if (!schedule.StartsWith("auto", StringComparison.Ordinal)) Gemm.ForcedChunkBlocks = 1;
            if (schedule.StartsWith("re-packed", StringComparison.Ordinal)) GemmDriver.SharedPackBudget = 0;
            if (schedule.StartsWith("caller", StringComparison.Ordinal)) GemmThreads.WakeWorkers = false;
            if (schedule.StartsWith("tiny", StringComparison.Ordinal))
            {
                (GemmDriver.MC, GemmDriver.NC, GemmDriver.KC) = (24, 64, 32);
                Gemm.ForcedChunkBlocks = 3;
            }
            foreach (var (m, n, k) in ScheduleShapes)
            {
                Check<float>(rng, transA, transB, m, n, k, 1f, 0f, pad: true, 2);
                Check<float>(rng, transA, transB, m, n, k, 0.5f, 1f, pad: false, 2);
                Check<double>(rng, transA, transB, m, n, k, -1.0, 0.25, pad: true, 2);
                Check<double>(rng, transA, transB, m, n, k, 1.0, 0.0, pad: false, 2);
            }
        }
        finally
        {
            (Gemm.ForcedPath, Gemm.ForcedSplit, Gemm.ForcedChunkBlocks, GemmDriver.SharedPackBudget, GemmThreads.WakeWorkers,
                GemmDriver.MC, GemmDriver.NC, GemmDriver.KC) = saved;
        }
    }

    private static int[] s_chunkRuns = [];

    private static unsafe void CountChunk(void* state, int chunk, long job)
    {
        Interlocked.Increment(ref s_chunkRuns[chunk]);
        if (chunk == *(int*)state) throw new InvalidOperationException($"chunk {chunk} failed");
    }

    [Fact]
    public unsafe void TheQueueRunsEveryChunkOnceAndPropagatesErrors()
    {
        foreach (bool wake in new[] { true, false })
        {
            var saved = (GemmThreads.WakeWorkers, GemmThreads.Backoff);
            try
            {
                (GemmThreads.WakeWorkers, GemmThreads.Backoff) = (wake, false);
                for (int rep = 0; rep < 50; rep++)
                {
                    s_chunkRuns = new int[37];
                    int failing = -1;
                    // Another test class may hold the workers for a moment; then TryRun declines and nothing runs.
                    if (!GemmThreads.TryRun(&CountChunk, &failing, 37, 2)) continue;
                    Assert.All(s_chunkRuns, runs => Assert.Equal(1, runs));
                }
                s_chunkRuns = new int[16];
                int fail = 11;
                Exception? e = null;
                try { GemmThreads.TryRun(&CountChunk, &fail, 16, 2); }
                catch (Exception caught) { e = caught; }
                if (e is null) continue; // the workers were busy and nothing ran
                // The caller's own failure is rethrown as is, a worker's wrapped; either way the other chunks ran.
                var inner = e is AggregateException a ? a.InnerException! : e;
                Assert.Equal("chunk 11 failed", inner.Message);
                if (!wake) Assert.IsType<InvalidOperationException>(e);
                Assert.All(s_chunkRuns, runs => Assert.Equal(1, runs));
            }
            finally
            {
                (GemmThreads.WakeWorkers, GemmThreads.Backoff) = saved;
            }
        }
    }

    [Fact]
    public unsafe void ThreadingBacksOffWhenTheWorkersTakeTooFewChunks()
    {
        bool saved = GemmThreads.Backoff;
        try
        {
            GemmThreads.Backoff = true;
            GemmThreads.ResetBackoff();
            long before = GemmThreads.Backoffs;
            // A window in which the workers took a fair share does not back off; one in which they took none does.
            GemmThreads.JudgeShare(GemmThreads.WindowChunks, GemmThreads.WindowChunks / 2);
            Assert.Equal(before, GemmThreads.Backoffs);
            GemmThreads.JudgeShare(GemmThreads.WindowChunks, 0);
            Assert.Equal(before + 1, GemmThreads.Backoffs);
            // Starving on: the period doubles (20 ms → 320 ms), so the check below is well inside it.
            for (int i = 0; i < 4; i++) GemmThreads.JudgeShare(GemmThreads.WindowChunks, 0);
            Assert.Equal(before + 5, GemmThreads.Backoffs);
            s_chunkRuns = new int[4];
            int none = -1;
            Assert.False(GemmThreads.TryRun(&CountChunk, &none, 4, 2));
            Assert.All(s_chunkRuns, runs => Assert.Equal(0, runs));
            // Meanwhile a GEMM still gives the right result, on the calling thread.
            Check<float>(new Rng(8), false, true, 200, 190, 300, 1f, 0f, pad: false, 1);
        }
        finally
        {
            GemmThreads.ResetBackoff();
            GemmThreads.Backoff = saved;
        }
    }

    [Fact]
    public void ZeroKScalesC()
    {
        float[] c = [1, 2, 3, 4, 5, 6];
        Gemm.Multiply(false, false, 2, 3, 0, 1f, [], 1, [], 3, 0.5f, c, 3);
        Assert.Equal([0.5f, 1, 1.5f, 2, 2.5f, 3], c);

        double[] d = [double.NaN, double.NaN, double.NaN, 7];
        Gemm.Multiply(true, true, 1, 3, 0, 1.0, [], 1, [], 1, 0.0, d, 3);
        Assert.Equal([0.0, 0.0, 0.0, 7.0], d);
    }

    [Fact]
    public void AlphaZeroDoesNotReadAB()
    {
        float[] a = [float.NaN, float.NaN], b = [float.NaN, float.NaN], c = [2, float.NaN];
        Gemm.Multiply(false, false, 1, 1, 2, 0f, a, 2, b, 1, 3f, c, 2);
        Assert.Equal(6f, c[0]);
        Assert.True(float.IsNaN(c[1]));
    }

    [Fact]
    public void EmptyOutputIsANoOp()
    {
        Gemm.Multiply(false, false, 0, 5, 3, 1f, [], 3, new float[15], 5, 0f, [], 5);
        Gemm.Multiply(false, false, 4, 0, 3, 1.0, new double[12], 3, [], 1, 0.0, [], 1);
    }

    [Fact]
    public void ArgumentsAreValidated()
    {
        float[] a = new float[6], b = new float[6], c = new float[4];
        Assert.Throws<ArgumentOutOfRangeException>("m", () => Gemm.Multiply(false, false, -1, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
        Assert.Throws<ArgumentOutOfRangeException>("k", () => Gemm.Multiply(false, false, 2, 2, -3, 1f, a, 3, b, 2, 0f, c, 2));
        var e = Assert.Throws<ArgumentException>("lda", () => Gemm.Multiply(false, false, 2, 2, 3, 1f, a, 2, b, 2, 0f, c, 2));
        Assert.Contains("row length 3", e.Message);
        e = Assert.Throws<ArgumentException>("a", () => Gemm.Multiply(false, false, 2, 2, 3, 1f, a.AsSpan(1), 3, b, 2, 0f, c, 2));
        Assert.Contains("needs at least 6", e.Message);
        // transA: A is stored k×m = 3×2, so lda = 2 is right and lda = 3 needs 8 elements.
        Gemm.Multiply(true, false, 2, 2, 3, 1f, a, 2, b, 2, 0f, c, 2);
        Assert.Throws<ArgumentException>("a", () => Gemm.Multiply(true, false, 2, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
        Assert.Throws<ArgumentException>("ldb", () => Gemm.Multiply(false, true, 2, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
        Assert.Throws<ArgumentException>("c", () => Gemm.Multiply(false, false, 2, 2, 3, 1f, a, 3, b, 2, 0f, c, 3));
        Assert.Throws<ArgumentException>("ldc", () => Gemm.Multiply(false, false, 2, 2, 3, 1.0, new double[6], 3, new double[6], 2, 0.0, new double[4], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MaxThreads = 0);
    }

    [Theory]
    [InlineData(32, 16, 30)]   // direct path
    [InlineData(200, 190, 300)] // packed path
    public void SteadyStateCallAllocatesNothing(int m, int n, int k)
    {
        int saved = Gemm.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                Gemm.MaxThreads = threads;
                float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
                double[] ad = new double[m * k], bd = new double[k * n], cd = new double[m * n];
                Gemm.Multiply(false, true, m, n, k, 1f, a, k, b, k, 0f, c, n);
                Gemm.Multiply(false, false, m, n, k, 1.0, ad, k, bd, n, 1.0, cd, n);
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 5; i++)
                {
                    Gemm.Multiply(false, true, m, n, k, 1f, a, k, b, k, 0f, c, n);
                    Gemm.Multiply(false, false, m, n, k, 1.0, ad, k, bd, n, 1.0, cd, n);
                }
                Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            }
        }
        finally
        {
            Gemm.MaxThreads = saved;
        }
    }

    [Fact]
    public void ConcurrentCallersGetCorrectResults()
    {
        // Several threads at once: one gets the workers, the others must fall back to running alone.
        const int m = 150, n = 140, k = 130;
        var rng = new Rng(5);
        float[] a = Random<float>(rng, m * k), b = Random<float>(rng, k * n);
        float[] expected = new float[m * n];
        Gemm.MultiplyNaive(false, false, m, n, k, 1f, a, k, b, n, 0f, expected, n);
        var results = new float[4][];
        Parallel.For(0, 4, t =>
        {
            var c = new float[m * n];
            for (int rep = 0; rep < 10; rep++) Gemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            results[t] = c;
        });
        foreach (var c in results)
            for (int i = 0; i < c.Length; i++) Assert.Equal(expected[i], c[i], 1e-3f);
    }

    private static ulong Seed(bool ta, bool tb, int m, int n, int k)
        => (ulong)(((m * 1009L + n) * 1013 + k) * 4 + (ta ? 2 : 0) + (tb ? 1 : 0));

    private static T[] Random<T>(Rng rng, int count) where T : INumber<T>
    {
        var x = new T[count];
        for (int i = 0; i < count; i++) x[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>
    /// One multiply on strided views (pad: each row stride is the row length + 3), run once per thread count
    /// on a fresh copy of C, with C around the view filled with a sentinel that must survive; beta == 0 runs
    /// start from NaN. Compares with the reference, computed once.
    /// </summary>
    private static void Check<T>(Rng rng, bool transA, bool transB, int m, int n, int k, T alpha, T beta, bool pad, params int[] threadCounts)
        where T : unmanaged, INumber<T>, IFloatingPointIeee754<T>
    {
        int extra = pad ? 3 : 0;
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + extra, ldb = bCols + extra, ldc = n + extra;
        T[] a = Random<T>(rng, Math.Max(0, aRows * lda - extra));
        T[] b = Random<T>(rng, Math.Max(0, bRows * ldb - extra));
        T[] c0 = Random<T>(rng, m * ldc); // the last row's padding too is checked as sentinel
        T sentinel = T.CreateTruncating(12345.0);
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++) c0[i * ldc + j] = sentinel;
        if (beta == T.Zero)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) c0[i * ldc + j] = T.NaN;

        // Reference in double from the exactly converted inputs, so only its own rounding remains.
        double[] ad = ToDouble(a), bd = ToDouble(b), cd = ToDouble(c0);
        double alphaD = double.CreateTruncating(alpha), betaD = double.CreateTruncating(beta);
        Gemm.MultiplyNaive(transA, transB, m, n, k, alphaD, ad, lda, bd, ldb, betaD, cd, ldc);
        // Σ_p |op(A)[i,p]|·|op(B)[p,j]| ≤ ‖op(A) row i‖₂ · ‖op(B) column j‖₂ (Cauchy–Schwarz): an upper bound
        // that costs O(mk + kn) instead of a second O(mnk) pass, and for random data only ~4/3 above the sum.
        double[] rowNorm = new double[m], colNorm = new double[n];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++) rowNorm[i] += Square(ad[transA ? p * lda + i : i * lda + p]);
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++) colNorm[j] += Square(bd[transB ? j * ldb + p : p * ldb + j]);

        double u = typeof(T) == typeof(float) ? Math.ScaleB(1, -24) : Math.ScaleB(1, -53);
        double factor = (2.0 * k + 4) * u + (typeof(T) == typeof(double) ? k * u : 0);
        foreach (int threads in threadCounts)
        {
            T[] c = (T[])c0.Clone();
            int savedThreads = Gemm.MaxThreads;
            long savedThreadMin = Gemm.ThreadMinWork;
            bool savedBackoff = GemmThreads.Backoff;
            try
            {
                Gemm.MaxThreads = threads;
                // Let the threaded runs split even the small shapes, so the partitioning is tested at edges, and
                // never back off to one thread (which a busy test machine could otherwise cause).
                if (threads > 1) (Gemm.ThreadMinWork, GemmThreads.Backoff) = (0, false);
                if (a is float[] af)
                    Gemm.Multiply(transA, transB, m, n, k, float.CreateTruncating(alpha), af, lda, (float[])(object)b, ldb,
                        float.CreateTruncating(beta), (float[])(object)c, ldc);
                else
                    Gemm.Multiply(transA, transB, m, n, k, double.CreateTruncating(alpha), (double[])(object)a, lda, (double[])(object)b, ldb,
                        double.CreateTruncating(beta), (double[])(object)c, ldc);
            }
            finally
            {
                Gemm.MaxThreads = savedThreads;
                Gemm.ThreadMinWork = savedThreadMin;
                GemmThreads.Backoff = savedBackoff;
            }

            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < ldc; j++)
                {
                    int at = i * ldc + j;
                    double got = double.CreateTruncating(c[at]);
                    if (j >= n)
                    {
                        Assert.True(c[at] == sentinel, $"C[{i},{j}] outside the {m}×{n} view was written ({got}).");
                        continue;
                    }
                    double scale = Math.Abs(alphaD) * Math.Sqrt(rowNorm[i] * colNorm[j])
                                   + (betaD == 0 ? 0 : Math.Abs(betaD * double.CreateTruncating(c0[at])));
                    double err = Math.Abs(got - cd[at]);
                    double tol = factor * scale;
                    if (!(err <= tol))
                        Assert.Fail($"{typeof(T).Name} transA={transA} transB={transB} m={m} n={n} k={k} alpha={alpha} beta={beta} " +
                                    $"threads={threads} pad={pad}: C[{i},{j}] = {got}, reference {cd[at]}, error {err:E3} > tolerance {tol:E3}.");
                }
            }
        }
    }

    private static double Square(double x) => x * x;

    private static double[] ToDouble<T>(T[] x) where T : INumber<T>
    {
        var d = new double[x.Length];
        for (int i = 0; i < x.Length; i++) d[i] = double.CreateTruncating(x[i]);
        return d;
    }

}
