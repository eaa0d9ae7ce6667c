namespace Backprop;

/// <summary>
/// Function transforms in the style of JAX and torch.func: derivatives of functions of tensors, each
/// run at a fresh differentiation level so that they nest without perturbation confusion.
/// </summary>
public static partial class Transforms
{
    /// <summary>
    /// Forward mode: f(x) and the Jacobian-vector product J·v from one forward pass, with no graph
    /// recorded and no backward pass. Each input carries its tangent through every op's JVP.
    /// </summary>
    public static (Tensor Value, Tensor Tangent) Jvp(Func<Tensor[], Tensor> f, Tensor[] primals, Tensor[] tangents)
    {
        if (primals.Length != tangents.Length)
            throw new BackpropException($"Jvp: {primals.Length} primals but {tangents.Length} tangents; give one tangent per input.");
        int level = Autodiff.NewLevel();
        var duals = new Tensor[primals.Length];
        for (int i = 0; i < primals.Length; i++)
        {
            if (!ShapeUtil.SameShape(primals[i].Dims, tangents[i].Dims))
                throw new ShapeException($"Jvp: tangent {i} has shape {ShapeUtil.Format(tangents[i].Dims)} but its input has shape {ShapeUtil.Format(primals[i].Dims)}.");
            duals[i] = Autodiff.MakeDual(primals[i], tangents[i], level);
        }
        var y = f(duals);
        var output = Autodiff.AtOrBelow(y, level);
        if (output.Level < level) return (output, Tensor.ZerosLike(output));
        return (output.PrimalTensor!, output.TangentTensor!);
    }

    /// <summary>Jvp for a function of one tensor.</summary>
    public static (Tensor Value, Tensor Tangent) Jvp(Func<Tensor, Tensor> f, Tensor x, Tensor v) =>
        Jvp(xs => f(xs[0]), [x], [v]);

    /// <summary>
    /// Reverse mode: f(x) and the vector-Jacobian product Jᵀ·w for each input, from one forward pass
    /// that records a graph and one backward pass over it.
    /// </summary>
    public static (Tensor Value, Tensor[] Cotangents) Vjp(Func<Tensor[], Tensor> f, Tensor[] primals, Tensor cotangent)
    {
        int level = Autodiff.NewLevel();
        var leaves = new Tensor[primals.Length];
        for (int i = 0; i < primals.Length; i++) leaves[i] = Autodiff.MakeTracked(primals[i], null, level);
        var y = f(leaves);
        var output = Autodiff.AtOrBelow(y, level);
        if (!ShapeUtil.SameShape(output.Dims, cotangent.Dims))
            throw new ShapeException($"Vjp: the cotangent has shape {ShapeUtil.Format(cotangent.Dims)} but f returns shape {ShapeUtil.Format(output.Dims)}.");
        var grads = new Tensor[primals.Length];
        if (output.Level == level)
        {
            Autodiff.Backward(output, cotangent, level, retainGraph: false);
            output = output.PrimalTensor!;
        }
        for (int i = 0; i < primals.Length; i++) grads[i] = leaves[i].Grad ?? Tensor.ZerosLike(primals[i]);
        return (output, grads);
    }

    /// <summary>Vjp for a function of one tensor.</summary>
    public static (Tensor Value, Tensor Cotangent) Vjp(Func<Tensor, Tensor> f, Tensor x, Tensor w)
    {
        var (value, grads) = Vjp(xs => f(xs[0]), [x], w);
        return (value, grads[0]);
    }
}
