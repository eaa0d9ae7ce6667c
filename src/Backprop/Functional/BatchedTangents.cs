namespace Backprop;

/// <summary>
/// Forward mode with many tangent directions in one pass (math.md §4, "carrying da/dW through the
/// layers").
/// </summary>
/// <remarks>
/// <para>Design. A forward-mode level can carry K directions at once: each input's tangent has shape
/// (K, …input shape), and every op's <see cref="Op.JvpBatched"/> maps tangents of shape (K, …x) to
/// (K, …y). Rules whose tangent only meets broadcasting elementwise ops (exp, ReLU, mul, …) need no
/// change; rules with an axis or a target shape shift it by one (sum over axis a of the value is sum
/// over axis a + 1 of the tangent); operands of lower rank are lifted to (K, 1, …, 1, …shape) so the
/// direction axis never lines up with a data axis; MatMul treats the direction axis as one more batch
/// dimension. An op without a batched rule falls back to one JVP per direction (still correct).</para>
/// <para>Cost. f runs once on the primals, so the primal work is paid once; all tangent work is K times
/// that of one JVP, in larger kernels rather than K interpreter passes. With one direction per
/// parameter (K = P) this is the whole gradient in one forward pass at about P times the cost of the
/// forward pass, and P times its memory for every intermediate value: forward mode's cost grows with
/// the number of inputs, where reverse mode's grows with the number of outputs.</para>
/// </remarks>
public static partial class Transforms
{
    /// <summary>
    /// How many directions <see cref="FullGradientForwardMode(Func{Tensor[], Tensor}, Tensor[], int)"/>
    /// and <see cref="JacobianForward(Func{Tensor[], Tensor}, Tensor[], int)"/> push through one pass by
    /// default. Each intermediate value of size n carries a tangent of size K·n, so K bounds memory.
    /// </summary>
    public const int DefaultDirectionsPerPass = 1024;

    /// <summary>
    /// f(x) and K Jacobian-vector products J·v₁ … J·v_K from ONE call of f: tangent i has shape
    /// (K, …primals[i].Shape), row k holding direction k; the result has shape (K, …f(x).Shape).
    /// </summary>
    public static (Tensor Value, Tensor Tangents) JvpMany(Func<Tensor[], Tensor> f, Tensor[] primals, Tensor[] tangents)
    {
        CheckInputs(nameof(JvpMany), primals);
        if (primals.Length != tangents.Length)
            throw new BackpropException($"JvpMany: {primals.Length} primals but {tangents.Length} tangent batches; give one per input.");
        int k = -1;
        for (int i = 0; i < primals.Length; i++)
        {
            var t = tangents[i];
            if (t.Rank != primals[i].Rank + 1 || !ShapeUtil.SameShape(t.Dims.AsSpan(1), primals[i].Dims))
                throw new ShapeException($"JvpMany: tangent batch {i} has shape {ShapeUtil.Format(t.Dims)}; for an input of shape {ShapeUtil.Format(primals[i].Dims)} it must be (K, …that shape), one row per direction.");
            if (k >= 0 && t.Dims[0] != k)
                throw new ShapeException($"JvpMany: tangent batch {i} holds {t.Dims[0]} directions but an earlier one holds {k}; all must hold the same number.");
            k = t.Dims[0];
        }
        if (k == 0) throw new ShapeException("JvpMany: the tangent batches hold no directions (K = 0).");
        return JvpManyCore(f, primals, tangents, k);
    }

    /// <summary>JvpMany for a function of one tensor: <paramref name="tangents"/> has shape (K, …x.Shape).</summary>
    public static (Tensor Value, Tensor Tangents) JvpMany(Func<Tensor, Tensor> f, Tensor x, Tensor tangents) =>
        JvpMany(xs => f(xs[0]), [x], [tangents]);

