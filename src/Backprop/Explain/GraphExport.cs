using System.Text;

namespace Backprop.Explain;

/// <summary>
/// The computation graph of a loss as Graphviz DOT or Mermaid: one box per op and per input, labelled
/// with the op, the value's shape and the norm of its gradient; edges run from inputs to users (a value
/// used twice has two edges).
/// </summary>
public static class GraphExport
{
    public static string ToDot(GraphTrace trace)
    {
        var sb = new StringBuilder();
        sb.Append("digraph backprop {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
        foreach (var (id, label, kind) in Boxes(trace))
        {
            string style = kind switch
            {
                Kind.Input => ", style=filled, fillcolor=\"#dbeafe\"",
                Kind.Constant => ", style=dashed",
                _ => ", style=rounded",
            };
            sb.Append($"  {id} [label=\"{DotEscape(label)}\"{style}];\n");
        }
        foreach (var (from, to, label) in Edges(trace)) sb.Append($"  {from} -> {to} [label=\"{DotEscape(label)}\"];\n");
        sb.Append("}\n");
        return sb.ToString();
    }

    public static string ToMermaid(GraphTrace trace)
    {
        var sb = new StringBuilder();
        sb.Append("flowchart LR\n");
        foreach (var (id, label, kind) in Boxes(trace))
        {
            string text = MermaidEscape(label);
            sb.Append(kind switch
            {
                Kind.Input => $"  {id}[/\"{text}\"/]\n",
                Kind.Constant => $"  {id}([\"{text}\"])\n",
                _ => $"  {id}[\"{text}\"]\n",
            });
        }
        foreach (var (from, to, label) in Edges(trace)) sb.Append($"  {from} -->|\"{MermaidEscape(label)}\"| {to}\n");
        return sb.ToString();
    }

    /// <summary>Records <paramref name="f"/> at <paramref name="inputs"/> and exports its graph as DOT.</summary>
    public static string ToDot(Func<Tensor[], Tensor> f, Tensor[] inputs, string[]? names = null) => ToDot(GraphTrace.Explain(f, inputs, names));

    /// <summary>Records <paramref name="f"/> at <paramref name="inputs"/> and exports its graph as Mermaid.</summary>
    public static string ToMermaid(Func<Tensor[], Tensor> f, Tensor[] inputs, string[]? names = null) => ToMermaid(GraphTrace.Explain(f, inputs, names));

    /// <summary>The eager graph behind a loss (RequiresGrad parameters) as DOT.</summary>
    public static string ToDot(Tensor loss, IReadOnlyList<(string Name, Tensor Tensor)>? names = null) => ToDot(GraphTrace.FromTensor(loss, names));

    /// <summary>The eager graph behind a loss (RequiresGrad parameters) as Mermaid.</summary>
    public static string ToMermaid(Tensor loss, IReadOnlyList<(string Name, Tensor Tensor)>? names = null) => ToMermaid(GraphTrace.FromTensor(loss, names));

    private enum Kind { Input, Constant, Op }

    private static IEnumerable<(string Id, string Label, Kind Kind)> Boxes(GraphTrace trace)
    {
        foreach (var leaf in trace.Leaves)
        {
            string grad = leaf.Gradient is { } g ? $"\n‖grad‖ = {GraphTrace.Norm(g)}" : "\nconstant";
            yield return (Id(leaf.Name), $"{leaf.Name}\n{ShapeUtil.Format(leaf.Value.Shape)}{grad}", leaf.IsConstant ? Kind.Constant : Kind.Input);
        }
        foreach (var node in trace.Nodes.Reverse())
        {
            string grad = node.Gradient is { } g ? $"‖grad‖ = {GraphTrace.Norm(g)}" : "no gradient";
            yield return (Id(node.Name), $"{node.Name} = {node.Op}\n{ShapeUtil.Format(node.OutputShape)}\n{grad}", Kind.Op);
        }
    }

    /// <summary>
    /// Every edge with its rule: the VJP the op sends back along it (∂L/∂input += VJP of the op), with
    /// that gradient's norm, or "constant" where nothing flows back.
    /// </summary>
    private static IEnumerable<(string From, string To, string Label)> Edges(GraphTrace trace)
    {
        foreach (var node in trace.Nodes.Reverse())
            for (int i = 0; i < node.InputNames.Count; i++)
            {
                string op = node.Op.Split('(')[0];
                string label = node.InputGradients[i] is { } g
                    ? $"∂{trace.OutputName}/∂{node.InputNames[i]} += {op} VJP, ‖·‖ = {GraphTrace.Norm(g)}"
                    : $"{op} (constant input, no gradient)";
                yield return (Id(node.InputNames[i]), Id(node.Name), label);
            }
    }

    /// <summary>A node id both formats accept: the value's name with other characters spelled out.</summary>
    private static string Id(string name)
    {
        var sb = new StringBuilder("v_");
        foreach (char ch in name)
            sb.Append(char.IsAsciiLetterOrDigit(ch) ? ch : ch == '.' ? 'p' : ch == '-' ? 'm' : ch == '[' ? '_' : ch == ']' ? '_' : ch == 'ŷ' ? 'Y' : '_');
        return sb.ToString();
    }

    private static string DotEscape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    // Mermaid takes HTML entities inside quoted labels and <br/> for line breaks.
    private static string MermaidEscape(string s) => s.Replace("\"", "#quot;").Replace("\n", "<br/>");
}
