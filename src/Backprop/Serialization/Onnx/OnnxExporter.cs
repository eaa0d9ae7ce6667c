using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Serialization.Onnx;

/// <summary>What an exported model is made of: the network and everything applied before and after it.</summary>
public sealed class OnnxExportSource
{
    /// <summary>Linear layers and activations, as <c>Mlp.Create</c> builds them.</summary>
    public required Sequential Network { get; init; }
    public required TaskKind Task { get; init; }
    /// <summary>The columns of the <c>features</c> input, in order.</summary>
    public required IReadOnlyList<string> FeatureNames { get; init; }
    /// <summary>The standardisation fitted on the training rows, applied first.</summary>
    public required Standardizer Inputs { get; init; }
    /// <summary>Class labels in class-index order (empty for regression).</summary>
    public IReadOnlyList<string> ClassLabels { get; init; } = [];
    public string TargetName { get; init; } = "";
    /// <summary>Regression outputs are undone as y = mean + scale · output.</summary>
    public double TargetMean { get; init; }
    public double TargetScale { get; init; } = 1;
    /// <summary>Further key/value pairs for the file's metadata_props.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Writes a trained MLP as an ONNX model (opset 17, IR version 8, so that onnx 1.12's checker and every
/// ONNX Runtime since 1.13 read it). The graph, for a network of dtype T (float or double):
/// <code>
/// features (N, F) T ─ Sub(mean) ─ Div(scale) ─ [Gemm(W, b, transB=1) ─ activation]… ─ Gemm ─ head
/// head, binary:      Sigmoid → p; Concat(1 − p, p) → probabilities (N, 2) T; ArgMax → class_index (N) int64; Gather(labels) → label (N) string
/// head, multiclass:  Softmax(axis 1) → probabilities (N, K) T; ArgMax → class_index; Gather(labels) → label
/// head, regression:  Mul(target scale) ─ Add(target mean) → prediction (N, 1) T, in the target's units
/// </code>
/// Weights keep their PyTorch names ("0.weight" of shape (out, in), hence transB). The metadata carries
/// the feature names, class labels, target and task, so a consumer needs nothing but the file.
/// </summary>
public static class OnnxExporter
{
    public const int Opset = 17;
    public const int IrVersion = 8;
    public const string Format = "backprop-mlp-onnx/1";
    public const string FeaturesInput = "features";
    public const string ProbabilitiesOutput = "probabilities";
    public const string ClassIndexOutput = "class_index";
    public const string LabelOutput = "label";
    public const string PredictionOutput = "prediction";

