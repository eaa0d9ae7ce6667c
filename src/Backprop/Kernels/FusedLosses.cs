using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// The losses of <c>Losses</c> fused with their gradient: one pass computes the mean loss (accumulated in
/// double) and writes dL/d(output) for the whole batch, which is where backpropagation starts. The formulas
/// are the engine's rules written out (math.md §2): for the loss on logits the gradient is the famous
/// δ = prediction − target over the element count, which never needs the loss's own intermediate values.
/// </summary>
public static class FusedLosses
{
    /// <summary>
    /// Softmax cross-entropy of logits (m, k) against target distributions (m, k), as
    /// <c>Losses.SoftmaxCrossEntropy</c>: returns −(1/m) Σᵢ Σⱼ tᵢⱼ log softmax(zᵢ)ⱼ and writes
    /// dz = (softmax(z)·Σⱼtᵢⱼ − t)/m, which is (softmax − onehot)/m for one-hot targets.
    /// <paramref name="dz"/> doubles as the scratch for e^(z − max), so the pass needs no other buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SoftmaxCrossEntropyForwardBackward<T>(Span<T> dz, ReadOnlySpan<T> z, ReadOnlySpan<T> targets, int m, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T invM = T.CreateChecked(1.0 / m);
        double loss = 0;
        for (int i = 0; i < m; i++)
        {
            var zr = z.Slice(i * k, k);
            var tr = targets.Slice(i * k, k);
            var dr = dz.Slice(i * k, k);
            T max = TensorPrimitives.Max(zr);
            TensorPrimitives.Subtract(zr, max, dr);
            TensorPrimitives.Exp(dr, dr);
            T sum = TensorPrimitives.Sum<T>(dr);
            T logSum = T.Log(sum);
            T targetMass = TensorPrimitives.Sum(tr);
            T scale = targetMass / sum * invM;
            for (int j = 0; j < k; j++)
            {
                // −log softmax = (max − z) + log Σ: the exact difference first (max + log Σ rounds log Σ
                // away for large logits), and a zero target contributes nothing even where z = −∞.
                if (tr[j] != T.Zero) loss += double.CreateChecked(tr[j] * ((max - zr[j]) + logSum));
                dr[j] = dr[j] * scale - tr[j] * invM;
            }
        }
        return loss / m;
    }

    /// <summary>
    /// Binary cross-entropy on logits, averaged over all m·k elements, as
    /// <c>Losses.BinaryCrossEntropyWithLogits</c>: ℓ = max(z, 0) − z·t + log(1 + e^−|z|), and
    /// dz = (σ(z) − t)/(m·k).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double BinaryCrossEntropyWithLogitsForwardBackward<T>(Span<T> dz, ReadOnlySpan<T> z, ReadOnlySpan<T> targets, int count)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T invN = T.CreateChecked(1.0 / count);
        double loss = 0;
        for (int i = 0; i < count; i++)
        {
            T v = z[i], t = targets[i];
            // One exponential serves both: with e = e^−|z|, σ(z) = 1/(1 + e) for z ≥ 0 and e/(1 + e) below,
            // which never overflows, and the loss needs log(1 + e).
            T e = T.Exp(-T.Abs(v));
            T inverse = T.One / (T.One + e);
            T sigmoid = v >= T.Zero ? inverse : e * inverse;
            loss += double.CreateChecked(T.Max(v, T.Zero) - v * t + Log1pOperator.Log1p(e));
            dz[i] = (sigmoid - t) * invN;
        }
        return loss / count;
    }

    /// <summary>
    /// Mean squared error over all elements, as <c>Losses.MeanSquaredError</c> (PyTorch's MSELoss, no ½):
    /// returns (1/n) Σ (ŷ − y)² and writes dŷ = 2(ŷ − y)/n.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double MeanSquaredErrorForwardBackward<T>(Span<T> dz, ReadOnlySpan<T> predictions, ReadOnlySpan<T> targets, int count)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T invN = T.CreateChecked(1.0 / count);
        T two = T.CreateChecked(2);
        double loss = 0;
        for (int i = 0; i < count; i++)
        {
            T d = predictions[i] - targets[i];
            loss += double.CreateChecked(d * d);
            dz[i] = two * d * invN;
        }
        return loss / count;
    }
}
