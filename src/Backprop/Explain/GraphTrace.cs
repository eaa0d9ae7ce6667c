using System.Globalization;
using System.Text;

namespace Backprop.Explain;

/// <summary>One op of a recorded graph as the backward pass visits it.</summary>
/// <param name="Name">The name of the value the op produced (t1, t2, …; "out" for the output).</param>
/// <param name="Op">The op with its parameters, from <see cref="Backprop.Op.Describe"/>.</param>
/// <param name="InputNames">The names of its inputs (repeated when the op uses a value twice).</param>
/// <param name="InputShapes">Their shapes.</param>
/// <param name="Output">The value it computed.</param>
/// <param name="Gradient">The incoming gradient ∂out/∂(this value), summed over all its uses; null when none reaches it.</param>
/// <param name="InputGradients">What the op's VJP sends to each input; null for constants.</param>
public sealed record GraphTraceNode(
    string Name,
    string Op,
    IReadOnlyList<string> InputNames,
    IReadOnlyList<int[]> InputShapes,
    Tensor Output,
    Tensor? Gradient,
    IReadOnlyList<Tensor?> InputGradients)
{
    public int[] OutputShape => Output.Shape.ToArray();
}

/// <summary>An input of the graph (a leaf that gets a gradient) or a constant.</summary>
/// <param name="Name">The input's name, or for a constant its value (scalars) or c0, c1, ….</param>
/// <param name="Value">Its value.</param>
/// <param name="Uses">How many times ops used it; gradients from every use are summed.</param>
/// <param name="Gradient">∂out/∂input summed over its uses; null for a constant.</param>
/// <param name="EngineMaxAbsError">|gradient − the engine's backward pass|, when checked.</param>
/// <param name="FiniteDifferenceMaxAbsError">|gradient − central differences (float64)| over the entries checked, when checked.</param>
/// <param name="FiniteDifferenceEntries">How many entries the central differences checked.</param>
public sealed record GraphTraceLeaf(string Name, Tensor Value, Tensor? Gradient, int Uses, double? EngineMaxAbsError = null, double? FiniteDifferenceMaxAbsError = null, int FiniteDifferenceEntries = 0)
{
    public bool IsConstant => Gradient is null;
}

/// <summary>
/// The op-by-op trace of reverse mode on any function (math.md §3, last paragraph): the nodes in
/// reverse topological order, each with its incoming gradient and the VJP it applies, and gradients
/// summed where a value was used more than once. Like micrograd's drawing, every value has a label.
/// </summary>
public sealed class GraphTrace
{
    private GraphTrace(string outputName, Tensor output, IReadOnlyList<GraphTraceNode> nodes, IReadOnlyList<GraphTraceLeaf> leaves, string? checkNote)
    {
        OutputName = outputName;
        Output = output;
        Nodes = nodes;
        Leaves = leaves;
        CheckNote = checkNote;
    }

    public string OutputName { get; }
    public Tensor Output { get; }

    /// <summary>The ops in the order the backward pass visits them: the output's op first.</summary>
    public IReadOnlyList<GraphTraceNode> Nodes { get; }

    /// <summary>The inputs (in the order given) and then the constants the function used.</summary>
    public IReadOnlyList<GraphTraceLeaf> Leaves { get; }

    /// <summary>Why a check could not be made, if one could not.</summary>
    public string? CheckNote { get; }

    /// <summary>Whether every input gradient agreed with the engine and with central differences (when checked).</summary>
    public bool AllPassed => Leaves.All(Passed);

    // The engine runs the same VJPs, so only summation order can differ; central differences in
    // float64 with h = 1e-6 are good to about 1e-9 for values of order 1, more near kinks.
    private static bool Passed(GraphTraceLeaf l) =>
        (l.EngineMaxAbsError ?? 0) <= 1e-9 * (1 + Scale(l.Gradient)) &&
        (l.FiniteDifferenceMaxAbsError ?? 0) <= 1e-6 * (1 + Scale(l.Gradient));

    private static double Scale(Tensor? t) => t is null || t.Length == 0 ? 0 : t.ToDoubleArray().Max(Math.Abs);

