using System.Globalization;
using Backprop.Kernels;
using Backprop.Training;

namespace Backprop.Benchmarks;

/// <summary>
/// The training benchmark of `backprop bench` with the threading knobs exposed, and what the GEMM threads did:
/// `-- train-quick [small|mid|wide] [epochs=N] [threads=N] [no-backoff]`.
/// </summary>
internal static class TrainQuick
{
    public static void Run(string[] args)
    {
        var w = BenchWorkload.Mid;
        int? epochs = null;
        foreach (string arg in args)
        {
            string[] kv = arg.Split('=', 2);
            switch (kv[0])
            {
                case "small": w = BenchWorkload.Small; break;
                case "mid": w = BenchWorkload.Mid; break;
                case "wide": w = BenchWorkload.Wide; break;
                case "epochs": epochs = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "threads": Gemm.MaxThreads = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                case "no-backoff": GemmThreads.Backoff = false; break;
                default: throw new ArgumentException($"train-quick: unknown option '{arg}'.");
            }
        }
        long chunks = GemmThreads.TotalChunks, workers = GemmThreads.WorkerChunks, backoffs = GemmThreads.Backoffs;
        var r = TrainingBenchmark.Run(w, epochs ?? w.DefaultEpochs);
        chunks = GemmThreads.TotalChunks - chunks;
        Console.WriteLine($"{w.Name}: {r.SamplesPerSecond:N0} samples/s, {r.Gflops:F1} GFLOP/s, {r.MillisecondsPerStep:F4} ms/step over {r.Epochs} epoch(s); " +
                          $"workers took {(double)(GemmThreads.WorkerChunks - workers) / Math.Max(1, chunks):P0} of {chunks:N0} chunks (warm-up included), back-offs {GemmThreads.Backoffs - backoffs}");
    }
}
