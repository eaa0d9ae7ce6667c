using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// Window reductions for pooling over (N·C) planes of (H, W): average (the divisor counts padding, as
/// PyTorch's default count_include_pad) and maximum. The gradient of a maximum goes to one element, the
/// window's first maximum (PyTorch's max_pool2d convention; a NaN counts as the maximum, the first one
/// wins). The max kernels find that element again from the input whenever they need it instead of
/// keeping an index per output: a window of a 2×2 pool is four compares, cheaper than writing and
/// re-reading an index array, and nothing has to be allocated per call. The padding is −∞.
/// </summary>
public static class Pooling
{
    public static int OutSize(int size, int kernel, int stride, int pad, int dilation = 1) => (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;

    /// <summary>Windows whose first maxima are found per call of <see cref="RowFirstMax{T}"/>: a stack buffer of ints.</summary>
    private const int WindowsPerPiece = 128;

    /// <summary>y[p, oh, ow] = mean of the window, padding counted as zeros.</summary>
    public static void AvgForward<T>(int planes, int h, int w, int k, int s, int pad, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = OutSize(h, k, s, pad), ow = OutSize(w, k, s, pad);
        T scale = T.One / T.CreateTruncating(k * k);
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    T sum = T.Zero;
                    for (int a = 0; a < k; a++)
                    {
                        int r = i * s - pad + a;
                        if ((uint)r >= (uint)h) continue;
                        for (int b = 0; b < k; b++)
                        {
                            int c = j * s - pad + b;
                            if ((uint)c < (uint)w) sum += x[(p * h + r) * w + c];
                        }
                    }
                    y[(p * oh + i) * ow + j] = sum * scale;
                }
    }

