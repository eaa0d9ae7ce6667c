namespace Backprop.Tests.Autodiff;

/// <summary>How to draw an input for an op: most ops take values away from kinks and singularities.</summary>
public enum Domain
{
    /// <summary>|x| in [0.5, 2] with random sign: away from the kinks of relu and abs at 0.</summary>
    AwayFromZero,
    /// <summary>x in [0.5, 2]: for log, sqrt, pow and denominators.</summary>
    Positive,
    /// <summary>Standard normal: distinct values, for max and softmax.</summary>
    Normal,
    /// <summary>x in [0.1, 0.9]: probabilities.</summary>
    Probability,
    /// <summary>
    /// 1e4 + k/64 for k in −64…64: large logits that float32 holds exactly (its spacing at 1e4 is 2⁻¹⁰),
    /// so float32 and float64 see the same values and only the op's own arithmetic can differ. log Σ
    /// exp is then far below float32's resolution at 1e4: computing x − logsumexp(x) instead of
    /// (x − max) − log Σ loses three digits (NumericsEdgeTests has the [1e8, 1e8, 1e8] case itself).
    /// </summary>
    LargeLogits,
    /// <summary>Like <see cref="AwayFromZero"/>, but every third value exactly 0: for derivatives at 0.</summary>
    WithZeros,
}

/// <summary>
/// One op under test (after PyTorch's OpInfo): a function of tensors and the input shapes to try it at.
/// Every row is gradient-checked in reverse and forward mode and for ⟨w, J u⟩ = ⟨Jᵀ w, u⟩.
/// </summary>
/// <param name="Step">The central-difference step: a power of two for huge inputs, so x ± h is exact.</param>
public sealed record OpInfo(string Name, Func<Tensor[], Tensor> Function, int[][] Shapes, Domain[] Domains, double Step = 1e-6)
{
    public override string ToString() => $"{Name} {string.Join(" ", Shapes.Select(s => "(" + string.Join(",", s) + ")"))}";

    public Tensor[] SampleInputs(ulong seed, DType dtype = DType.Float64)
    {
        var rng = new Rng(seed);
        var inputs = new Tensor[Shapes.Length];
        for (int i = 0; i < Shapes.Length; i++)
        {
            int n = Shapes[i].Aggregate(1, (a, b) => a * b);
            var values = new double[n];
            var domain = Domains.Length == 1 ? Domains[0] : Domains[i];
            for (int j = 0; j < n; j++)
                values[j] = domain switch
                {
                    Domain.AwayFromZero => (rng.NextDouble() < 0.5 ? -1 : 1) * (0.5 + 1.5 * rng.NextDouble()),
                    Domain.Positive => 0.5 + 1.5 * rng.NextDouble(),
                    Domain.Normal => rng.NextNormal(),
                    Domain.Probability => 0.1 + 0.8 * rng.NextDouble(),
                    Domain.LargeLogits => 1e4 + Math.Floor(129 * rng.NextDouble() - 64) / 64,
                    Domain.WithZeros => j % 3 == 0 ? 0 : (rng.NextDouble() < 0.5 ? -1 : 1) * (0.5 + 1.5 * rng.NextDouble()),
                    _ => throw new ArgumentOutOfRangeException(nameof(domain)),
                };
            inputs[i] = Tensor.FromArray(values, Shapes[i], dtype);
        }
        return inputs;
    }
}

public static class OpInfos
{
    private static OpInfo Unary(string name, Func<Tensor, Tensor> f, Domain domain = Domain.AwayFromZero, params int[][] shapes) =>
        new(name, x => f(x[0]), shapes.Length == 0 ? [[3, 4]] : shapes, [domain]);

    private static IEnumerable<OpInfo> UnaryAtShapes(string name, Func<Tensor, Tensor> f, Domain domain = Domain.AwayFromZero)
    {
        foreach (var shape in new[] { new int[0], [5], [3, 4], [2, 3, 2], [0], [2, 0] })
            yield return new OpInfo(name, x => f(x[0]), [shape], [domain]);
    }

    private static IEnumerable<OpInfo> BinaryAtShapes(string name, Func<Tensor, Tensor, Tensor> f, Domain first = Domain.AwayFromZero, Domain second = Domain.AwayFromZero)
    {
        int[][][] pairs =
        [
            [[3, 4], [3, 4]],
            [[3, 1], [1, 4]],   // both operands broadcast
            [[2, 3, 4], [4]],   // missing leading dimensions
            [[], [3, 2]],       // a scalar operand
            [[5], []],
            [[2, 1, 3], [2, 4, 1]],
            [[2, 0], [1]],      // zero-size results
            [[2, 1], [1, 0]],
            [[], [0]],
        ];
        foreach (var p in pairs)
            yield return new OpInfo(name, x => f(x[0], x[1]), p, [first, second]);
    }

    /// <summary>The rows plus one at a zero-size shape (0, 3), where PyTorch accepts it too.</summary>
    private static IEnumerable<OpInfo> WithZeroSize(IEnumerable<OpInfo> rows)
    {
        OpInfo? last = null;
        foreach (var row in rows)
        {
            last = row;
            yield return row;
        }
        if (last is not null) yield return last with { Shapes = [[0, 3]] };
    }

