using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Backprop.Kernels;

namespace Backprop.Benchmarks;

/// <summary>
/// Square float GEMM, C = A·B (n×n), on one thread and on all cores. Run with
/// <c>dotnet run -c Release --project bench/Backprop.Benchmarks -- --filter *GemmBenchmarks*</c>.
/// The GFLOP/s column is 2·n³ / mean time. For quick tuning use <c>-- gemm-quick</c> instead (seconds, not minutes).
/// </summary>
[Config(typeof(Config))]
public class GemmBenchmarks
{
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            // Fewer, longer iterations than the default: one 2048³ call already takes ~0.1 s.
            AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10));
            AddColumn(new GflopsColumn());
        }
    }

    [Params(32, 64, 128, 256, 512, 1024, 2048)]
    public int N { get; set; }

    /// <summary>Gemm.MaxThreads; 0 stands for Environment.ProcessorCount.</summary>
    [Params(1, 0)]
    public int Threads { get; set; }

    private float[] _a = [], _b = [], _c = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _a = new float[N * N];
        _b = new float[N * N];
        _c = new float[N * N];
        for (int i = 0; i < _a.Length; i++) { _a[i] = (float)(rng.NextDouble() - 0.5); _b[i] = (float)(rng.NextDouble() - 0.5); }
        Gemm.MaxThreads = Threads == 0 ? Environment.ProcessorCount : Threads;
    }

    [GlobalCleanup]
    public void Cleanup() => Gemm.MaxThreads = Environment.ProcessorCount;

    [Benchmark]
    public void Sgemm() => Gemm.Multiply(false, false, N, N, N, 1f, _a, N, _b, N, 0f, _c, N);
}

/// <summary>GFLOP/s = 2·N³ / mean time, for benchmarks with an int parameter N (square GEMM).</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "2·N³ floating-point operations / mean time, in 10⁹ per second";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats) return "NA";
        if (benchmarkCase.Parameters["N"] is not int n) return "NA";
        double gflops = 2.0 * n * n * n / stats.Mean; // flops per nanosecond = GFLOP/s
        return gflops.ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }
}
