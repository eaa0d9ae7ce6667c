using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// A register-blocked GEMM micro-kernel: one MR×NR tile of C from one packed A micro-panel and one packed
/// B micro-panel. The driver (<see cref="GemmDriver"/>) is generic over this interface, so the JIT
/// compiles one specialised copy of the blocking loops per kernel struct and inlines the kernel.
/// </summary>
internal unsafe interface IGemmMicroKernel<T> where T : unmanaged, INumber<T>
{
    /// <summary>Rows of the C tile (A micro-panel height).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the C tile (B micro-panel width).</summary>
    static abstract int NR { get; }

    /// <summary>Whether this kernel runs on vector hardware here (not emulated in software).</summary>
    static abstract bool IsSupported { get; }

    /// <summary>
    /// Effectively computes c[i·ldc + j] = alpha · Σ_p a[p·MR + i] · b[p·NR + j] + beta · c[i·ldc + j]
    /// for i &lt; MR, j &lt; NR, p &lt; kc. a is the packed A micro-panel (kc×MR, MR values per k step), b the
    /// packed B micro-panel (kc×NR). When beta == 0, c is written without being read.
    /// </summary>
    static abstract void Run(nint kc, T* a, T* b, T* c, nint ldc, T alpha, T beta);

    /// <summary>
    /// An edge tile: computes tile[i·NR + j] = Σ_p a[p·MR + i] · b[p·NR + j] for at least i &lt; rows, j &lt; cols
    /// (rows ≤ MR, cols ≤ NR; other tile entries are left undefined). a and b are full packed micro-panels. A
    /// kernel may compute only the rows and column vectors needed: the mid and wide bench batches (128, 256) end
    /// with an 8- and a 4-row panel of the 12-row tile, and 784 columns with a half-width block.
    /// </summary>
    static abstract void RunEdge(int rows, int cols, nint kc, T* a, T* b, T* tile);
}

/// <summary>Fused multiply-add over the generic vector types, resolved per T at JIT time.</summary>
internal static class GemmVec
{
    /// <summary>a·b + c with one rounding (vfmadd231ps/pd) for float and double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }

    /// <summary>
    /// Whether <see cref="Vector.FusedMultiplyAdd(Vector{float}, Vector{float}, Vector{float})"/> is a
    /// hardware instruction; without it the runtime emulates FMA per element, far slower than a·b + c.
    /// </summary>
    public static bool HasVectorFma => System.Runtime.Intrinsics.X86.Fma.IsSupported || AdvSimd.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Fma<T>(Vector<T> a, Vector<T> b, Vector<T> c)
    {
        if (HasVectorFma)
        {
            if (typeof(T) == typeof(float))
                return Vector.As<float, T>(Vector.FusedMultiplyAdd(Vector.AsVectorSingle(a), Vector.AsVectorSingle(b), Vector.AsVectorSingle(c)));
            if (typeof(T) == typeof(double))
                return Vector.As<double, T>(Vector.FusedMultiplyAdd(Vector.AsVectorDouble(a), Vector.AsVectorDouble(b), Vector.AsVectorDouble(c)));
        }
        return a * b + c;
    }
}

