using System.Diagnostics;
using System.Globalization;
using Backprop.Kernels;

namespace Backprop.Benchmarks;

/// <summary>
/// Quick GEMM timing without BenchmarkDotNet: for each size, the best of several timed runs (after a
/// warm-up that also lets tiered JIT finish), printed as GFLOP/s = 2·m·n·k / time, for 1 thread and for
/// all threads. Options:
///   sizes=256,512,1024   square float sizes (default 32..2048)
///   shapes=32x16x30,...  m x n x k shapes (reported as µs per call and GFLOP/s)
///   double               use double instead of float
///   ta / tb              transpose A / B
///   kc=, mc=, nc=        override the packed path's block sizes
///   direct / packed      force a path
///   threadmin=N          smallest m·n·k that is split over threads
///   chunk=N              blocks (MR rows or NR columns) per chunk of a threaded call
///   split=m|n            force the dimension a threaded call cuts
///   budget=BYTES         largest shared operand a thread keeps packed for a call (0: re-pack per chunk)
///   minchunk=N           smallest multiply-adds per chunk when the shared operand is kept
///   pack                 with shapes=: time packing op(A) and op(B) whole, once each (ns per element)
///   sync                 the round trip of a threaded call with empty chunks (publish, wake, take, wait)
/// </summary>
internal static class GemmQuick
{
    public static void Run(string[] args)
    {
        int[] sizes = [32, 64, 128, 256, 512, 1024, 2048];
        List<(int M, int N, int K)> shapes = [];
        bool useDouble = false, ta = false, tb = false, pack = false;
        foreach (string arg in args)
        {
            string[] kv = arg.Split('=', 2);
            switch (kv[0])
            {
                case "sizes": sizes = kv[1].Split(',').Select(int.Parse).ToArray(); break;
                case "shapes":
                    foreach (string s in kv[1].Split(','))
                    {
                        int[] d = s.Split('x').Select(int.Parse).ToArray();
                        shapes.Add((d[0], d[1], d[2]));
                    }
                    break;
                case "double": useDouble = true; break;
                case "pack": pack = true; break;
                case "sync": Sync(); return;
                case "ta": ta = true; break;
                case "tb": tb = true; break;
                case "kc": GemmDriver.KC = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "mc": GemmDriver.MC = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "nc": GemmDriver.NC = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "direct": Gemm.ForcedPath = Gemm.PathChoice.Direct; break;
                case "packed": Gemm.ForcedPath = Gemm.PathChoice.Packed; break;
                case "threadmin": Gemm.ThreadMinWork = long.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "chunk": Gemm.ForcedChunkBlocks = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "split": Gemm.ForcedSplit = kv[1] == "m" ? Gemm.SplitChoice.M : Gemm.SplitChoice.N; break;
                case "budget": GemmDriver.SharedPackBudget = long.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "minchunk": GemmDriver.MinChunkWork = long.Parse(kv[1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"gemm-quick: unknown option '{arg}'.");
            }
        }
        Console.WriteLine($"GEMM {(useDouble ? "double" : "float")} transA={ta} transB={tb}, {Environment.ProcessorCount} cores, " +
                          $"KC={GemmDriver.KC} MC={GemmDriver.MC} NC={GemmDriver.NC}, path={Gemm.ForcedPath}");
        if (shapes.Count > 0 && pack)
        {
            Console.WriteLine($"{"shape",-16} {"pack A µs",10} {"ns/elem",8} {"pack B µs",10} {"ns/elem",8}");
            foreach (var (m, n, k) in shapes)
            {
                var (tA, tB) = PackTimes(m, n, k, ta, tb);
                Console.WriteLine($"{$"{m}x{n}x{k}",-16} {tA * 1e6,10:F2} {tA * 1e9 / ((double)m * k),8:F3} {tB * 1e6,10:F2} {tB * 1e9 / ((double)k * n),8:F3}");
            }
            return;
        }
        if (shapes.Count > 0)
        {
            int all = Environment.ProcessorCount;
            Console.WriteLine($"{"shape",-16} {"µs 1 thr",10} {"GFLOP/s",8} {$"µs {all} thr",10} {"GFLOP/s",8} {"workers' chunks",16}");
            foreach (var (m, n, k) in shapes)
            {
                double t1 = Time(m, n, k, useDouble, ta, tb, 1);
                long chunks = GemmThreads.TotalChunks, workers = GemmThreads.WorkerChunks;
                double tAll = Time(m, n, k, useDouble, ta, tb, all);
                chunks = GemmThreads.TotalChunks - chunks;
                workers = GemmThreads.WorkerChunks - workers;
                double flops = 2.0 * m * n * k;
                string share = chunks == 0 ? "not threaded" : $"{(double)workers / chunks,16:P0}";
                Console.WriteLine($"{$"{m}x{n}x{k}",-16} {t1 * 1e6,10:F2} {flops / t1 / 1e9,8:F1} {tAll * 1e6,10:F2} {flops / tAll / 1e9,8:F1} {share,16}");
            }
            return;
        }
        Console.WriteLine($"{"n",6} {"1 thread",10} {$"{Environment.ProcessorCount} threads",10}   (GFLOP/s, best of runs)");
        foreach (int n in sizes)
        {
            double t1 = Time(n, n, n, useDouble, ta, tb, 1);
            double tAll = Time(n, n, n, useDouble, ta, tb, Environment.ProcessorCount);
            double flops = 2.0 * n * n * n;
            Console.WriteLine($"{n,6} {flops / t1 / 1e9,10:F1} {flops / tAll / 1e9,10:F1}");
        }
    }

    /// <summary>Best seconds per call over ~0.5 s of runs (at least 3).</summary>
    private static double Time(int m, int n, int k, bool useDouble, bool ta, bool tb, int threads)
    {
        Gemm.MaxThreads = threads;
        var rng = new Rng(42);
        Action call;
        if (useDouble)
        {
            double[] a = Fill<double>(m * k, rng), b = Fill<double>(k * n, rng), c = new double[m * n];
            call = () => Gemm.Multiply(ta, tb, m, n, k, 1.0, a, ta ? m : k, b, tb ? k : n, 0.0, c, n);
        }
        else
        {
            float[] a = Fill<float>(m * k, rng), b = Fill<float>(k * n, rng), c = new float[m * n];
            call = () => Gemm.Multiply(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n);
        }
        // Calls per timed run: enough that a run lasts ~5 ms, so timer resolution does not matter.
        double flops = 2.0 * m * n * k;
        int reps = (int)Math.Clamp(5e-3 / (flops / 50e9), 1, 1_000_000);
        for (int w = 0; w < 3; w++) for (int r = 0; r < reps; r++) call();
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        for (int run = 0; run < 3 || total.Elapsed.TotalSeconds < 0.5; run++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int r = 0; r < reps; r++) call();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds / reps);
        }
        return best;
    }

