using Backprop.Kernels;

namespace Backprop;

/// <summary>
/// The differentiation engine: applies ops at every level of nesting, records reverse-mode graphs and
/// runs backward passes.
/// </summary>
/// <remarks>
/// <para>Levels. Each differentiation in progress owns a level number: 1 is the eager PyTorch-style graph
/// (<see cref="Tensor.RequiresGrad"/> and <see cref="Tensor.Backward(bool)"/>); every transform call
/// (Grad, Jvp, …) takes a fresh, higher number. A tensor at level k wraps a value of a lower level with
/// this level's derivative information: a tangent (forward mode) or a graph node (reverse mode).</para>
/// <para>Applying an op peels off the highest level among its inputs, applies the op one level down (which
/// recurses until the values are plain and the kernels run), then adds that level's information back:
/// the JVP for forward mode, a node for reverse mode. Because inner transforms always hold higher
/// levels than the transforms around them, derivatives of different transforms never mix: this is
/// what prevents perturbation confusion (Siskind and Pearlmutter) in nested derivatives. DiffSharp
/// uses the same scheme with its nesting tags.</para>
/// <para>Batched tangents. A forward-mode level may carry K directions at once: every tangent then has
/// shape (K, …its primal's shape), and Apply calls <see cref="Op.JvpBatched"/> instead of
/// <see cref="Op.Jvp"/>. The primal computation runs once; only the tangent work grows with K. A
/// plain tangent always has exactly its primal's shape, so the extra leading axis identifies a batched
/// level without a flag.</para>
/// </remarks>
public static class Autodiff
{
    /// <summary>The level of the eager graph built by RequiresGrad tensors.</summary>
    internal const int EagerLevel = 1;

    private static int s_lastLevel = EagerLevel;

    [ThreadStatic] private static int t_noGradDepth;
    [ThreadStatic] private static bool t_detectNonFinite;

    /// <summary>A fresh level for a transform; higher than every level in use.</summary>
    internal static int NewLevel() => Interlocked.Increment(ref s_lastLevel);

    /// <summary>Whether ops on RequiresGrad tensors are being recorded for <see cref="Tensor.Backward(bool)"/>.</summary>
    public static bool IsGradEnabled => t_noGradDepth == 0;

