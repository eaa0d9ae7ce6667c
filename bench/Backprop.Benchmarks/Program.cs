using BenchmarkDotNet.Running;

// `-- gemm-quick [options]` is a Stopwatch timer for tuning the GEMM kernel (seconds, not minutes);
// `-- step-quick [small|mid|wide]` times the parts of a compiled training step;
// `-- cnn-quick [rounds]` times every layer of the cnn bench workload's step on the define-by-run engine;
// `-- step-breakdown [small|mid|wide] [threads=N]` times every kernel call of one step (GEMMs with shapes, epilogues, loss, SGD);
// `-- train-quick [small|mid|wide] [epochs=N] [threads=N] [no-backoff]` is `backprop bench` with the threading knobs;
// `-- csv-memory [rows] [columns]` measures the peak memory of loading a big CSV;
// anything else goes to BenchmarkDotNet, e.g. `-- --filter *Gemm*`.
if (args.Length > 0 && args[0] == "cnn-quick")
{
    Backprop.Benchmarks.CnnQuick.Run(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "step-breakdown")
{
    Backprop.Benchmarks.StepBreakdown.Run(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "train-quick")
{
    Backprop.Benchmarks.TrainQuick.Run(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "step-quick")
{
    Backprop.Benchmarks.StepQuick.Run(args[1..]);
    return;
}
// `-- csv-memory [rows] [columns]` measures the peak memory of loading a large CSV (docs/data.md).
if (args.Length > 0 && args[0] == "csv-memory")
{
    Backprop.Benchmarks.CsvMemory.Run(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "csv-memory-child")
{
    Backprop.Benchmarks.CsvMemory.Child(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "gemm-quick")
{
    Backprop.Benchmarks.GemmQuick.Run(args[1..]);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
