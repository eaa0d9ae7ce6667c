using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// The BLIS/GotoBLAS loop nest around a micro-kernel TK (MR×NR tile):
/// <code>
/// for jc in n by NC:          B block  kc×nc   packed once per (jc, pc), lives in L2/L3, reused by every ic
///   for pc in k by KC:        beta applies on the first k block only; later blocks accumulate (beta = 1)
///     pack op(B)[pc.., jc..]  → kc×NR micro-panels
///     for ic in m by MC:      A block  mc×kc   packed once per (ic, pc), lives in L2, reused by every jr
///       pack op(A)[ic.., pc..] → kc×MR micro-panels
///       for jr in nc by NR:   B micro-panel kc×NR stays in L1 across the ir loop
///         for ir in mc by MR: A micro-panel kc×MR streams from L2; the MR×NR tile of C lives in registers
/// </code>
/// </summary>
internal static unsafe partial class GemmDriver
{
    /// <summary>
    /// k block. The B micro-panel KC×NR must stay in L1 (48 KiB on Zen 4/5, 32 KiB on most Intel) with room
    /// for the A micro-panel streaming past it: 256 × 32 floats × 4 B = 32 KiB for the AVX-512 kernel (the
    /// double kernel has NR = 16, so the same byte count). Long enough that the C tile load/store at the end
    /// of each kernel call is amortised over 256 k steps.
    /// </summary>
    internal static int KC { get; set; } = 256;

    /// <summary>
    /// m block, rounded down to a multiple of MR. The packed A block MC×KC (here 192 × 256 × 4 B = 192 KiB for
    /// float) should sit in L2 (1 MiB per core on Zen 4/5) together with the B micro-panels passing through.
    /// </summary>
    internal static int MC { get; set; } = 192;

    /// <summary>
    /// n block, rounded down to a multiple of NR. The packed B block KC×NC (256 × 4096 × 4 B = 4 MiB for float)
    /// belongs in L3; it is large so that for n ≤ 4096 B is packed once per k block.
    /// </summary>
    internal static int NC { get; set; } = 4096;

    /// <summary>C[m0..m1, n0..n1] of the problem, on the calling thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T, TK>(GemmProblem<T>* pr, int m0, int m1, int n0, int n1)
        where T : unmanaged, INumber<T> where TK : struct, IGemmMicroKernel<T>
    {
        int mr = TK.MR, nr = TK.NR;
        int k = pr->K;
        KBlocking(k, out int kcMax);
        int mcMax = Math.Max(mr, MC / mr * mr);
        int ncMax = Math.Max(nr, NC / nr * nr);
        int mcCap = Math.Min(mcMax, RoundUp(m1 - m0, mr));
        int ncCap = Math.Min(ncMax, RoundUp(n1 - n0, nr));
        nint aElems = (nint)mcCap * kcMax;
        nint bElems = (nint)ncCap * kcMax;
        // Layout: [packed B block | packed A block], the A block starting on a 64-byte boundary too.
        nint bSpan = (bElems + 63) & ~(nint)63;
        T* bp = (T*)GemmScratch.Get((bSpan + aElems) * sizeof(T));
        T* ap = bp + bSpan;

        for (int jc = n0; jc < n1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, n1 - jc);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                T beta = pc == 0 ? pr->Beta : T.One;
                PackB(bp, pr->B + pc * pr->RsB + jc * pr->CsB, pr->RsB, pr->CsB, kc, nc, nr);
                for (int ic = m0; ic < m1; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, m1 - ic);
                    PackA(ap, pr->A + ic * pr->RsA + pc * pr->CsA, pr->RsA, pr->CsA, mc, kc, mr);
                    Macro<T, TK>(mc, nc, kc, ap, bp, pr->C + ic * pr->Ldc + jc, pr->Ldc, pr->Alpha, beta);
                }
            }
        }
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>
    /// The two loops around the micro-kernel for one packed mc×kc A block and kc×nc B block. Full tiles
    /// update C in place; edge tiles (fewer than MR rows or NR columns left) are computed into a stack tile
    /// and only their valid part is merged, so the kernel itself never needs masking.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void Macro<T, TK>(int mc, int nc, int kc, T* ap, T* bp, T* c, nint ldc, T alpha, T beta)
        where T : unmanaged, INumber<T> where TK : struct, IGemmMicroKernel<T>
    {
        int mr = TK.MR, nr = TK.NR;
        T* tile = stackalloc T[mr * nr];
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            T* b = bp + (nint)jr * kc;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                T* a = ap + (nint)ir * kc;
                T* cij = c + ir * ldc + jr;
                if (rows == mr && cols == nr)
                {
                    TK.Run(kc, a, b, cij, ldc, alpha, beta);
                    continue;
                }
                TK.RunEdge(rows, cols, kc, a, b, tile);
                for (int i = 0; i < rows; i++)
                {
                    T* t = tile + i * nr;
                    T* cr = cij + i * ldc;
                    if (beta == T.Zero)
                        for (int j = 0; j < cols; j++) cr[j] = alpha * t[j];
                    else
                        for (int j = 0; j < cols; j++) cr[j] = alpha * t[j] + beta * cr[j];
                }
            }
        }
    }
}