    /// <summary>The transpose of <see cref="AvgForward"/>: each window spreads gy/k² over its inputs.</summary>
    public static void AvgTranspose<T>(int planes, int h, int w, int k, int s, int pad, ReadOnlySpan<T> gy, Span<T> gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = OutSize(h, k, s, pad), ow = OutSize(w, k, s, pad);
        T scale = T.One / T.CreateTruncating(k * k);
        gx.Clear();
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    T v = gy[(p * oh + i) * ow + j] * scale;
                    for (int a = 0; a < k; a++)
                    {
                        int r = i * s - pad + a;
                        if ((uint)r >= (uint)h) continue;
                        for (int b = 0; b < k; b++)
                        {
                            int c = j * s - pad + b;
                            if ((uint)c < (uint)w) gx[(p * h + r) * w + c] += v;
                        }
                    }
                }
    }

    /// <summary>y (planes, Ho, Wo) = the window maxima of x (planes, H, W); NaN propagates, as in PyTorch.</summary>
    public static void MaxForward<T>(int planes, int h, int w, int k, int s, int pad, int dilation, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = OutSize(h, k, s, pad, dilation), ow = OutSize(w, k, s, pad, dilation);
        if (Tiles2x2<T>(k, s, pad, dilation, ow))
        {
            if (ow >= 8 && Vector256.IsHardwareAccelerated) Forward2x2By8(planes, h, w, oh, ow, MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y));
            else Forward2x2By4(planes, h, w, oh, ow, MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y));
            return;
        }
        Span<int> at = stackalloc int[WindowsPerPiece];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * h * w, h * w);
            for (int i = 0; i < oh; i++)
                for (int j0 = 0; j0 < ow; j0 += WindowsPerPiece)
                {
                    var piece = at[..Math.Min(WindowsPerPiece, ow - j0)];
                    RowFirstMax(plane, h, w, k, s, pad, dilation, i, j0, piece);
                    var yPiece = y.Slice((p * oh + i) * ow + j0, piece.Length);
                    for (int j = 0; j < piece.Length; j++) yPiece[j] = piece[j] < 0 ? T.NegativeInfinity : plane[piece[j]];
                }
        }
    }

    /// <summary>
    /// selected (planes, Ho, Wo) = g (planes, H, W) at each window's first maximum of x: the max-pool's
    /// derivative applied to a tangent g, and the transpose of <see cref="MaxScatter{T}"/>.
    /// </summary>
    public static void MaxSelect<T>(int planes, int h, int w, int k, int s, int pad, int dilation, ReadOnlySpan<T> x, ReadOnlySpan<T> g, Span<T> selected)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = OutSize(h, k, s, pad, dilation), ow = OutSize(w, k, s, pad, dilation);
        Span<int> at = stackalloc int[WindowsPerPiece];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * h * w, h * w);
            var gPlane = g.Slice(p * h * w, h * w);
            for (int i = 0; i < oh; i++)
                for (int j0 = 0; j0 < ow; j0 += WindowsPerPiece)
                {
                    var piece = at[..Math.Min(WindowsPerPiece, ow - j0)];
                    RowFirstMax(plane, h, w, k, s, pad, dilation, i, j0, piece);
                    var outPiece = selected.Slice((p * oh + i) * ow + j0, piece.Length);
                    for (int j = 0; j < piece.Length; j++) outPiece[j] = piece[j] < 0 ? T.Zero : gPlane[piece[j]];
                }
        }
    }

    /// <summary>
    /// gx (planes, H, W) = zeros plus gy[o] added at window o's first maximum of x: the max-pool's VJP. gx is
    /// cleared first; overlapping windows that share a maximum add up.
    /// </summary>
    public static void MaxScatter<T>(int planes, int h, int w, int k, int s, int pad, int dilation, ReadOnlySpan<T> x, ReadOnlySpan<T> gy, Span<T> gx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = OutSize(h, k, s, pad, dilation), ow = OutSize(w, k, s, pad, dilation);
        if (Tiles2x2<T>(k, s, pad, dilation, ow))
        {
            if (ow >= 8 && Vector256.IsHardwareAccelerated)
                Scatter2x2By8(planes, h, w, oh, ow, MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(gy), MemoryMarshal.Cast<T, float>(gx));
            else Scatter2x2By4(planes, h, w, oh, ow, MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(gy), MemoryMarshal.Cast<T, float>(gx));
            return;
        }
        gx.Clear();
        Span<int> at = stackalloc int[WindowsPerPiece];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * h * w, h * w);
            var gxPlane = gx.Slice(p * h * w, h * w);
            for (int i = 0; i < oh; i++)
                for (int j0 = 0; j0 < ow; j0 += WindowsPerPiece)
                {
                    var piece = at[..Math.Min(WindowsPerPiece, ow - j0)];
                    RowFirstMax(plane, h, w, k, s, pad, dilation, i, j0, piece);
                    var gyPiece = gy.Slice((p * oh + i) * ow + j0, piece.Length);
                    for (int j = 0; j < piece.Length; j++)
                        if (piece[j] >= 0) gxPlane[piece[j]] += gyPiece[j];
                }
        }
    }

    /// <summary>
    /// Whether the whole-row 2×2 float paths apply: 2×2 windows with stride 2 tile the input without padding
    /// or overlap, and rows have at least 4 windows (LeNet's poolings: 14 and 5). Rows of 8 or more take
    /// 8 windows per step (the By8 kernels), shorter ones 4 (By4).
    /// </summary>
    private static bool Tiles2x2<T>(int k, int s, int pad, int dilation, int ow) =>
        typeof(T) == typeof(float) && k == 2 && s == 2 && pad == 0 && dilation == 1 && ow >= 4 && Vector128.IsHardwareAccelerated;

    /// <summary><see cref="Forward2x2By8"/> with 4 windows per step (128-bit vectors), for rows of 4 to 7 windows.</summary>
    private static void Forward2x2By4(int planes, int h, int w, int oh, int ow, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length < planes * h * w || y.Length < planes * oh * ow) throw new ArgumentException("MaxForward: a span is shorter than its planes.");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
            {
                ref float row0 = ref Unsafe.Add(ref x0, (p * h + 2 * i) * w);
                ref float row1 = ref Unsafe.Add(ref row0, w);
                ref float yRow = ref Unsafe.Add(ref y0, (p * oh + i) * ow);
                for (int j = 0; j < ow; j += 4)
                {
                    if (j > ow - 4) j = ow - 4;
                    Pairs4(ref Unsafe.Add(ref row0, 2 * j), out var a, out var b);
                    Pairs4(ref Unsafe.Add(ref row1, 2 * j), out var c, out var d);
                    var best = a;
                    best = Vector128.ConditionalSelect(Takes(best, b), b, best);
                    best = Vector128.ConditionalSelect(Takes(best, c), c, best);
                    best = Vector128.ConditionalSelect(Takes(best, d), d, best);
                    best.StoreUnsafe(ref yRow, (nuint)j);
                }
            }
    }

    /// <summary><see cref="Scatter2x2By8"/> with 4 windows per step (128-bit vectors), for rows of 4 to 7 windows.</summary>
    private static void Scatter2x2By4(int planes, int h, int w, int oh, int ow, ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gx)
    {
        if (x.Length < planes * h * w || gx.Length < planes * h * w || gy.Length < planes * oh * ow)
            throw new ArgumentException("MaxScatter: a span is shorter than its planes.");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float gx0 = ref MemoryMarshal.GetReference(gx);
        ref float gy0 = ref MemoryMarshal.GetReference(gy);
        for (int p = 0; p < planes; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                ref float row0 = ref Unsafe.Add(ref x0, (p * h + 2 * i) * w);
                ref float row1 = ref Unsafe.Add(ref row0, w);
                ref float out0 = ref Unsafe.Add(ref gx0, (p * h + 2 * i) * w);
                ref float out1 = ref Unsafe.Add(ref out0, w);
                ref float gyRow = ref Unsafe.Add(ref gy0, (p * oh + i) * ow);
                for (int j = 0; j < ow; j += 4)
                {
                    if (j > ow - 4) j = ow - 4;
                    Pairs4(ref Unsafe.Add(ref row0, 2 * j), out var a, out var b);
                    Pairs4(ref Unsafe.Add(ref row1, 2 * j), out var c, out var d);
                    var best = a;
                    var takeB = Takes(best, b);
                    best = Vector128.ConditionalSelect(takeB, b, best);
                    var takeC = Takes(best, c);
                    best = Vector128.ConditionalSelect(takeC, c, best);
                    var takeD = Takes(best, d);
                    var isC = Vector128.AndNot(takeC, takeD);
                    var isB = Vector128.AndNot(Vector128.AndNot(takeB, takeC), takeD);
                    var isA = ~(takeB | takeC | takeD);
                    var g = Vector128.LoadUnsafe(ref gyRow, (nuint)j);
                    StorePairs4(g & isA, g & isB, ref Unsafe.Add(ref out0, 2 * j));
                    StorePairs4(g & isC, g & takeD, ref Unsafe.Add(ref out1, 2 * j));
                }
                for (int col = 2 * ow; col < w; col++)
                {
                    Unsafe.Add(ref out0, col) = 0;
                    Unsafe.Add(ref out1, col) = 0;
                }
            }
            gx.Slice((p * h + 2 * oh) * w, (h - 2 * oh) * w).Clear();
        }
    }

    /// <summary><see cref="Pairs8"/> for 4 windows (8 floats).</summary>
    private static void Pairs4(ref float start, out Vector128<float> left, out Vector128<float> right)
    {
        var lo = Vector128.LoadUnsafe(ref Unsafe.As<float, long>(ref start));
        var hi = Vector128.LoadUnsafe(ref Unsafe.As<float, long>(ref Unsafe.Add(ref start, 4)));
        left = Vector128.Narrow(lo, hi).AsSingle();
        right = Vector128.Narrow(Vector128.ShiftRightLogical(lo, 32), Vector128.ShiftRightLogical(hi, 32)).AsSingle();
    }

    /// <summary><see cref="StorePairs8"/> for 4 windows (8 floats).</summary>
    private static void StorePairs4(Vector128<float> left, Vector128<float> right, ref float start)
    {
        var l = left.AsUInt32();
        var r = right.AsUInt32();
        var lo = Vector128.WidenLower(l) | Vector128.ShiftLeft(Vector128.WidenLower(r), 32);
        var hi = Vector128.WidenUpper(l) | Vector128.ShiftLeft(Vector128.WidenUpper(r), 32);
        lo.StoreUnsafe(ref Unsafe.As<float, ulong>(ref start));
        hi.StoreUnsafe(ref Unsafe.As<float, ulong>(ref Unsafe.Add(ref start, 4)));
    }

    /// <summary><see cref="Takes(Vector256{float}, Vector256{float})"/> on 4 windows.</summary>
    private static Vector128<float> Takes(Vector128<float> best, Vector128<float> v) =>
        Vector128.AndNot(Vector128.Equals(best, best), Vector128.LessThanOrEqual(v, best));

    /// <summary>
    /// <see cref="MaxForward{T}"/> for <see cref="Tiles2x2{T}"/> rows of 8+ windows: the maxima of 8 windows at a time, stored
    /// straight from the vector (the same candidates in the same order as <see cref="RowFirstMax2x2By8"/>,
    /// so the same bits, NaNs and signed zeros included); the last step of a row overlaps the one before.
    /// </summary>
    private static void Forward2x2By8(int planes, int h, int w, int oh, int ow, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length < planes * h * w || y.Length < planes * oh * ow) throw new ArgumentException("MaxForward: a span is shorter than its planes.");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
            {
                ref float row0 = ref Unsafe.Add(ref x0, (p * h + 2 * i) * w);
                ref float row1 = ref Unsafe.Add(ref row0, w);
                ref float yRow = ref Unsafe.Add(ref y0, (p * oh + i) * ow);
                for (int j = 0; j < ow; j += 8)
                {
                    if (j > ow - 8) j = ow - 8;
                    Pairs8(ref Unsafe.Add(ref row0, 2 * j), out var a, out var b);
                    Pairs8(ref Unsafe.Add(ref row1, 2 * j), out var c, out var d);
                    var best = a;
                    best = Vector256.ConditionalSelect(Takes(best, b), b, best);
                    best = Vector256.ConditionalSelect(Takes(best, c), c, best);
                    best = Vector256.ConditionalSelect(Takes(best, d), d, best);
                    best.StoreUnsafe(ref yRow, (nuint)j);
                }
            }
    }

    /// <summary>
    /// <see cref="MaxScatter{T}"/> for <see cref="Tiles2x2{T}"/> rows of 8+ windows: for 8 windows at a time, the window's
    /// cotangent at its first maximum and zeros elsewhere, written as the two input rows the windows cover
    /// (every element written once, so gx needs no clearing first); the rows and columns no window covers
    /// (odd sizes) are cleared.
    /// </summary>
    private static void Scatter2x2By8(int planes, int h, int w, int oh, int ow, ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gx)
    {
        if (x.Length < planes * h * w || gx.Length < planes * h * w || gy.Length < planes * oh * ow)
            throw new ArgumentException("MaxScatter: a span is shorter than its planes.");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float gx0 = ref MemoryMarshal.GetReference(gx);
        ref float gy0 = ref MemoryMarshal.GetReference(gy);
        for (int p = 0; p < planes; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                ref float row0 = ref Unsafe.Add(ref x0, (p * h + 2 * i) * w);
                ref float row1 = ref Unsafe.Add(ref row0, w);
                ref float out0 = ref Unsafe.Add(ref gx0, (p * h + 2 * i) * w);
                ref float out1 = ref Unsafe.Add(ref out0, w);
                ref float gyRow = ref Unsafe.Add(ref gy0, (p * oh + i) * ow);
                for (int j = 0; j < ow; j += 8)
                {
                    if (j > ow - 8) j = ow - 8;
                    Pairs8(ref Unsafe.Add(ref row0, 2 * j), out var a, out var b);
                    Pairs8(ref Unsafe.Add(ref row1, 2 * j), out var c, out var d);
                    // Masks of the candidate that holds each window's first maximum: a, else b, c or d.
                    var best = a;
                    var takeB = Takes(best, b);
                    best = Vector256.ConditionalSelect(takeB, b, best);
                    var takeC = Takes(best, c);
                    best = Vector256.ConditionalSelect(takeC, c, best);
                    var takeD = Takes(best, d);
                    var isC = Vector256.AndNot(takeC, takeD);
                    var isB = Vector256.AndNot(Vector256.AndNot(takeB, takeC), takeD);
                    var isA = ~(takeB | takeC | takeD);
                    var g = Vector256.LoadUnsafe(ref gyRow, (nuint)j);
                    StorePairs8(g & isA, g & isB, ref Unsafe.Add(ref out0, 2 * j));
                    StorePairs8(g & isC, g & takeD, ref Unsafe.Add(ref out1, 2 * j));
                }
                // Columns right of the last window.
                for (int col = 2 * ow; col < w; col++)
                {
                    Unsafe.Add(ref out0, col) = 0;
                    Unsafe.Add(ref out1, col) = 0;
                }
            }
            // Rows below the last window.
            gx.Slice((p * h + 2 * oh) * w, (h - 2 * oh) * w).Clear();
        }
    }

    /// <summary>The left and right columns of 8 consecutive 2-wide windows of a row (16 floats read as 8 longs, narrowed).</summary>
    private static void Pairs8(ref float start, out Vector256<float> left, out Vector256<float> right)
    {
        var lo = Vector256.LoadUnsafe(ref Unsafe.As<float, long>(ref start));
        var hi = Vector256.LoadUnsafe(ref Unsafe.As<float, long>(ref Unsafe.Add(ref start, 8)));
        left = Vector256.Narrow(lo, hi).AsSingle();
        right = Vector256.Narrow(Vector256.ShiftRightLogical(lo, 32), Vector256.ShiftRightLogical(hi, 32)).AsSingle();
    }

    /// <summary>The inverse of <see cref="Pairs8"/>: 16 floats left[0], right[0], left[1], right[1], … from <paramref name="start"/>.</summary>
    private static void StorePairs8(Vector256<float> left, Vector256<float> right, ref float start)
    {
        var l = left.AsUInt32();
        var r = right.AsUInt32();
        var lo = Vector256.WidenLower(l) | Vector256.ShiftLeft(Vector256.WidenLower(r), 32);
        var hi = Vector256.WidenUpper(l) | Vector256.ShiftLeft(Vector256.WidenUpper(r), 32);
        lo.StoreUnsafe(ref Unsafe.As<float, ulong>(ref start));
        hi.StoreUnsafe(ref Unsafe.As<float, ulong>(ref Unsafe.Add(ref start, 8)));
    }

    /// <summary>Consider's test on 8 windows: v replaces the best so far where the best is not NaN and !(v &lt;= best).</summary>
    private static Vector256<float> Takes(Vector256<float> best, Vector256<float> v) =>
        Vector256.AndNot(Vector256.Equals(best, best), Vector256.LessThanOrEqual(v, best));

    /// <summary>
    /// at[j] = the index in <paramref name="plane"/> (H, W) of the first maximum of window (i, j0 + j), or −1
    /// for a window entirely in the padding. Windows are scanned row by row; a larger value or a NaN replaces
    /// the best so far, and after a NaN nothing does (the reference's loop, <see cref="MaxArgmaxNaive{T}"/>).
    /// </summary>
    private static void RowFirstMax<T>(ReadOnlySpan<T> plane, int h, int w, int k, int s, int pad, int dilation, int i, int j0, Span<int> at)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int r0 = i * s - pad;
        if (pad == 0 && dilation == 1)
        {
            // Unpadded windows lie inside the plane: no bounds to test.
            if (k == 2)
            {
                int j = 0;
                if (s == 2 && typeof(T) == typeof(float))
                {
                    if (at.Length >= 8 && Vector256.IsHardwareAccelerated) j = RowFirstMax2x2By8(MemoryMarshal.Cast<T, float>(plane), w, r0, j0, at);
                    else if (Vector128.IsHardwareAccelerated) j = RowFirstMax2x2(MemoryMarshal.Cast<T, float>(plane), w, r0, j0, at);
                }
                for (; j < at.Length; j++)
                {
                    int index = r0 * w + (j0 + j) * s, best = index;
                    T value = plane[index];
                    Consider(plane, index + 1, ref best, ref value);
                    Consider(plane, index + w, ref best, ref value);
                    Consider(plane, index + w + 1, ref best, ref value);
                    at[j] = best;
                }
                return;
            }
            for (int j = 0; j < at.Length; j++)
            {
                int corner = r0 * w + (j0 + j) * s, best = corner;
                T value = plane[corner];
                for (int a = 0; a < k; a++)
                    for (int b = a == 0 ? 1 : 0; b < k; b++) Consider(plane, corner + a * w + b, ref best, ref value);
                at[j] = best;
            }
            return;
        }
        for (int j = 0; j < at.Length; j++)
        {
            int c0 = (j0 + j) * s - pad, best = -1;
            T value = T.NegativeInfinity;
            for (int a = 0; a < k; a++)
            {
                int r = r0 + a * dilation;
                if ((uint)r >= (uint)h) continue;
                for (int b = 0; b < k; b++)
                {
                    int c = c0 + b * dilation;
                    if ((uint)c >= (uint)w) continue;
                    if (best < 0)
                    {
                        best = r * w + c;
                        value = plane[best];
                    }
                    else Consider(plane, r * w + c, ref best, ref value);
                }
            }
            at[j] = best;
        }
    }

    /// <summary>
    /// <see cref="RowFirstMax{T}"/> for 2×2 windows with stride 2 on float, four windows per step; returns how
    /// many of the row's windows it did (all of them when there are at least four: the last step overlaps
    /// the one before it). Compares of random data are unpredictable branches in the scalar loop (about
    /// half of them mispredicted), so here they become masks. Read as longs, 8 floats of a row are the
    /// (left, right) pairs of 4 windows: the low halves narrowed together are the left column, the high
    /// halves the right. The same order of candidates and the same test as the scalar loop give the same
    /// choice, ties and NaNs included. Four rather than eight windows per step so that narrow rows (LeNet's
    /// second pooling has 5 windows a row) take this path too.
    /// </summary>
    private static int RowFirstMax2x2(ReadOnlySpan<float> plane, int w, int r0, int j0, Span<int> at)
    {
        const int step = 4;
        if (at.Length < step) return 0;
        ref float row0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(plane), r0 * w);
        ref float row1 = ref Unsafe.Add(ref row0, w);
        var lanesTimesTwo = Vector128.Create(0, 2, 4, 6);
        var width = Vector128.Create(w);
        // Window j0 + j + 3 reads up to column 2(j0 + j + 3) + 1 ≤ 2·Wo − 1 < W: the loads stay in the row.
        for (int j = 0; j < at.Length; j += step)
        {
            if (j > at.Length - step) j = at.Length - step;
            int col = (j0 + j) * 2;
            Pairs(ref Unsafe.Add(ref row0, col), out var a, out var b);
            Pairs(ref Unsafe.Add(ref row1, col), out var c, out var d);
            var best = a;
            var which = Vector128<int>.Zero;
            Take(ref best, ref which, b, 1);
            Take(ref best, ref which, c, 2);
            Take(ref best, ref which, d, 3);
            // Candidate 0..3 is (row, column) = (which >> 1, which & 1) of the window.
            var index = Vector128.Create(r0 * w + col) + lanesTimesTwo + (which & Vector128<int>.One) + Vector128.ShiftRightArithmetic(which, 1) * width;
            index.StoreUnsafe(ref MemoryMarshal.GetReference(at), (nuint)j);
        }
        return at.Length;

        static void Pairs(ref float start, out Vector128<float> left, out Vector128<float> right)
        {
            var lo = Vector128.LoadUnsafe(ref Unsafe.As<float, long>(ref start));
            var hi = Vector128.LoadUnsafe(ref Unsafe.As<float, long>(ref Unsafe.Add(ref start, 4)));
            left = Vector128.Narrow(lo, hi).AsSingle();
            right = Vector128.Narrow(Vector128.ShiftRightLogical(lo, 32), Vector128.ShiftRightLogical(hi, 32)).AsSingle();
        }

        // Consider's test on 4 windows: take v where the best so far is not NaN and !(v <= best).
        static void Take(ref Vector128<float> best, ref Vector128<int> which, Vector128<float> v, int candidate)
        {
            var take = Vector128.AndNot(Vector128.Equals(best, best), Vector128.LessThanOrEqual(v, best));
            best = Vector128.ConditionalSelect(take, v, best);
            which = Vector128.ConditionalSelect(take.AsInt32(), Vector128.Create(candidate), which);
        }
    }

    /// <summary>
    /// <see cref="RowFirstMax2x2"/> eight windows per step with 256-bit vectors, for rows of at least eight
    /// windows (LeNet's first pooling has 14 a row: two steps instead of four).
    /// </summary>
    private static int RowFirstMax2x2By8(ReadOnlySpan<float> plane, int w, int r0, int j0, Span<int> at)
    {
        const int step = 8;
        if (at.Length < step) return 0;
        ref float row0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(plane), r0 * w);
        ref float row1 = ref Unsafe.Add(ref row0, w);
        var lanesTimesTwo = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        var width = Vector256.Create(w);
        // Window j0 + j + 7 reads up to column 2(j0 + j + 7) + 1 ≤ 2·Wo − 1 < W: the loads stay in the row.
        for (int j = 0; j < at.Length; j += step)
        {
            if (j > at.Length - step) j = at.Length - step;
            int col = (j0 + j) * 2;
            Pairs(ref Unsafe.Add(ref row0, col), out var a, out var b);
            Pairs(ref Unsafe.Add(ref row1, col), out var c, out var d);
            var best = a;
            var which = Vector256<int>.Zero;
            Take(ref best, ref which, b, 1);
            Take(ref best, ref which, c, 2);
            Take(ref best, ref which, d, 3);
            var index = Vector256.Create(r0 * w + col) + lanesTimesTwo + (which & Vector256<int>.One) + Vector256.ShiftRightArithmetic(which, 1) * width;
            index.StoreUnsafe(ref MemoryMarshal.GetReference(at), (nuint)j);
        }
        return at.Length;

        static void Pairs(ref float start, out Vector256<float> left, out Vector256<float> right)
        {
            var lo = Vector256.LoadUnsafe(ref Unsafe.As<float, long>(ref start));
            var hi = Vector256.LoadUnsafe(ref Unsafe.As<float, long>(ref Unsafe.Add(ref start, 8)));
            left = Vector256.Narrow(lo, hi).AsSingle();
            right = Vector256.Narrow(Vector256.ShiftRightLogical(lo, 32), Vector256.ShiftRightLogical(hi, 32)).AsSingle();
        }

        static void Take(ref Vector256<float> best, ref Vector256<int> which, Vector256<float> v, int candidate)
        {
            var take = Vector256.AndNot(Vector256.Equals(best, best), Vector256.LessThanOrEqual(v, best));
            best = Vector256.ConditionalSelect(take, v, best);
            which = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(candidate), which);
        }
    }

    /// <summary>Takes plane[index] as the window's maximum if it is larger or NaN, unless the maximum so far is a NaN.</summary>
    private static void Consider<T>(ReadOnlySpan<T> plane, int index, ref int best, ref T value) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T v = plane[index];
        // !(v <= value) is v > value or v is NaN.
        if (!T.IsNaN(value) && !(v <= value))
        {
            value = v;
            best = index;
        }
    }

    /// <summary>
    /// The reference for the max kernels, by the plain loops: y = window maxima (padding is −∞) and
    /// indices[o] = the flat input index of output o's first maximum. Tests compare <see cref="MaxForward{T}"/>
    /// with y, <see cref="MaxSelect{T}"/> with <see cref="GatherBlocks{T}"/> at the indices and
    /// <see cref="MaxScatter{T}"/> with <see cref="ScatterAddBlocks{T}"/> at them.
    /// </summary>
    public static void MaxArgmaxNaive<T>(int planes, int h, int w, int k, int s, int pad, int dilation, ReadOnlySpan<T> x, Span<T> y, Span<int> indices)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = OutSize(h, k, s, pad, dilation), ow = OutSize(w, k, s, pad, dilation);
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    T best = T.NegativeInfinity;
                    int at = -1;
                    for (int a = 0; a < k; a++)
                    {
                        int r = i * s - pad + a * dilation;
                        if ((uint)r >= (uint)h) continue;
                        for (int b = 0; b < k; b++)
                        {
                            int c = j * s - pad + b * dilation;
                            if ((uint)c >= (uint)w) continue;
                            int index = (p * h + r) * w + c;
                            T v = x[index];
                            // NaN propagates, as in PyTorch.
                            if (at < 0 || v > best || T.IsNaN(v)) { best = v; at = index; if (T.IsNaN(v)) goto done; }
                        }
                    }
                done:
                    y[(p * oh + i) * ow + j] = best;
                    indices[(p * oh + i) * ow + j] = at;
                }
    }

    /// <summary>y[o·block + e] = x[indices[o]·block + e]: gathering blocks (embedding rows: block D).</summary>
    public static void GatherBlocks<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> indices, int block, Span<T> y) where T : unmanaged
    {
        for (int o = 0; o < indices.Length; o++) x.Slice(indices[o] * block, block).CopyTo(y.Slice(o * block, block));
    }

    /// <summary>The transpose of <see cref="GatherBlocks"/>: x[indices[o]·block + e] += y[o·block + e], x cleared first.</summary>
    public static void ScatterAddBlocks<T>(ReadOnlySpan<T> y, ReadOnlySpan<int> indices, int block, Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        x.Clear();
        for (int o = 0; o < indices.Length; o++)
        {
            var dst = x.Slice(indices[o] * block, block);
            var src = y.Slice(o * block, block);
            for (int e = 0; e < block; e++) dst[e] += src[e];
        }
    }
}