/// <summary>
/// AVX-512 micro-kernel: a 12×(2·16) float tile (12×(2·8) for double) held in 24 zmm accumulators.
/// Why this shape: x64 has 32 zmm registers; 24 accumulators + 2 B vectors + 1 broadcast A value leave
/// headroom so the JIT does not spill. Per k step it does 24 FMAs against 2 B loads and 12 A broadcasts,
/// and the 24 independent accumulator chains cover the FMA latency (4 cycles) × throughput (2 per cycle)
/// product of 8 with room to spare. NR = 2 vectors keeps the B micro-panel (kc×NR) small enough for L1.
/// </summary>
internal readonly unsafe struct Avx512Kernel<T> : IGemmMicroKernel<T> where T : unmanaged, INumber<T>
{
    public static int MR => 12;
    public static int NR => 2 * Vector512<T>.Count;
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Run(nint kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
    {
        nint v = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<T> c90 = default, c91 = default, cA0 = default, cA1 = default, cB0 = default, cB1 = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b);
            Vector512<T> b1 = Vector512.Load(b + v);
            Vector512<T> ai = Vector512.Create(a[0]);
            c00 = GemmVec.Fma(ai, b0, c00); c01 = GemmVec.Fma(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = GemmVec.Fma(ai, b0, c10); c11 = GemmVec.Fma(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = GemmVec.Fma(ai, b0, c20); c21 = GemmVec.Fma(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = GemmVec.Fma(ai, b0, c30); c31 = GemmVec.Fma(ai, b1, c31);
            ai = Vector512.Create(a[4]);
            c40 = GemmVec.Fma(ai, b0, c40); c41 = GemmVec.Fma(ai, b1, c41);
            ai = Vector512.Create(a[5]);
            c50 = GemmVec.Fma(ai, b0, c50); c51 = GemmVec.Fma(ai, b1, c51);
            ai = Vector512.Create(a[6]);
            c60 = GemmVec.Fma(ai, b0, c60); c61 = GemmVec.Fma(ai, b1, c61);
            ai = Vector512.Create(a[7]);
            c70 = GemmVec.Fma(ai, b0, c70); c71 = GemmVec.Fma(ai, b1, c71);
            ai = Vector512.Create(a[8]);
            c80 = GemmVec.Fma(ai, b0, c80); c81 = GemmVec.Fma(ai, b1, c81);
            ai = Vector512.Create(a[9]);
            c90 = GemmVec.Fma(ai, b0, c90); c91 = GemmVec.Fma(ai, b1, c91);
            ai = Vector512.Create(a[10]);
            cA0 = GemmVec.Fma(ai, b0, cA0); cA1 = GemmVec.Fma(ai, b1, cA1);
            ai = Vector512.Create(a[11]);
            cB0 = GemmVec.Fma(ai, b0, cB0); cB1 = GemmVec.Fma(ai, b1, cB1);
            a += 12;
            b += 2 * v;
        }

        var va = Vector512.Create(alpha);
        if (beta == T.Zero)
        {
            // beta == 0: C may hold NaN garbage, so it must not be read (0·NaN would be NaN).
            Put(c, v, va * c00, va * c01); c += ldc; Put(c, v, va * c10, va * c11); c += ldc;
            Put(c, v, va * c20, va * c21); c += ldc; Put(c, v, va * c30, va * c31); c += ldc;
            Put(c, v, va * c40, va * c41); c += ldc; Put(c, v, va * c50, va * c51); c += ldc;
            Put(c, v, va * c60, va * c61); c += ldc; Put(c, v, va * c70, va * c71); c += ldc;
            Put(c, v, va * c80, va * c81); c += ldc; Put(c, v, va * c90, va * c91); c += ldc;
            Put(c, v, va * cA0, va * cA1); c += ldc; Put(c, v, va * cB0, va * cB1);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Acc(c, v, va, vb, c00, c01); c += ldc; Acc(c, v, va, vb, c10, c11); c += ldc;
            Acc(c, v, va, vb, c20, c21); c += ldc; Acc(c, v, va, vb, c30, c31); c += ldc;
            Acc(c, v, va, vb, c40, c41); c += ldc; Acc(c, v, va, vb, c50, c51); c += ldc;
            Acc(c, v, va, vb, c60, c61); c += ldc; Acc(c, v, va, vb, c70, c71); c += ldc;
            Acc(c, v, va, vb, c80, c81); c += ldc; Acc(c, v, va, vb, c90, c91); c += ldc;
            Acc(c, v, va, vb, cA0, cA1); c += ldc; Acc(c, v, va, vb, cB0, cB1);
        }
    }

    /// <summary>
    /// Edge tiles: 4×(2·V) for up to 4 rows (8 FMAs per k step), 12×V for up to V columns (12), else the full tile
    /// (24). The packed A panel still has MR = 12 values per k step. Inlined into the driver's macro kernel: a call
    /// there made the compiler spill in the loop over full tiles (every vector register is caller-saved). An 8×(2·V)
    /// tile for 5–8 rows (the mid bench's 128-row batches) measured slower than the full tile, as a call or as a
    /// separate pass over the edge tiles, so those take the full tile. gemm-quick packed, one thread: 16×1024×1024
    /// 650 → 505 µs, 128×16×1024 101 → 64 µs, 256×1024×1024 (a 4-row edge) 2–3 % faster.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void RunEdge(int rows, int cols, nint kc, T* a, T* b, T* tile)
    {
        nint v = Vector512<T>.Count;
        if (rows <= 4 && cols > v) Run4x2(kc, a, b, tile);
        else if (cols <= v) Run12x1(kc, a, b, tile);
        else Run(kc, a, b, tile, NR, T.One, T.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Run4x2(nint kc, T* a, T* b, T* tile)
    {
        nint v = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default, c30 = default, c31 = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b), b1 = Vector512.Load(b + v);
            Vector512<T> ai = Vector512.Create(a[0]);
            c00 = GemmVec.Fma(ai, b0, c00); c01 = GemmVec.Fma(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = GemmVec.Fma(ai, b0, c10); c11 = GemmVec.Fma(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = GemmVec.Fma(ai, b0, c20); c21 = GemmVec.Fma(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = GemmVec.Fma(ai, b0, c30); c31 = GemmVec.Fma(ai, b1, c31);
            a += 12;
            b += 2 * v;
        }
        nint ld = 2 * v;
        Put(tile, v, c00, c01); Put(tile + ld, v, c10, c11); Put(tile + 2 * ld, v, c20, c21); Put(tile + 3 * ld, v, c30, c31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Run12x1(nint kc, T* a, T* b, T* tile)
    {
        nint v = Vector512<T>.Count;
        Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector512<T> c6 = default, c7 = default, c8 = default, c9 = default, cA = default, cB = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b);
            c0 = GemmVec.Fma(Vector512.Create(a[0]), b0, c0); c1 = GemmVec.Fma(Vector512.Create(a[1]), b0, c1);
            c2 = GemmVec.Fma(Vector512.Create(a[2]), b0, c2); c3 = GemmVec.Fma(Vector512.Create(a[3]), b0, c3);
            c4 = GemmVec.Fma(Vector512.Create(a[4]), b0, c4); c5 = GemmVec.Fma(Vector512.Create(a[5]), b0, c5);
            c6 = GemmVec.Fma(Vector512.Create(a[6]), b0, c6); c7 = GemmVec.Fma(Vector512.Create(a[7]), b0, c7);
            c8 = GemmVec.Fma(Vector512.Create(a[8]), b0, c8); c9 = GemmVec.Fma(Vector512.Create(a[9]), b0, c9);
            cA = GemmVec.Fma(Vector512.Create(a[10]), b0, cA); cB = GemmVec.Fma(Vector512.Create(a[11]), b0, cB);
            a += 12;
            b += 2 * v;
        }
        nint ld = 2 * v;
        Vector512.Store(c0, tile); Vector512.Store(c1, tile + ld); Vector512.Store(c2, tile + 2 * ld); Vector512.Store(c3, tile + 3 * ld);
        Vector512.Store(c4, tile + 4 * ld); Vector512.Store(c5, tile + 5 * ld); Vector512.Store(c6, tile + 6 * ld); Vector512.Store(c7, tile + 7 * ld);
        Vector512.Store(c8, tile + 8 * ld); Vector512.Store(c9, tile + 9 * ld); Vector512.Store(cA, tile + 10 * ld); Vector512.Store(cB, tile + 11 * ld);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(T* c, nint v, Vector512<T> x0, Vector512<T> x1)
    {
        Vector512.Store(x0, c);
        Vector512.Store(x1, c + v);
    }

    /// <summary>c = alpha·acc + beta·c on one tile row (beta·c first, then one FMA).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Acc(T* c, nint v, Vector512<T> va, Vector512<T> vb, Vector512<T> x0, Vector512<T> x1)
    {
        Vector512.Store(GemmVec.Fma(va, x0, vb * Vector512.Load(c)), c);
        Vector512.Store(GemmVec.Fma(va, x1, vb * Vector512.Load(c + v)), c + v);
    }
}

/// <summary>
/// AVX2+FMA micro-kernel: the classic Haswell 6×(2·8) float tile (6×(2·4) double). 16 ymm registers:
/// 12 accumulators + 2 B vectors + 1 broadcast, and 12 chains cover FMA latency × throughput (5×2 = 10).
/// </summary>
internal readonly unsafe struct Avx2Kernel<T> : IGemmMicroKernel<T> where T : unmanaged, INumber<T>
{
    public static int MR => 6;
    public static int NR => 2 * Vector256<T>.Count;
    public static bool IsSupported => Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    /// <summary>Edge tiles compute the full tile: at MR = 6 or 4 few rows are wasted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunEdge(int rows, int cols, nint kc, T* a, T* b, T* tile) => Run(kc, a, b, tile, NR, T.One, T.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Run(nint kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
    {
        nint v = Vector256<T>.Count;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector256<T> b0 = Vector256.Load(b);
            Vector256<T> b1 = Vector256.Load(b + v);
            Vector256<T> ai = Vector256.Create(a[0]);
            c00 = GemmVec.Fma(ai, b0, c00); c01 = GemmVec.Fma(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = GemmVec.Fma(ai, b0, c10); c11 = GemmVec.Fma(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = GemmVec.Fma(ai, b0, c20); c21 = GemmVec.Fma(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = GemmVec.Fma(ai, b0, c30); c31 = GemmVec.Fma(ai, b1, c31);
            ai = Vector256.Create(a[4]);
            c40 = GemmVec.Fma(ai, b0, c40); c41 = GemmVec.Fma(ai, b1, c41);
            ai = Vector256.Create(a[5]);
            c50 = GemmVec.Fma(ai, b0, c50); c51 = GemmVec.Fma(ai, b1, c51);
            a += 6;
            b += 2 * v;
        }

        var va = Vector256.Create(alpha);
        if (beta == T.Zero)
        {
            Put(c, v, va * c00, va * c01); c += ldc; Put(c, v, va * c10, va * c11); c += ldc;
            Put(c, v, va * c20, va * c21); c += ldc; Put(c, v, va * c30, va * c31); c += ldc;
            Put(c, v, va * c40, va * c41); c += ldc; Put(c, v, va * c50, va * c51);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Acc(c, v, va, vb, c00, c01); c += ldc; Acc(c, v, va, vb, c10, c11); c += ldc;
            Acc(c, v, va, vb, c20, c21); c += ldc; Acc(c, v, va, vb, c30, c31); c += ldc;
            Acc(c, v, va, vb, c40, c41); c += ldc; Acc(c, v, va, vb, c50, c51);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(T* c, nint v, Vector256<T> x0, Vector256<T> x1)
    {
        Vector256.Store(x0, c);
        Vector256.Store(x1, c + v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Acc(T* c, nint v, Vector256<T> va, Vector256<T> vb, Vector256<T> x0, Vector256<T> x1)
    {
        Vector256.Store(GemmVec.Fma(va, x0, vb * Vector256.Load(c)), c);
        Vector256.Store(GemmVec.Fma(va, x1, vb * Vector256.Load(c + v)), c + v);
    }
}

/// <summary>
/// Portable micro-kernel over <see cref="Vector{T}"/> (NEON on Arm64, SSE on old x64): a 4×(2·Count) tile in
/// 8 accumulators, which fits the 16 registers of SSE and leaves most of Arm64's 32 free. Used only where
/// neither AVX-512 nor AVX2+FMA is available; correctness matters more here than the last 20%.
/// </summary>
internal readonly unsafe struct PortableKernel<T> : IGemmMicroKernel<T> where T : unmanaged, INumber<T>
{
    public static int MR => 4;
    public static int NR => 2 * Vector<T>.Count;
    public static bool IsSupported => true;

    /// <summary>Edge tiles compute the full tile: at MR = 6 or 4 few rows are wasted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunEdge(int rows, int cols, nint kc, T* a, T* b, T* tile) => Run(kc, a, b, tile, NR, T.One, T.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Run(nint kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
    {
        nint v = Vector<T>.Count;
        Vector<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector<T> c20 = default, c21 = default, c30 = default, c31 = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector<T> b0 = Vector.Load(b);
            Vector<T> b1 = Vector.Load(b + v);
            var ai = new Vector<T>(a[0]);
            c00 = GemmVec.Fma(ai, b0, c00); c01 = GemmVec.Fma(ai, b1, c01);
            ai = new Vector<T>(a[1]);
            c10 = GemmVec.Fma(ai, b0, c10); c11 = GemmVec.Fma(ai, b1, c11);
            ai = new Vector<T>(a[2]);
            c20 = GemmVec.Fma(ai, b0, c20); c21 = GemmVec.Fma(ai, b1, c21);
            ai = new Vector<T>(a[3]);
            c30 = GemmVec.Fma(ai, b0, c30); c31 = GemmVec.Fma(ai, b1, c31);
            a += 4;
            b += 2 * v;
        }

        var va = new Vector<T>(alpha);
        if (beta == T.Zero)
        {
            Put(c, v, va * c00, va * c01); c += ldc; Put(c, v, va * c10, va * c11); c += ldc;
            Put(c, v, va * c20, va * c21); c += ldc; Put(c, v, va * c30, va * c31);
        }
        else
        {
            var vb = new Vector<T>(beta);
            Acc(c, v, va, vb, c00, c01); c += ldc; Acc(c, v, va, vb, c10, c11); c += ldc;
            Acc(c, v, va, vb, c20, c21); c += ldc; Acc(c, v, va, vb, c30, c31);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(T* c, nint v, Vector<T> x0, Vector<T> x1)
    {
        Vector.Store(x0, c);
        Vector.Store(x1, c + v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Acc(T* c, nint v, Vector<T> va, Vector<T> vb, Vector<T> x0, Vector<T> x1)
    {
        Vector.Store(GemmVec.Fma(va, x0, vb * Vector.Load(c)), c);
        Vector.Store(GemmVec.Fma(va, x1, vb * Vector.Load(c + v)), c + v);
    }
}
