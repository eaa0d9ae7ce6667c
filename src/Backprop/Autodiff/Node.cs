namespace Backprop;

/// <summary>
/// A recorded op application in a reverse-mode graph at one level: what produced a tensor, from what,
/// and the values its VJP needs. Nodes only point backwards (to inputs), so a graph is freed as soon
/// as the loss tensor is.
/// </summary>
internal sealed class Node
{
    public readonly Op Op;
    /// <summary>The inputs as given (some at this node's level, through which gradients flow).</summary>
    public readonly Tensor[] Inputs;
    public readonly int Level;
    private Tensor[]? _primals;
    private Tensor? _output;
    private readonly int[] _inputVersions;
    private readonly int _outputVersion;
    /// <summary>The gradient of the output accumulated so far during a backward pass.</summary>
    public Tensor? PendingGrad;
    public bool Released;

    public Node(Op op, Tensor[] inputs, Tensor[] primals, Tensor output, int level)
    {
        Op = op;
        Inputs = inputs;
        Level = level;
        _primals = primals;
        _output = output;
        _inputVersions = new int[primals.Length];
        for (int i = 0; i < primals.Length; i++) _inputVersions[i] = primals[i].Storage.Version;
        _outputVersion = output.Storage.Version;
    }

    public Tensor[] Primals => _primals ?? throw ReleasedError();
    public Tensor Output => _output ?? throw ReleasedError();

    private BackpropException ReleasedError() => new(
        $"Backward ran through op '{Op.Name}' a second time, but the first Backward() freed the values it saved. " +
        "Pass retainGraph: true to the first Backward() call if you need to run backward again, or recompute the forward pass.");

    /// <summary>Throws if a value this node's VJP reads was changed in place after the forward pass.</summary>
    public void CheckSavedValues()
    {
        var primals = Primals;
        if (Op.VjpReadsInputs)
            for (int i = 0; i < primals.Length; i++)
                if (primals[i].Storage.Version != _inputVersions[i])
                    throw ModifiedError($"input {i}", primals[i]);
        if (Op.VjpReadsOutput && Output.Storage.Version != _outputVersion)
            throw ModifiedError("output", Output);
    }

    private BackpropException ModifiedError(string which, Tensor t) => new(
        $"A tensor saved for backward by op '{Op.Name}' ({which}, shape {ShapeUtil.Format(t.Dims)}) was modified in place after the forward pass. " +
        "Modify a Clone() instead, or make the change before computing the values that depend on it.");

    public void Release()
    {
        _primals = null;
        _output = null;
        Released = true;
    }
}