    /// <summary>Best seconds to pack all of op(A), and all of op(B), as the driver blocks them (float, the AVX-512 or AVX2 tile).</summary>
    private static unsafe (double A, double B) PackTimes(int m, int n, int k, bool ta, bool tb)
    {
        int mr = Avx512Kernel<float>.IsSupported ? Avx512Kernel<float>.MR : Avx2Kernel<float>.MR;
        int nr = Avx512Kernel<float>.IsSupported ? Avx512Kernel<float>.NR : Avx2Kernel<float>.NR;
        var rng = new Rng(3);
        float[] a = Fill<float>(m * k, rng), b = Fill<float>(k * n, rng);
        int lda = ta ? m : k, ldb = tb ? k : n;
        nint rsA = ta ? 1 : lda, csA = ta ? lda : 1, rsB = tb ? 1 : ldb, csB = tb ? ldb : 1;
        int kBlocks = (k + GemmDriver.KC - 1) / GemmDriver.KC, kcMax = (k + kBlocks - 1) / kBlocks;
        var dA = new float[(m + mr - 1) / mr * mr * kcMax];
        var dB = new float[(n + nr - 1) / nr * nr * kcMax];
        double bestA = double.MaxValue, bestB = double.MaxValue;
        fixed (float* pa = a, pb = b, da = dA, db = dB)
        {
            for (int rep = 0; rep < 200; rep++)
            {
                long t = Stopwatch.GetTimestamp();
                for (int pc = 0; pc < k; pc += kcMax) GemmDriver.PackA(da, pa + pc * csA, rsA, csA, m, Math.Min(kcMax, k - pc), mr);
                bestA = Math.Min(bestA, Stopwatch.GetElapsedTime(t).TotalSeconds);
                t = Stopwatch.GetTimestamp();
                for (int pc = 0; pc < k; pc += kcMax) GemmDriver.PackB(db, pb + pc * rsB, rsB, csB, Math.Min(kcMax, k - pc), n, nr);
                bestB = Math.Min(bestB, Stopwatch.GetElapsedTime(t).TotalSeconds);
            }
        }
        return (bestA, bestB);
    }

    private static unsafe void Nop(void* state, int chunk, long job) { }

    /// <summary>µs per threaded call whose chunks do nothing, back to back and with a gap between calls.</summary>
    private static unsafe void Sync()
    {
        Gemm.MaxThreads = Environment.ProcessorCount;
        foreach (int gapMicroseconds in new[] { 0, 20, 100, 500 })
            foreach (int chunks in new[] { 2, 16 })
            {
                var all = new List<double>();
                for (int i = 0; i < 2000; i++)
                {
                    if (gapMicroseconds > 0)
                    {
                        long until = Stopwatch.GetTimestamp() + gapMicroseconds * Stopwatch.Frequency / 1_000_000;
                        while (Stopwatch.GetTimestamp() < until) { }
                    }
                    long t = Stopwatch.GetTimestamp();
                    GemmThreads.TryRun(&Nop, null, chunks, Environment.ProcessorCount);
                    all.Add(Stopwatch.GetElapsedTime(t).TotalMicroseconds);
                }
                all.Sort();
                Console.WriteLine($"gap {gapMicroseconds,4} µs, {chunks,2} chunks: median {all[all.Count / 2]:F2} µs, 90th {all[all.Count * 9 / 10]:F2}, 99th {all[all.Count * 99 / 100]:F2}, worker chunks {GemmThreads.WorkerChunks}");
            }
    }

    private static T[] Fill<T>(int count, Rng rng) where T : System.Numerics.INumber<T>
    {
        var x = new T[count];
        for (int i = 0; i < count; i++) x[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        return x;
    }
}
