using System.Globalization;

namespace Backprop.Explain;

/// <summary>
/// Explains the forward and backward pass of a fully connected network on a mini-batch, step by step
/// (docs/math.md): every quantity is computed by its hand formula in the chosen layout, and checked
/// against the autodiff engine and against float64 central differences.
/// </summary>
public static class Explainer
{
    /// <param name="layers">The layers, input side first; W[l] is (n_l, n_{l−1}).</param>
    /// <param name="task">The output and loss.</param>
    /// <param name="inputs">X, the chosen rows (m, n_0), already preprocessed.</param>
    /// <param name="targets">
    /// Binary: (m) or (m, 1) of 0/1. Multiclass: (m) of class indices. Regression: (m) when n_L = 1, or (m, n_L).
    /// </param>
    /// <param name="options">Layout, dtype, check sampling and display limits.</param>
    public static MlpExplanation Explain(IReadOnlyList<ExplainLayer> layers, ExplainTask task, Tensor inputs, Tensor targets, ExplainOptions? options = null)
    {
        options ??= new ExplainOptions();
        var net = Network.Create(layers, task, inputs, targets, options.DType);
        var hand = HandPass.Run(net, options.Layout, options.Convention);
        var engine = EngineCheck.Run(net, options);
        if (options.FeatureNames is { } names && names.Count != net.Sizes[0])
            throw new BackpropException($"explain: {names.Count} feature names were given for {net.Sizes[0]} inputs.");
        var explanation = StepBuilder.Build(net, hand, engine, options);
        explanation.Parameters = ParameterSteps(net, options);
        if (options.LearningRate is not null) explanation.Update = UpdateBuilder.Build(net, hand, engine, options);
        if (options.Entry is not null) explanation.Entry = EntryChainBuilder.Build(net, hand, engine, options);
        if (options.ForwardMode) explanation.ForwardMode = ForwardModeBuilder.Build(net, hand, engine, options);
        return explanation;
    }

    /// <summary>W[l] and b[l] as given, before the forward pass, with their PyTorch names.</summary>
    private static List<ExplainStep> ParameterSteps(Network net, ExplainOptions options)
    {
        bool cols = options.Layout == ExplainLayout.Columns;
        var steps = new List<ExplainStep>();
        for (int l = 1; l <= net.L; l++)
        {
            // nn.Sequential numbers its modules: Linear, activation, Linear, … so layer l is module 2(l − 1).
            string module = (2 * (l - 1)).ToString(CultureInfo.InvariantCulture);
            int[] wShape = [net.Sizes[l], net.Sizes[l - 1]];
            steps.Add(new ExplainStep($"W[{l}]", F.Var("W", l), F.Var("W", l) + F.Raw($" ({module}.weight)", $@"\quad	exttt{{{module}.weight}}", $"<mtext>  ({module}.weight)</mtext>"),
                [wShape], $"(out, in) = {ShapeUtil.Format(wShape)}", net.W[l], StepCheck.None(net.W[l].Length),
                [$"Row i holds the weights into unit i of layer {l}; column k those from unit k of layer {l - 1}{(l == 1 ? " (feature k)" : "")}."])
            { ParameterName = $"{module}.weight", ColumnLabels = l == 1 && net.Sizes[0] <= options.MaxFullColumns ? options.FeatureNames : null });
            var b = cols ? net.B[l].Reshape(net.Sizes[l], 1) : net.B[l];
            steps.Add(new ExplainStep($"b[{l}]", F.Var("b", l), F.Var("b", l) + F.Raw($" ({module}.bias)", $@"\quad	exttt{{{module}.bias}}", $"<mtext>  ({module}.bias)</mtext>"),
                [b.Shape.ToArray()], ShapeUtil.Format(b.Shape.ToArray()), b, StepCheck.None(b.Length),
                [cols ? $"One bias per unit of layer {l}, a column so it adds to every example's column." : $"One bias per unit of layer {l}, added to every example's row."])
            { ParameterName = $"{module}.bias" });
        }
        return steps;
    }

    /// <summary>Explain for a multiclass network with the targets given as class indices.</summary>
    public static MlpExplanation Explain(IReadOnlyList<ExplainLayer> layers, Tensor inputs, int[] classIndices, ExplainOptions? options = null) =>
        Explain(layers, ExplainTask.Multiclass, inputs, Tensor.FromArray(Array.ConvertAll(classIndices, c => (double)c), [classIndices.Length], DType.Float64), options);
}

