using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// The per-thread scratch memory of the GEMM paths (packed A and B blocks, the direct path's transposed B).
/// One pinned array per thread, grown on demand and never shrunk, so steady-state calls allocate nothing.
/// Pinned (pinned object heap) because the kernels hold raw pointers into it; over-allocated by 64 bytes
/// and aligned to 64 so every packed B row starts on a cache line and the 512-bit loads never split one.
/// The array dies with its thread.
/// </summary>
internal sealed unsafe class GemmScratch
{
    [ThreadStatic] private static GemmScratch? t_current;

    private byte[]? _array;
    private byte* _aligned;
    private nint _capacity;

    /// <summary>At least <paramref name="bytes"/> bytes of 64-byte-aligned scratch for the current thread.</summary>
    public static byte* Get(nint bytes)
    {
        var s = t_current ??= new GemmScratch();
        if (bytes > s._capacity) s.Grow(bytes);
        return s._aligned;
    }

    private void Grow(nint bytes)
    {
        // Round up to 64 KiB so a sequence of slightly growing shapes does not reallocate each time.
        nint size = (bytes + 0xFFFF) & ~(nint)0xFFFF;
        _array = GC.AllocateUninitializedArray<byte>(checked((int)(size + 64)), pinned: true);
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
        _aligned = (byte*)((start + 63) & ~(nint)63);
        _capacity = size;
    }
}

internal static unsafe partial class GemmDriver
{
    /// <summary>
    /// Packs the mc×kc block of op(A) starting at <paramref name="a"/> (element (i, p) at a[i·rs + p·cs]) into
    /// ceil(mc/MR) micro-panels of kc×MR: panel r holds, for each p, op(A)[r·MR + 0..MR-1, p]; rows past mc
    /// are zero so the micro-kernel can always compute a full tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackA<T>(T* dst, T* a, nint rs, nint cs, int mc, int kc, int mr) where T : unmanaged, INumber<T>
    {
        for (int i0 = 0; i0 < mc; i0 += mr, dst += (nint)mr * kc)
        {
            int rows = Math.Min(mr, mc - i0);
            T* src = a + i0 * rs;
            if (rs == 1)
            {
                // transA: a column of op(A) is a contiguous row of the stored A, so copy MR at a time.
                nint bytes = rows * sizeof(T);
                for (int p = 0; p < kc; p++)
                {
                    T* d = dst + (nint)p * mr;
                    Unsafe.CopyBlockUnaligned(d, src + p * cs, (uint)bytes);
                    for (int i = rows; i < mr; i++) d[i] = T.Zero;
                }
            }
            else
            {
                // op(A) row-major (cs == 1 usually): gather one element from each of the MR rows per k step.
                // Reads run along MR rows at once (MR streams the prefetcher follows); writes are sequential.
                for (int i = 0; i < rows; i++)
                {
                    T* s = src + i * rs;
                    T* d = dst + i;
                    for (int p = 0; p < kc; p++) d[(nint)p * mr] = s[p * cs];
                }
                for (int i = rows; i < mr; i++)
                    for (int p = 0; p < kc; p++) dst[(nint)p * mr + i] = T.Zero;
            }
        }
    }

    /// <summary>
    /// Packs the kc×nc block of op(B) starting at <paramref name="b"/> (element (p, j) at b[p·rs + j·cs]) into
    /// ceil(nc/NR) micro-panels of kc×NR: panel q holds, for each p, op(B)[p, q·NR + 0..NR-1]; columns past
    /// nc are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackB<T>(T* dst, T* b, nint rs, nint cs, int kc, int nc, int nr) where T : unmanaged, INumber<T>
    {
        for (int j0 = 0; j0 < nc; j0 += nr, dst += (nint)nr * kc)
        {
            int cols = Math.Min(nr, nc - j0);
            T* src = b + j0 * cs;
            if (cs == 1)
            {
                // op(B) row-major: each k step is one contiguous run of NR values (two vector moves).
                nint bytes = cols * sizeof(T);
                for (int p = 0; p < kc; p++)
                {
                    T* d = dst + (nint)p * nr;
                    Unsafe.CopyBlockUnaligned(d, src + p * rs, (uint)bytes);
                    for (int j = cols; j < nr; j++) d[j] = T.Zero;
                }
            }
            else
            {
                // transB: column j of op(B) is a contiguous row of the stored B; read it along k and scatter
                // into the panel with stride NR (the panel, kc·NR elements, stays in L1/L2 meanwhile).
                for (int j = 0; j < cols; j++)
                {
                    T* s = src + j * cs;
                    T* d = dst + j;
                    for (int p = 0; p < kc; p++) d[(nint)p * nr] = s[p * rs];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++) dst[(nint)p * nr + j] = T.Zero;
            }
        }
    }
}
