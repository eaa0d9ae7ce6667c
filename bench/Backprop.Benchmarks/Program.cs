using BenchmarkDotNet.Running;

// `-- gemm-quick [options]` is a Stopwatch timer for tuning the GEMM kernel (seconds, not minutes);
// anything else goes to BenchmarkDotNet, e.g. `-- --filter *Gemm*`.
if (args.Length > 0 && args[0] == "gemm-quick")
{
    Backprop.Benchmarks.GemmQuick.Run(args[1..]);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