internal enum Activation { Relu, LeakyRelu, Tanh, Sigmoid, Softplus, Identity, Softmax }

/// <summary>The validated network and batch, in the explained dtype and as float64 for the checks.</summary>
internal sealed class Network
{
    public required ExplainTask Task { get; init; }
    public required DType DType { get; init; }
    public required int M { get; init; }
    /// <summary>n_0 … n_L.</summary>
    public required int[] Sizes { get; init; }
    /// <summary>g[1] … g[L] (index 0 unused).</summary>
    public required Activation[] Activations { get; init; }
    public required double[] Slopes { get; init; }
    /// <summary>W[l] and b[l] in the explained dtype (index 0 unused).</summary>
    public required Tensor[] W { get; init; }
    public required Tensor[] B { get; init; }
    /// <summary>X (m, n_0) in the explained dtype.</summary>
    public required Tensor X { get; init; }
    /// <summary>Targets as rows (m, n_L): 0/1, one-hot rows, or values.</summary>
    public required Tensor YRows { get; init; }
    /// <summary>Class indices (multiclass only).</summary>
    public required int[] Classes { get; init; }

    public int L => Sizes.Length - 1;

    /// <summary>The same network and batch with other parameters (the ones after an update step).</summary>
    public Network WithParameters(Tensor[] w, Tensor[] b) => new()
    {
        Task = Task, DType = DType, M = M, Sizes = Sizes, Activations = Activations, Slopes = Slopes,
        W = w, B = b, X = X, YRows = YRows, Classes = Classes,
    };

    public static Network Create(IReadOnlyList<ExplainLayer> layers, ExplainTask task, Tensor inputs, Tensor targets, DType dtype)
    {
        if (layers.Count == 0) throw new BackpropException("explain: the network has no layers.");
        if (inputs.Rank != 2) throw new ShapeException($"explain: the inputs must be a matrix (m, n_0) of the chosen rows; got shape {ShapeUtil.Format(inputs.Dims)}.");
        int m = inputs.Dims[0];
        if (m < 1) throw new BackpropException("explain: choose at least one row.");
        int L = layers.Count;
        var sizes = new int[L + 1];
        sizes[0] = inputs.Dims[1];
        var w = new Tensor[L + 1];
        var b = new Tensor[L + 1];
        var acts = new Activation[L + 1];
        var slopes = new double[L + 1];
        for (int l = 1; l <= L; l++)
        {
            var layer = layers[l - 1];
            if (layer.Weight.Rank != 2)
                throw new ShapeException($"explain: W[{l}] must be a matrix (out, in); got shape {ShapeUtil.Format(layer.Weight.Dims)}.");
            int outSize = layer.Weight.Dims[0], inSize = layer.Weight.Dims[1];
            if (inSize != sizes[l - 1])
                throw new ShapeException($"explain: W[{l}] has shape {ShapeUtil.Format(layer.Weight.Dims)}, so it takes {inSize} inputs, but {(l == 1 ? "the data has" : $"layer {l - 1} gives")} {sizes[l - 1]}.");
            if (layer.Bias.Rank != 1 || layer.Bias.Dims[0] != outSize)
                throw new ShapeException($"explain: b[{l}] must have shape ({outSize},) to match W[{l}]; got {ShapeUtil.Format(layer.Bias.Dims)}.");
            sizes[l] = outSize;
            w[l] = layer.Weight.Detach().To(dtype);
            b[l] = layer.Bias.Detach().To(dtype);
            slopes[l] = layer.LeakySlope;
            acts[l] = l < L ? ParseHidden(layer.Activation, l) : OutputActivation(task, layer.Activation, L);
        }
        if (task == ExplainTask.Binary && sizes[L] != 1)
            throw new ShapeException($"explain: a binary classifier has one output (the logit of class 1), but the last layer has {sizes[L]}. Use the multiclass task for {sizes[L]} classes.");
        if (task == ExplainTask.Multiclass && sizes[L] < 2)
            throw new ShapeException("explain: a multiclass network needs at least 2 outputs (one logit per class).");

        var t = targets.Detach().ToDoubleArray();
        var classes = Array.Empty<int>();
        double[] yRows;
        int nL = sizes[L];
        switch (task)
        {
            case ExplainTask.Multiclass:
                if (targets.Rank != 1 || t.Length != m)
                    throw new ShapeException($"explain: multiclass targets are {m} class indices, shape ({m},); got {ShapeUtil.Format(targets.Dims)}.");
                classes = new int[m];
                for (int i = 0; i < m; i++)
                {
                    if (t[i] != Math.Floor(t[i]) || t[i] < 0 || t[i] >= nL)
                        throw new BackpropException($"explain: target {t[i]} of row {i} is not a class index 0..{nL - 1}.");
                    classes[i] = (int)t[i];
                }
                yRows = Losses.OneHot(classes, nL, DType.Float64).ToDoubleArray();
                break;
            default:
                if (t.Length != m * nL || (targets.Rank == 2 && (targets.Dims[0] != m || targets.Dims[1] != nL)) || targets.Rank > 2 || (targets.Rank == 1 && nL != 1))
                    throw new ShapeException($"explain: the targets must have shape ({m}, {nL}){(nL == 1 ? $" or ({m},)" : "")}; got {ShapeUtil.Format(targets.Dims)}.");
                if (task == ExplainTask.Binary && t.Any(v => v < 0 || v > 1))
                    throw new BackpropException("explain: binary targets must lie in [0, 1] (the probability of class 1).");
                yRows = t;
                break;
        }

        return new Network
        {
            Task = task,
            DType = dtype,
            M = m,
            Sizes = sizes,
            Activations = acts,
            Slopes = slopes,
            W = w,
            B = b,
            X = inputs.Detach().To(dtype),
            YRows = Tensor.FromArray(yRows, [m, nL], dtype),
            Classes = classes,
        };
    }

