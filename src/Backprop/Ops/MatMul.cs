using Backprop.Kernels;

namespace Backprop;

/// <summary>
/// y = op(a)·op(b) over the last two dimensions, where op transposes when the flag is set; leading
/// (batch) dimensions broadcast. The flags let the rules use transposed operands without copying them:
/// for y = op(a)·op(b),
///   d op(a) = gy·op(b)ᵀ and d op(b) = op(a)ᵀ·gy,
/// and transposing back when the flag was set gives each case as one more flagged product.
/// The op is bilinear: ty = op(ta)·op(b) + op(a)·op(tb).
/// </summary>
internal sealed class MatMulOp(bool transA, bool transB) : Op
{
    public override string Name => "MatMul";
    public override string Describe() => transA || transB ? $"MatMul({(transA ? "aᵀ" : "a")}·{(transB ? "bᵀ" : "b")})" : "MatMul";

    public override Tensor Forward(Tensor[] x)
    {
        Tensor a = x[0], b = x[1];
        TensorOps.CheckSameDType(a, b, Name);
        if (a.Rank < 2 || b.Rank < 2)
            throw new ShapeException($"MatMul needs operands of rank 2 or more; got {ShapeUtil.Format(a.Dims)} and {ShapeUtil.Format(b.Dims)}. Reshape a vector to (n, 1) or (1, n).");
        int aRows = a.Dims[^2], aCols = a.Dims[^1], bRows = b.Dims[^2], bCols = b.Dims[^1];
        int m = transA ? aCols : aRows, k = transA ? aRows : aCols;
        int kb = transB ? bCols : bRows, n = transB ? bRows : bCols;
        if (k != kb)
            throw new ShapeException($"MatMul: inner dimensions differ: {Describe()} of {ShapeUtil.Format(a.Dims)} and {ShapeUtil.Format(b.Dims)} multiplies ({m}, {k}) by ({kb}, {n}).");
        var batchA = a.Dims[..^2];
        var batchB = b.Dims[..^2];
        var batch = ShapeUtil.SameShape(batchA, batchB) ? batchA : ShapeUtil.Broadcast(batchA, batchB, "MatMul (batch dimensions)");
        var yDims = new int[batch.Length + 2];
        batch.CopyTo(yDims, 0);
        yDims[^2] = m;
        yDims[^1] = n;
        var y = TensorOps.NewOutputToOverwrite(yDims, a.DType);
        int batchCount = ShapeUtil.Product(batch);
        int aSize = aRows * aCols, bSize = bRows * bCols, ySize = m * n;
        bool simple = ShapeUtil.SameShape(batchA, batchB);
        // Row strides of at least 1: with a zero-size dimension (k = 0 gives a zero product) the GEMM
        // still wants a valid stride.
        int lda = Math.Max(1, aCols), ldb = Math.Max(1, bCols), ldc = Math.Max(1, n);
        for (int i = 0; i < batchCount; i++)
        {
            int ai = simple ? i : BroadcastIndex(i, batch, batchA);
            int bi = simple ? i : BroadcastIndex(i, batch, batchB);
            if (a.DType == DType.Float32)
                Gemm.Multiply(transA, transB, m, n, k, 1f, a.Span<float>().Slice(ai * aSize, aSize), lda,
                    b.Span<float>().Slice(bi * bSize, bSize), ldb, 0f, y.Span<float>().Slice(i * ySize, ySize), ldc);
            else
                Gemm.Multiply(transA, transB, m, n, k, 1.0, a.Span<double>().Slice(ai * aSize, aSize), lda,
                    b.Span<double>().Slice(bi * bSize, bSize), ldb, 0.0, y.Span<double>().Slice(i * ySize, ySize), ldc);
        }
        return y;
    }

