namespace Backprop;

/// <summary>
/// The differentiable operations on tensors, as extension methods (<c>x.Exp()</c>, <c>a.MatMul(b)</c>)
/// that can also be called statically (<c>TensorOps.Exp(x)</c>). Each op family's file in Ops/ holds
/// its public functions next to its Op class with the forward computation, JVP and VJP.
/// </summary>
public static partial class TensorOps
{
    /// <summary>A zeroed output tensor: from the <see cref="TensorPool"/> inside a scope, otherwise fresh memory.</summary>
    internal static Tensor NewOutput(int[] dims, DType dtype) =>
        TensorPool.TryRent(ShapeUtil.Product(dims), dtype, clear: true) is { } storage ? new(storage, 0, dims, dtype) : new(dims, dtype);

    /// <summary>
    /// An output tensor whose values are unspecified (pooled memory is not zeroed): only for kernels that
    /// write every element.
    /// </summary>
    internal static Tensor NewOutputToOverwrite(int[] dims, DType dtype) =>
        TensorPool.TryRent(ShapeUtil.Product(dims), dtype, clear: false) is { } storage ? new(storage, 0, dims, dtype) : new(dims, dtype);

    internal static void CheckSameDType(Tensor a, Tensor b, string opName)
    {
        if (a.DType != b.DType)
            throw new BackpropException($"{opName}: operands have different dtypes ({a.DType.Name()} and {b.DType.Name()}). Convert one with To(DType).");
    }
}