    private static Activation ParseHidden(string name, int l) => Normalize(name) switch
    {
        "relu" => Activation.Relu,
        "leakyrelu" => Activation.LeakyRelu,
        "tanh" => Activation.Tanh,
        "sigmoid" => Activation.Sigmoid,
        "softplus" => Activation.Softplus,
        "identity" or "linear" or "none" => Activation.Identity,
        _ => throw new BackpropException($"explain: unknown activation '{name}' in layer {l}; use relu, leaky_relu, tanh, sigmoid, softplus or identity."),
    };

    private static Activation OutputActivation(ExplainTask task, string name, int l)
    {
        var expected = task switch
        {
            ExplainTask.Binary => Activation.Sigmoid,
            ExplainTask.Multiclass => Activation.Softmax,
            _ => Activation.Identity,
        };
        string n = Normalize(name);
        bool ok = n is "identity" or "linear" or "none" or "" ||
                  (expected == Activation.Sigmoid && n == "sigmoid") || (expected == Activation.Softmax && n == "softmax");
        if (!ok)
            throw new BackpropException($"explain: the output layer {l} of a {task.ToString().ToLowerInvariant()} network is {expected.ToString().ToLowerInvariant()} (the loss works on its logits); got '{name}'.");
        return expected;
    }

    private static string Normalize(string name) => name.Trim().ToLowerInvariant().Replace("_", "").Replace("-", "");

    public static string ActivationName(Activation a, double slope) => a switch
    {
        Activation.Relu => "ReLU",
        Activation.LeakyRelu => $"leaky ReLU (α = {slope.ToString(CultureInfo.InvariantCulture)})",
        Activation.Tanh => "tanh",
        Activation.Sigmoid => "sigmoid",
        Activation.Softplus => "softplus",
        Activation.Identity => "identity",
        _ => "softmax",
    };

    public string LossName => Task switch
    {
        ExplainTask.Binary => "binary cross-entropy on the logit (mean over the batch)",
        ExplainTask.Multiclass => "softmax cross-entropy with class indices (mean over the batch)",
        _ => "mean squared error, mean over all m·n_L elements (PyTorch's MSELoss)",
    };

    /// <summary>g(z) on plain tensors; <paramref name="classAxis"/> is the axis softmax normalises over.</summary>
    public static Tensor Activate(Activation g, double slope, Tensor z, int classAxis) => g switch
    {
        Activation.Relu => z.Relu(),
        Activation.LeakyRelu => z.LeakyRelu(slope),
        Activation.Tanh => z.Tanh(),
        Activation.Sigmoid => z.Sigmoid(),
        Activation.Softplus => z.Softplus(),
        Activation.Identity => z,
        _ => z.Softmax(classAxis),
    };

