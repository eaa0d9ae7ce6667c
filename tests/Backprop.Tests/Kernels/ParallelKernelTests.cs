using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// The memory-bound kernels that share the GEMM worker threads between products (the SGD update's axpy, the
/// batch gather): the same result, bit for bit, whether a call runs alone, split with the workers, or split
/// with the caller taking every chunk; and no allocation in steady state.
/// </summary>
public sealed class ParallelKernelTests
{
    public static TheoryData<int, string> Splits()
    {
        var data = new TheoryData<int, string>();
        foreach (int threads in new[] { 1, 2 })
            foreach (string how in new[] { "default", "small chunks", "caller takes all" })
                data.Add(threads, how);
        return data;
    }

    private static void WithSplit(int threads, string how, Action body)
    {
        var saved = (Gemm.MaxThreads, Axpy.ParallelMinLength, RowGather.ParallelMinElements, GemmThreads.WakeWorkers, GemmThreads.Backoff);
        try
        {
            (Gemm.MaxThreads, GemmThreads.Backoff) = (threads, false);
            if (how != "default") (Axpy.ParallelMinLength, RowGather.ParallelMinElements) = (1, 1);
            if (how == "caller takes all") GemmThreads.WakeWorkers = false;
            body();
        }
        finally
        {
            (Gemm.MaxThreads, Axpy.ParallelMinLength, RowGather.ParallelMinElements, GemmThreads.WakeWorkers, GemmThreads.Backoff) = saved;
        }
    }

    [Theory]
    [MemberData(nameof(Splits))]
    public void AxpyEqualsTheElementwiseFormula(int threads, string how)
    {
        WithSplit(threads, how, () =>
        {
            foreach (int length in new[] { 0, 1, 7, 100, 16 * 1024 + 5, 70_000, 200_003 })
            {
                Check<float>(length, -0.01f);
                Check<double>(length, 0.37);
            }
        });

        static void Check<T>(int length, T alpha) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rng = new Rng((ulong)length + 3);
            var x = new T[length];
            var y = new T[length];
            for (int i = 0; i < length; i++) { x[i] = T.CreateTruncating(rng.NextDouble() - 0.5); y[i] = T.CreateTruncating(rng.NextDouble()); }
            var expected = new T[length];
            for (int i = 0; i < length; i++) expected[i] = x[i] * alpha + y[i];
            Axpy.MultiplyAddInPlace<T>(x, alpha, y);
            Assert.Equal(expected, y);
        }
    }

    [Theory]
    [MemberData(nameof(Splits))]
    public void RowGatherEqualsTheNaiveGather(int threads, string how)
    {
        WithSplit(threads, how, () =>
        {
            var rng = new Rng(11);
            foreach (int width in new[] { 1, 3, 64, 784 })
                foreach (int count in new[] { 0, 1, 17, 128 })
                {
                    const int sourceRows = 300;
                    var source = new float[sourceRows * width];
                    for (int i = 0; i < source.Length; i++) source[i] = (float)rng.NextDouble();
                    var rows = new int[count];
                    for (int i = 0; i < count; i++) rows[i] = rng.NextInt(sourceRows); // repeats allowed
                    var expected = new float[count * width];
                    var got = new float[count * width];
                    RowGather.GatherNaive<float>(source, expected, rows, width);
                    RowGather.Gather<float>(source, got, rows, width);
                    Assert.Equal(expected, got);

                    var sourceD = Array.ConvertAll(source, v => (double)v);
                    var gotD = new double[count * width];
                    RowGather.Gather<double>(sourceD, gotD, rows, width);
                    Assert.Equal(Array.ConvertAll(expected, v => (double)v), gotD);
                }
        });
    }

    [Fact]
    public void ARowOutsideTheSourceThrowsBeforeAnythingIsCopied()
    {
        var source = new float[10 * 4];
        var destination = new float[3 * 4];
        Array.Fill(destination, 7f);
        var e = Assert.Throws<IndexOutOfRangeException>(() => RowGather.Gather<float>(source, destination, [1, 2, 10], 4));
        Assert.Contains("Row 10", e.Message);
        Assert.All(destination, v => Assert.Equal(7f, v));
        Assert.Throws<IndexOutOfRangeException>(() => RowGather.Gather<float>(source, destination, [-1], 4));
    }

    [Fact]
    public void SplitCallsAllocateNothingInSteadyState()
    {
        int saved = Gemm.MaxThreads;
        try
        {
            Gemm.MaxThreads = 2;
            var x = new float[200_000];
            var y = new float[200_000];
            var source = new float[1000 * 784];
            var destination = new float[128 * 784];
            var rows = Enumerable.Range(0, 128).Select(i => i * 7 % 1000).ToArray();
            void Calls()
            {
                Axpy.MultiplyAddInPlace<float>(x, 0.5f, y);
                RowGather.Gather<float>(source, destination, rows, 784);
            }
            Calls();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++) Calls();
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally
        {
            Gemm.MaxThreads = saved;
        }
    }
}
