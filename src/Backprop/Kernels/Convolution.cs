using System.Buffers;
using System.Numerics.Tensors;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// The sizes of a 2-D convolution in NCHW layout: input (N, C, H, W), weight (O, C, kH, kW), output
/// (N, O, Ho, Wo) with Ho = ⌊(H + 2pH − dH(kH − 1) − 1)/sH⌋ + 1 (and likewise Wo), PyTorch's formula.
/// </summary>
public readonly record struct ConvGeometry(int N, int C, int H, int W, int O, int KH, int KW,
    int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW)
{
    public int OutH => (H + 2 * PadH - DilationH * (KH - 1) - 1) / StrideH + 1;
    public int OutW => (W + 2 * PadW - DilationW * (KW - 1) - 1) / StrideW + 1;
    /// <summary>Rows of a column matrix: C·kH·kW.</summary>
    public int K => C * KH * KW;
    /// <summary>Columns of a column matrix per image: Ho·Wo, one per output position.</summary>
    public int L => OutH * OutW;
}

/// <summary>
/// Convolution kernels through the packed GEMM (im2col). The receptive fields of a chunk of images are
/// unrolled side by side into one (C·kH·kW, images·Ho·Wo) column matrix, so that each GEMM is wide (a
/// LeNet layer has only Ho·Wo = 100 output positions per image, too narrow for the GEMM's 32-column tiles
/// to pay off image by image) while the column matrix still fits in L2 (<see cref="ColumnBudget"/>).
/// The three products of the convolution's trilinear form ⟨conv(x, w), g⟩ are all here: the forward pass,
/// its transpose in x (columns from wᵀ·g, folded back by col2im) and its transpose in w (g·colsᵀ). Each
/// product is oriented so that the GEMM reads its operands along rows where it can (see Forward and
/// TransposeWeight); between the GEMM's layouts ((O, images·L) or (images·L, O)) and NCHW, outputs and
/// cotangents are moved by row copies or 16×16 tile transposes. Scratch comes from
/// <see cref="ArrayPool{T}"/>, so that a call allocates nothing once the pool holds buffers of its size.
/// Not threaded: the products of a LeNet-sized layer are below the GEMM's threading threshold, and the
/// chunks run one after another on the calling thread.
/// </summary>
public static class Convolution
{
    /// <summary>
    /// Upper bound on a chunk's column matrix, in elements (128 Ki: 512 KiB of float, half the L2 of a
    /// Zen 4 core, leaving room for the GEMM's packed blocks). A chunk holds at least one image. Tests
    /// lower it to exercise several chunks on small shapes.
    /// </summary>
    internal static int ColumnBudget { get; set; } = 1 << 17;

    /// <summary>
    /// Output positions per image from which one image alone makes a wide enough GEMM: then images go one
    /// at a time and the output needs no copy into place. gemm-quick, LeNet's first layer (L = 784): 64
    /// products 6×784×25 took 205 µs, 11 products 6×4704×25 took 214 µs plus the copy; its second layer
    /// (L = 100): 64 products 16×100×150 took 758 µs, 8 products 16×800×150 took 507 µs.
    /// </summary>
    internal const int WideImage = 512;

    /// <summary>Images per GEMM: one for a wide image, else as many as fit <see cref="ColumnBudget"/>, at least one, at most N.</summary>
    internal static int ImagesPerChunk(in ConvGeometry g)
    {
        if (g.L >= WideImage) return 1;
        long perImage = Math.Max(1L, (long)g.K * g.L);
        return (int)Math.Clamp(ColumnBudget / perImage, 1, Math.Max(1, g.N));
    }