    /// <summary>g'(z) by the course's table (docs/math.md), written with the values the forward pass has.</summary>
    public static Tensor Derivative(Activation g, double slope, Tensor z, Tensor a)
    {
        var zero = Tensor.Scalar(0, z.DType);
        return g switch
        {
            Activation.Relu => z.GreaterMask(zero),
            Activation.LeakyRelu => z.GreaterMask(zero) * (1 - slope) + slope,
            Activation.Tanh => 1.0 - a * a,
            Activation.Sigmoid => a * (1.0 - a),
            Activation.Softplus => z.Sigmoid(),
            Activation.Identity => Tensor.OnesLike(z),
            _ => throw new BackpropException("explain: softmax is only an output activation; its derivative enters through δ[L]."),
        };
    }
}

/// <summary>The hand formulas of docs/math.md in plain tensor math, in the chosen layout.</summary>
internal sealed class HandPass
{
    public required ExplainLayout Layout { get; init; }
    /// <summary>a[0] … a[L] and z[1] … z[L] (z[0] unused), in the layout.</summary>
    public required Tensor[] A { get; init; }
    public required Tensor[] Z { get; init; }
    public required Tensor Y { get; init; }
    public required Tensor Loss { get; init; }
    /// <summary>δ[l], dW[l], db[l] for l = 1..L; da[l] for l = 1..L−1.</summary>
    public required Tensor[] Delta { get; init; }
    public required Tensor[] DW { get; init; }
    public required Tensor[] Db { get; init; }
    public required Tensor[] DA { get; init; }

    public static HandPass Run(Network net, ExplainLayout layout, ExplainConvention convention = ExplainConvention.MeanInDelta)
    {
        bool course = convention == ExplainConvention.Course;
        // Plain tensors only (level 0): the kernels run directly and nothing is recorded, so these are
        // the hand formulas, not the engine's backward pass in disguise.
        bool cols = layout == ExplainLayout.Columns;
        int L = net.L, m = net.M;
        int classAxis = cols ? 0 : 1;
        var a = new Tensor[L + 1];
        var z = new Tensor[L + 1];
        a[0] = cols ? net.X.Transpose() : net.X;
        for (int l = 1; l <= L; l++)
        {
            z[l] = cols
                ? net.W[l].MatMul(a[l - 1]) + net.B[l].Reshape(net.Sizes[l], 1)
                : a[l - 1].MatMul(net.W[l], transposeB: true) + net.B[l];
            a[l] = Network.Activate(net.Activations[l], net.Slopes[l], z[l], classAxis);
        }
        var y = cols ? net.YRows.Transpose() : net.YRows;
        var zL = z[L];
        var yHat = a[L];
        Tensor loss = net.Task switch
        {
            // From the logit, never log σ(z) (docs/math.md).
            ExplainTask.Binary => (zL.Relu() - zL * y + (-zL.Abs()).Exp().Log1p()).Mean(),
            ExplainTask.Multiclass => -(y * zL.LogSoftmax(classAxis)).Sum() * (1.0 / m),
            _ => (yHat - y).Square().Mean(),
        };

        var delta = new Tensor[L + 1];
        var dW = new Tensor[L + 1];
        var db = new Tensor[L + 1];
        var da = new Tensor[L + 1];
        // Course: dZ[L] = A[L] − Y per example, the 1/m applied in dW and db. Mean-in-delta: δ[L] = (ŷ − y)/m.
        double perExample = course ? 1.0 : 1.0 / m;
        double mean = course ? 1.0 / m : 1.0;
        delta[L] = net.Task == ExplainTask.Regression
            ? (yHat - y) * (2.0 * perExample / net.Sizes[L])
            : perExample == 1.0 ? yHat - y : (yHat - y) * perExample;
        for (int l = L; l >= 1; l--)
        {
            dW[l] = cols ? delta[l].MatMul(a[l - 1], transposeB: true) : delta[l].MatMul(a[l - 1], transposeA: true);
            db[l] = cols ? delta[l].Sum(1, keepDims: true) : delta[l].Sum(0);
            if (mean != 1.0)
            {
                dW[l] = dW[l] * mean;
                db[l] = db[l] * mean;
            }
            if (l == 1) break;
            da[l - 1] = cols ? net.W[l].MatMul(delta[l], transposeA: true) : delta[l].MatMul(net.W[l]);
            delta[l - 1] = da[l - 1] * Network.Derivative(net.Activations[l - 1], net.Slopes[l - 1], z[l - 1], a[l - 1]);
        }
        return new HandPass { Layout = layout, A = a, Z = z, Y = y, Loss = loss, Delta = delta, DW = dW, Db = db, DA = da };
    }
}