    /// <summary>
    /// Stops recording the eager graph until the returned scope is disposed (PyTorch's
    /// <c>torch.no_grad()</c>): for evaluation and in-place parameter updates. Function transforms
    /// still work inside it.
    /// </summary>
    public static NoGradScope NoGrad()
    {
        t_noGradDepth++;
        return new NoGradScope();
    }

    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => t_noGradDepth--;
    }

    /// <summary>
    /// Checks every op's output for NaN and ∞ until the scope is disposed, and throws a
    /// <see cref="NonFiniteException"/> naming the first op that made one from finite inputs (PyTorch's
    /// anomaly mode). It costs a pass over each output, so training turns it on only to diagnose.
    /// </summary>
    public static NonFiniteDetectionScope DetectNonFinite()
    {
        bool previous = t_detectNonFinite;
        t_detectNonFinite = true;
        return new NonFiniteDetectionScope(previous);
    }

    public readonly struct NonFiniteDetectionScope(bool previous) : IDisposable
    {
        public void Dispose() => t_detectNonFinite = previous;
    }

    /// <summary>Applies <paramref name="op"/> to its inputs at every level they carry.</summary>
    public static Tensor Apply(Op op, params Tensor[] inputs)
    {
        int level = 0;
        foreach (var t in inputs)
            if (t.Level > level) level = t.Level;
        if (level == 0)
        {
            var result = op.Forward(inputs);
            if (t_detectNonFinite) NonFiniteException.Check(op, inputs, result);
            return result;
        }

        var primals = new Tensor[inputs.Length];
        bool forwardMode = false;
        for (int i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i];
            if (t.Level == level)
            {
                primals[i] = t.PrimalTensor!;
                forwardMode |= t.TangentTensor is not null;
            }
            else primals[i] = t;
        }
        Tensor y = Apply(op, primals);

        if (forwardMode)
        {
            var tangents = new Tensor?[inputs.Length];
            int directions = -1;
            for (int i = 0; i < inputs.Length; i++)
            {
                if (inputs[i].Level != level) continue;
                var t = inputs[i].TangentTensor!;
                tangents[i] = t;
                int k = BatchedTangent.Count(t, primals[i]);
                if (directions >= 0 && k != directions)
                    throw new BackpropException($"Op '{op.Name}' received tangents carrying {directions} and {k} directions at the same level (0 means one plain tangent); all inputs of one forward-mode transform must carry the same number.");
                directions = k;
            }
            Tensor? ty = directions == 0 ? op.Jvp(primals, tangents, y) : op.JvpBatched(primals, tangents, y, directions);
            if (ty is null) return y;
            var expected = directions == 0 ? y.Dims : BatchedTangent.Dims(directions, y.Dims);
            if (!ShapeUtil.SameShape(ty.Dims, expected))
                throw new BackpropException($"The {(directions == 0 ? "JVP" : "batched JVP")} of op '{op.Name}' returned shape {ShapeUtil.Format(ty.Dims)} for an output of shape {ShapeUtil.Format(y.Dims)}; expected {ShapeUtil.Format(expected)}.");
            return MakeDual(y, ty, level);
        }

        if (level == EagerLevel && !IsGradEnabled) return y;
        var node = new Node(op, inputs, primals, y, level);
        return MakeTracked(y, node, level);
    }

    /// <summary>
    /// A forward-mode value at <paramref name="level"/>: primal plus tangent. The tangent has the
    /// primal's shape, or (K, …primal shape) for K directions carried at once.
    /// </summary>
    internal static Tensor MakeDual(Tensor primal, Tensor tangent, int level)
    {
        if (tangent.Level >= level || primal.Level >= level)
            throw new BackpropException("Internal error: a tangent or primal belongs to a level at or above its own.");
        if (!BatchedTangent.Fits(tangent, primal))
            throw new ShapeException($"A tangent of shape {ShapeUtil.Format(tangent.Dims)} does not fit a value of shape {ShapeUtil.Format(primal.Dims)}; it must have that shape, or (K, …that shape) for K directions.");
        return new Tensor(primal.Storage, primal.Offset, primal.Dims, primal.DType)
        {
            Level = level,
            PrimalTensor = primal,
            TangentTensor = tangent,
        };
    }

    /// <summary>A reverse-mode value at <paramref name="level"/>; a leaf when <paramref name="node"/> is null.</summary>
    internal static Tensor MakeTracked(Tensor primal, Node? node, int level) =>
        new(primal.Storage, primal.Offset, primal.Dims, primal.DType)
        {
            Level = level,
            PrimalTensor = primal,
            Node = node,
        };

    /// <summary>The part of <paramref name="t"/> at or below <paramref name="level"/>.</summary>
    internal static Tensor AtOrBelow(Tensor t, int level)
    {
        while (t.Level > level) t = t.PrimalTensor!;
        return t;
    }

    /// <summary>
    /// Reverse-mode sweep over the graph of <paramref name="root"/> at <paramref name="level"/>: seeds
    /// the root with <paramref name="seed"/>, visits nodes in reverse topological order applying each
    /// VJP, and sums gradients where a value was used more than once. Leaf gradients are added to
    /// their <see cref="Tensor.Grad"/>.
    /// </summary>
    internal static void Backward(Tensor root, Tensor seed, int level, bool retainGraph)
    {
        if (!ShapeUtil.SameShape(seed.Dims, root.Dims))
            throw new ShapeException($"Backward: the upstream gradient has shape {ShapeUtil.Format(seed.Dims)} but the tensor has shape {ShapeUtil.Format(root.Dims)}.");
        if (root.Node is null)
        {
            root.Grad = Accumulate(root.Grad, seed);
            return;
        }
        var order = TopologicalOrder(root.Node, level);
        root.Node.PendingGrad = seed;
        // The eager graph is the lowest level, so every value its rules read is plain, and with a plain seed
        // every gradient they compute is plain too: nothing recorded can hold one, and the leaves get copies
        // or in-place sums. So the pass's own temporaries are pooled and handed back when it ends, with or
        // without a scope around it (transform levels keep ordinary memory: their gradients are results).
        using var temporaries = level == EagerLevel && seed.Level == 0 ? TensorPool.BeginScope() : default;
        try
        {
            var needs = new bool[8];
            for (int n = order.Count - 1; n >= 0; n--)
            {
                var node = order[n];
                var gy = node.PendingGrad;
                node.PendingGrad = null;
                if (gy is null) continue;
                if (node.Released) throw new BackpropException(
                    $"Backward ran through op '{node.Op.Name}' a second time, but the first Backward() freed the values it saved. " +
                    "Pass retainGraph: true to the first Backward() call if you need to run backward again, or recompute the forward pass.");
                node.CheckSavedValues();
                var inputs = node.Inputs;
                if (needs.Length < inputs.Length) needs = new bool[inputs.Length];
                var needSpan = needs.AsSpan(0, inputs.Length);
                for (int i = 0; i < inputs.Length; i++) needSpan[i] = inputs[i].Level == level;
                var gx = new Tensor?[inputs.Length];
                node.Op.Vjp(gy, node.Primals, node.Output, needSpan, gx);
                for (int i = 0; i < inputs.Length; i++)
                {
                    if (!needSpan[i]) continue;
                    var g = gx[i] ?? throw new BackpropException($"The VJP of op '{node.Op.Name}' gave no gradient for input {i}.");
                    var input = inputs[i];
                    if (!ShapeUtil.SameShape(g.Dims, input.Dims))
                        throw new BackpropException($"The VJP of op '{node.Op.Name}' returned a gradient of shape {ShapeUtil.Format(g.Dims)} for input {i} of shape {ShapeUtil.Format(input.Dims)}.");
                    if (input.Node is { } producer) producer.PendingGrad = Accumulate(producer.PendingGrad, g);
                    else AccumulateIntoLeaf(input, g);
                }
                if (!retainGraph) node.Release();
            }
        }
        finally
        {
            foreach (var node in order) node.PendingGrad = null;
        }
    }

    private static Tensor Accumulate(Tensor? existing, Tensor g) => existing is null ? g : existing + g;

    /// <summary>
    /// Adds a gradient to a leaf's <see cref="Tensor.Grad"/>. A plain gradient is copied the first time (a
    /// rule may hand the same tensor to two inputs, as Add gives gy to both, and an optimizer editing one
    /// .Grad in place must not change the other; it may also be pooled memory of the step) and added in
    /// place after that, as PyTorch's AccumulateGrad does: a training loop that keeps its gradients
    /// (<c>ZeroGrad(setToNone: false)</c>) then allocates nothing for them.
    /// </summary>
    private static void AccumulateIntoLeaf(Tensor leaf, Tensor g)
    {
        var existing = leaf.Grad;
        if (existing is null)
        {
            leaf.Grad = g.Level == 0 ? g.Clone() : g;
            return;
        }
        if (existing.Level == 0 && g.Level == 0 && existing.DType == g.DType && ShapeUtil.SameShape(existing.Dims, g.Dims))
        {
            existing.MarkModified();
            Elementwise.Binary<AddOperator>(existing, g, existing);
            return;
        }
        leaf.Grad = existing + g;
    }

    /// <summary>The nodes reachable from <paramref name="root"/> at <paramref name="level"/>, inputs before users.</summary>
    private static List<Node> TopologicalOrder(Node root, int level)
    {
        // Iterative depth-first post-order: deep graphs (long chains of ops) must not overflow the stack.
        var order = new List<Node>();
        var visited = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Node Node, int NextInput)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            if (next < node.Inputs.Length)
            {
                stack.Push((node, next + 1));
                var input = node.Inputs[next];
                if (input.Level == level && input.Node is { } child && visited.Add(child))
                    stack.Push((child, 0));
            }
            else order.Add(node);
        }
        return order;
    }
}