    /// <summary>
    /// y (N, O, Ho, Wo) = conv(x (N, C, H, W), w (O, C, kH, kW)) + bias (O) per channel, cross-correlation as
    /// in PyTorch; an empty <paramref name="bias"/> adds nothing. The bias is added while each chunk's
    /// output is copied into place, so it costs no pass of its own. With at least a vector's width of output
    /// channels the product is taken transposed, yᵀ (count·L, O) = colsᵀ · wᵀ, and transposed back into
    /// place (gemm-quick, LeNet's second layer per chunk: 800×16×150 with both operands transposed at 97
    /// GFLOP/s against 16×800×150 at 60, where the 16 rows leave the 12-row tiles a third empty). With
    /// <paramref name="savedColumns"/>
    /// (at least <see cref="SavedColumnsLength"/> elements) the whole batch's column matrix is kept there,
    /// laid out (K, N·L), for <see cref="TransposeWeight{T}"/> to reuse instead of unrolling x again; the
    /// chunks still go through the GEMM one at a time while their columns are in cache.
    /// </summary>
    public static void Forward<T>(in ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, ReadOnlySpan<T> bias = default,
        Span<T> savedColumns = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!bias.IsEmpty && bias.Length != g.O)
            throw new ArgumentException($"Convolution.Forward: the bias has {bias.Length} elements for {g.O} output channels.", nameof(bias));
        bool save = !savedColumns.IsEmpty;
        if (save && savedColumns.Length < SavedColumnsLength<T>(g))
            throw new ArgumentException($"Convolution.Forward: the saved column matrix needs {SavedColumnsLength<T>(g)} elements; got {savedColumns.Length}.", nameof(savedColumns));
        int k = g.K, l = g.L, inSize = g.C * g.H * g.W, outSize = g.O * l;
        if (g.N == 0 || l == 0) return;
        int chunk = ImagesPerChunk(g);
        bool transposed = g.O >= Vector<T>.Count;
        var cols = save ? null : ArrayPool<T>.Shared.Rent(Math.Max(1, k * PaddedStride<T>(chunk * l)));
        var wide = chunk > 1 || transposed ? ArrayPool<T>.Shared.Rent(outSize * chunk) : null;
        try
        {
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int count = Math.Min(chunk, g.N - n0), ld = count * l;
                // This chunk's column matrix: K rows of count·L columns, ldCols apart.
                int ldCols = save ? SavedColumnsStride<T>(g) : PaddedStride<T>(ld);
                var colSpan = save ? savedColumns.Slice(n0 * l) : cols.AsSpan(0, k * ldCols);
                for (int i = 0; i < count; i++) Im2Col(g, x.Slice((n0 + i) * inSize, inSize), colSpan.Slice(i * l), ldCols);
                var yChunk = y.Slice(n0 * outSize, count * outSize);
                if (transposed)
                {
                    // (count·L, K) · (K, O) → yᵀ (count·L, O), both read transposed: cols is (K, count·L), w is (O, K)
                    var positions = wide.AsSpan(0, count * outSize);
                    Multiply(true, true, ld, g.O, k, colSpan, ldCols, w, k, T.Zero, positions, g.O);
                    PositionMajorToBatch(positions, g.O, count, l, yChunk, bias);
                    continue;
                }
                if (count == 1)
                {
                    // (O, K) · (K, L) → (O, L), already the image's NCHW block
                    Multiply(false, false, g.O, l, k, w, k, colSpan, ldCols, T.Zero, yChunk, l);
                    if (!bias.IsEmpty)
                        for (int o = 0; o < g.O; o++) AddScalar(yChunk.Slice(o * l, l), bias[o], yChunk.Slice(o * l, l));
                    continue;
                }
                // (O, K) · (K, count·L) → (O, count·L), then each image's (O, L) block to its place in y
                var wideSpan = wide.AsSpan(0, count * outSize);
                Multiply(false, false, g.O, ld, k, w, k, colSpan, ldCols, T.Zero, wideSpan, ld);
                ChannelMajorToBatch(wideSpan, g.O, count, l, yChunk, bias);
            }
        }
        finally
        {
            if (cols is not null) ArrayPool<T>.Shared.Return(cols);
            if (wide is not null) ArrayPool<T>.Shared.Return(wide);
        }
    }

    /// <summary>Row stride of the whole batch's saved column matrix: N·L padded (<see cref="PaddedStride{T}"/>).</summary>
    public static int SavedColumnsStride<T>(in ConvGeometry g) where T : unmanaged => PaddedStride<T>(g.N * g.L);

    /// <summary>Elements of the whole batch's column matrix that <see cref="Forward{T}"/> can save: K rows of <see cref="SavedColumnsStride{T}"/>.</summary>
    public static long SavedColumnsLength<T>(in ConvGeometry g) where T : unmanaged => (long)g.K * SavedColumnsStride<T>(g);

    /// <summary>
    /// A row stride of at least <paramref name="columns"/> elements that is an odd number of 64-byte lines.
    /// Rows a multiple of 4 KiB apart fall into the same L1 sets: LeNet's first layer has N·L = 64·784
    /// floats = 49 × 4 KiB, and its 25 rows, read together by the GEMM, evicted each other (the forward
    /// product took twice as long). With an odd number of lines, 64 consecutive rows use 64 different sets.
    /// </summary>
    internal static int PaddedStride<T>(int columns) where T : unmanaged
    {
        int perLine = Math.Max(1, 64 / Unsafe.SizeOf<T>());
        int lines = (columns + perLine - 1) / perLine;
        if (lines % 2 == 0) lines++;
        return lines * perLine;
    }

    /// <summary>z (N, C, H, W) = the transpose of conv in x applied to gy (N, O, Ho, Wo): cols = wᵀ·gy, folded by col2im.</summary>
    public static void TransposeInput<T>(in ConvGeometry g, ReadOnlySpan<T> gy, ReadOnlySpan<T> w, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K, l = g.L, inSize = g.C * g.H * g.W, outSize = g.O * l;
        z.Clear();   // col2im adds every column entry into place
        if (g.N == 0 || l == 0) return;
        int chunk = ImagesPerChunk(g);
        var cols = ArrayPool<T>.Shared.Rent(Math.Max(1, k * PaddedStride<T>(chunk * l)));
        var wide = chunk > 1 ? ArrayPool<T>.Shared.Rent(outSize * chunk) : null;
        try
        {
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int count = Math.Min(chunk, g.N - n0), ld = count * l, ldCols = PaddedStride<T>(ld);
                var colSpan = cols.AsSpan(0, k * ldCols);
                ReadOnlySpan<T> gyChunk = gy.Slice(n0 * outSize, count * outSize);
                if (count > 1)
                {
                    BatchToChannelMajor(gyChunk, g.O, count, l, wide.AsSpan(0, count * outSize));
                    gyChunk = wide.AsSpan(0, count * outSize);
                }
                // (K, O) · (O, count·L) → (K, count·L); w is stored (O, K)
                Multiply(true, false, k, ld, g.O, w, k, gyChunk, ld, T.Zero, colSpan, ldCols);
                for (int i = 0; i < count; i++) Col2Im(g, colSpan.Slice(i * l), ldCols, z.Slice((n0 + i) * inSize, inSize));
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(cols);
            if (wide is not null) ArrayPool<T>.Shared.Return(wide);
        }
    }

    /// <summary>
    /// v (O, C, kH, kW) = the transpose of conv in w, summed over chunks of images. With at least a vector's
    /// width of output channels, vᵀ (K, O) += cols (K, count·L) · gyᵀ (count·L, O), gy transposed per chunk:
    /// both operands are then read along their rows (gemm-quick, LeNet's second layer per chunk: 150×16×800
    /// at 99 GFLOP/s against 16×150×800 with colsᵀ read down its columns at 50). With fewer channels (its
    /// first layer has 6) a transposed gy would be too narrow for vectors, and v (O, K) += gy (O, count·L) ·
    /// colsᵀ. With <paramref name="savedColumns"/> (the column matrix of x that <see cref="Forward{T}"/>
    /// saved) x is not unrolled again; x is then not read.
    /// </summary>
    public static void TransposeWeight<T>(in ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> gy, Span<T> v, ReadOnlySpan<T> savedColumns = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool saved = !savedColumns.IsEmpty;
        if (saved && savedColumns.Length < SavedColumnsLength<T>(g))
            throw new ArgumentException($"Convolution.TransposeWeight: the saved column matrix needs {SavedColumnsLength<T>(g)} elements; got {savedColumns.Length}.", nameof(savedColumns));
        int k = g.K, l = g.L, inSize = g.C * g.H * g.W, outSize = g.O * l;
        if (g.N == 0 || l == 0)
        {
            v.Clear();
            return;
        }
        bool transposed = g.O >= Vector<T>.Count;
        int chunk = ImagesPerChunk(g);
        var cols = saved ? null : ArrayPool<T>.Shared.Rent(Math.Max(1, k * PaddedStride<T>(chunk * l)));
        var wide = chunk > 1 || transposed ? ArrayPool<T>.Shared.Rent(outSize * chunk) : null;
        var vT = transposed ? ArrayPool<T>.Shared.Rent(k * g.O) : null;
        try
        {
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int count = Math.Min(chunk, g.N - n0), ld = count * l;
                int ldCols = saved ? SavedColumnsStride<T>(g) : PaddedStride<T>(ld);
                ReadOnlySpan<T> colSpan;
                if (saved) colSpan = savedColumns.Slice(n0 * l);
                else
                {
                    var scratch = cols.AsSpan(0, k * ldCols);
                    for (int i = 0; i < count; i++) Im2Col(g, x.Slice((n0 + i) * inSize, inSize), scratch.Slice(i * l), ldCols);
                    colSpan = scratch;
                }
                ReadOnlySpan<T> gyChunk = gy.Slice(n0 * outSize, count * outSize);
                T beta = n0 == 0 ? T.Zero : T.One;   // the first chunk overwrites, later ones add
                if (transposed)
                {
                    // (K, count·L) · (count·L, O) → vᵀ (K, O)
                    BatchToPositionMajor(gyChunk, g.O, count, l, wide.AsSpan(0, count * outSize));
                    Multiply(false, false, k, g.O, ld, colSpan, ldCols, wide.AsSpan(0, count * outSize), g.O, beta, vT.AsSpan(0, k * g.O), g.O);
                    continue;
                }
                if (count > 1)
                {
                    BatchToChannelMajor(gyChunk, g.O, count, l, wide.AsSpan(0, count * outSize));
                    gyChunk = wide.AsSpan(0, count * outSize);
                }
                // (O, count·L) · (count·L, K) → (O, K)
                Multiply(false, true, g.O, k, ld, gyChunk, ld, colSpan, ldCols, beta, v, k);
            }
            if (vT is not null)
                for (int o = 0; o < g.O; o++)
                    for (int r = 0; r < k; r++) v[o * k + r] = vT[r * g.O + o];
        }
        finally
        {
            if (cols is not null) ArrayPool<T>.Shared.Return(cols);
            if (wide is not null) ArrayPool<T>.Shared.Return(wide);
            if (vT is not null) ArrayPool<T>.Shared.Return(vT);
        }
    }

    /// <summary>cols[(c·kH + i)·kW + j, oh·Wo + ow] = x[c, oh·sH − pH + i·dH, ow·sW − pW + j·dW], or 0 in the padding.</summary>
    public static void Im2Col<T>(in ConvGeometry g, ReadOnlySpan<T> x, Span<T> cols) where T : unmanaged, IFloatingPointIeee754<T> =>
        Im2Col(g, x, cols, g.L);

    /// <summary>
    /// <see cref="Im2Col{T}(in ConvGeometry, ReadOnlySpan{T}, Span{T})"/> for one image x (C, H, W) into a
    /// column matrix whose rows are <paramref name="ld"/> apart: row r of this image is cols[r·ld .. r·ld + Ho·Wo).
    /// With stride 1 along the width each output row is one short contiguous copy between its padded edges
    /// (LeNet: 10 or 28 elements), done with vector moves rather than a memmove call per row.
    /// </summary>
    public static void Im2Col<T>(in ConvGeometry g, ReadOnlySpan<T> x, Span<T> cols, int ld) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int outH = g.OutH, outW = g.OutW, l = outH * outW;
        if (g.K == 0 || l == 0) return;
        // Every row of this image's part of the column matrix, and every input row, lies inside the spans.
        if ((long)(g.K - 1) * ld + l > cols.Length) throw new ArgumentException("Im2Col: the column matrix is too small for the geometry.", nameof(cols));
        if ((long)g.C * g.H * g.W > x.Length) throw new ArgumentException("Im2Col: the image is smaller than C·H·W.", nameof(x));
        // Locals rather than g's fields: stores through refs could alias g, so the JIT would reload them per row.
        int channels = g.C, h = g.H, w = g.W, kh = g.KH, kw = g.KW, sH = g.StrideH, sW = g.StrideW;
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T cols0 = ref MemoryMarshal.GetReference(cols);
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < kh; i++)
            {
                // Output rows [ohLo, ohHi) read input rows inside the image; the others read padding.
                int h0 = i * g.DilationH - g.PadH;
                var (ohLo, ohHi) = InsideRange(h0, sH, h, outH);
                for (int j = 0; j < kw; j++)
                {
                    ref T row = ref Unsafe.Add(ref cols0, (nint)((c * kh + i) * kw + j) * ld);
                    int w0 = j * g.DilationW - g.PadW;
                    var (lo, hi) = InsideRange(w0, sW, w, outW);
                    Fill(ref row, ohLo * outW);
                    Fill(ref Unsafe.Add(ref row, ohHi * outW), (outH - ohHi) * outW);
                    ref T src = ref Unsafe.Add(ref x0, (c * h + ohLo * sH + h0) * w);
                    ref T dst = ref Unsafe.Add(ref row, ohLo * outW);
                    for (int oh = ohLo; oh < ohHi; oh++)
                    {
                        Fill(ref dst, lo);
                        Fill(ref Unsafe.Add(ref dst, hi), outW - hi);
                        if (sW == 1) CopyShort(ref Unsafe.Add(ref src, lo + w0), ref Unsafe.Add(ref dst, lo), hi - lo);
                        else
                            for (int ow = lo; ow < hi; ow++) Unsafe.Add(ref dst, ow) = Unsafe.Add(ref src, ow * sW + w0);
                        src = ref Unsafe.Add(ref src, sH * w);
                        dst = ref Unsafe.Add(ref dst, outW);
                    }
                }
            }
    }

    /// <summary>The transpose of <see cref="Im2Col{T}(in ConvGeometry, ReadOnlySpan{T}, Span{T})"/>: every column entry is added back to the input position it came from.</summary>
    public static void Col2Im<T>(in ConvGeometry g, ReadOnlySpan<T> cols, Span<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        Col2Im(g, cols, g.L, x);

    /// <summary>
    /// <see cref="Col2Im{T}(in ConvGeometry, ReadOnlySpan{T}, Span{T})"/> from a column matrix whose rows are
    /// <paramref name="ld"/> apart, adding into one image x (C, H, W); vectorised when the width stride is 1.
    /// </summary>
    public static void Col2Im<T>(in ConvGeometry g, ReadOnlySpan<T> cols, int ld, Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int outH = g.OutH, outW = g.OutW, l = outH * outW;
        if (g.K == 0 || l == 0) return;
        if ((long)(g.K - 1) * ld + l > cols.Length) throw new ArgumentException("Col2Im: the column matrix is too small for the geometry.", nameof(cols));
        if ((long)g.C * g.H * g.W > x.Length) throw new ArgumentException("Col2Im: the image is smaller than C·H·W.", nameof(x));
        int channels = g.C, h = g.H, w = g.W, kh = g.KH, kw = g.KW, sH = g.StrideH, sW = g.StrideW;
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T cols0 = ref MemoryMarshal.GetReference(cols);
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < kh; i++)
            {
                int h0 = i * g.DilationH - g.PadH;
                var (ohLo, ohHi) = InsideRange(h0, sH, h, outH);
                for (int j = 0; j < kw; j++)
                {
                    ref T row = ref Unsafe.Add(ref cols0, (nint)((c * kh + i) * kw + j) * ld);
                    int w0 = j * g.DilationW - g.PadW;
                    var (lo, hi) = InsideRange(w0, sW, w, outW);
                    ref T dst = ref Unsafe.Add(ref x0, (c * h + ohLo * sH + h0) * w);
                    ref T src = ref Unsafe.Add(ref row, ohLo * outW);
                    for (int oh = ohLo; oh < ohHi; oh++)
                    {
                        if (sW == 1) AddShort(ref Unsafe.Add(ref src, lo), ref Unsafe.Add(ref dst, lo + w0), hi - lo);
                        else
                            for (int ow = lo; ow < hi; ow++) Unsafe.Add(ref dst, ow * sW + w0) += Unsafe.Add(ref src, ow);
                        dst = ref Unsafe.Add(ref dst, sH * w);
                        src = ref Unsafe.Add(ref src, outW);
                    }
                }
            }
    }

    /// <summary>dst[0..count) = src[0..count) for non-overlapping short runs: whole vectors, then one last vector ending at count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyShort<T>(ref T src, ref T dst, int count) where T : unmanaged
    {
        int v = Vector<T>.Count;
        if (count < v)
        {
            for (int i = 0; i < count; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
            return;
        }
        int at = 0;
        for (; at + v <= count; at += v) Vector.StoreUnsafe(Vector.LoadUnsafe(ref src, (nuint)at), ref dst, (nuint)at);
        // The tail as a vector overlapping the last one: rewrites a few elements with the same values.
        if (at < count) Vector.StoreUnsafe(Vector.LoadUnsafe(ref src, (nuint)(count - v)), ref dst, (nuint)(count - v));
    }

    /// <summary>dst[0..count) += src[0..count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddShort<T>(ref T src, ref T dst, int count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int v = Vector<T>.Count, at = 0;
        for (; at + v <= count; at += v)
            Vector.StoreUnsafe(Vector.LoadUnsafe(ref dst, (nuint)at) + Vector.LoadUnsafe(ref src, (nuint)at), ref dst, (nuint)at);
        for (; at < count; at++) Unsafe.Add(ref dst, at) += Unsafe.Add(ref src, at);
    }

    /// <summary>dst[0..count) = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fill<T>(ref T dst, int count) where T : unmanaged
    {
        for (int i = 0; i < count; i++) Unsafe.Add(ref dst, i) = default;
    }

    /// <summary>
    /// The output columns [lo, hi) whose input column ow·stride + w0 lies inside [0, size): the rest of
    /// an output row reads padding. lo ≤ hi always (an empty range when the whole row is padding).
    /// </summary>
    private static (int Lo, int Hi) InsideRange(int w0, int stride, int size, int outSize)
    {
        int lo = w0 >= 0 ? 0 : (-w0 + stride - 1) / stride;
        int hi = size - 1 - w0 < 0 ? 0 : (size - 1 - w0) / stride + 1;
        lo = Math.Min(lo, outSize);
        hi = Math.Clamp(hi, lo, outSize);
        return (lo, hi);
    }

    /// <summary>
    /// dst (count, O, L) ← src (O, count·L): each image's block of every channel row to its NCHW place, plus
    /// bias[o] on channel o when a bias is given.
    /// </summary>
    internal static void ChannelMajorToBatch<T>(ReadOnlySpan<T> src, int channels, int count, int l, Span<T> dst, ReadOnlySpan<T> bias = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int ld = count * l;
        for (int n = 0; n < count; n++)
            for (int o = 0; o < channels; o++)
            {
                var from = src.Slice(o * ld + n * l, l);
                var to = dst.Slice((n * channels + o) * l, l);
                if (bias.IsEmpty) from.CopyTo(to);
                else AddScalar(from, bias[o], to);
            }
    }

    /// <summary>dst[i] = src[i] + b (src and dst may be the same span).</summary>
    private static void AddScalar<T>(ReadOnlySpan<T> src, T b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vb = new Vector<T>(b);
            for (; i + Vector<T>.Count <= src.Length; i += Vector<T>.Count) (new Vector<T>(src[i..]) + vb).CopyTo(dst[i..]);
        }
        for (; i < src.Length; i++) dst[i] = src[i] + b;
    }

    /// <summary>
    /// gb (O) = Σ over images and positions of gy (N, O, L): the gradient of a per-channel bias, one
    /// vectorised sum per (image, channel) row.
    /// </summary>
    public static void BiasGradient<T>(ReadOnlySpan<T> gy, int n, int channels, int l, Span<T> gb) where T : unmanaged, IFloatingPointIeee754<T>
    {
        gb[..channels].Clear();
        for (int i = 0; i < n; i++)
            for (int o = 0; o < channels; o++) gb[o] += TensorPrimitives.Sum(gy.Slice((i * channels + o) * l, l));
    }

    /// <summary>
    /// dst (count·L, O) ← src (count, O, L): each image's (O, L) block transposed, in 16 × 16 tiles so that
    /// both the rows read and the rows written stay in L1.
    /// </summary>
    internal static void BatchToPositionMajor<T>(ReadOnlySpan<T> src, int channels, int count, int l, Span<T> dst) where T : unmanaged
    {
        const int tile = 16;
        for (int n = 0; n < count; n++)
        {
            var block = src.Slice(n * channels * l, channels * l);
            var to = dst.Slice(n * l * channels, l * channels);
            for (int o0 = 0; o0 < channels; o0 += tile)
                for (int p0 = 0; p0 < l; p0 += tile)
                {
                    int o1 = Math.Min(o0 + tile, channels), p1 = Math.Min(p0 + tile, l);
                    for (int o = o0; o < o1; o++)
                        for (int p = p0; p < p1; p++) to[p * channels + o] = block[o * l + p];
                }
        }
    }

    /// <summary>
    /// dst (count, O, L) ← src (count·L, O) plus bias[o] on channel o when a bias is given: the inverse of
    /// <see cref="BatchToPositionMajor{T}"/>, in 16 × 16 tiles.
    /// </summary>
    internal static void PositionMajorToBatch<T>(ReadOnlySpan<T> src, int channels, int count, int l, Span<T> dst, ReadOnlySpan<T> bias = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int tile = 16;
        for (int n = 0; n < count; n++)
        {
            var block = src.Slice(n * l * channels, l * channels);
            var to = dst.Slice(n * channels * l, channels * l);
            for (int o0 = 0; o0 < channels; o0 += tile)
                for (int p0 = 0; p0 < l; p0 += tile)
                {
                    int o1 = Math.Min(o0 + tile, channels), p1 = Math.Min(p0 + tile, l);
                    for (int o = o0; o < o1; o++)
                    {
                        T b = bias.IsEmpty ? T.Zero : bias[o];
                        for (int p = p0; p < p1; p++) to[o * l + p] = block[p * channels + o] + b;
                    }
                }
        }
    }

    /// <summary>dst (O, count·L) ← src (count, O, L): the inverse of <see cref="ChannelMajorToBatch{T}"/>.</summary>
    internal static void BatchToChannelMajor<T>(ReadOnlySpan<T> src, int channels, int count, int l, Span<T> dst)
    {
        int ld = count * l;
        for (int n = 0; n < count; n++)
            for (int o = 0; o < channels; o++)
                src.Slice((n * channels + o) * l, l).CopyTo(dst.Slice(o * ld + n * l, l));
    }

    /// <summary>A direct 7-loop convolution, the reference the im2col path is tested against.</summary>
    public static void ForwardNaive(in ConvGeometry g, ReadOnlySpan<double> x, ReadOnlySpan<double> w, Span<double> y)
    {
        int outH = g.OutH, outW = g.OutW;
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.O; o++)
                for (int oh = 0; oh < outH; oh++)
                    for (int ow = 0; ow < outW; ow++)
                    {
                        double s = 0;
                        for (int c = 0; c < g.C; c++)
                            for (int i = 0; i < g.KH; i++)
                                for (int j = 0; j < g.KW; j++)
                                {
                                    int h = oh * g.StrideH - g.PadH + i * g.DilationH, ww = ow * g.StrideW - g.PadW + j * g.DilationW;
                                    if ((uint)h < (uint)g.H && (uint)ww < (uint)g.W)
                                        s += x[((n * g.C + c) * g.H + h) * g.W + ww] * w[((o * g.C + c) * g.KH + i) * g.KW + j];
                                }
                        y[((n * g.O + o) * outH + oh) * outW + ow] = s;
                    }
    }

    /// <summary>
    /// The transposes of <see cref="ForwardNaive"/> by the same 7 loops, the references for
    /// <see cref="TransposeInput{T}"/> (z += w·gy at every tap) and <see cref="TransposeWeight{T}"/> (v += x·gy).
    /// </summary>
    public static void TransposeNaive(in ConvGeometry g, ReadOnlySpan<double> x, ReadOnlySpan<double> w, ReadOnlySpan<double> gy,
        Span<double> z, Span<double> v)
    {
        int outH = g.OutH, outW = g.OutW;
        z.Clear();
        v.Clear();
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.O; o++)
                for (int oh = 0; oh < outH; oh++)
                    for (int ow = 0; ow < outW; ow++)
                    {
                        double d = gy[((n * g.O + o) * outH + oh) * outW + ow];
                        for (int c = 0; c < g.C; c++)
                            for (int i = 0; i < g.KH; i++)
                                for (int j = 0; j < g.KW; j++)
                                {
                                    int h = oh * g.StrideH - g.PadH + i * g.DilationH, ww = ow * g.StrideW - g.PadW + j * g.DilationW;
                                    if ((uint)h >= (uint)g.H || (uint)ww >= (uint)g.W) continue;
                                    int xi = ((n * g.C + c) * g.H + h) * g.W + ww, wi = ((o * g.C + c) * g.KH + i) * g.KW + j;
                                    z[xi] += w[wi] * d;
                                    v[wi] += x[xi] * d;
                                }
                    }
    }

    private static void Multiply<T>(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Gemm.Multiply(transA, transB, m, n, k, 1f, MemoryMarshal.Cast<T, float>(a), lda, MemoryMarshal.Cast<T, float>(b), ldb,
                Unsafe.As<T, float>(ref beta), MemoryMarshal.Cast<T, float>(c), ldc);
        else
            Gemm.Multiply(transA, transB, m, n, k, 1.0, MemoryMarshal.Cast<T, double>(a), lda, MemoryMarshal.Cast<T, double>(b), ldb,
                Unsafe.As<T, double>(ref beta), MemoryMarshal.Cast<T, double>(c), ldc);
    }
}