    /// <summary>
    /// Records <paramref name="f"/> at <paramref name="inputs"/> on a fresh reverse level (as
    /// <see cref="Transforms.Vjp(Func{Tensor[], Tensor}, Tensor[], Tensor)"/> does) and traces its backward pass; a non-scalar
    /// output is seeded with ones (the gradient of its sum). The input gradients are checked against
    /// the engine's own backward pass and, on float64 copies, against central differences.
    /// </summary>
    public static GraphTrace Explain(Func<Tensor[], Tensor> f, Tensor[] inputs, string[]? names = null, int maxFiniteDifferenceEntries = 50) =>
        Explain(x => (f(x), []), inputs, names, maxFiniteDifferenceEntries);

    /// <summary>
    /// As <see cref="Explain(Func{Tensor[], Tensor}, Tensor[], string[], int)"/>, with names for
    /// intermediate values too: <paramref name="named"/> returns its output and the values it wants named
    /// (z[1], a[1], ŷ, L as the course writes them); other op results stay t1, t2, ….
    /// </summary>
    public static GraphTrace Explain(Func<Tensor[], (Tensor Output, IReadOnlyList<(string Name, Tensor Value)> Named)> named, Tensor[] inputs, string[]? names = null, int maxFiniteDifferenceEntries = 50)
    {
        Func<Tensor[], Tensor> f = x => named(x).Output;
        if (names is not null && names.Length != inputs.Length)
            throw new BackpropException($"GraphTrace: {inputs.Length} inputs but {names.Length} names.");
        int level = Autodiff.NewLevel();
        var leaves = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) leaves[i] = Autodiff.MakeTracked(inputs[i].Detach(), null, level);
        var (recorded, intermediates) = named(leaves);
        var y = Autodiff.AtOrBelow(recorded, level);
        var namedLeaves = leaves.Select((t, i) => (names?[i] ?? $"x{i}", t)).ToList();
        var trace = Build(y, level, namedLeaves, out var grads, intermediates);

        // Check the traced sweep against the engine's, and both against central differences.
        var seed = Tensor.OnesLike(y.Level == level ? y.PrimalTensor! : y);
        string? note = null;
        var (_, engineGrads) = Transforms.Vjp(f, inputs.Select(t => t.Detach()).ToArray(), seed);
        double[]?[] fd = new double[]?[inputs.Length];
        int[][] fdIndex = new int[inputs.Length][];
        try
        {
            var x64 = inputs.Select(t => t.Detach().To(DType.Float64)).ToArray();
            var w = seed.To(DType.Float64).ToDoubleArray();
            double Eval()
            {
                var v = f(x64).ToDoubleArray();
                double s = 0;
                for (int k = 0; k < v.Length; k++) s += v[k] * w[k];
                return s;
            }
            const double h = 1e-6;
            for (int i = 0; i < x64.Length; i++)
            {
                var values = x64[i].Span<double>();
                fdIndex[i] = EngineCheck.SampleIndices(values.Length, maxFiniteDifferenceEntries);
                fd[i] = new double[fdIndex[i].Length];
                for (int k = 0; k < fdIndex[i].Length; k++)
                {
                    int j = fdIndex[i][k];
                    double saved = values[j];
                    values[j] = saved + h;
                    double plus = Eval();
                    values[j] = saved - h;
                    double minus = Eval();
                    values[j] = saved;
                    fd[i]![k] = (plus - minus) / (2 * h);
                }
            }
        }
        catch (BackpropException ex)
        {
            note = $"central differences not available: f failed on float64 copies of the inputs ({ex.Message})";
            Array.Clear(fd);
        }