    public static IEnumerable<OpInfo> All()
    {
        foreach (var o in BinaryAtShapes("add", (a, b) => a + b)) yield return o;
        foreach (var o in BinaryAtShapes("sub", (a, b) => a - b)) yield return o;
        foreach (var o in BinaryAtShapes("mul", (a, b) => a * b)) yield return o;
        foreach (var o in BinaryAtShapes("div", (a, b) => a / b, Domain.AwayFromZero, Domain.Positive)) yield return o;
        foreach (var o in UnaryAtShapes("neg", x => -x)) yield return o;
        foreach (var o in UnaryAtShapes("scalar-ops", x => 2.0 * x - 1.0 + x / 4.0 - 3.0 / (x * x + 1.0))) yield return o;

        yield return new OpInfo("matmul", x => x[0].MatMul(x[1]), [[3, 4], [4, 5]], [Domain.Normal]);
        yield return new OpInfo("matmul aT", x => x[0].MatMul(x[1], transposeA: true), [[4, 3], [4, 5]], [Domain.Normal]);
        yield return new OpInfo("matmul bT", x => x[0].MatMul(x[1], transposeB: true), [[3, 4], [5, 4]], [Domain.Normal]);
        yield return new OpInfo("matmul aT bT", x => x[0].MatMul(x[1], true, true), [[4, 3], [5, 4]], [Domain.Normal]);
        yield return new OpInfo("matmul batched", x => x[0].MatMul(x[1]), [[2, 3, 4], [2, 4, 2]], [Domain.Normal]);
        yield return new OpInfo("matmul batch-broadcast", x => x[0].MatMul(x[1]), [[2, 3, 4], [4, 2]], [Domain.Normal]);
        yield return new OpInfo("matmul batch-broadcast both", x => x[0].MatMul(x[1], false, true), [[2, 1, 3, 4], [3, 2, 4]], [Domain.Normal]);
        yield return new OpInfo("matmul vector-shaped", x => x[0].MatMul(x[1]), [[1, 4], [4, 1]], [Domain.Normal]);

        yield return Unary("transpose", x => x.Transpose(), Domain.Normal, [3, 4]);
        yield return Unary("transpose batched", x => x.Transpose(), Domain.Normal, [2, 3, 4]);
        yield return Unary("permute", x => x.Permute(2, 0, 1), Domain.Normal, [2, 3, 4]);
        yield return Unary("reshape", x => x.Reshape(4, -1), Domain.Normal, [2, 3, 4]);
        yield return Unary("broadcast_to", x => x.BroadcastTo([2, 3, 4]), Domain.Normal, [3, 1]);
        yield return Unary("sum_to", x => x.SumTo([3, 1]), Domain.Normal, [2, 3, 4]);

        foreach (var o in UnaryAtShapes("sum", x => x.Sum())) yield return o;
        yield return Unary("sum axis", x => x.Sum(1), Domain.Normal, [2, 3, 4]);
        yield return Unary("sum axis keepdims", x => x.Sum(0, keepDims: true), Domain.Normal, [3, 4]);
        yield return Unary("sum last axis", x => x.Sum(-1), Domain.Normal, [3, 4]);
        foreach (var o in UnaryAtShapes("mean", x => x.Mean()).Where(o => o.Shapes[0].All(d => d > 0))) yield return o; // the mean of nothing is NaN: MeanOfEmpty tests it
        yield return Unary("mean axis", x => x.Mean(1, keepDims: true), Domain.Normal, [2, 3, 4]);
        yield return Unary("max axis", x => x.Max(1), Domain.Normal, [3, 4]);
        yield return Unary("max axis 0 keepdims", x => x.Max(0, keepDims: true), Domain.Normal, [2, 3, 4]);
        yield return Unary("max all", x => x.Max(), Domain.Normal, [3, 4]);
        yield return Unary("logsumexp", x => x.LogSumExp(-1), Domain.Normal, [3, 4]);
        yield return Unary("logsumexp axis 0 keepdims", x => x.LogSumExp(0, keepDims: true), Domain.Normal, [3, 4, 2]);

        foreach (var o in UnaryAtShapes("exp", x => x.Exp())) yield return o;
        foreach (var o in UnaryAtShapes("log", x => x.Log(), Domain.Positive)) yield return o;
        foreach (var o in UnaryAtShapes("log1p", x => x.Log1p(), Domain.Positive)) yield return o;
        foreach (var o in UnaryAtShapes("sqrt", x => x.Sqrt(), Domain.Positive)) yield return o;
        yield return Unary("pow 3", x => x.Pow(3), Domain.AwayFromZero, [3, 4]);
        yield return Unary("pow 0.5", x => x.Pow(0.5), Domain.Positive, [3, 4]);
        yield return Unary("pow -1.5", x => x.Pow(-1.5), Domain.Positive, [3, 4]);
        foreach (var o in UnaryAtShapes("square", x => x.Square())) yield return o;
        foreach (var o in UnaryAtShapes("abs", x => x.Abs())) yield return o;
        yield return Unary("clamp", x => x.Clamp(-1.0, 1.25), Domain.AwayFromZero, [4, 5]);

        foreach (var o in UnaryAtShapes("sigmoid", x => x.Sigmoid())) yield return o;
        foreach (var o in UnaryAtShapes("tanh", x => x.Tanh())) yield return o;
        foreach (var o in UnaryAtShapes("relu", x => x.Relu())) yield return o;
        foreach (var o in UnaryAtShapes("leaky_relu", x => x.LeakyRelu(0.1))) yield return o;
        foreach (var o in UnaryAtShapes("softplus", x => x.Softplus())) yield return o;
        yield return Unary("softmax", x => x.Softmax(), Domain.Normal, [3, 4]);
        yield return Unary("softmax axis 0", x => x.Softmax(0), Domain.Normal, [3, 4, 2]);
        yield return Unary("log_softmax", x => x.LogSoftmax(), Domain.Normal, [3, 4]);
        yield return Unary("log_softmax axis 1", x => x.LogSoftmax(1), Domain.Normal, [2, 3, 4]);

        yield return Unary("slice", x => x.Slice(1, 1, 2), Domain.Normal, [3, 4]);
        yield return Unary("rows", x => x.Rows(1, 2), Domain.Normal, [4, 3]);
        yield return new OpInfo("concat axis 0", x => TensorOps.Concat([x[0], x[1]], 0), [[2, 3], [1, 3]], [Domain.Normal]);
        yield return new OpInfo("concat axis 1", x => TensorOps.Concat([x[0], x[1], x[0]], 1), [[2, 3], [2, 2]], [Domain.Normal]);
        yield return new OpInfo("where", x => TensorOps.Where(Condition(x[0].DType), x[0], x[1]), [[3, 4], [1, 4]], [Domain.Normal]);

        yield return new OpInfo("bce_with_logits", x => Losses.BinaryCrossEntropyWithLogits(x[0], x[1]), [[4, 1], [4, 1]], [Domain.Normal, Domain.Probability]);
        yield return new OpInfo("bce", x => Losses.BinaryCrossEntropy(x[0], x[1]), [[3, 2], [3, 2]], [Domain.Probability]);
        yield return new OpInfo("softmax_cross_entropy", x => Losses.SoftmaxCrossEntropy(x[0], x[1].Softmax()), [[3, 4], [3, 4]], [Domain.Normal]);
        yield return new OpInfo("mse", x => Losses.MeanSquaredError(x[0], x[1]), [[5, 2], [5, 2]], [Domain.Normal]);

        // ---- modules (issue #14): erf, the torch.nn activations, convolution, pooling, embedding, norms ----
        foreach (var o in WithZeroSize(UnaryAtShapes("erf", x => x.Erf(), Domain.Normal))) yield return o;
        foreach (var o in WithZeroSize(UnaryAtShapes("gelu", x => x.Gelu(), Domain.Normal))) yield return o;
        foreach (var o in WithZeroSize(UnaryAtShapes("gelu tanh", x => x.Gelu(approximateTanh: true), Domain.Normal))) yield return o;
        foreach (var o in WithZeroSize(UnaryAtShapes("silu", x => x.Silu(), Domain.Normal))) yield return o;
        foreach (var o in WithZeroSize(UnaryAtShapes("elu", x => x.Elu()))) yield return o;
        yield return Unary("elu alpha 0.5", x => x.Elu(0.5), Domain.AwayFromZero, [3, 4]);
        foreach (var o in WithZeroSize(UnaryAtShapes("hardtanh", x => x.Hardtanh(-1.25, 1.5)))) yield return o;
        foreach (var o in WithZeroSize(UnaryAtShapes("logsigmoid", x => x.LogSigmoid(), Domain.Normal))) yield return o;
        yield return new OpInfo("conv2d", x => x[0].Conv2d(x[1]), [[2, 3, 5, 6], [4, 3, 2, 3]], [Domain.Normal]);
        yield return new OpInfo("conv2d bias", x => x[0].Conv2d(x[1], x[2]), [[2, 2, 4, 4], [3, 2, 3, 3], [3]], [Domain.Normal]);
        yield return new OpInfo("conv2d stride 2 padding 1 dilation 2", x => x[0].Conv2d(x[1], null, 2, 1, 2), [[2, 2, 7, 6], [3, 2, 3, 2]], [Domain.Normal]);
        yield return new OpInfo("conv2d per-axis stride padding dilation", x => x[0].Conv2d(x[1], null, (1, 2), (2, 0), (1, 2)), [[1, 2, 4, 7], [2, 2, 2, 2]], [Domain.Normal]);
        yield return new OpInfo("conv2d 1x1", x => x[0].Conv2d(x[1]), [[2, 3, 2, 2], [2, 3, 1, 1]], [Domain.Normal]);
        yield return new OpInfo("conv2d zero batch", x => x[0].Conv2d(x[1], x[2], 1, 1), [[0, 2, 4, 4], [3, 2, 3, 3], [3]], [Domain.Normal]);
        yield return new OpInfo("conv1d", x => x[0].Conv1d(x[1], x[2], 2, 1, 1), [[2, 3, 7], [4, 3, 3], [4]], [Domain.Normal]);
        // The VJPs of conv2d as functions of (x, w, gy): checking them checks the transposed convolutions
        // the rules are made of, so second derivatives rest on verified ops. conv2d is linear in each
        // argument, so the x-cotangent does not depend on x (nor the w-cotangent on w); "+ 0·x" keeps that
        // input in the result so that every input has a gradient to compare.
        yield return new OpInfo("conv2d input vjp (second order)", x => Transforms.Vjp(xs => xs[0].Conv2d(xs[1], null, 2, 1), [x[0], x[1]], x[2]).Cotangents[0]
            + 0.0 * x[0], [[2, 2, 5, 5], [3, 2, 3, 3], [2, 3, 3, 3]], [Domain.Normal]);
        yield return new OpInfo("conv2d weight vjp (second order)", x => Transforms.Vjp(xs => xs[0].Conv2d(xs[1], null, 1, 1, 2), [x[0], x[1]], x[2]).Cotangents[1]
            + 0.0 * x[1], [[2, 2, 5, 5], [3, 2, 2, 2], [2, 3, 5, 5]], [Domain.Normal]);
        // The bias's cotangent (the channel sum of gy) depends on gy alone; "+ 0·(…)" keeps x, w and b in it.
        yield return new OpInfo("conv2d bias vjp (second order)", x => Transforms.Vjp(xs => xs[0].Conv2d(xs[1], xs[2], 1, 1), [x[0], x[1], x[2]], x[3]).Cotangents[2]
            + 0.0 * (x[0].Sum() + x[1].Sum() + x[2]), [[2, 2, 4, 4], [3, 2, 3, 3], [3], [2, 3, 4, 4]], [Domain.Normal]);
        // The max-pool's VJP as a function of (x, gy): a scatter to each window's first maximum of x, linear
        // in gy and constant in x away from ties; overlapping windows share maxima.
        yield return new OpInfo("max_pool2d vjp (second order)", x => Transforms.Vjp(xs => xs[0].MaxPool2d(3, 2, 1), [x[0]], x[1]).Cotangents[0]
            + 0.0 * x[0], [[2, 2, 5, 5], [2, 2, 3, 3]], [Domain.Normal]);
        yield return Unary("max_pool2d", x => x.MaxPool2d(2), Domain.Normal, [2, 3, 4, 6]);
        yield return Unary("max_pool2d k3 s2 p1", x => x.MaxPool2d(3, 2, 1), Domain.Normal, [2, 2, 5, 5]);
        yield return Unary("max_pool2d dilation 2", x => x.MaxPool2d(2, 1, 0, 2), Domain.Normal, [1, 2, 5, 5]);
        yield return Unary("max_pool2d zero batch", x => x.MaxPool2d(2), Domain.Normal, [0, 3, 4, 4]);
        yield return Unary("avg_pool2d", x => x.AvgPool2d(2), Domain.Normal, [2, 3, 4, 6]);
        yield return Unary("avg_pool2d k3 s2 p1", x => x.AvgPool2d(3, 2, 1), Domain.Normal, [2, 2, 5, 5]);
        yield return Unary("embedding", w => TensorOps.Embedding(Tensor.FromArray([3, 0, 3, 1, 4, 4], [2, 3], w.DType), w), Domain.Normal, [5, 3]);
        yield return Unary("layer_norm", x => TensorOps.LayerNorm(x, 1), Domain.Normal, [3, 5]);
        yield return new OpInfo("layer_norm affine 2 axes", x => TensorOps.LayerNorm(x[0], 2, x[1], x[2]), [[2, 3, 4], [3, 4], [3, 4]], [Domain.Normal]);
        yield return new OpInfo("batch_norm 1d train", x => TensorOps.BatchNorm(x[0], null, null, x[1], x[2], training: true), [[6, 3], [3], [3]], [Domain.Normal]);
        yield return new OpInfo("batch_norm 2d train", x => TensorOps.BatchNorm(x[0], null, null, x[1], x[2], training: true), [[3, 2, 3, 2], [2], [2]], [Domain.Normal]);
        yield return new OpInfo("batch_norm eval (running stats)", x => TensorOps.BatchNorm(x[0], Tensor.FromArray([0.5, -1, 0.25], [3], x[0].DType),
            Tensor.FromArray([2, 0.5, 1.5], [3], x[0].DType), x[1], null, training: false), [[4, 3, 2], [3]], [Domain.Normal]);
        yield return Unary("dropout (fixed mask)", x => TensorOps.Dropout(x, 0.3, true, new Rng(7)), Domain.Normal, [4, 5]);

        // Neural ODE blocks (Nn/Ode): the adjoint op's VJP (the backward solve) and its JVP (forward mode through
        // the steps), and backpropagation through the solver, against central differences of the discrete solve.
        // The adjoint is the transpose of the forward-mode solve only to the solver's accuracy, so its rows use
        // tolerances tight enough for ⟨J u, w⟩ = ⟨u, Jᵀ w⟩ to hold to the table's 1e-12.
        foreach (var shape in new[] { new int[0], [5], [0, 2], [3, 2] })
            yield return new OpInfo("ode adjoint tanh", x => new Backprop.Nn.OdeBlock(new Backprop.Nn.Tanh(), Backprop.Nn.OdeSolverOptions.Rk4(200),
                Backprop.Nn.OdeGradient.Adjoint, 0, 0.7).Forward(x[0]), [shape], [Domain.Normal]);
        foreach (var shape in new[] { new int[] { 0, 2 }, [3, 2] })
            yield return new OpInfo("ode adjoint mlp dopri5", x => new Backprop.Nn.OdeBlock(OdeMlp(x[0].DType, 2), Backprop.Nn.OdeSolverOptions.Dopri5(1e-12, 1e-14),
                Backprop.Nn.OdeGradient.Adjoint, 0, 1).Forward(x[0]), [shape], [Domain.Normal]);
        yield return new OpInfo("ode backprop time-input", x => new Backprop.Nn.OdeBlock(OdeMlp(x[0].DType, 3), Backprop.Nn.OdeSolverOptions.Rk4(8),
            Backprop.Nn.OdeGradient.Backprop, 0.5, 1.5, timeInput: true).Forward(x[0]), [[3, 2]], [Domain.Normal]);
        yield return new OpInfo("ode adjoint time-input", x => new Backprop.Nn.OdeBlock(OdeMlp(x[0].DType, 3), Backprop.Nn.OdeSolverOptions.Rk4(160),
            Backprop.Nn.OdeGradient.Adjoint, 1.5, 0.5, timeInput: true).Forward(x[0]), [[3, 2]], [Domain.Normal]);
        foreach (var o in ZeroSizeAndExtremeRows()) yield return o;
        foreach (var o in PyTorchOpRows()) yield return o;
        foreach (var o in FusedLinearRows()) yield return o;
    }

