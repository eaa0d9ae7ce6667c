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
/// </summary>
internal static class GemmQuick
{
    public static void Run(string[] args)
    {
        int[] sizes = [32, 64, 128, 256, 512, 1024, 2048];
        List<(int M, int N, int K)> shapes = [];
        bool useDouble = false, ta = false, tb = false;
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
                case "ta": ta = true; break;
                case "tb": tb = true; break;
                case "kc": GemmDriver.KC = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "mc": GemmDriver.MC = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "nc": GemmDriver.NC = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "direct": Gemm.ForcedPath = Gemm.PathChoice.Direct; break;
                case "packed": Gemm.ForcedPath = Gemm.PathChoice.Packed; break;
                case "threadmin": Gemm.ThreadMinWork = long.Parse(kv[1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"gemm-quick: unknown option '{arg}'.");
            }
        }
        Console.WriteLine($"GEMM {(useDouble ? "double" : "float")} transA={ta} transB={tb}, {Environment.ProcessorCount} cores, " +
                          $"KC={GemmDriver.KC} MC={GemmDriver.MC} NC={GemmDriver.NC}, path={Gemm.ForcedPath}");
        if (shapes.Count > 0)
        {
            int all = Environment.ProcessorCount;
            Console.WriteLine($"{"shape",-16} {"µs 1 thr",10} {"GFLOP/s",8} {$"µs {all} thr",10} {"GFLOP/s",8}");
            foreach (var (m, n, k) in shapes)
            {
                double t1 = Time(m, n, k, useDouble, ta, tb, 1);
                double tAll = Time(m, n, k, useDouble, ta, tb, all);
                double flops = 2.0 * m * n * k;
                Console.WriteLine($"{$"{m}x{n}x{k}",-16} {t1 * 1e6,10:F2} {flops / t1 / 1e9,8:F1} {tAll * 1e6,10:F2} {flops / tAll / 1e9,8:F1}");
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

    private static T[] Fill<T>(int count, Rng rng) where T : System.Numerics.INumber<T>
    {
        var x = new T[count];
        for (int i = 0; i < count; i++) x[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        return x;
    }
}
