using System.Globalization;
using System.Text;

namespace Backprop;

public sealed partial class Tensor
{
    /// <summary>
    /// Shape, dtype and values, nested by dimension like NumPy; long dimensions show their first and
    /// last three entries around an ellipsis.
    /// </summary>
    public override string ToString() => ToString(maxPerDim: 6, format: "G6");

    public string ToString(int maxPerDim, string format)
    {
        var sb = new StringBuilder();
        sb.Append("Tensor ").Append(ShapeUtil.Format(Dims)).Append(' ').Append(DType.Name());
        if (Node is not null) sb.Append(", grad_fn=").Append(Node.Op.Name);
        else if (RequiresGrad) sb.Append(", requires_grad");
        sb.Append('\n');
        var values = ToDoubleArray();
        AppendLevel(sb, values, 0, 0, maxPerDim, format);
        return sb.ToString();
    }

    private void AppendLevel(StringBuilder sb, double[] values, int dim, int offset, int maxPerDim, string format)
    {
        if (Rank == 0)
        {
            sb.Append(values[0].ToString(format, CultureInfo.InvariantCulture));
            return;
        }
        int n = Dims[dim];
        int stride = 1;
        for (int i = dim + 1; i < Rank; i++) stride *= Dims[i];
        bool elide = n > maxPerDim;
        sb.Append('[');
        for (int i = 0; i < n; i++)
        {
            if (elide && i == maxPerDim / 2)
            {
                sb.Append(dim == Rank - 1 ? "…, " : "…,\n" + new string(' ', dim + 1));
                i = n - maxPerDim / 2 - 1;
                continue;
            }
            if (dim == Rank - 1) sb.Append(values[offset + i].ToString(format, CultureInfo.InvariantCulture));
            else AppendLevel(sb, values, dim + 1, offset + i * stride, maxPerDim, format);
            if (i < n - 1) sb.Append(dim == Rank - 1 ? ", " : ",\n" + new string(' ', dim + 1));
        }
        sb.Append(']');
    }
}
