using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>
    /// Threaded runs: the job (<see cref="GemmThreads"/> sequence number) whose shared operand this thread has
    /// packed into its scratch, and how many k blocks of it are packed so far; see <see cref="GemmDriver"/>'s
    /// chunk runners. -1 when the scratch holds nothing reusable (new, or grown since).
    /// </summary>
    public long SharedJob = -1;
    public int SharedBlocks;

    /// <summary>The current thread's scratch.</summary>
    public static GemmScratch Current => t_current ??= new GemmScratch();

    /// <summary>At least <paramref name="bytes"/> bytes of 64-byte-aligned scratch for the current thread.</summary>
    public static byte* Get(nint bytes) => Current.Reserve(bytes);

    /// <summary>At least <paramref name="bytes"/> bytes of 64-byte-aligned scratch; growing forgets the shared operand.</summary>
    public byte* Reserve(nint bytes)
    {
        if (bytes > _capacity) Grow(bytes);
        return _aligned;
    }

    private void Grow(nint bytes)
    {
        SharedJob = -1;
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
                if (rows == mr)
                {
                    // Full panel: explicit vector moves; a variable-length memmove per k step (48 bytes for the
                    // AVX-512 float tile) cost more in call overhead than the copy: 0.24 ns per element against
                    // 0.16 (gemm-quick pack ta, 256×784×128).
                    int v256 = Vector256<T>.Count, v128 = Vector128<T>.Count;
                    T* s = src;
                    for (int p = 0; p < kc; p++, s += cs)
                    {
                        T* d = dst + (nint)p * mr;
                        int j = 0;
                        for (; j + v256 <= mr; j += v256) Vector256.Store(Vector256.Load(s + j), d + j);
                        for (; j + v128 <= mr; j += v128) Vector128.Store(Vector128.Load(s + j), d + j);
                        for (; j < mr; j++) d[j] = s[j];
                    }
                    continue;
                }
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
                // Four rows per pass, so each k step writes 4 adjacent values (one 16-byte run) and the loop
                // carries pointers instead of recomputing p·MR; reads run along 4 rows the prefetcher follows.
                Gather(dst, src, rs, cs, rows, kc, mr);
            }
        }
    }

    /// <summary>
    /// dst[p·width + i] = src[i·rs + p·cs] for i &lt; count, p &lt; kc, and zero for count ≤ i &lt; width: a
    /// transposing copy into one micro-panel (used for op(A) rows and for op(B) columns of transB).
    /// </summary>
    /// <summary>d[p·w + r] = s_r[p] for r &lt; 4, p &lt; 8 (AVX unpack/shuffle 4×8 transpose).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x8(float* s0, float* s1, float* s2, float* s3, float* d, nint w)
    {
        Vector256<float> r0 = Avx.LoadVector256(s0), r1 = Avx.LoadVector256(s1);
        Vector256<float> r2 = Avx.LoadVector256(s2), r3 = Avx.LoadVector256(s3);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1); // r0p0 r1p0 r0p1 r1p1 | p4 p5
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE); // k steps 0|4, 1|5
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE); // k steps 2|6, 3|7
        u0.GetLower().Store(d); u1.GetLower().Store(d + w); u2.GetLower().Store(d + 2 * w); u3.GetLower().Store(d + 3 * w);
        u0.GetUpper().Store(d + 4 * w); u1.GetUpper().Store(d + 5 * w); u2.GetUpper().Store(d + 6 * w); u3.GetUpper().Store(d + 7 * w);
    }

    /// <summary>d[p·w + r] = s_r[p] for r &lt; 4, p &lt; 4 (AVX unpack/permute 4×4 transpose of doubles).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(double* s0, double* s1, double* s2, double* s3, double* d, nint w)
    {
        Vector256<double> r0 = Avx.LoadVector256(s0), r1 = Avx.LoadVector256(s1);
        Vector256<double> r2 = Avx.LoadVector256(s2), r3 = Avx.LoadVector256(s3);
        Vector256<double> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1); // r0p0 r1p0 | r0p2 r1p2
        Vector256<double> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Avx.Permute2x128(t0, t2, 0x20).Store(d);
        Avx.Permute2x128(t1, t3, 0x20).Store(d + w);
        Avx.Permute2x128(t0, t2, 0x31).Store(d + 2 * w);
        Avx.Permute2x128(t1, t3, 0x31).Store(d + 3 * w);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather<T>(T* dst, T* src, nint rs, nint cs, int count, int kc, int width) where T : unmanaged, INumber<T>
    {
        int i = 0;
        for (; i + 4 <= count; i += 4)
        {
            T* s0 = src + i * rs, s1 = s0 + rs, s2 = s1 + rs, s3 = s2 + rs;
            T* d = dst + i;
            int p = 0;
            if (cs == 1 && Avx.IsSupported)
            {
                // Contiguous source rows: transpose 4 rows × 8 (float) or 4 (double) k steps in registers,
                // ~4× faster than element moves; it matters when n is small and packing A dominates.
                if (typeof(T) == typeof(float))
                    for (; p + 8 <= kc; p += 8, d += 8 * (nint)width)
                        Transpose4x8((float*)s0 + p, (float*)s1 + p, (float*)s2 + p, (float*)s3 + p, (float*)d, width);
                else if (typeof(T) == typeof(double))
                    for (; p + 4 <= kc; p += 4, d += 4 * (nint)width)
                        Transpose4x4((double*)s0 + p, (double*)s1 + p, (double*)s2 + p, (double*)s3 + p, (double*)d, width);
            }
            for (; p < kc; p++, d += width)
            {
                nint o = p * cs;
                d[0] = s0[o]; d[1] = s1[o]; d[2] = s2[o]; d[3] = s3[o];
            }
        }
        for (; i < count; i++)
        {
            T* s0 = src + i * rs;
            T* d = dst + i;
            for (int p = 0; p < kc; p++, d += width) *d = s0[p * cs];
        }
        if (count < width)
        {
            T* d = dst;
            for (int p = 0; p < kc; p++, d += width)
                for (int z = count; z < width; z++) d[z] = T.Zero;
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
                int step = Vector256<T>.Count;
                if (cols == nr && nr % step == 0)
                {
                    // Full panel: explicit vector moves; a variable-length memmove per 128 bytes costs more
                    // in call overhead than the copy itself.
                    T* s = src;
                    for (int p = 0; p < kc; p++, s += rs)
                    {
                        T* d = dst + (nint)p * nr;
                        for (int j = 0; j < nr; j += step) Vector256.Store(Vector256.Load(s + j), d + j);
                    }
                    continue;
                }
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
                Gather(dst, src, cs, rs, cols, kc, nr);
            }
        }
    }
}
