namespace Backprop;

/// <summary>An op produced NaN or ∞ from finite inputs, found by <see cref="Autodiff.DetectNonFinite"/>.</summary>
public sealed class NonFiniteException(string message, string opName) : BackpropException(message)
{
    /// <summary>The op that made the first non-finite value ("Exp", "Div", …).</summary>
    public string OpName { get; } = opName;

    internal static void Check(Op op, Tensor[] inputs, Tensor output)
    {
        int bad = FirstNonFinite(output);
        if (bad < 0) return;
        foreach (var x in inputs)
            if (FirstNonFinite(x) >= 0) return; // not this op's doing: it only passed a NaN on
        double value = output.DType == DType.Float32 ? output.Span<float>()[bad] : output.Span<double>()[bad];
        string shapes = string.Join(" and ", inputs.Select(x => ShapeUtil.Format(x.Dims)));
        throw new NonFiniteException(
            $"op '{op.Describe()}' produced {value} (element {bad} of its {ShapeUtil.Format(output.Dims)} output) from finite inputs of shape {shapes}",
            op.Name);
    }

    private static int FirstNonFinite(Tensor t)
    {
        if (t.DType == DType.Float32)
        {
            var s = t.Span<float>();
            if (System.Numerics.Tensors.TensorPrimitives.Sum(s) is var sum && float.IsFinite(sum)) return -1;
            for (int i = 0; i < s.Length; i++) if (!float.IsFinite(s[i])) return i;
        }
        else
        {
            var s = t.Span<double>();
            if (System.Numerics.Tensors.TensorPrimitives.Sum(s) is var sum && double.IsFinite(sum)) return -1;
            for (int i = 0; i < s.Length; i++) if (!double.IsFinite(s[i])) return i;
        }
        return -1;
    }
}