    /// <summary>
    /// Linear with its activation as one op (Ops/Linear.cs): every activation, with and without a bias,
    /// one example, and a zero-size batch. Its own rank-2 rule is the only shape it takes; broadcasting
    /// and other ranks go through MatMul and Add, which have their rows above.
    /// </summary>
    private static IEnumerable<OpInfo> FusedLinearRows()
    {
        (string Name, LinearActivation Activation)[] activations =
        [
            ("identity", LinearActivation.Identity), ("relu", LinearActivation.Relu), ("leaky_relu", LinearActivation.LeakyRelu),
            ("tanh", LinearActivation.Tanh), ("sigmoid", LinearActivation.Sigmoid), ("softplus", LinearActivation.Softplus),
        ];
        foreach (var (name, activation) in activations)
        {
            yield return new OpInfo($"linear+{name}", x => TensorOps.LinearWith(x[0], x[1], x[2], activation, 0.1), [[3, 4], [5, 4], [5]], [Domain.Normal]);
            yield return new OpInfo($"linear+{name} no bias", x => TensorOps.LinearWith(x[0], x[1], null, activation, 0.1), [[3, 4], [2, 4]], [Domain.Normal]);
            yield return new OpInfo($"linear+{name} one example", x => TensorOps.LinearWith(x[0], x[1], x[2], activation, 0.1), [[1, 3], [4, 3], [4]], [Domain.Normal]);
            yield return new OpInfo($"linear+{name} zero-size batch", x => TensorOps.LinearWith(x[0], x[1], x[2], activation, 0.1), [[0, 3], [2, 3], [2]], [Domain.Normal]);
        }
        yield return new OpInfo("linear (public)", x => x[0].Linear(x[1], x[2]), [[4, 3], [2, 3], [2]], [Domain.Normal]);
    }

