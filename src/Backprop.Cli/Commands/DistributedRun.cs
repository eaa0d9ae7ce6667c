using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Backprop.Distributed;
using Backprop.Kernels;
using Backprop.Training;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary>What <c>--distributed</c> needs: MPI started under mpirun (a clear error otherwise), and the distributed benchmark.</summary>
internal static class DistributedRun
{
    public static MpiCommunicator Start()
    {
        if (!MpiCommunicator.LaunchedByMpirun)
            throw new CliUsageException("--distributed needs mpirun: start the job as 'mpirun -np N backprop train … --distributed' (Open MPI; as root add --allow-run-as-root).");
        var mpi = MpiCommunicator.Initialize();
        // Ranks on one machine share its cores: each GEMM gets its part instead of every rank spawning
        // a thread per core (which would oversubscribe the machine N times over).
        if (int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out int local) && local > 1)
            Gemm.MaxThreads = Math.Max(1, Environment.ProcessorCount / local);
        return mpi;
    }

    public static int Bench(ParseResult parse, IReadOnlyList<BenchWorkload> workloads, int? epochs, int? threads, ulong seed, bool json, double latencyMicroseconds)
    {
        using var mpi = Start();
        if (threads is { } t) Gemm.MaxThreads = t;
        var results = new List<DistributedBenchResult>();
        foreach (var w in workloads)
        {
            if (mpi.Rank == 0) parse.InvocationConfiguration.Error.WriteLine($"timing {w.Name} on {mpi.Size} rank(s), {Gemm.MaxThreads} GEMM thread(s) each …");
            results.Add(DistributedBenchmark.Run(w, epochs ?? w.DefaultEpochs, mpi, seed));
        }
        if (mpi.Rank != 0) return 0;
        var ic = CultureInfo.InvariantCulture;
        int[] nodes = [4, 8, 16, 32, 64];
        double[] gbits = [10, 100];
        double latency = latencyMicroseconds * 1e-6;
        DistributedCostModel Model(DistributedBenchResult r, BenchWorkload w) =>
            new(r.ComputeMillisecondsPerStep / 1000 / Math.Ceiling((double)w.BatchSize / r.Ranks), w.BatchSize, r.BytesPerStep);
        if (json)
        {
            var rows = results.Zip(workloads).Select(p => new
            {
                workload = p.First.Workload, ranks = p.First.Ranks, gemm_threads = Gemm.MaxThreads, epochs = p.First.Epochs, steps = p.First.Steps,
                samples_per_second = Math.Round(p.First.SamplesPerSecond, 1), ms_per_step = Math.Round(p.First.MillisecondsPerStep, 5),
                allreduce_ms_per_step = Math.Round(p.First.AllreduceMillisecondsPerStep, 5), bytes_per_step = p.First.BytesPerStep,
                projected_speedup = gbits.ToDictionary(g => $"{g}Gbps", g => nodes.ToDictionary(n => n.ToString(ic), n => Math.Round(Model(p.First, p.Second).Speedup(n, g * 1e9 / 8, latency), 2))),
            }).ToArray();
            parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(rows));
            return 0;
        }
        var console = Consoles.For(parse.InvocationConfiguration.Output, false);
        var table = new Table().Title($"Data-parallel training, {mpi.Size} rank(s) × {Gemm.MaxThreads} GEMM thread(s), float32, plain SGD lr 0.01")
            .AddColumn("workload").AddColumn(new TableColumn("samples/s").RightAligned()).AddColumn(new TableColumn("ms/step").RightAligned())
            .AddColumn(new TableColumn("allreduce ms/step").RightAligned()).AddColumn(new TableColumn("bytes/step").RightAligned());
        foreach (var r in results)
            table.AddRow(r.Workload, r.SamplesPerSecond.ToString("N0", ic), r.MillisecondsPerStep.ToString("F4", ic),
                r.AllreduceMillisecondsPerStep.ToString("F4", ic), r.BytesPerStep.ToString("N0", ic));
        console.Write(table);
        var projection = new Table().Title($"Projected speedup over one node (ring allreduce, {latencyMicroseconds.ToString(ic)} µs latency per message)")
            .AddColumn("workload").AddColumn("network");
        foreach (var n in nodes) projection.AddColumn(new TableColumn($"{n} nodes").RightAligned());
        foreach (var (r, w) in results.Zip(workloads))
            foreach (var g in gbits)
                projection.AddRow([r.Workload, $"{g.ToString(ic)} Gb/s", .. nodes.Select(n => Model(r, w).Speedup(n, g * 1e9 / 8, latency).ToString("F1", ic) + "×")]);
        console.Write(projection);
        return 0;
    }
}
