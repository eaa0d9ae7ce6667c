namespace Backprop.Serialization.Onnx;

/// <summary>
/// Collects nodes and initializers for one graph, giving every node a unique name ("Gemm_0", …) and
/// checking that each value name is produced once, as ONNX's single-assignment rule requires.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly List<OnnxNode> _nodes = [];
    private readonly List<OnnxTensor> _initializers = [];
    private readonly HashSet<string> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _opCounts = new(StringComparer.Ordinal);

    public IReadOnlyList<OnnxNode> Nodes => _nodes;
    public IReadOnlyList<OnnxTensor> Initializers => _initializers;

    /// <summary>Declares a graph input's name.</summary>
    public string Input(string name)
    {
        Claim(name);
        return name;
    }

    /// <summary>Adds a constant tensor and returns its name.</summary>
    public string Initializer(OnnxTensor tensor)
    {
        Claim(tensor.Name);
        _initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>Adds a node with one output named <paramref name="output"/> and returns that name.</summary>
    public string Node(string opType, string[] inputs, string output, params OnnxAttribute[] attributes) =>
        NodeIn("", opType, inputs, output, attributes);

    /// <summary>As <see cref="Node"/>, for an operator of another domain (ai.onnx.ml).</summary>
    public string NodeIn(string domain, string opType, string[] inputs, string output, params OnnxAttribute[] attributes)
    {
        foreach (var i in inputs)
        {
            if (i.Length > 0 && !_values.Contains(i)) throw new InvalidOperationException($"ONNX node {opType} reads '{i}' before anything produces it.");
        }
        Claim(output);
        _opCounts.TryGetValue(opType, out int n);
        _opCounts[opType] = n + 1;
        _nodes.Add(new OnnxNode(opType, $"{opType}_{n}", inputs, [output], attributes, domain));
        return output;
    }

    private void Claim(string name)
    {
        if (name.Length == 0 || !_values.Add(name)) throw new InvalidOperationException($"ONNX value name '{name}' is empty or used twice.");
    }
}
