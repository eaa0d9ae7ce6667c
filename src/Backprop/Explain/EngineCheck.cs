namespace Backprop.Explain;

/// <summary>
/// The same network and batch run through the autodiff engine in float64 (code layout, examples as
/// rows), and the loss evaluated at shifted points for central differences.
/// </summary>
/// <remarks>
/// The engine sees the network as PyTorch does: z = a Wᵀ + b, with the library's activations and
/// losses. To also get δ[l] = ∂L/∂z[l] and da[l] = ∂L/∂a[l], which are not parameters, a zero
/// "probe" is added to each z[l] and a[l]: the loss does not change, and the gradient with respect
/// to a probe is exactly the gradient with respect to the value it was added to. One backward pass
/// then gives every number the explanation shows.
/// </remarks>
internal sealed class EngineCheck
{
    /// <summary>Engine values, float64, rows layout: z[l], a[l] (m, n_l); loss.</summary>
    public required double[][] Z { get; init; }
    public required double[][] A { get; init; }
    public required double Loss { get; init; }
    /// <summary>Engine gradients, float64: dW (out, in), db (out), δ and da (m, n_l).</summary>
    public required double[][] DW { get; init; }
    public required double[][] Db { get; init; }
    public required double[][] Delta { get; init; }
    public required double[][] DA { get; init; }
    /// <summary>Central differences of the same quantities at the sampled flat indices.</summary>
    public required (int[] Index, double[] Value)[] FdDW { get; init; }
    public required (int[] Index, double[] Value)[] FdDb { get; init; }
    public required (int[] Index, double[] Value)[] FdDelta { get; init; }
    public required (int[] Index, double[] Value)[] FdDA { get; init; }

    public static EngineCheck Run(Network net, ExplainOptions options)
    {
        int L = net.L, m = net.M;
        var x = net.X.To(DType.Float64);
        var y = net.YRows.To(DType.Float64);
        // Inputs to the engine function: W[1], b[1], …, W[L], b[L], then the probes e[1..L] on z and u[1..L−1] on a.
        var inputs = new List<Tensor>();
        for (int l = 1; l <= L; l++)
        {
            inputs.Add(net.W[l].To(DType.Float64));
            inputs.Add(net.B[l].To(DType.Float64));
        }
        for (int l = 1; l <= L; l++) inputs.Add(Tensor.Zeros([m, net.Sizes[l]], DType.Float64));
        for (int l = 1; l < L; l++) inputs.Add(Tensor.Zeros([m, net.Sizes[l]], DType.Float64));
        var p = inputs.ToArray();

        var zValues = new double[L + 1][];
        var aValues = new double[L + 1][];
        Tensor Forward(Tensor[] q, bool record)
        {
            var a = x;
            Tensor z = a;
            for (int l = 1; l <= L; l++)
            {
                z = a.MatMul(q[2 * (l - 1)], transposeB: true) + q[2 * (l - 1) + 1] + q[2 * L + (l - 1)];
                if (l < L)
                {
                    a = Network.Activate(net.Activations[l], net.Slopes[l], z, 1) + q[3 * L + (l - 1)];
                }
                else
                {
                    a = Network.Activate(net.Activations[l], net.Slopes[l], z, 1);
                }
                if (record)
                {
                    zValues[l] = z.ToDoubleArray();
                    aValues[l] = a.ToDoubleArray();
                }
            }
            return net.Task switch
            {
                ExplainTask.Binary => Losses.BinaryCrossEntropyWithLogits(z, y),
                ExplainTask.Multiclass => Losses.SoftmaxCrossEntropy(z, net.Classes),
                _ => Losses.MeanSquaredError(z, y),
            };
        }

        var (loss, grads) = Transforms.Vjp(q => Forward(q, record: true), p, Tensor.Scalar(1.0, DType.Float64));

        double LossAt() => Forward(p, record: false).Item();
        (int[], double[]) Fd(int input)
        {
            var t = p[input];
            var values = t.Span<double>();
            var index = SampleIndices(t.Length, options.MaxFiniteDifferenceEntries);
            var result = new double[index.Length];
            double h = options.FiniteDifferenceStep;
            for (int k = 0; k < index.Length; k++)
            {
                int j = index[k];
                double saved = values[j];
                values[j] = saved + h;
                double plus = LossAt();
                values[j] = saved - h;
                double minus = LossAt();
                values[j] = saved;
                result[k] = (plus - minus) / (2 * h);
            }
            return (index, result);
        }

        var check = new EngineCheck
        {
            Z = zValues,
            A = aValues,
            Loss = loss.Item(),
            DW = new double[L + 1][],
            Db = new double[L + 1][],
            Delta = new double[L + 1][],
            DA = new double[L + 1][],
            FdDW = new (int[], double[])[L + 1],
            FdDb = new (int[], double[])[L + 1],
            FdDelta = new (int[], double[])[L + 1],
            FdDA = new (int[], double[])[L + 1],
        };
        for (int l = 1; l <= L; l++)
        {
            check.DW[l] = grads[2 * (l - 1)].ToDoubleArray();
            check.Db[l] = grads[2 * (l - 1) + 1].ToDoubleArray();
            check.Delta[l] = grads[2 * L + (l - 1)].ToDoubleArray();
            check.FdDW[l] = Fd(2 * (l - 1));
            check.FdDb[l] = Fd(2 * (l - 1) + 1);
            check.FdDelta[l] = Fd(2 * L + (l - 1));
            if (l < L)
            {
                check.DA[l] = grads[3 * L + (l - 1)].ToDoubleArray();
                check.FdDA[l] = Fd(3 * L + (l - 1));
            }
        }
        return check;
    }

    /// <summary>The engine's loss (float64, rows layout) of the network on its batch: the check of a recomputed loss.</summary>
    public static double LossOf(Network net)
    {
        var a = net.X.To(DType.Float64);
        var y = net.YRows.To(DType.Float64);
        Tensor z = a;
        for (int l = 1; l <= net.L; l++)
        {
            z = a.MatMul(net.W[l].To(DType.Float64), transposeB: true) + net.B[l].To(DType.Float64);
            a = Network.Activate(net.Activations[l], net.Slopes[l], z, 1);
        }
        return (net.Task switch
        {
            ExplainTask.Binary => Losses.BinaryCrossEntropyWithLogits(z, y),
            ExplainTask.Multiclass => Losses.SoftmaxCrossEntropy(z, net.Classes),
            _ => Losses.MeanSquaredError(z, y),
        }).Item();
    }

    /// <summary>All indices when there are at most <paramref name="max"/>, else that many evenly spaced ones (first and last included).</summary>
    internal static int[] SampleIndices(int length, int max)
    {
        if (length <= max) return Enumerable.Range(0, length).ToArray();
        if (max <= 1) return max == 1 ? [0] : [];
        var result = new int[max];
        for (int k = 0; k < max; k++) result[k] = (int)((long)k * (length - 1) / (max - 1));
        return result;
    }
}
