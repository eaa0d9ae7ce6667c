namespace Backprop.Tests.Autodiff;

/// <summary>
/// math.md §3's worked case: a ReLU hidden layer, a sigmoid output and binary cross-entropy, on a batch
/// of m &gt; 1 examples. The engine's gradients must equal the hand formulas, written out explicitly here
/// in the column layout of the course (examples as columns):
///   δ[2] = (ŷ − y)/m, dW[2] = δ[2] a[1]ᵀ, db[2] = Σ δ[2],
///   δ[1] = (W[2]ᵀ δ[2]) ⊙ 1[z[1] &gt; 0], dW[1] = δ[1] xᵀ, db[1] = Σ δ[1].
/// </summary>
public class TwoLayerNetworkTests
{
    [Theory]
    [InlineData(DType.Float64, 1e-12)]
    [InlineData(DType.Float32, 1e-5)]
    public void EngineGradientsEqualTheHandFormulas(DType dtype, double tolerance)
    {
        const int n0 = 4, n1 = 5, m = 6;
        var rng = new Rng(7);
        double[,] x = RandomMatrix(rng, n0, m), w1 = RandomMatrix(rng, n1, n0), w2 = RandomMatrix(rng, 1, n1);
        double[] b1 = RandomMatrix(rng, n1, 1).Cast<double>().ToArray(), b2 = [0.3];
        double[] y = [1, 0, 1, 1, 0, 0];

        // The engine, in the row layout (examples as rows): z = a·Wᵀ + b.
        var X = Tensor.FromArray(Transpose(x), dtype);
        var W1 = Tensor.FromArray(w1, dtype);
        var B1 = Tensor.FromArray(b1, [n1], dtype);
        var W2 = Tensor.FromArray(w2, dtype);
        var B2 = Tensor.FromArray(b2, [1], dtype);
        foreach (var p in new[] { W1, B1, W2, B2 }) p.RequiresGrad = true;
        var a1 = (X.MatMul(W1, transposeB: true) + B1).Relu();
        var z2 = a1.MatMul(W2, transposeB: true) + B2;
        var loss = Losses.BinaryCrossEntropyWithLogits(z2, Tensor.FromArray(y, [m, 1], dtype));
        loss.Backward();

        // The hand formulas, in plain loops, in the column layout.
        var z1 = new double[n1, m];
        var a1h = new double[n1, m];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < m; j++)
            {
                double s = b1[i];
                for (int k = 0; k < n0; k++) s += w1[i, k] * x[k, j];
                z1[i, j] = s;
                a1h[i, j] = Math.Max(0, s);
            }
        var delta2 = new double[m];
        double expectedLoss = 0;
        for (int j = 0; j < m; j++)
        {
            double z = b2[0];
            for (int i = 0; i < n1; i++) z += w2[0, i] * a1h[i, j];
            double yhat = 1 / (1 + Math.Exp(-z));
            delta2[j] = (yhat - y[j]) / m;                       // δ[2] = ŷ − y, with the 1/m of the mean
            expectedLoss -= (y[j] * Math.Log(yhat) + (1 - y[j]) * Math.Log(1 - yhat)) / m;
        }
        var dW2 = new double[n1];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < m; j++) dW2[i] += delta2[j] * a1h[i, j];   // dW[2] = δ[2] a[1]ᵀ
        double db2 = delta2.Sum();
        var delta1 = new double[n1, m];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < m; j++)
                delta1[i, j] = w2[0, i] * delta2[j] * (z1[i, j] > 0 ? 1 : 0); // (W[2]ᵀ δ[2]) ⊙ 1[z[1] > 0]
        var dW1 = new double[n1, n0];
        var db1 = new double[n1];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < m; j++)
            {
                db1[i] += delta1[i, j];
                for (int k = 0; k < n0; k++) dW1[i, k] += delta1[i, j] * x[k, j]; // dW[1] = δ[1] xᵀ
            }

        Assert.Equal(expectedLoss, loss.Item(), tolerance);
        AssertClose(dW2, W2.Grad!, tolerance);
        AssertClose([db2], B2.Grad!, tolerance);
        AssertClose(dW1.Cast<double>().ToArray(), W1.Grad!, tolerance);
        AssertClose(db1, B1.Grad!, tolerance);
        Assert.Equal(new[] { n1, n0 }, W1.Grad!.Shape.ToArray()); // (out, in), like the weights
    }

    private static void AssertClose(double[] expected, Tensor actual, double tolerance)
    {
        var a = actual.ToDoubleArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {a[i]}");
    }

    private static double[,] RandomMatrix(Rng rng, int rows, int cols)
    {
        var m = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) m[i, j] = rng.NextNormal();
        return m;
    }

    private static double[,] Transpose(double[,] a)
    {
        var t = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) t[j, i] = a[i, j];
        return t;
    }
}
