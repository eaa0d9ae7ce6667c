using System.Globalization;
using System.Text;

namespace Backprop.Nn;

/// <summary>
/// A piece of a network: a function of one tensor that may own trainable parameters. Parameter names
/// follow PyTorch's <c>named_parameters()</c> ("weight", and "0.weight" inside a Sequential), so that
/// optimizer state and checkpoints can be matched by name.
/// </summary>
public abstract class Module
{
    /// <summary>Applies the module to a batch.</summary>
    public abstract Tensor Forward(Tensor x);

    /// <summary>This module's trainable tensors with their dotted names, in a fixed order.</summary>
    public virtual IEnumerable<(string Name, Tensor Parameter)> NamedParameters() => [];

    /// <summary>The trainable tensors in the order of <see cref="NamedParameters"/>.</summary>
    public IEnumerable<Tensor> Parameters()
    {
        foreach (var (_, parameter) in NamedParameters()) yield return parameter;
    }

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount
    {
        get
        {
            long count = 0;
            foreach (var (_, parameter) in NamedParameters()) count += parameter.Length;
            return count;
        }
    }

    /// <summary>Clears every parameter's gradient (PyTorch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var (_, parameter) in NamedParameters()) parameter.ZeroGrad();
    }

    /// <summary>One line in PyTorch's repr style, e.g. <c>Linear(in_features=30, out_features=16, bias=True)</c>.</summary>
    public abstract override string ToString();

    /// <summary>The architecture (as <see cref="ToString"/>) followed by every parameter's name, shape and size, and the total.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.AppendLine(ToString());
        var rows = new List<(string Name, string Shape, string Count)>();
        foreach (var (name, parameter) in NamedParameters())
            rows.Add((name, ShapeUtil.Format(parameter.Shape), parameter.Length.ToString("N0", CultureInfo.InvariantCulture)));
        if (rows.Count == 0)
        {
            sb.Append("No trainable parameters.");
            return sb.ToString();
        }
        int nameWidth = Math.Max(9, rows.Max(r => r.Name.Length));
        int shapeWidth = Math.Max(5, rows.Max(r => r.Shape.Length));
        sb.Append("parameter".PadRight(nameWidth)).Append("  ").Append("shape".PadRight(shapeWidth)).AppendLine("  count");
        foreach (var (name, shape, count) in rows)
            sb.Append(name.PadRight(nameWidth)).Append("  ").Append(shape.PadRight(shapeWidth)).Append("  ").AppendLine(count);
        sb.Append("total: ").Append(ParameterCount.ToString("N0", CultureInfo.InvariantCulture)).Append(" trainable parameters");
        return sb.ToString();
    }
}
