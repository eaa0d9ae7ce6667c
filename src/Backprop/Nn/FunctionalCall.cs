namespace Backprop.Nn;

/// <summary>
/// A network as a pure function of its parameters (torch.func.functional_call): the same layers, but
/// with weights passed in, so transforms such as forward-mode differentiation can differentiate with
/// respect to them.
/// </summary>
public static class FunctionalCall
{
    /// <summary>
    /// f(parameters) = head(network(x)) with <paramref name="network"/>'s layers and the given parameter
    /// tensors in <see cref="Module.NamedParameters"/> order.
    /// </summary>
    public static Func<Tensor[], Tensor> Of(Sequential network, Tensor x, Func<Tensor, Tensor> head)
    {
        var layers = network.Layers.ToArray();
        int expected = network.NamedParameters().Count();
        return parameters =>
        {
            if (parameters.Length != expected)
                throw new BackpropException($"The network has {expected} parameter tensors but {parameters.Length} were given.");
            var a = x;
            int next = 0;
            foreach (var layer in layers)
            {
                if (layer is Linear linear)
                {
                    a = a.MatMul(parameters[next++], transposeB: true);
                    if (linear.Bias is not null) a += parameters[next++];
                }
                else if (!layer.NamedParameters().Any()) a = layer.Forward(a);
                else throw new BackpropException($"FunctionalCall supports Linear and parameter-free layers; {layer} has its own parameters.");
            }
            return head(a);
        };
    }
}