        var checkedLeaves = trace.Leaves.ToList();
        for (int i = 0; i < inputs.Length; i++)
        {
            var g = grads[i].ToDoubleArray();
            var eg = engineGrads[i].ToDoubleArray();
            double engineErr = 0;
            for (int k = 0; k < g.Length; k++) engineErr = Math.Max(engineErr, Math.Abs(g[k] - eg[k]));
            double? fdErr = null;
            if (fd[i] is { } fdi)
            {
                double err = 0;
                for (int k = 0; k < fdi.Length; k++) err = Math.Max(err, Math.Abs(g[fdIndex[i][k]] - fdi[k]));
                fdErr = err;
            }
            checkedLeaves[i] = checkedLeaves[i] with { EngineMaxAbsError = engineErr, FiniteDifferenceMaxAbsError = fdErr, FiniteDifferenceEntries = fdErr is null ? 0 : fd[i]!.Length };
        }
        return new GraphTrace(trace.OutputName, trace.Output, trace.Nodes, checkedLeaves, note);
    }

    /// <summary>Explain for a function of one tensor.</summary>
    public static GraphTrace Explain(Func<Tensor, Tensor> f, Tensor x, string name = "x") => Explain(xs => f(xs[0]), [x], [name]);

    /// <summary>
    /// Traces the eager graph (RequiresGrad tensors) behind <paramref name="output"/>, such as a loss
    /// computed by a model, without touching any <see cref="Tensor.Grad"/>. Name the leaves you know
    /// (parameters, inputs); others are called p0, p1, …. Not checked: the function is not available to
    /// re-evaluate.
    /// </summary>
    public static GraphTrace FromTensor(Tensor output, IReadOnlyList<(string Name, Tensor Tensor)>? names = null)
    {
        var root = Autodiff.AtOrBelow(output, Autodiff.EagerLevel);
        if (root.Level != Autodiff.EagerLevel)
            throw new BackpropException("GraphTrace: this tensor does not depend on any tensor with RequiresGrad = true, so there is no graph to trace.");
        return Build(root, Autodiff.EagerLevel, names?.ToList() ?? [], out _);
    }

    private static GraphTrace Build(Tensor y, int level, List<(string Name, Tensor Tensor)> namedLeaves, out Tensor[] inputGrads,
        IReadOnlyList<(string Name, Tensor Value)>? intermediates = null)
    {
        var yValue = y.Level == level ? y.PrimalTensor! : y;
        var names = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        var uses = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        foreach (var (name, t) in namedLeaves) names.TryAdd(t, name);
        foreach (var (name, t) in intermediates ?? []) names.TryAdd(t, name);
        var order = y.Level == level && y.Node is { } rootNode ? TopologicalOrder(rootNode, level) : [];
        if (order.Any(n => n.Released))
            throw new BackpropException("GraphTrace: Backward() already freed the values this graph saved. Trace the loss before calling Backward(), or call Backward(retainGraph: true).");
        var outputs = new Dictionary<Node, Tensor>(ReferenceEqualityComparer.Instance);
        var leafOrder = new List<Tensor>(namedLeaves.Select(p => p.Tensor));
        int temp = 0, constants = 0, unnamed = 0;

        // Name every value in forward order: the user's names for inputs, t1, t2, … for op results.
        foreach (var node in order)
        {
            foreach (var input in node.Inputs)
            {
                uses[input] = uses.GetValueOrDefault(input) + 1;
                if (names.ContainsKey(input))
                {
                    // A constant named by the caller (x, y) is still a box of the graph.
                    if (input.Level < level && !leafOrder.Contains(input, ReferenceEqualityComparer.Instance)) leafOrder.Add(input);
                    continue;
                }
                if (input.Level == level && input.Node is null)
                {
                    names[input] = $"p{unnamed++}";
                    leafOrder.Add(input);
                }
                else if (input.Level < level)
                {
                    // A scalar constant is named by its value, as micrograd shows it, unless that name is taken.
                    string? byValue = input.Length == 1 ? NumberFormat.Format(input.ToDoubleArray()[0], 6) : null;
                    names[input] = byValue is not null && !names.ContainsValue(byValue) ? byValue : $"c{constants++}";
                    leafOrder.Add(input);
                }
            }
        }
        // An op's output tensor object is the one its users hold; the root is the one f returned.
        foreach (var node in order)
            foreach (var input in node.Inputs)
                if (input.Level == level && input.Node is { } producer) outputs.TryAdd(producer, input);
        if (y.Node is { } rn) outputs[rn] = y;
        foreach (var node in order)
            if (outputs.TryGetValue(node, out var value) && !names.ContainsKey(value))
                names[value] = ReferenceEquals(value, y) ? "out" : $"t{++temp}";
        // A named output keeps its name in the trace's header too.
        string outputName = names.TryGetValue(y, out var yName) ? yName : "out";

        // The backward sweep, written out so each node's incoming gradient and VJP can be recorded.
        var pending = new Dictionary<Node, Tensor>(ReferenceEqualityComparer.Instance);
        var leafGrads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        var seed = Tensor.OnesLike(yValue);
        if (y.Node is { } root) pending[root] = seed;
        else if (y.Level == level) leafGrads[y] = seed;
        var traces = new List<GraphTraceNode>();
        for (int n = order.Count - 1; n >= 0; n--)
        {
            var node = order[n];
            pending.TryGetValue(node, out var gy);
            var inputs = node.Inputs;
            var gx = new Tensor?[inputs.Length];
            if (gy is not null)
            {
                var needs = new bool[inputs.Length];
                for (int i = 0; i < inputs.Length; i++) needs[i] = inputs[i].Level == level;
                node.Op.Vjp(gy, node.Primals, node.Output, needs, gx);
                for (int i = 0; i < inputs.Length; i++)
                {
                    if (!needs[i]) { gx[i] = null; continue; }
                    var g = gx[i] ?? throw new BackpropException($"The VJP of op '{node.Op.Name}' gave no gradient for input {i}.");
                    if (inputs[i].Node is { } producer)
                        pending[producer] = pending.TryGetValue(producer, out var p) ? p + g : g;
                    else
                        leafGrads[inputs[i]] = leafGrads.TryGetValue(inputs[i], out var p) ? p + g : g;
                }
            }
            var outName = outputs.TryGetValue(node, out var o) ? names[o] : "?";
            traces.Add(new GraphTraceNode(outName, node.Op.Describe(), inputs.Select(t => names.GetValueOrDefault(t, "?")).ToArray(),
                inputs.Select(t => t.Shape.ToArray()).ToArray(), node.Output, gy, gx));
        }

        var leafTraces = leafOrder.Select(t => new GraphTraceLeaf(names[t], Autodiff.AtOrBelow(t, level - 1),
            t.Level == level ? leafGrads.GetValueOrDefault(t) ?? Tensor.ZerosLike(t.PrimalTensor ?? t) : null,
            uses.GetValueOrDefault(t))).ToList();
        inputGrads = namedLeaves.Select(p => leafGrads.GetValueOrDefault(p.Tensor) ?? Tensor.ZerosLike(Autodiff.AtOrBelow(p.Tensor, level - 1))).ToArray();
        return new GraphTrace(y.Node is null ? names.GetValueOrDefault(y, "out") : outputName, yValue, traces, leafTraces, null);
    }

    /// <summary>The nodes reachable from <paramref name="root"/> at <paramref name="level"/>, inputs before users.</summary>
    private static List<Node> TopologicalOrder(Node root, int level)
    {
        // The same iterative post-order as the engine's backward pass, so the trace visits nodes in its order.
        var order = new List<Node>();
        var visited = new HashSet<Node>(ReferenceEqualityComparer.Instance) { root };
        var stack = new Stack<(Node Node, int NextInput)>();
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            if (next < node.Inputs.Length)
            {
                stack.Push((node, next + 1));
                var input = node.Inputs[next];
                if (input.Level == level && input.Node is { } child && visited.Add(child)) stack.Push((child, 0));
            }
            else order.Add(node);
        }
        return order;
    }

    /// <summary>A micrograd-style trace: each op with its values, incoming gradient and VJP results.</summary>
    public string ToText() => Render(markdown: false);

    /// <summary>The same trace as Markdown.</summary>
    public string ToMarkdown() => Render(markdown: true);

    private string Render(bool markdown)
    {
        var sb = new StringBuilder();
        string code(string s) => markdown ? $"`{s}`" : s;
        sb.Append(markdown ? "### " : "").Append($"Backward pass through {Nodes.Count} op{(Nodes.Count == 1 ? "" : "s")}, in reverse topological order\n");
        sb.Append('\n');
        sb.Append($"Seed: ∂{OutputName}/∂{OutputName} = 1{(Output.Length > 1 ? " for every element (the gradient of the sum)" : "")}.\n\n");
        int k = Nodes.Count;
        foreach (var node in Nodes)
        {
            string head = $"{node.Name} = {node.Op}({string.Join(", ", node.InputNames)})";
            string shapes = $"{ShapeUtil.Format(node.OutputShape)} ← {string.Join(", ", node.InputShapes.Select(s => ShapeUtil.Format(s)))}";
            if (markdown) sb.Append($"{k}. **{code(head)}** {shapes}\n");
            else sb.Append($"[{k}] {head}    {shapes}\n");
            string indent = markdown ? "   - " : "      ";
            sb.Append($"{indent}value      {code(Inline(node.Output))}\n");
            sb.Append($"{indent}gradient   ∂{OutputName}/∂{node.Name} = {(node.Gradient is null ? "none (does not reach the output)" : code(Inline(node.Gradient)) + "  ‖·‖ = " + Norm(node.Gradient))}\n");
            for (int i = 0; i < node.InputNames.Count; i++)
            {
                if (node.InputGradients[i] is not { } g) continue;
                // Every line carries its label, also when an earlier input was a constant with no VJP line.
                string label = markdown ? "VJP " : "VJP        ";
                sb.Append($"{indent}{label}∂{OutputName}/∂{node.InputNames[i]} += {code(Inline(g))}  ‖·‖ = {Norm(g)}\n");
            }
            k--;
        }
        sb.Append(markdown ? "\n#### Inputs\n\n" : "\nInputs (each gradient is the sum over all uses of the value):\n");
        foreach (var leaf in Leaves)
        {
            if (leaf.IsConstant) continue;
            string uses = leaf.Uses > 1 ? $", used {leaf.Uses}×: the gradients of all uses add up" : "";
            sb.Append(markdown ? "- " : "  ").Append($"{leaf.Name} {ShapeUtil.Format(leaf.Value.Shape)}{uses}\n");
            string indent = markdown ? "  - " : "      ";
            sb.Append($"{indent}value      {code(Inline(leaf.Value))}\n");
            sb.Append($"{indent}gradient   ∂{OutputName}/∂{leaf.Name} = {code(Inline(leaf.Gradient!))}  ‖·‖ = {Norm(leaf.Gradient!)}\n");
            if (leaf.EngineMaxAbsError is double e)
            {
                bool ok = Passed(leaf);
                string fd = leaf.FiniteDifferenceMaxAbsError is double f
                    ? $", finite differences max |error| {NumberFormat.Short(f)} ({leaf.FiniteDifferenceEntries} of {leaf.Value.Length} entries)"
                    : "";
                sb.Append($"{indent}check      {(ok ? "✓" : "✗")} engine max |error| {NumberFormat.Short(e)}{fd}\n");
            }
        }
        var consts = Leaves.Where(l => l.IsConstant).ToList();
        if (consts.Count > 0)
            sb.Append(markdown ? "\nConstants: " : "\nConstants (no gradient): ").Append(string.Join(", ", consts.Select(c => $"{c.Name} {ShapeUtil.Format(c.Value.Shape)}"))).Append('\n');
        if (CheckNote is not null) sb.Append('\n').Append(CheckNote).Append('\n');
        return sb.ToString();
    }

    /// <summary>Values inline: the whole tensor when it has at most 12 entries, else shape and norm.</summary>
    internal static string Inline(Tensor t)
    {
        if (t.Length > 12) return $"{ShapeUtil.Format(t.Shape)} tensor, min {NumberFormat.Format(t.ToDoubleArray().Min(), 4)}, max {NumberFormat.Format(t.ToDoubleArray().Max(), 4)}";
        var data = t.ToDoubleArray();
        if (t.Rank == 0) return NumberFormat.Format(data[0], 6);
        var dims = t.Shape.ToArray();
        int pos = 0;
        var sb = new StringBuilder();
        void Write(int dim)
        {
            if (dim == dims.Length) { sb.Append(NumberFormat.Format(data[pos++], 6)); return; }
            sb.Append('[');
            for (int i = 0; i < dims[dim]; i++)
            {
                if (i > 0) sb.Append(", ");
                Write(dim + 1);
            }
            sb.Append(']');
        }
        Write(0);
        return sb.ToString();
    }

    internal static string Norm(Tensor t) => NumberFormat.Format(Math.Sqrt(t.ToDoubleArray().Sum(v => v * v)), 4);
}