    /// <summary>A fixed small network f: (·, inputs) → (·, 2) for the ODE rows; the same weights every call.</summary>
    private static Backprop.Nn.Sequential OdeMlp(DType dtype, int inputs) => new(
        new Backprop.Nn.Linear(inputs, 4, rng: new Rng(21), dtype: dtype), new Backprop.Nn.Tanh(), new Backprop.Nn.Linear(4, 2, rng: new Rng(22), dtype: dtype));

    /// <summary>
    /// trust-lib (issue #14, items 6 and 7): the ops and losses a PyTorch user reaches for, each at random
    /// shapes with broadcasting, zero-size and rank-0 where PyTorch accepts them.
    /// </summary>
    private static IEnumerable<OpInfo> PyTorchOpRows()
    {
        foreach (var o in UnaryAtShapes("sin", x => x.Sin(), Domain.Normal)) yield return o;
        foreach (var o in UnaryAtShapes("cos", x => x.Cos(), Domain.Normal)) yield return o;
        foreach (var o in UnaryAtShapes("sign", x => x.Sign())) yield return o;
        foreach (var o in UnaryAtShapes("rsqrt", x => x.Rsqrt(), Domain.Positive)) yield return o;
        foreach (var o in BinaryAtShapes("maximum", (a, b) => a.Maximum(b), Domain.Normal, Domain.Normal)) yield return o;
        foreach (var o in BinaryAtShapes("minimum", (a, b) => a.Minimum(b), Domain.Normal, Domain.Normal)) yield return o;
        yield return Unary("maximum and minimum of x with itself", x => x.Maximum(x) + 2.0 * x.Minimum(x), Domain.Normal, [3, 4]); // ties: ½ + ½
        foreach (var o in BinaryAtShapes("pow tensor exponent", (a, b) => a.Pow(b), Domain.Positive, Domain.Normal)) yield return o;
        yield return new OpInfo("pow tensor exponent 0 and base 0", x => x[0].Abs().Pow((x[1] + 1.0) * ExponentMask(x[1].DType)), [[3, 4], [3, 4]], [Domain.WithZeros, Domain.Positive]);

        foreach (var o in UnaryAtShapes("min all", x => x.Length == 0 ? x.Sum() : x.Min())) yield return o;
        yield return Unary("min axis", x => x.Min(1), Domain.Normal, [3, 4]);
        yield return Unary("min axis keepdims", x => x.Min(0, keepDims: true), Domain.Normal, [2, 3, 4]);
        yield return new OpInfo("argmax picks", x => x[0].Gather(1, x[0].ArgMax(1, keepDims: true).To(x[0].DType)), [[3, 4]], [Domain.Normal]);
        yield return new OpInfo("argmin picks", x => x[0].Gather(0, x[0].ArgMin(0, keepDims: true).To(x[0].DType)), [[3, 4]], [Domain.Normal]);
        yield return Unary("sum axes (0, 2)", x => x.Sum([0, 2]), Domain.Normal, [2, 3, 4]);
        yield return Unary("sum axes keepdims", x => x.Sum([2, 0], keepDims: true), Domain.Normal, [2, 3, 4]);
        yield return Unary("mean axes", x => x.Mean([-1, 1]), Domain.Normal, [2, 3, 4]);
        yield return Unary("max axes", x => x.Max([0, 1]), Domain.Normal, [2, 3, 4]);
        yield return Unary("min axes keepdims", x => x.Min([1, 2], keepDims: true), Domain.Normal, [2, 3, 4]);
        yield return Unary("sum axes of (2,0,3)", x => x.Sum([1, 2]), Domain.Normal, [2, 0, 3]);
        foreach (var o in UnaryAtShapes("var", x => x.Var(), Domain.Normal).Where(o => o.Shapes[0].Aggregate(1, (a, b) => a * b) > 1)) yield return o;
        yield return Unary("var axis correction 0", x => x.Var(1, correction: 0), Domain.Normal, [3, 4]);
        yield return Unary("var axis keepdims", x => x.Var(0, keepDims: true), Domain.Normal, [3, 4, 2]);
        yield return Unary("std", x => x.Std(), Domain.Normal, [3, 4]);
        yield return Unary("std axis correction 2", x => x.Std(-1, correction: 2), Domain.Normal, [2, 5]);
        foreach (var o in UnaryAtShapes("norm", x => x.Norm(), Domain.Normal)) yield return o;
        yield return Unary("norm axis", x => x.Norm(2, 1), Domain.Normal, [3, 4]);
        yield return Unary("norm p=1 axis keepdims", x => x.Norm(1, 0, keepDims: true), Domain.AwayFromZero, [3, 4]);
        yield return Unary("norm p=3", x => x.Norm(3), Domain.AwayFromZero, [3, 4]);
        yield return Unary("norm p=inf axis", x => x.Norm(double.PositiveInfinity, 1), Domain.Normal, [3, 4]);
        yield return Unary("norm at a zero row", x => (x * RowMask(x.DType)).Norm(2, 1), Domain.Normal, [3, 4]);
        yield return new OpInfo("norm of rank 0", x => x[0].Norm(2, 0), [[]], [Domain.AwayFromZero]);
        yield return Unary("cumsum axis 1", x => x.CumSum(1), Domain.Normal, [3, 4]);
        yield return Unary("cumsum axis 0", x => x.CumSum(0), Domain.Normal, [3, 2, 2]);
        yield return Unary("cumsum (0,)", x => x.CumSum(0), Domain.Normal, [0]);
        yield return Unary("cumsum (2,0)", x => x.CumSum(1), Domain.Normal, [2, 0]);
        yield return new OpInfo("cumsum of rank 0", x => x[0].CumSum(0), [[]], [Domain.Normal]);
        yield return new OpInfo("sum axis of rank 0", x => x[0].Sum(0) + x[0].Mean(-1, keepDims: true) + x[0].Max(0), [[]], [Domain.Normal]);
        yield return new OpInfo("softmax of rank 0", x => x[0].Softmax(0) + x[0].LogSoftmax(-1) + x[0].LogSumExp(0), [[]], [Domain.Normal]);

        foreach (var o in UnaryAtShapes("prod", x => x.Prod())) yield return o;
        yield return Unary("prod axis", x => x.Prod(1), Domain.AwayFromZero, [3, 4]);
        yield return Unary("prod axis 0 keepdims", x => x.Prod(0, keepDims: true), Domain.AwayFromZero, [3, 2, 2]);
        yield return Unary("prod with one zero per row", x => x.Prod(1), Domain.WithZeros, [4, 3]);
        yield return Unary("prod with zeros", x => x.Prod(0), Domain.WithZeros, [6, 2]); // columns with two zeros
        yield return Unary("prod all with zeros", x => x.Prod(), Domain.WithZeros, [2, 2]);
        yield return Unary("prod of an empty axis", x => x.Prod(1), Domain.AwayFromZero, [2, 0]);
        yield return new OpInfo("stack axis 0", x => TensorOps.Stack([x[0], x[1]], 0), [[3, 4], [3, 4]], [Domain.Normal]);
        yield return new OpInfo("stack axis -1", x => TensorOps.Stack([x[0], x[1], x[0]], -1), [[2, 3], [2, 3]], [Domain.Normal]);
        yield return new OpInfo("stack rank 0", x => TensorOps.Stack([x[0], x[1]]), [[], []], [Domain.Normal]);
        yield return new OpInfo("stack zero-size", x => TensorOps.Stack([x[0], x[1]], 1), [[2, 0], [2, 0]], [Domain.Normal]);
        yield return Unary("squeeze", x => x.Squeeze(), Domain.Normal, [3, 1, 4, 1]);
        yield return Unary("squeeze axis", x => x.Squeeze(1), Domain.Normal, [3, 1, 4]);
        yield return Unary("unsqueeze", x => x.Unsqueeze(-1), Domain.Normal, [3, 4]);
        yield return new OpInfo("unsqueeze rank 0", x => x[0].Unsqueeze(0), [[]], [Domain.Normal]);
        yield return Unary("flip axis 0", x => x.Flip(0), Domain.Normal, [3, 4]);
        yield return Unary("flip axes (0, 2)", x => x.Flip(0, -1), Domain.Normal, [2, 3, 4]);
        yield return Unary("flip last axis", x => x.Flip(1), Domain.Normal, [2, 5]);
        yield return Unary("flip (0,3)", x => x.Flip(1), Domain.Normal, [0, 3]);
        yield return Unary("gather axis 1", x => x.Gather(1, GatherIndex(x.DType)), Domain.Normal, [3, 4]);
        yield return Unary("gather axis 0 repeated", x => x.Gather(0, GatherIndex(x.DType)), Domain.Normal, [4, 4]);
        yield return Unary("index_select", x => x.IndexSelect(1, [3, 0, 0, 2]), Domain.Normal, [2, 4, 2]);
        yield return Unary("index_select none", x => x.IndexSelect(0, []), Domain.Normal, [3, 2]);
        yield return Unary("masked_fill", x => x.MaskedFill(RowMask(x.DType), 2.5), Domain.Normal, [3, 4]);
        yield return Unary("masked_fill broadcast mask", x => x.MaskedFill(RowMask(x.DType).Slice(1, 0, 1), -1), Domain.Normal, [2, 3, 4]);

        yield return new OpInfo("matmul vector-matrix", x => x[0].MatMul(x[1]), [[4], [4, 3]], [Domain.Normal]);
        yield return new OpInfo("matmul matrix-vector", x => x[0].MatMul(x[1]), [[3, 4], [4]], [Domain.Normal]);
        yield return new OpInfo("matmul vector-vector", x => x[0].MatMul(x[1]), [[4], [4]], [Domain.Normal]);
        yield return new OpInfo("matmul vector-batched matrix", x => x[0].MatMul(x[1]), [[4], [2, 4, 3]], [Domain.Normal]);
        yield return new OpInfo("matmul batched matrix-vector", x => x[0].MatMul(x[1]), [[2, 3, 4], [4]], [Domain.Normal]);
        yield return new OpInfo("matmul empty vectors", x => x[0].MatMul(x[1]), [[0], [0]], [Domain.Normal]);

        // Losses with PyTorch's arguments; the mean of zero elements is NaN, so zero-size rows use sum or none.
        foreach (var r in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
        {
            yield return new OpInfo($"l1_loss {r}", x => Losses.L1Loss(x[0], x[1], r), [[3, 4], [3, 4]], [Domain.Normal]);
            yield return new OpInfo($"smooth_l1_loss beta 0.5 {r}", x => Losses.SmoothL1Loss(x[0], x[1], r, beta: 0.5), [[3, 4], [3, 4]], [Domain.Normal]);
            yield return new OpInfo($"huber_loss delta 0.7 {r}", x => Losses.HuberLoss(x[0], x[1], r, delta: 0.7), [[3, 4], [3, 4]], [Domain.Normal]);
            yield return new OpInfo($"nll_loss weight ignore {r}", x => Losses.NLLLoss(x[0].LogSoftmax(), [0, -100, 2], ClassWeight(x[0].DType), reduction: r), [[3, 4]], [Domain.Normal]);
            yield return new OpInfo($"cross_entropy weight ignore smoothing {r}", x => Losses.CrossEntropy(x[0], [3, 1, -100], ClassWeight(x[0].DType), reduction: r, labelSmoothing: 0.1), [[3, 4]], [Domain.Normal]);
            yield return new OpInfo($"cross_entropy probabilities weight smoothing {r}", x => Losses.CrossEntropy(x[0], x[1].Softmax(), ClassWeight(x[0].DType), r, labelSmoothing: 0.2), [[3, 4], [3, 4]], [Domain.Normal]);
            yield return new OpInfo($"kl_div {r}", x => Losses.KLDivLoss(x[0].LogSoftmax(), x[1].Softmax(), r), [[3, 4], [3, 4]], [Domain.Normal]);
            yield return new OpInfo($"kl_div log_target {r}", x => Losses.KLDivLoss(x[0].LogSoftmax(), x[1].LogSoftmax(), r, logTarget: true), [[3, 4], [3, 4]], [Domain.Normal]);
            yield return new OpInfo($"bce_with_logits pos_weight weight {r}", x => Losses.BinaryCrossEntropyWithLogits(x[0], x[1], ClassWeight(x[0].DType).Slice(0, 0, 3).Reshape(3, 1), ClassWeight(x[0].DType), r), [[3, 4], [3, 4]], [Domain.Normal, Domain.Probability]);
        }
        yield return new OpInfo("cross_entropy plain", x => Losses.CrossEntropy(x[0], [3, 1, 0]), [[3, 4]], [Domain.Normal]);
        yield return new OpInfo("l1_loss rank 0", x => Losses.L1Loss(x[0], x[1]), [[], []], [Domain.Normal]);
        yield return new OpInfo("huber_loss rank 0 sum", x => Losses.HuberLoss(x[0], x[1], Reduction.Sum), [[], []], [Domain.Normal]);
        yield return new OpInfo("smooth_l1_loss zero-size sum", x => Losses.SmoothL1Loss(x[0], x[1], Reduction.Sum), [[2, 0], [2, 0]], [Domain.Normal]);
        yield return new OpInfo("l1_loss zero-size none", x => Losses.L1Loss(x[0], x[1], Reduction.None), [[0, 3], [0, 3]], [Domain.Normal]);
        yield return new OpInfo("kl_div zero-size sum", x => Losses.KLDivLoss(x[0], x[1].Exp(), Reduction.Sum), [[0, 4], [0, 4]], [Domain.Normal]);
        yield return new OpInfo("cross_entropy no rows sum", x => Losses.CrossEntropy(x[0], ReadOnlySpan<int>.Empty, reduction: Reduction.Sum), [[0, 4]], [Domain.Normal]);
    }

    /// <summary>Per-class weights for 4 classes.</summary>
    private static Tensor ClassWeight(DType dtype) => Tensor.FromArray([0.5, 2.0, 1.0, 1.5], [4], dtype);

    /// <summary>Every other exponent zeroed, so the base-0 and exponent-0 cases of a^b both occur.</summary>
    private static Tensor ExponentMask(DType dtype) => Tensor.FromArray([0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1], [3, 4], dtype);

    /// <summary>1 in row 1 of a (3, 4) matrix (the rest 0): a mask, or a factor that zeroes rows 0 and 2.</summary>
    private static Tensor RowMask(DType dtype) => Tensor.FromArray([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0], [3, 4], dtype);

    /// <summary>A (3, 2) index with repeats, valid along either axis of a (3, 4) or (4, 4) input.</summary>
    private static Tensor GatherIndex(DType dtype) => Tensor.FromArray([3, 0, 1, 1, 2, 3], [3, 2], dtype);

    /// <summary>
    /// trust-lib (issue #10): zero-size shapes wherever PyTorch accepts them, rank-0 inputs, float32
    /// extreme logits and the 0·∞ traps, each checked by the generic tests like any other row.
    /// </summary>
    private static IEnumerable<OpInfo> ZeroSizeAndExtremeRows()
    {
        yield return new OpInfo("matmul k=0", x => x[0].MatMul(x[1]), [[3, 0], [0, 5]], [Domain.Normal]);
        yield return new OpInfo("matmul m=0", x => x[0].MatMul(x[1]), [[0, 4], [4, 5]], [Domain.Normal]);
        yield return new OpInfo("matmul n=0", x => x[0].MatMul(x[1]), [[3, 4], [4, 0]], [Domain.Normal]);
        yield return new OpInfo("matmul aT k=0", x => x[0].MatMul(x[1], transposeA: true), [[0, 3], [0, 2]], [Domain.Normal]);
        yield return new OpInfo("matmul batched empty batch", x => x[0].MatMul(x[1]), [[0, 3, 4], [4, 2]], [Domain.Normal]);
        yield return Unary("transpose (0,3)", x => x.Transpose(), Domain.Normal, [0, 3]);
        yield return Unary("permute (2,0,3)", x => x.Permute(2, 0, 1), Domain.Normal, [2, 0, 3]);
        yield return Unary("reshape (0,3)", x => x.Reshape(3, -1), Domain.Normal, [0, 3]);
        yield return Unary("broadcast_to (2,0) from (2,1)", x => x.BroadcastTo([2, 0]), Domain.Normal, [2, 1]);
        yield return Unary("broadcast_to (2,0) from (0,)", x => x.BroadcastTo([2, 0]), Domain.Normal, [0]);
        yield return new OpInfo("broadcast_to (3,2) from rank 0", x => x[0].BroadcastTo([3, 2]), [[]], [Domain.Normal]);
        yield return Unary("sum_to (1,0)", x => x.SumTo([1, 0]), Domain.Normal, [2, 0]);
        yield return Unary("sum_to rank 0 from (2,0)", x => x.SumTo([]), Domain.Normal, [2, 0]);
        yield return Unary("sum over an empty axis", x => x.Sum(1), Domain.Normal, [2, 0]);
        yield return Unary("sum axis of (0,3)", x => x.Sum(1, keepDims: true), Domain.Normal, [0, 3]);
        yield return Unary("mean axis of (0,3)", x => x.Mean(1), Domain.Normal, [0, 3]);
        yield return Unary("max axis of (0,4)", x => x.Max(1), Domain.Normal, [0, 4]);
        yield return Unary("logsumexp of (0,4)", x => x.LogSumExp(-1), Domain.Normal, [0, 4]);
        yield return Unary("softmax (0,4)", x => x.Softmax(), Domain.Normal, [0, 4]);
        yield return Unary("softmax (3,0)", x => x.Softmax(), Domain.Normal, [3, 0]);
        yield return Unary("log_softmax (3,0)", x => x.LogSoftmax(0), Domain.Normal, [3, 0]);
        yield return Unary("slice of length 0", x => x.Slice(1, 1, 0), Domain.Normal, [3, 4]);
        yield return Unary("slice of (0,4)", x => x.Slice(1, 1, 2), Domain.Normal, [0, 4]);
        yield return new OpInfo("concat with an empty part", x => TensorOps.Concat([x[0], x[1]], 0), [[2, 3], [0, 3]], [Domain.Normal]);
        yield return new OpInfo("concat with an empty part axis 1", x => TensorOps.Concat([x[0], x[1], x[0]], 1), [[2, 0], [2, 3]], [Domain.Normal]);
        yield return new OpInfo("concat of empty parts", x => TensorOps.Concat([x[0], x[1]], 1), [[0, 2], [0, 3]], [Domain.Normal]);
        yield return Unary("clamp (0,)", x => x.Clamp(-1.0, 1.25), Domain.AwayFromZero, [0]);
        yield return Unary("pow 3 (2,0)", x => x.Pow(3), Domain.AwayFromZero, [2, 0]);
        yield return Unary("pow 0 at zeros", x => x.Pow(0), Domain.WithZeros, [3, 4]);
        yield return Unary("pow 2 at zeros", x => x.Pow(2), Domain.WithZeros, [3, 4]);
        yield return Unary("pow 3 at zeros", x => x.Pow(3), Domain.WithZeros, [3, 4]);
        yield return Unary("pow 1 at zeros", x => x.Pow(1), Domain.WithZeros, [3, 4]);

        // Large logits: the shifted values x − max are exact, so these agree with float64 to rounding.
        const double h = 1.0 / 4096; // x ± h is exact at 1e4 (float64's spacing there is 2⁻³⁹)
        yield return new OpInfo("softmax large logits", x => x[0].Softmax(), [[3, 4]], [Domain.LargeLogits], h);
        yield return new OpInfo("log_softmax large logits", x => x[0].LogSoftmax(), [[3, 4]], [Domain.LargeLogits], h);
        yield return new OpInfo("log_softmax large logits axis 0", x => x[0].LogSoftmax(0), [[3, 4, 2]], [Domain.LargeLogits], h);
        yield return new OpInfo("logsumexp large logits", x => x[0].LogSumExp(-1), [[3, 4]], [Domain.LargeLogits], h);
        yield return new OpInfo("softmax_cross_entropy large logits", x => Losses.SoftmaxCrossEntropy(x[0], x[1].Softmax()), [[3, 4], [3, 4]], [Domain.LargeLogits, Domain.Normal], h);
        yield return new OpInfo("cross_entropy indices large logits", x => Losses.SoftmaxCrossEntropy(x[0], [0, 3, 1]), [[3, 4]], [Domain.LargeLogits], h);
        yield return new OpInfo("cross_entropy indices, -inf in another class", x => Losses.SoftmaxCrossEntropy(x[0].MaskedFill(NegInfMask(x[0].DType), double.NegativeInfinity), [0, 3, 1]), [[3, 4]], [Domain.Normal]);
        yield return new OpInfo("cross_entropy targets, -inf where the target is 0", x => Losses.SoftmaxCrossEntropy(x[0].MaskedFill(NegInfMask(x[0].DType), double.NegativeInfinity), ZeroWhereMasked(x[0].DType)), [[3, 4]], [Domain.Normal]);
        yield return new OpInfo("bce_with_logits large logits", x => Losses.BinaryCrossEntropyWithLogits(x[0] * Sign(x[0].DType), x[1]), [[3, 4], [3, 4]], [Domain.LargeLogits, Domain.Probability], h);
    }

    /// <summary>1 at one class per row of a (3, 4) logit matrix, never the class the rows above pick as a target (0, 3, 1).</summary>
    private static Tensor NegInfMask(DType dtype) => Tensor.FromArray([0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], [3, 4], dtype);

    /// <summary>Constant target rows with zero mass where <see cref="NegInfMask"/> puts −∞.</summary>
    private static Tensor ZeroWhereMasked(DType dtype) =>
        Tensor.FromArray([0.5, 0, 0.25, 0.25, 0.1, 0.2, 0, 0.7, 0.3, 0.3, 0.4, 0], [3, 4], dtype);

    /// <summary>Alternating signs of shape (3, 4), for logits at both ±1e8.</summary>
    private static Tensor Sign(DType dtype) => Tensor.FromArray([1, -1, 1, -1, -1, 1, -1, 1, 1, 1, -1, -1], [3, 4], dtype);

    /// <summary>A fixed 0/1 condition of shape (3, 4).</summary>
    private static Tensor Condition(DType dtype) =>
        Tensor.FromArray([1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0], [3, 4], dtype);

    public static TheoryData<OpInfo> Rows()
    {
        var data = new TheoryData<OpInfo>();
        foreach (var op in All()) data.Add(op);
        return data;
    }
}
