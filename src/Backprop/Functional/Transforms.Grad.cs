namespace Backprop;

public static partial class Transforms
{
    /// <summary>
    /// The gradient of a scalar function (JAX's <c>grad</c>): one forward pass recording a graph at a
    /// fresh level, one backward pass seeded with 1. Each gradient has its input's shape. The result
    /// keeps the derivative information of any transform running around this one, so calls nest
    /// (<c>Grad(Grad(f))</c>, <c>Jvp(Grad(f), x, v)</c>).
    /// </summary>
    /// <exception cref="ShapeException">f returns more than one element.</exception>
    public static Tensor[] Grad(Func<Tensor[], Tensor> f, Tensor[] x) => ValueAndGrad(f, x).Gradients;

    /// <summary>The gradient of a scalar function of one tensor, in that tensor's shape.</summary>
    public static Tensor Grad(Func<Tensor, Tensor> f, Tensor x) => ValueAndGrad(f, x).Gradient;

    /// <summary>The gradient as a function, so that it can be differentiated again: Grad(Grad(f)) is f''.</summary>
    public static Func<Tensor, Tensor> Grad(Func<Tensor, Tensor> f) => x => Grad(f, x);

    /// <summary>The gradients with respect to every input, as a function.</summary>
    public static Func<Tensor[], Tensor[]> Grad(Func<Tensor[], Tensor> f) => x => Grad(f, x);

    /// <summary>f(x) and its gradients from the same forward pass.</summary>
    public static (Tensor Value, Tensor[] Gradients) ValueAndGrad(Func<Tensor[], Tensor> f, Tensor[] x)
    {
        CheckInputs(nameof(Grad), x);
        var (level, leaves, output) = Record(f, x);
        if (output.Length != 1)
            throw new ShapeException($"Grad needs f to return a single element (a loss), but f returned shape {ShapeUtil.Format(output.Dims)}. Reduce it with Sum() or Mean(), or use Vjp or JacobianReverse for a function with several outputs.");
        var value = output;
        if (output.Level == level)
        {
            Autodiff.Backward(output, Tensor.OnesLike(output), level, retainGraph: false);
            value = output.PrimalTensor!;
        }
        return (value, CollectGradients(leaves, x));
    }

    /// <summary>f(x) and its gradient, for a function of one tensor.</summary>
    public static (Tensor Value, Tensor Gradient) ValueAndGrad(Func<Tensor, Tensor> f, Tensor x)
    {
        var (value, grads) = ValueAndGrad(xs => f(xs[0]), [x]);
        return (value, grads[0]);
    }

    /// <summary>
    /// Runs f on reverse-mode leaves wrapping <paramref name="x"/> at a fresh level, and returns the
    /// output seen at that level (lower if f's output does not depend on x).
    /// </summary>
    private static (int Level, Tensor[] Leaves, Tensor Output) Record(Func<Tensor[], Tensor> f, Tensor[] x)
    {
        int level = Autodiff.NewLevel();
        var leaves = new Tensor[x.Length];
        for (int i = 0; i < x.Length; i++) leaves[i] = Autodiff.MakeTracked(x[i], null, level);
        var y = f(leaves) ?? throw new BackpropException("The function being differentiated returned null.");
        return (level, leaves, Autodiff.AtOrBelow(y, level));
    }

    /// <summary>The leaves' gradients (zero for inputs f did not use), clearing them for the next sweep.</summary>
    private static Tensor[] CollectGradients(Tensor[] leaves, Tensor[] x)
    {
        var grads = new Tensor[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            grads[i] = leaves[i].Grad ?? Tensor.ZerosLike(x[i]);
            leaves[i].Grad = null;
        }
        return grads;
    }

    private static void CheckInputs(string caller, Tensor[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Length == 0) throw new BackpropException($"{caller}: give at least one input tensor to differentiate with respect to.");
        for (int i = 0; i < x.Length; i++)
            if (x[i] is null) throw new BackpropException($"{caller}: input {i} is null.");
    }

    private static void CheckSameShapes(string caller, string what, Tensor[] x, Tensor[] v)
    {
        if (x.Length != v.Length)
            throw new BackpropException($"{caller}: {x.Length} inputs but {v.Length} {what}s; give one {what} per input.");
        for (int i = 0; i < x.Length; i++)
            if (!ShapeUtil.SameShape(x[i].Dims, v[i].Dims))
                throw new ShapeException($"{caller}: {what} {i} has shape {ShapeUtil.Format(v[i].Dims)} but input {i} has shape {ShapeUtil.Format(x[i].Dims)}; they must match.");
    }
}
