using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Backprop.Kernels;
using Backprop.Training;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary>
/// Training throughput on the workloads of docs/performance.md, for side-by-side runs with
/// bench/pytorch_bench.py (same networks, data sizes and loop).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var workload = new Option<string>("--workload")
        {
            Description = "small (30-16-1), mid (784-256-128-10), wide (784-1024-1024-10), cnn (LeNet-5-like on 1×28×28: conv 6 and 16 channels 5×5, " +
                "max-pool 2, 400-120-84-10; batch 64, 10,000 samples; always the autodiff engine, as the compiled step has no convolution) " +
                "or all (all four: cnn is included, as it adds about as long as wide does).",
            DefaultValueFactory = _ => "all",
        };
        workload.OneOf(["small", "mid", "wide", "cnn", "all"]);
        var epochs = new Option<int?>("--epochs") { Description = "Timed epochs after the warm-up epoch. Default: 1000 for small, 1 for mid, wide and cnn." }.AtLeast(1);
        var samples = new Option<int?>("--samples") { Description = "Synthetic samples per epoch instead of the workload's own count (e.g. for a quick check; bench/pytorch_bench.py takes the same option)." }.AtLeast(1);
        var threads = new Option<int?>("--threads") { Description = "Threads a matrix product may use. Default: every core." }.AtLeast(1);
        var engine = new Option<string>("--engine")
        {
            Description = "fused (the compiled training step the trainer uses) or autodiff (the define-by-run engine, for comparison). " +
                "A network the compiled step does not support (cnn) runs on autodiff either way; the output's engine column/field says which ran.",
            DefaultValueFactory = _ => "fused",
        };
        engine.OneOf(["fused", "autodiff"]);
        var seed = CliOptions.Seed();
        var json = new Option<bool>("--json") { Description = "Print JSON on stdout: one object for one workload, an array for all." };
        var distributed = new Option<bool>("--distributed") { Description = "Data-parallel under mpirun (mpirun -np N backprop bench --distributed): samples/s, time per step in the gradient allreduce, bytes per step, and the cost model's projection to 4–64 nodes. MLP workloads only (all means small, mid and wide here). Each rank uses cores/ranks GEMM threads unless --threads says otherwise." };
        var latency = new Option<double>("--latency-us") { Description = "With --distributed: the per-message network latency (µs) the projection assumes.", DefaultValueFactory = _ => 10.0 };
        var contention = new Option<bool>("--contention")
        {
            Description = "Time training on a busy machine: a spinning neighbour (a busy-loop child process, or a thread where /bin/sh is missing) " +
                "keeps one core occupied while each workload trains with 1 GEMM thread and with --threads (default: every core), " +
                "alternating the two for --rounds rounds. Reports both medians in samples/s, their ratio (threaded / 1 thread; the goal is at least 0.9 " +
                "on mid and wide), the share of GEMM chunks the worker threads took and how often threading backed off to one thread because they took too few. The neighbour stops at the end, on an error and on Ctrl+C, " +
                "and ends by itself if this process is killed.",
        };
        var rounds = new Option<int>("--rounds") { Description = "With --contention: rounds of (1-thread run, threaded run); medians are reported.", DefaultValueFactory = _ => 3 }.AtLeast(1);
        var command = new Command("bench", "Time training (plain SGD, lr 0.01) on synthetic data: samples per second, ms per step, GFLOP/s and bytes allocated per step.\n" +
            "Example: backprop bench --workload all --json\n" +
            "Example: backprop bench --contention --workload mid    (1 vs 2 GEMM threads with the other core busy)\n" +
            "Example: mpirun -np 2 backprop bench --distributed") { workload, epochs, samples, threads, engine, seed, json, distributed, latency, contention, rounds };
        command.SetAction(parse =>
        {
            int? e = parse.GetValue(epochs);
            if (e is < 1) throw new CliUsageException("--epochs must be at least 1.");
            int? t = parse.GetValue(threads);
            if (t is < 1) throw new CliUsageException("--threads must be at least 1.");
            int? sampleCount = parse.GetValue(samples);
            if (sampleCount is < 1) throw new CliUsageException("--samples must be at least 1.");
            string name = parse.GetValue(workload)!;
            var selected = name == "all" ? BenchWorkload.All : BenchWorkload.All.Where(w => w.Name == name).ToArray();
            if (sampleCount is { } count) selected = selected.Select(w => w with { Samples = count }).ToArray();
            var chosenEngine = parse.GetValue(engine) == "autodiff" ? BenchEngine.Autodiff : BenchEngine.Fused;
            if (parse.GetValue(distributed))
            {
                if (parse.GetValue(contention)) throw new CliUsageException("--contention and --distributed cannot be combined.");
                if (name == "all") selected = selected.Where(w => w.Network == BenchNetwork.Mlp).ToArray();
                else if (selected[0].Network != BenchNetwork.Mlp)
                    throw new CliUsageException($"--distributed runs the compiled MLP step, which has no convolution; use --workload small, mid, wide or all (without {name}).");
                return DistributedRun.Bench(parse, selected, e, t, parse.GetValue(seed), parse.GetValue(json), parse.GetValue(latency));
            }
            if (parse.GetValue(contention))
                return BenchContention.Run(parse, selected, e, t, chosenEngine, parse.GetValue(seed), parse.GetValue(rounds), parse.GetValue(json), name == "all");
            var err = Consoles.For(parse.InvocationConfiguration.Error, true);
            int previousThreads = Gemm.MaxThreads;
            var results = new List<BenchResult>();
            try
            {
                if (t is { } threadCount) Gemm.MaxThreads = threadCount;
                foreach (var w in selected)
                {
                    err.WriteLine($"timing {w.Name} ({w.Description}, batch {w.BatchSize}, {w.Samples:N0} samples) …");
                    var result = TrainingBenchmark.Run(w, e ?? w.DefaultEpochs, chosenEngine, parse.GetValue(seed));
                    if (result.EngineNote is { } note) err.WriteLine($"  {w.Name}: {note}.");
                    results.Add(result);
                }
            }
            finally
            {
                Gemm.MaxThreads = previousThreads;
            }

            if (parse.GetValue(json))
            {
                var rows = results.Select(r => new
                {
                    workload = r.Workload,
                    framework = "backprop",
                    engine = r.Engine,
                    engine_note = r.EngineNote,
                    threads = r.Threads,
                    epochs = r.Epochs,
                    steps = r.Steps,
                    seconds = Math.Round(r.Seconds, 4),
                    samples_per_second = Math.Round(r.SamplesPerSecond, 1),
                    ms_per_step = Math.Round(r.MillisecondsPerStep, 5),
                    gflops = Math.Round(r.Gflops, 3),
                    allocated_bytes_per_step = Math.Round(r.AllocatedBytesPerStep, 1),
                    final_loss = Math.Round(r.FinalLoss, 6),
                }).ToArray();
                parse.InvocationConfiguration.Output.WriteLine(rows.Length == 1 && name != "all" ? JsonSerializer.Serialize(rows[0]) : JsonSerializer.Serialize(rows));
                return 0;
            }
            var ic = CultureInfo.InvariantCulture;
            var console = Consoles.For(parse.InvocationConfiguration.Output, false);
            // One engine for every row goes in the title; with `all` the cnn falls back to autodiff, so a column says which ran.
            bool mixed = results.Any(r => r.Engine != results[0].Engine);
            var table = new Table().Title($"Training throughput, {(mixed ? "" : results[0].Engine + " engine, ")}float32, plain SGD lr 0.01, {results[0].Threads} GEMM thread(s)")
                .AddColumn("workload");
            if (mixed) table.AddColumn("engine");
            table.AddColumn(new TableColumn("epochs").RightAligned()).AddColumn(new TableColumn("samples/s").RightAligned())
                .AddColumn(new TableColumn("ms/step").RightAligned()).AddColumn(new TableColumn("GFLOP/s").RightAligned())
                .AddColumn(new TableColumn("bytes/step").RightAligned()).AddColumn(new TableColumn("final loss").RightAligned());
            foreach (var r in results)
            {
                var cells = new List<string> { r.Workload };
                if (mixed) cells.Add(r.Engine);
                cells.AddRange([r.Epochs.ToString(ic), r.SamplesPerSecond.ToString("N0", ic), r.MillisecondsPerStep.ToString("F4", ic),
                    r.Gflops.ToString("F2", ic), r.AllocatedBytesPerStep.ToString("N0", ic), r.FinalLoss.ToString("F4", ic)]);
                table.AddRow([.. cells]);
            }
            console.Write(table);
            return 0;
        });
        return command;
    }
}
