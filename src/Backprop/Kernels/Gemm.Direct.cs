using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// The unpacked path for small or skinny problems (e.g. 32×16×30 for a 30-16-1 network at batch 32, or
/// m = 1 / n = 1): no packing, no blocking, no threads, so the fixed cost of a call is a few branches.
/// Vectors are <see cref="Vector{T}"/> (256-bit on x64 by default): at these sizes rows are often 10–64
/// wide, where 512-bit vectors would leave more of each row to the scalar tail.
/// <list type="bullet">
/// <item>Axpy form, when op(B) rows are contiguous: C[i, j..j+2V] += op(A)[i, p] · op(B)[p, j..j+2V], four rows
/// of C at a time so each B load feeds four FMAs; op(A) is read through its strides (any transA).</item>
/// <item>Dot form, when op(A) rows and op(B) columns are both contiguous (A·Bᵀ): C[i, j] = ⟨A row i, B row j⟩
/// vectorised along k, four columns at a time so each A load feeds four FMAs.</item>
/// <item>Aᵀ·Bᵀ: op(B) is first transposed into per-thread scratch (k·n elements), then the axpy form.</item>
/// </list>
/// </summary>
internal static unsafe class GemmDirect
{
    /// <summary>
    /// Whether the direct path beats the packed one whatever the size. With m &lt; 8 the packed path would
    /// copy all of op(B) to use it fewer than 8 times (the direct path reads it once per 4 rows), and with
    /// n &lt; 4 the tile is mostly padding. Otherwise compare vector FMA instructions per row of C per k step
    /// (one ymm or zmm FMA costs the same on Zen 4/5 and on Intel's 512-bit cores): the packed kernel pays for
    /// n rounded up to its tile width NR, two vectors per NR; the direct one pays one Vector&lt;T&gt; FMA per
    /// full vector of n and about one per leftover scalar column. E.g. float, NR = 32, V = 8: n = 8 or 16 go
    /// direct (1 and 2 vs 2), n = 10, 12 or 32 go packed (3, 5, 4 vs 2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Prefers<T>(int m, int n, int nr) where T : unmanaged
    {
        if (m < 8 || n < 4) return true;
        int v = Vector<T>.Count;
        long direct = n / v + n % v;
        long packed = ((long)n + nr - 1) / nr * 2;
        return direct <= packed;
    }

