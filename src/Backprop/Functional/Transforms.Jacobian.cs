namespace Backprop;

public static partial class Transforms
{
    /// <summary>
    /// The Jacobian of f at x by forward mode: one unit direction per input element, all pushed
    /// through f together as a batched tangent (in batches of <paramref name="directionsPerPass"/>,
    /// default <see cref="DefaultDirectionsPerPass"/>). Element [i…, j…] is ∂f(x)[i…]/∂x[j…], so the
    /// shape is f(x).Shape ++ x.Shape. Cheaper than <see cref="JacobianReverse(Func{Tensor, Tensor}, Tensor)"/>
    /// when x has fewer elements than f(x).
    /// </summary>
    public static Tensor JacobianForward(Func<Tensor, Tensor> f, Tensor x, int directionsPerPass = 0) =>
        JacobianForward(xs => f(xs[0]), [x], directionsPerPass)[0];

    /// <summary>The Jacobian with respect to each input, each of shape f(x).Shape ++ x[i].Shape.</summary>
    public static Tensor[] JacobianForward(Func<Tensor[], Tensor> f, Tensor[] x, int directionsPerPass = 0)
    {
        var (value, rows) = ForwardJacobianRows(f, x, directionsPerPass, nameof(JacobianForward));
        int total = rows.Dims[0];
        var flat = rows.Reshape(total, value.Length);
        var result = new Tensor[x.Length];
        int start = 0;
        for (int i = 0; i < x.Length; i++)
        {
            // Rows are indexed by input element; the Jacobian puts output indices first.
            var block = flat.Slice(0, start, x[i].Length).Transpose();
            result[i] = block.Reshape(ConcatShapes(value.Dims, x[i].Dims));
            start += x[i].Length;
        }
        return result;
    }

    /// <summary>
    /// The Jacobian of f at x by reverse mode: one forward pass recording the graph, then one backward
    /// pass per output element (seeded with that element's unit vector), reusing the graph. Shape
    /// f(x).Shape ++ x.Shape; equal to <see cref="JacobianForward(Func{Tensor, Tensor}, Tensor, int)"/>,
    /// and cheaper when f(x) has fewer elements than x.
    /// </summary>
    public static Tensor JacobianReverse(Func<Tensor, Tensor> f, Tensor x) =>
        JacobianReverse(xs => f(xs[0]), [x])[0];

    /// <summary>The Jacobian with respect to each input by reverse mode.</summary>
    public static Tensor[] JacobianReverse(Func<Tensor[], Tensor> f, Tensor[] x)
    {
        CheckInputs(nameof(JacobianReverse), x);
        var (level, leaves, output) = Record(f, x);
        int m = output.Length;
        var result = new Tensor[x.Length];
        if (output.Level < level || m == 0)
        {
            for (int i = 0; i < x.Length; i++) result[i] = Tensor.Zeros(ConcatShapes(output.Dims, x[i].Dims), x[i].DType);
            return result;
        }
        var rows = new Tensor[x.Length][];
        for (int i = 0; i < x.Length; i++) rows[i] = new Tensor[m];
        for (int j = 0; j < m; j++)
        {
            var unit = new double[m];
            unit[j] = 1;
            var seed = Tensor.FromArray(unit, (int[])output.Dims.Clone(), output.DType);
            Autodiff.Backward(output, seed, level, retainGraph: j < m - 1);
            var grads = CollectGradients(leaves, x);
            for (int i = 0; i < x.Length; i++) rows[i][j] = grads[i].Reshape(1, x[i].Length);
        }
        for (int i = 0; i < x.Length; i++)
        {
            var stacked = m == 1 ? rows[i][0] : TensorOps.Concat(rows[i], 0);
            result[i] = stacked.Reshape(ConcatShapes(output.Dims, x[i].Dims));
        }
        return result;
    }

    private static int[] ConcatShapes(int[] a, int[] b)
    {
        var result = new int[a.Length + b.Length];
        a.CopyTo(result, 0);
        b.CopyTo(result, a.Length);
        return result;
    }
}