    /// <summary>The flat index into an operand's batch dims for output batch index <paramref name="flat"/>.</summary>
    private static int BroadcastIndex(int flat, int[] batch, int[] operandBatch)
    {
        int lead = batch.Length - operandBatch.Length;
        int index = 0, rem = flat, stride = 1;
        for (int d = batch.Length - 1; d >= 0; d--)
        {
            int coord = rem % batch[d];
            rem /= batch[d];
            if (d >= lead)
            {
                int size = operandBatch[d - lead];
                if (size != 1) index += coord * stride;
                stride *= size;
            }
        }
        return index;
    }

    public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y)
    {
        Tensor? left = tx[0] is { } ta ? ta.MatMul(x[1], transA, transB) : null;
        Tensor? right = tx[1] is { } tb ? x[0].MatMul(tb, transA, transB) : null;
        var sum = left is null ? right : right is null ? left : left + right;
        return sum?.BroadcastTo(y.Dims);
    }

    /// <summary>
    /// The direction axis becomes one more batch dimension of the product: lifting a tangent to the
    /// output's rank + 1 keeps it from being paired with an operand's own batch dimension.
    /// </summary>
    public override Tensor? JvpBatched(Tensor[] x, Tensor?[] tx, Tensor y, int k)
    {
        Tensor? left = tx[0] is { } ta ? BatchedTangent.Lift(ta, y.Rank).MatMul(x[1], transA, transB) : null;
        Tensor? right = tx[1] is { } tb ? x[0].MatMul(BatchedTangent.Lift(tb, y.Rank), transA, transB) : null;
        var sum = left is null ? right : right is null ? left : left + right;
        return sum?.BroadcastTo(BatchedTangent.Dims(k, y.Dims));
    }

    public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx)
    {
        Tensor a = x[0], b = x[1];
        if (needsGrad[0])
        {
            var ga = transA ? b.MatMul(gy, transB, true) : gy.MatMul(b, false, !transB);
            gx[0] = ga.SumTo(a.Dims);
        }
        if (needsGrad[1])
        {
            var gb = transB ? gy.MatMul(a, true, transA) : a.MatMul(gy, !transA, false);
            gx[1] = gb.SumTo(b.Dims);
        }
    }
}

public static partial class TensorOps
{
    /// <summary>
    /// Matrix product over the last two dimensions, optionally of transposed operands (no copy is made);
    /// leading dimensions are batch dimensions and broadcast.
    /// </summary>
    /// <remarks>
    /// A 1-D operand is treated as in PyTorch's matmul: a vector on the left is a row (1, n) and one on
    /// the right a column (n, 1), and that added dimension is removed from the result, so vector·matrix
    /// is a vector, matrix·vector a vector, and vector·vector a rank-0 dot product. The transpose flags
    /// apply to operands of rank 2 or more only.
    /// </remarks>
    public static Tensor MatMul(this Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        if (a.Rank == 1 || b.Rank == 1)
        {
            if ((a.Rank == 1 && transposeA) || (b.Rank == 1 && transposeB))
                throw new ShapeException($"MatMul: a 1-D operand has no transpose; shapes {ShapeUtil.Format(a.Dims)} and {ShapeUtil.Format(b.Dims)} with transposeA = {transposeA}, transposeB = {transposeB}.");
            if (a.Rank == 0 || b.Rank == 0)
                throw new ShapeException($"MatMul needs operands of rank 1 or more; got {ShapeUtil.Format(a.Dims)} and {ShapeUtil.Format(b.Dims)}. Use * for a scalar factor.");
            var left = a.Rank == 1 ? a.Reshape(1, a.Dims[0]) : a;
            var right = b.Rank == 1 ? b.Reshape(b.Dims[0], 1) : b;
            var product = Autodiff.Apply(new MatMulOp(transposeA, transposeB), left, right);
            var dims = product.Dims.ToList();
            if (b.Rank == 1) dims.RemoveAt(dims.Count - 1);             // the column of a right vector
            if (a.Rank == 1) dims.RemoveAt(dims.Count - (b.Rank == 1 ? 1 : 2)); // the row of a left vector
            return product.Reshape(dims.ToArray());
        }
        return Autodiff.Apply(new MatMulOp(transposeA, transposeB), a, b);
    }
}