    /// <summary>
    /// For A·Bᵀ layouts (op(A) rows and op(B) columns contiguous along k), whether the dot form beats the packed
    /// path on one thread: narrow outputs, where the packed tile pads n to NR. Per row of C and k step the dot
    /// form issues n/V FMAs plus its n horizontal sums spread over k (~6 instructions each), the packed kernel
    /// two NR/2-wide FMAs per NR columns. E.g. float, V = 8, NR = 32, k = 128: n = 10 goes direct (1.7 vs 2);
    /// n = 16 packed (2.4 vs 2). Measured with gemm-quick tb: 128×10×128 7.3 µs direct, 12.6 packed (the mid
    /// network's output layer); 128×16×256 19.1 both ways. The caller keeps problems that would be threaded on
    /// the packed path (256×10×1024: 109 µs on two threads, 119 direct).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool PrefersDot<T>(int n, int k, int nr) where T : unmanaged
    {
        int v = Vector<T>.Count;
        double direct = n * ((k + v - 1) / v + 6.0) / k;
        double packed = ((long)n + nr - 1) / nr * 2.0;
        return direct < packed;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T>(GemmProblem<T>* pr) where T : unmanaged, INumber<T>
    {
        var p = *pr;
        bool dotable = p.CsA == 1 && p.RsB == 1;
        if (p.CsB == 1 && !(dotable && p.N < Vector<T>.Count)) Axpy(p);
        else if (dotable) Dot(p);
        else
        {
            // Aᵀ·Bᵀ (or another layout with neither contiguity): materialise op(B) as a dense k×n block.
            T* bt = (T*)GemmScratch.Get((nint)p.K * p.N * sizeof(T));
            for (int kk = 0; kk < p.K; kk++)
            {
                T* src = p.B + kk * p.RsB;
                T* dst = bt + (nint)kk * p.N;
                for (int j = 0; j < p.N; j++) dst[j] = src[j * p.CsB];
            }
            p.B = bt;
            p.RsB = p.N;
            p.CsB = 1;
            Axpy(p);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(T* c, Vector<T> acc, Vector<T> alpha, Vector<T> beta, bool overwrite) where T : unmanaged, INumber<T>
    {
        if (overwrite) Vector.Store(alpha * acc, c);
        else Vector.Store(GemmVec.Fma(alpha, acc, beta * Vector.Load(c)), c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(T* c, T acc, T alpha, T beta, bool overwrite) where T : unmanaged, INumber<T>
        => *c = overwrite ? alpha * acc : alpha * acc + beta * *c;

    /// <summary>Axpy form; requires op(B) rows contiguous (CsB == 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Axpy<T>(GemmProblem<T> p) where T : unmanaged, INumber<T>
    {
        int v = Vector<T>.Count;
        int m = p.M, n = p.N, k = p.K;
        nint rsA = p.RsA, csA = p.CsA, rsB = p.RsB, ldc = p.Ldc;
        bool overwrite = p.Beta == T.Zero;
        var va = new Vector<T>(p.Alpha);
        var vb = new Vector<T>(p.Beta);
        int i = 0;
        for (; i + 4 <= m; i += 4)
        {
            T* a0 = p.A + i * rsA, a1 = a0 + rsA, a2 = a1 + rsA, a3 = a2 + rsA;
            T* c0 = p.C + i * ldc, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
            int j = 0;
            for (; j + 2 * v <= n; j += 2 * v)
            {
                Vector<T> s00 = default, s01 = default, s10 = default, s11 = default;
                Vector<T> s20 = default, s21 = default, s30 = default, s31 = default;
                T* b = p.B + j;
                for (nint kk = 0; kk < k; kk++, b += rsB)
                {
                    var b0 = Vector.Load(b);
                    var b1 = Vector.Load(b + v);
                    nint o = kk * csA;
                    var x = new Vector<T>(a0[o]); s00 = GemmVec.Fma(x, b0, s00); s01 = GemmVec.Fma(x, b1, s01);
                    x = new Vector<T>(a1[o]); s10 = GemmVec.Fma(x, b0, s10); s11 = GemmVec.Fma(x, b1, s11);
                    x = new Vector<T>(a2[o]); s20 = GemmVec.Fma(x, b0, s20); s21 = GemmVec.Fma(x, b1, s21);
                    x = new Vector<T>(a3[o]); s30 = GemmVec.Fma(x, b0, s30); s31 = GemmVec.Fma(x, b1, s31);
                }
                Put(c0 + j, s00, va, vb, overwrite); Put(c0 + j + v, s01, va, vb, overwrite);
                Put(c1 + j, s10, va, vb, overwrite); Put(c1 + j + v, s11, va, vb, overwrite);
                Put(c2 + j, s20, va, vb, overwrite); Put(c2 + j + v, s21, va, vb, overwrite);
                Put(c3 + j, s30, va, vb, overwrite); Put(c3 + j + v, s31, va, vb, overwrite);
            }
            for (; j + v <= n; j += v)
            {
                Vector<T> s0 = default, s1 = default, s2 = default, s3 = default;
                T* b = p.B + j;
                for (nint kk = 0; kk < k; kk++, b += rsB)
                {
                    var b0 = Vector.Load(b);
                    nint o = kk * csA;
                    s0 = GemmVec.Fma(new Vector<T>(a0[o]), b0, s0);
                    s1 = GemmVec.Fma(new Vector<T>(a1[o]), b0, s1);
                    s2 = GemmVec.Fma(new Vector<T>(a2[o]), b0, s2);
                    s3 = GemmVec.Fma(new Vector<T>(a3[o]), b0, s3);
                }
                Put(c0 + j, s0, va, vb, overwrite); Put(c1 + j, s1, va, vb, overwrite);
                Put(c2 + j, s2, va, vb, overwrite); Put(c3 + j, s3, va, vb, overwrite);
            }
            for (; j < n; j++)
            {
                T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
                T* b = p.B + j;
                for (nint kk = 0; kk < k; kk++, b += rsB)
                {
                    T y = *b;
                    nint o = kk * csA;
                    s0 += a0[o] * y; s1 += a1[o] * y; s2 += a2[o] * y; s3 += a3[o] * y;
                }
                Put(c0 + j, s0, p.Alpha, p.Beta, overwrite); Put(c1 + j, s1, p.Alpha, p.Beta, overwrite);
                Put(c2 + j, s2, p.Alpha, p.Beta, overwrite); Put(c3 + j, s3, p.Alpha, p.Beta, overwrite);
            }
        }
        for (; i < m; i++)
        {
            T* a0 = p.A + i * rsA;
            T* c0 = p.C + i * ldc;
            int j = 0;
            // One row: four vectors per k step so four independent FMA chains hide the latency.
            for (; j + 4 * v <= n; j += 4 * v)
            {
                Vector<T> s0 = default, s1 = default, s2 = default, s3 = default;
                T* b = p.B + j;
                for (nint kk = 0; kk < k; kk++, b += rsB)
                {
                    var x = new Vector<T>(a0[kk * csA]);
                    s0 = GemmVec.Fma(x, Vector.Load(b), s0);
                    s1 = GemmVec.Fma(x, Vector.Load(b + v), s1);
                    s2 = GemmVec.Fma(x, Vector.Load(b + 2 * v), s2);
                    s3 = GemmVec.Fma(x, Vector.Load(b + 3 * v), s3);
                }
                Put(c0 + j, s0, va, vb, overwrite); Put(c0 + j + v, s1, va, vb, overwrite);
                Put(c0 + j + 2 * v, s2, va, vb, overwrite); Put(c0 + j + 3 * v, s3, va, vb, overwrite);
            }
            for (; j + v <= n; j += v)
            {
                Vector<T> s0 = default;
                T* b = p.B + j;
                for (nint kk = 0; kk < k; kk++, b += rsB)
                    s0 = GemmVec.Fma(new Vector<T>(a0[kk * csA]), Vector.Load(b), s0);
                Put(c0 + j, s0, va, vb, overwrite);
            }
            for (; j < n; j++)
            {
                T s0 = T.Zero;
                T* b = p.B + j;
                for (nint kk = 0; kk < k; kk++, b += rsB) s0 += a0[kk * csA] * *b;
                Put(c0 + j, s0, p.Alpha, p.Beta, overwrite);
            }
        }
    }

    /// <summary>Dot form; requires op(A) rows (CsA == 1) and op(B) columns (RsB == 1) contiguous.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot<T>(GemmProblem<T> p) where T : unmanaged, INumber<T>
    {
        int v = Vector<T>.Count;
        int m = p.M, n = p.N, k = p.K;
        int kv = k - k % v;
        nint csB = p.CsB;
        bool overwrite = p.Beta == T.Zero;
        for (int i = 0; i < m; i++)
        {
            T* a = p.A + i * p.RsA;
            T* c = p.C + i * p.Ldc;
            int j = 0;
            for (; j + 4 <= n; j += 4)
            {
                T* b0 = p.B + j * csB, b1 = b0 + csB, b2 = b1 + csB, b3 = b2 + csB;
                Vector<T> s0 = default, s1 = default, s2 = default, s3 = default;
                int kk = 0;
                for (; kk < kv; kk += v)
                {
                    var x = Vector.Load(a + kk);
                    s0 = GemmVec.Fma(x, Vector.Load(b0 + kk), s0);
                    s1 = GemmVec.Fma(x, Vector.Load(b1 + kk), s1);
                    s2 = GemmVec.Fma(x, Vector.Load(b2 + kk), s2);
                    s3 = GemmVec.Fma(x, Vector.Load(b3 + kk), s3);
                }
                T t0 = Vector.Sum(s0), t1 = Vector.Sum(s1), t2 = Vector.Sum(s2), t3 = Vector.Sum(s3);
                for (; kk < k; kk++)
                {
                    T x = a[kk];
                    t0 += x * b0[kk]; t1 += x * b1[kk]; t2 += x * b2[kk]; t3 += x * b3[kk];
                }
                Put(c + j, t0, p.Alpha, p.Beta, overwrite); Put(c + j + 1, t1, p.Alpha, p.Beta, overwrite);
                Put(c + j + 2, t2, p.Alpha, p.Beta, overwrite); Put(c + j + 3, t3, p.Alpha, p.Beta, overwrite);
            }
            for (; j < n; j++)
            {
                T* b0 = p.B + j * csB;
                Vector<T> s0 = default, s1 = default;
                int kk = 0;
                // Two chains so a lone dot product (n == 1) is not bound by FMA latency.
                for (; kk + 2 * v <= k; kk += 2 * v)
                {
                    s0 = GemmVec.Fma(Vector.Load(a + kk), Vector.Load(b0 + kk), s0);
                    s1 = GemmVec.Fma(Vector.Load(a + kk + v), Vector.Load(b0 + kk + v), s1);
                }
                for (; kk < kv; kk += v) s0 = GemmVec.Fma(Vector.Load(a + kk), Vector.Load(b0 + kk), s0);
                T t0 = Vector.Sum(s0 + s1);
                for (; kk < k; kk++) t0 += a[kk] * b0[kk];
                Put(c + j, t0, p.Alpha, p.Beta, overwrite);
            }
        }
    }
}
