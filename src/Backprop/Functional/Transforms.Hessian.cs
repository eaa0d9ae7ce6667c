namespace Backprop;

public static partial class Transforms
{
    /// <summary>
    /// H·v for a scalar f, as forward over reverse: the JVP of x ↦ ∇f(x) along v. It works because
    /// every VJP rule is written with differentiable tensor ops, so the backward pass of the inner
    /// Grad carries the outer tangent. Costs about one gradient evaluation with tangents (a small
    /// multiple of a forward pass), without ever forming H.
    /// </summary>
    public static Tensor HessianVectorProduct(Func<Tensor, Tensor> f, Tensor x, Tensor v)
    {
        CheckSameShapes(nameof(HessianVectorProduct), "direction", [x], [v]);
        return Jvp(Grad(f), x, v).Tangent;
    }

    /// <summary>H·v for a scalar f of several tensors; v has one direction per input, the result one block per input.</summary>
    public static Tensor[] HessianVectorProduct(Func<Tensor[], Tensor> f, Tensor[] x, Tensor[] v)
    {
        CheckInputs(nameof(HessianVectorProduct), x);
        CheckSameShapes(nameof(HessianVectorProduct), "direction", x, v);
        // Jvp takes a single output, so the gradients travel as one flat vector and are split after.
        Tensor FlatGradient(Tensor[] xs)
        {
            var grads = Grad(f, xs);
            var flat = new Tensor[grads.Length];
            for (int i = 0; i < grads.Length; i++) flat[i] = grads[i].Reshape(grads[i].Length);
            return flat.Length == 1 ? flat[0] : TensorOps.Concat(flat, 0);
        }
        var (_, hv) = Jvp(FlatGradient, x, v);
        var result = new Tensor[x.Length];
        int start = 0;
        for (int i = 0; i < x.Length; i++)
        {
            result[i] = hv.Slice(0, start, x[i].Length).Reshape(x[i].Dims);
            start += x[i].Length;
        }
        return result;
    }

    /// <summary>
    /// The Hessian of a scalar f, shape x.Shape ++ x.Shape: the forward-mode Jacobian of the gradient,
    /// every direction in one batched pass over the reverse-mode gradient computation. It has n²
    /// elements for n inputs and costs about n Hessian-vector products, so it is meant for small x;
    /// use <see cref="HessianVectorProduct(Func{Tensor, Tensor}, Tensor, Tensor)"/> otherwise.
    /// </summary>
    public static Tensor Hessian(Func<Tensor, Tensor> f, Tensor x) => JacobianForward(Grad(f), x);

    /// <summary>
    /// The Hessian of a scalar f of several tensors, as blocks: result[i][j] = ∂²f/∂x[i]∂x[j], of shape
    /// x[i].Shape ++ x[j].Shape (torch.autograd.functional.hessian with a tuple of inputs). Row i is the
    /// forward-mode Jacobian of the i-th gradient, so it costs about Σ x[j].Length Hessian-vector products.
    /// </summary>
    public static Tensor[][] Hessian(Func<Tensor[], Tensor> f, Tensor[] x)
    {
        CheckInputs(nameof(Hessian), x);
        var blocks = new Tensor[x.Length][];
        for (int i = 0; i < x.Length; i++)
        {
            int row = i;
            blocks[i] = JacobianForward(xs => Grad(f, xs)[row], x);
        }
        return blocks;
    }
}
