using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Backprop.Kernels;
using Backprop.Training;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary>
/// <c>bench --contention</c>: training throughput on a machine whose other core is busy. A spinning neighbour
/// (<see cref="SpinningNeighbour"/>) keeps one core occupied while each workload trains with 1 GEMM thread and
/// with several, alternating the two runs for the chosen number of rounds; the report gives both medians and
/// their ratio. A GEMM split over two threads is only worth having if it is not slower than one thread when the
/// second core is taken; the project's goal is a ratio of at least 0.9 on mid and wide.
/// </summary>
internal static class BenchContention
{
    private sealed record Row(string Workload, string Engine, int Threads, int Epochs, double[] OneThread, double[] Threaded,
        double WorkerChunkShare, long Backoffs, double AllocatedBytesPerStep)
    {
        public double OneThreadMedian => Median(OneThread);
        public double ThreadedMedian => Median(Threaded);
        public double Ratio => ThreadedMedian / OneThreadMedian;
    }

    public static int Run(ParseResult parse, IReadOnlyList<BenchWorkload> selected, int? epochs, int? threads, BenchEngine engine,
        ulong seed, int rounds, bool json, bool all)
    {
        int many = Math.Min(threads ?? Environment.ProcessorCount, Environment.ProcessorCount);
        var err = Consoles.For(parse.InvocationConfiguration.Error, true);
        int previousThreads = Gemm.MaxThreads;
        var rows = new List<Row>();
        string kind;
        int? pid;
        using (var neighbour = SpinningNeighbour.Start())
        {
            kind = neighbour.Kind;
            pid = neighbour.ProcessId;
            err.WriteLine($"spinning neighbour: {kind}{(pid is { } p ? $" {p}" : "")}");
            try
            {
                foreach (var w in selected)
                {
                    var one = new double[rounds];
                    var threaded = new double[rounds];
                    long chunks = 0, workerChunks = 0, backoffs = 0;
                    double allocated = 0;
                    for (int r = 0; r < rounds; r++)
                    {
                        // Alternate which goes first, so that a change in the machine's load does not favour one.
                        foreach (bool first in r % 2 == 0 ? new[] { true, false } : new[] { false, true })
                        {
                            int t = first ? 1 : many;
                            err.WriteLine($"timing {w.Name} with {t} GEMM thread(s), round {r + 1} of {rounds} …");
                            Gemm.MaxThreads = t;
                            long chunksBefore = GemmThreads.TotalChunks, workerBefore = GemmThreads.WorkerChunks, backoffsBefore = GemmThreads.Backoffs;
                            var result = TrainingBenchmark.Run(w, epochs ?? w.DefaultEpochs, engine, seed);
                            if (first) one[r] = result.SamplesPerSecond;
                            else
                            {
                                threaded[r] = result.SamplesPerSecond;
                                chunks += GemmThreads.TotalChunks - chunksBefore;
                                workerChunks += GemmThreads.WorkerChunks - workerBefore;
                                backoffs += GemmThreads.Backoffs - backoffsBefore;
                                allocated = Math.Max(allocated, result.AllocatedBytesPerStep);
                            }
                        }
                    }
                    rows.Add(new Row(w.Name, engine == BenchEngine.Fused ? "fused" : "autodiff", many, epochs ?? w.DefaultEpochs, one, threaded,
                        chunks == 0 ? 0 : (double)workerChunks / chunks, backoffs, allocated));
                }
            }
            finally
            {
                Gemm.MaxThreads = previousThreads;
            }
        }

        if (json)
        {
            var objects = rows.Select(r => new
            {
                workload = r.Workload,
                framework = "backprop",
                engine = r.Engine,
                contention = kind,
                neighbour_pid = pid,
                threads = r.Threads,
                epochs = r.Epochs,
                rounds,
                samples_per_second_1_thread = Math.Round(r.OneThreadMedian, 1),
                samples_per_second_threaded = Math.Round(r.ThreadedMedian, 1),
                ratio = Math.Round(r.Ratio, 4),
                runs_1_thread = r.OneThread.Select(v => Math.Round(v, 1)).ToArray(),
                runs_threaded = r.Threaded.Select(v => Math.Round(v, 1)).ToArray(),
                worker_chunk_share = Math.Round(r.WorkerChunkShare, 4),
                backoffs = r.Backoffs,
                allocated_bytes_per_step = Math.Round(r.AllocatedBytesPerStep, 1),
            }).ToArray();
            parse.InvocationConfiguration.Output.WriteLine(objects.Length == 1 && !all ? JsonSerializer.Serialize(objects[0]) : JsonSerializer.Serialize(objects));
            return 0;
        }
        var ic = CultureInfo.InvariantCulture;
        var console = Consoles.For(parse.InvocationConfiguration.Output, false);
        var table = new Table().Title($"Training throughput with one core kept busy by a spinning {kind}, {rows[0].Engine} engine, median of {rounds} round(s)")
            .AddColumn("workload").AddColumn(new TableColumn("samples/s, 1 thread").RightAligned())
            .AddColumn(new TableColumn($"samples/s, {many} threads").RightAligned()).AddColumn(new TableColumn("ratio").RightAligned())
            .AddColumn(new TableColumn("chunks taken by workers").RightAligned()).AddColumn(new TableColumn("back-offs to 1 thread").RightAligned());
        foreach (var r in rows)
            table.AddRow(r.Workload, r.OneThreadMedian.ToString("N0", ic), r.ThreadedMedian.ToString("N0", ic), r.Ratio.ToString("F2", ic),
                r.WorkerChunkShare.ToString("P0", ic), r.Backoffs.ToString(ic));
        console.Write(table);
        return 0;
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