    /// <summary>
    /// The gradient of a scalar f by forward mode alone: one direction per parameter element (the
    /// columns of the identity), pushed through f in batches of <paramref name="directionsPerPass"/>
    /// (default <see cref="DefaultDirectionsPerPass"/>), so f runs ⌈P / batch⌉ times — once when P fits.
    /// Equal to the reverse-mode gradient, at about P times the cost of a forward pass.
    /// </summary>
    public static (Tensor Value, Tensor[] Gradients) FullGradientForwardMode(Func<Tensor[], Tensor> f, Tensor[] x, int directionsPerPass = 0)
    {
        var (value, rows) = ForwardJacobianRows(f, x, directionsPerPass, nameof(FullGradientForwardMode));
        if (value.Length != 1)
            throw new ShapeException($"FullGradientForwardMode needs f to return a single element, but f returned shape {ShapeUtil.Format(value.Dims)}. Use JacobianForward for several outputs.");
        var flat = rows.Reshape(rows.Dims[0]);
        var grads = new Tensor[x.Length];
        int start = 0;
        for (int i = 0; i < x.Length; i++)
        {
            grads[i] = flat.Slice(0, start, x[i].Length).Reshape(x[i].Dims);
            start += x[i].Length;
        }
        return (value, grads);
    }

    /// <summary>FullGradientForwardMode for a function of one tensor.</summary>
    public static (Tensor Value, Tensor Gradient) FullGradientForwardMode(Func<Tensor, Tensor> f, Tensor x, int directionsPerPass = 0)
    {
        var (value, grads) = FullGradientForwardMode(xs => f(xs[0]), [x], directionsPerPass);
        return (value, grads[0]);
    }

    /// <summary>
    /// Pushes the P = Σ|x[i]| unit directions through f in batches; returns f(x) and the (P, …f(x).Shape)
    /// tensor whose row p is ∂f/∂(flat element p of the inputs taken in order).
    /// </summary>
    private static (Tensor Value, Tensor Rows) ForwardJacobianRows(Func<Tensor[], Tensor> f, Tensor[] x, int directionsPerPass, string caller)
    {
        CheckInputs(caller, x);
        if (directionsPerPass < 0) throw new BackpropException($"{caller}: directionsPerPass must be positive (or 0 for the default); got {directionsPerPass}.");
        int perPass = directionsPerPass == 0 ? DefaultDirectionsPerPass : directionsPerPass;
        int total = 0;
        foreach (var t in x) total += t.Length;
        if (total == 0) throw new ShapeException($"{caller}: the inputs have no elements to differentiate with respect to.");

        Tensor? value = null;
        var chunks = new List<Tensor>();
        for (int start = 0; start < total; start += perPass)
        {
            int k = Math.Min(perPass, total - start);
            var tangents = new Tensor?[x.Length];
            int offset = 0;
            for (int i = 0; i < x.Length; i++)
            {
                int n = x[i].Length;
                int from = Math.Max(start, offset), to = Math.Min(start + k, offset + n);
                // Inputs no direction of this pass touches stay plain: a zero tangent costs nothing.
                if (from < to)
                {
                    var unit = new double[k * n];
                    for (int p = from; p < to; p++) unit[(p - start) * n + (p - offset)] = 1;
                    tangents[i] = Tensor.FromArray(unit, BatchedTangent.Dims(k, x[i].Dims), x[i].DType);
                }
                offset += n;
            }
            var (y, ty) = JvpManyCore(f, x, tangents, k);
            value ??= y;
            chunks.Add(ty);
        }
        var rows = chunks.Count == 1 ? chunks[0] : TensorOps.Concat(chunks, 0);
        return (value!, rows);
    }

    /// <summary>One pass of f with K directions; a null tangent leaves that input plain (zero tangent).</summary>
    private static (Tensor Value, Tensor Tangents) JvpManyCore(Func<Tensor[], Tensor> f, Tensor[] primals, Tensor?[] tangents, int k)
    {
        int level = Autodiff.NewLevel();
        var duals = new Tensor[primals.Length];
        for (int i = 0; i < primals.Length; i++)
            duals[i] = tangents[i] is { } t ? Autodiff.MakeDual(primals[i], t, level) : primals[i];
        var y = f(duals) ?? throw new BackpropException("The function being differentiated returned null.");
        var output = Autodiff.AtOrBelow(y, level);
        if (output.Level < level) return (output, Tensor.Zeros(BatchedTangent.Dims(k, output.Dims), output.DType));
        return (output.PrimalTensor!, output.TangentTensor!);
    }
}
