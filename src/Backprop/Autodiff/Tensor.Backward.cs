namespace Backprop;

public sealed partial class Tensor
{
    /// <summary>
    /// Backpropagates from this scalar (PyTorch's <c>loss.backward()</c>): every leaf with
    /// <see cref="RequiresGrad"/> that it depends on gets dthis/dleaf added to its <see cref="Grad"/>.
    /// The graph's saved values are freed unless <paramref name="retainGraph"/>.
    /// </summary>
    public void Backward(bool retainGraph = false)
    {
        if (Length != 1)
            throw new ShapeException($"Backward() without an upstream gradient needs a scalar, but this tensor has shape {ShapeUtil.Format(Dims)}. Reduce it (Sum, Mean) or pass the gradient: Backward(gradient).");
        Backward(OnesLike(this), retainGraph);
    }

    /// <summary>Backpropagates a given upstream gradient (dL/dthis, same shape as this tensor).</summary>
    public void Backward(Tensor gradient, bool retainGraph = false)
    {
        var root = Autodiff.AtOrBelow(this, Autodiff.EagerLevel);
        if (root.Level != Autodiff.EagerLevel)
            throw new BackpropException("Backward(): this tensor does not depend on any tensor with RequiresGrad = true (or it was computed under NoGrad), so there is nothing to differentiate.");
        Autodiff.Backward(root, gradient, Autodiff.EagerLevel, retainGraph);
    }

    /// <summary>
    /// Clears <see cref="Grad"/>: drops it (<paramref name="setToNone"/>, the default, as PyTorch's
    /// <c>zero_grad(set_to_none=True)</c>), or fills it with zeros in place so that the next backward pass
    /// adds into the same memory instead of allocating a new gradient (<c>set_to_none=False</c>).
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        if (setToNone || Grad is not { Level: 0 } grad) Grad = null;
        else grad.Fill(0);
    }
}