    /// <summary>The ONNX file's bytes.</summary>
    public static byte[] Export(OnnxExportSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var linear = source.Network.Layers.OfType<Linear>().ToArray();
        if (linear.Length == 0) throw new BackpropException("The network has no Linear layer to export.");
        var dtype = linear[0].DType;
        var t = dtype == DType.Float64 ? OnnxDataType.Double : OnnxDataType.Float;
        int features = linear[0].InFeatures;
        if (source.FeatureNames.Count != features || source.Inputs.Features != features)
            throw new BackpropException($"The model disagrees with itself: the first layer takes {features} inputs, but there are {source.FeatureNames.Count} feature names and {source.Inputs.Features} standardisation columns.");
        int outputs = linear[^1].OutFeatures;
        int classes = source.ClassLabels.Count;
        switch (source.Task)
        {
            case TaskKind.Binary when outputs != 1 || classes != 2:
            case TaskKind.Multiclass when outputs != classes || classes < 2:
                throw new BackpropException($"A {source.Task.ToString().ToLowerInvariant()} model with {outputs} outputs cannot have {classes} class labels.");
            case TaskKind.Regression when outputs != 1:
                throw new BackpropException($"Only single-target regression models are exported; this one has {outputs} outputs.");
        }

        var g = new OnnxGraphBuilder();
        long[] row = [1, features];
        string x = g.Input(FeaturesInput);
        x = g.Node("Sub", [x, g.Initializer(OnnxTensor.Of(t, "input_mean", row, source.Inputs.Mean))], "centred");
        x = g.Node("Div", [x, g.Initializer(OnnxTensor.Of(t, "input_scale", row, source.Inputs.Scale))], "standardized");

        // Parameters by identity, for their PyTorch names ("0.weight", …).
        var named = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        foreach (var (pname, parameter) in source.Network.NamedParameters()) named[parameter] = pname;
        int layer = 0;
        foreach (var module in source.Network.Layers)
        {
            string output = $"h{layer++}";
            x = module switch
            {
                Linear l => g.Node("Gemm", LinearInputs(g, x, l, named, t), output, OnnxAttribute.Int("transB", 1)),
                ReLU => g.Node("Relu", [x], output),
                LeakyReLU leaky => g.Node("LeakyRelu", [x], output, OnnxAttribute.Float("alpha", (float)leaky.NegativeSlope)),
                Tanh => g.Node("Tanh", [x], output),
                Sigmoid => g.Node("Sigmoid", [x], output),
                Softplus => g.Node("Softplus", [x], output),
                Identity => x,
                _ => throw new BackpropException($"The layer {module} has no ONNX translation; only Linear, ReLU, LeakyReLU, Tanh, Sigmoid, Softplus and Identity layers are exported."),
            };
        }

        var outputsInfo = new List<OnnxValueInfo>();
        if (source.Task == TaskKind.Regression)
        {
            x = g.Node("Mul", [x, g.Initializer(OnnxTensor.Of(t, "target_scale", [1], [source.TargetScale]))], "prediction_scaled");
            g.Node("Add", [x, g.Initializer(OnnxTensor.Of(t, "target_mean", [1], [source.TargetMean]))], PredictionOutput);
            outputsInfo.Add(new OnnxValueInfo(PredictionOutput, t, [null, 1], $"The predicted {source.TargetName} in its own units (target standardisation undone)."));
        }
        else
        {
            if (source.Task == TaskKind.Binary)
            {
                string p = g.Node("Sigmoid", [x], "p_positive");
                string q = g.Node("Sub", [g.Initializer(OnnxTensor.Of(t, "one", [1], [1.0])), p], "p_negative");
                g.Node("Concat", [q, p], ProbabilitiesOutput, OnnxAttribute.Int("axis", 1));
            }
            else g.Node("Softmax", [x], ProbabilitiesOutput, OnnxAttribute.Int("axis", 1));
            g.Node("ArgMax", [ProbabilitiesOutput], ClassIndexOutput, OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 0));
            g.Node("Gather", [g.Initializer(OnnxTensor.Strings("class_labels", [classes], [.. source.ClassLabels])), ClassIndexOutput], LabelOutput, OnnxAttribute.Int("axis", 0));
            string labels = string.Join(", ", source.ClassLabels);
            outputsInfo.Add(new OnnxValueInfo(LabelOutput, OnnxDataType.String, [null], $"The most likely {source.TargetName}: one of {labels}."));
            outputsInfo.Add(new OnnxValueInfo(ProbabilitiesOutput, t, [null, classes], $"Probability of each class, columns in the order {labels}; rows sum to 1."));
            outputsInfo.Add(new OnnxValueInfo(ClassIndexOutput, OnnxDataType.Int64, [null], "Index of the most likely class (the column of probabilities)."));
        }

        var metadata = new List<KeyValuePair<string, string>>
        {
            new("format", Format),
            new("task", source.Task.ToString().ToLowerInvariant()),
            new("target", source.TargetName),
            new("feature_names", JsonSerializer.Serialize(source.FeatureNames)),
            new("class_labels", JsonSerializer.Serialize(source.ClassLabels)),
        };
        foreach (var (key, value) in source.Metadata)
        {
            if (metadata.Any(m => m.Key == key)) throw new ArgumentException($"Metadata key '{key}' is reserved for the exporter.", nameof(source));
            metadata.Add(new(key, value));
        }

        var model = new OnnxModel
        {
            IrVersion = IrVersion,
            Opsets = [("", Opset)],
            ProducerName = "backprop",
            ProducerVersion = ProducerVersion(),
            GraphName = "backprop_mlp",
            Doc = $"{Describe(source, linear)}. Input '{FeaturesInput}': raw feature values, one row per example, columns {string.Join(", ", source.FeatureNames)}; the standardisation fitted on the training rows is part of the graph.",
            Nodes = g.Nodes,
            Initializers = g.Initializers,
            Inputs = [new OnnxValueInfo(FeaturesInput, t, [null, features], $"Raw (unstandardised) features, columns in the order {string.Join(", ", source.FeatureNames)}.")],
            Outputs = outputsInfo,
            Metadata = metadata,
        };
        return model.Encode();
    }

    private static string[] LinearInputs(OnnxGraphBuilder g, string x, Linear l, Dictionary<Tensor, string> named, OnnxDataType t)
    {
        string Add(Tensor p) => g.Initializer(OnnxTensor.Of(t, named.TryGetValue(p, out var n) ? n : throw new BackpropException("A Linear layer's weights are not among the network's parameters."),
            p.Shape.ToArray().Select(d => (long)d).ToArray(), p.Detach().ToDoubleArray()));
        return l.Bias is null ? [x, Add(l.Weight)] : [x, Add(l.Weight), Add(l.Bias)];
    }

    private static string Describe(OnnxExportSource source, Linear[] linear) =>
        $"Backprop {string.Join("-", linear.Select(l => l.InFeatures).Append(linear[^1].OutFeatures))} MLP, task {source.Task.ToString().ToLowerInvariant()}, target '{source.TargetName}'";

    private static string ProducerVersion() =>
        typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0";
}
