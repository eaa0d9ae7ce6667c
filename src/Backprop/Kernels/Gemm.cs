namespace Backprop.Kernels;

// Placeholder replaced by the packed GEMM from the gemm branch before merge.
public static class Gemm
{
    public static int MaxThreads { get; set; } = Environment.ProcessorCount;

    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (transA ? a[p * lda + i] : a[i * lda + p]) * (double)(transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = (float)(alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j]));
            }
    }

    public static void Multiply(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j]);
            }
    }
}
