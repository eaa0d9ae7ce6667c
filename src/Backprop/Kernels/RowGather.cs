using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// The gather of a shuffled mini-batch: destination row i = source row rows[i], for row-major matrices of
/// <c>width</c> columns. Shuffled rows of a large data set are not in cache (the mid bench's features are
/// 60,000 rows of 3 KiB), so this is bound by memory latency: a row is 49 cache lines that the hardware
/// prefetcher only starts to stream after the first misses. Two measures: each row's lines are prefetched a
/// few rows ahead, and large batches are cut into chunks of rows that the GEMM worker threads share
/// (<see cref="GemmThreads.RunOrInline"/>), so that two cores keep twice as many misses in flight.
/// <see cref="GatherNaive{T}"/> is the reference.
/// </summary>
public static unsafe class RowGather
{
    /// <summary>Fewest elements (rows × width) that are split over threads: below ~32 Ki the wake-up costs more.</summary>
    internal static int ParallelMinElements { get; set; } = 32 * 1024;

    /// <summary>Rows per chunk of a split gather.</summary>
    private const int ChunkRows = 16;

    /// <summary>How many rows ahead the copy prefetches.</summary>
    private const int PrefetchDistance = 2;

    /// <summary>
    /// Effectively copies source row rows[i] to destination row i for every i. Throws
    /// <see cref="IndexOutOfRangeException"/> for a row outside the source, before copying anything.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gather<T>(ReadOnlySpan<T> source, Span<T> destination, ReadOnlySpan<int> rows, int width) where T : unmanaged
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "RowGather: the width must be at least 1.");
        int sourceRows = source.Length / width;
        if (destination.Length < (long)rows.Length * width) throw new ArgumentException("RowGather: the destination is too small.");
        foreach (int r in rows)
            if ((uint)r >= (uint)sourceRows) throw new IndexOutOfRangeException($"Row {r} is outside the data's {sourceRows} rows.");
        if ((long)rows.Length * width < ParallelMinElements || GemmThreads.Available < 2)
        {
            // Small batches (the small bench network's 32 rows of 30): a plain loop through references; pinning and
            // the job of the split path cost ~20 % of a 0.2 µs gather.
            ref T s = ref MemoryMarshal.GetReference(source);
            ref T d = ref MemoryMarshal.GetReference(destination);
            if (width == 1)
            {
                // One column (targets): element moves; a block copy per element is a memmove call each.
                for (int i = 0; i < rows.Length; i++) Unsafe.Add(ref d, i) = Unsafe.Add(ref s, rows[i]);
                return;
            }
            uint rowBytes = (uint)(width * sizeof(T));
            for (int i = 0; i < rows.Length; i++)
                Unsafe.CopyBlockUnaligned(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref d, i * width)),
                    ref Unsafe.As<T, byte>(ref Unsafe.Add(ref s, rows[i] * width)), rowBytes);
            return;
        }
        fixed (T* src = source)
        fixed (T* dst = destination)
        fixed (int* idx = rows)
        {
            var job = new Job { Source = src, Destination = dst, Rows = idx, Count = rows.Length, RowBytes = width * sizeof(T) };
            GemmThreads.RunOrInline(&RunChunk, &job, (rows.Length + ChunkRows - 1) / ChunkRows);
        }
    }

    /// <summary>The reference: one row at a time through spans.</summary>
    public static void GatherNaive<T>(ReadOnlySpan<T> source, Span<T> destination, ReadOnlySpan<int> rows, int width) where T : unmanaged
    {
        for (int i = 0; i < rows.Length; i++) source.Slice(rows[i] * width, width).CopyTo(destination.Slice(i * width, width));
    }

    private struct Job
    {
        public void* Source, Destination;
        public int* Rows;
        public int Count, RowBytes;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunChunk(void* state, int chunk, long job)
    {
        var j = (Job*)state;
        int start = chunk * ChunkRows;
        Copy(j, start, Math.Min(j->Count, start + ChunkRows));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRow(byte* row, nint bytes)
    {
        for (nint o = 0; o < bytes; o += 64) Sse.Prefetch0(row + o);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Copy(Job* j, int start, int end)
    {
        byte* src = (byte*)j->Source, dst = (byte*)j->Destination;
        nint rowBytes = j->RowBytes;
        bool prefetch = Sse.IsSupported && rowBytes >= 256;
        if (prefetch)
            for (int i = start; i < Math.Min(end, start + PrefetchDistance); i++) PrefetchRow(src + j->Rows[i] * rowBytes, rowBytes);
        for (int i = start; i < end; i++)
        {
            if (prefetch && i + PrefetchDistance < end) PrefetchRow(src + j->Rows[i + PrefetchDistance] * rowBytes, rowBytes);
            // A block copy per row: Span.CopyTo's slicing and overlap checks cost more than copying a short row.
            if (rowBytes == sizeof(float)) *(int*)(dst + i * rowBytes) = *(int*)(src + j->Rows[i] * rowBytes);
            else Unsafe.CopyBlockUnaligned(dst + i * rowBytes, src + j->Rows[i] * rowBytes, (uint)rowBytes);
        }
    }
}
