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
    /// <summary>
    /// The raw columns and how each becomes network inputs, as fitted on the training rows (imputation,
    /// missing indicators, one-hot categories, standardisation); applied first, inside the graph.
    /// </summary>
    public required IReadOnlyList<OnnxColumn> Columns { get; init; }
    /// <summary>The network inputs' names, in order ("age", "age (missing)", "colour=red").</summary>
    public required IReadOnlyList<string> NetworkInputs { get; init; }
    /// <summary>Missing values are imputed (numbers: <see cref="OnnxColumn.Fill"/>; categories: <see cref="OnnxColumn.FillCategory"/>).</summary>
    public bool ImputeMissing { get; init; }
    /// <summary>The training policies, recorded in the metadata ("error", "impute", "ignore", …).</summary>
    public string MissingPolicy { get; init; } = "error";
    public string UnknownPolicy { get; init; } = "error";
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
/// One raw column and its network inputs <see cref="Offset"/> .. Offset + <see cref="Width"/> − 1. Numeric:
/// (x − Mean) / Scale, a missing x replaced by Fill, and with <see cref="MissingIndicator"/> a second input
/// that is 1 where x was missing. Categorical: one 0/1 input per category in <see cref="Categories"/>
/// order; a missing value becomes <see cref="FillCategory"/>, an unseen one all zeros.
/// </summary>
public sealed record OnnxColumn
{
    public required string Name { get; init; }
    public required bool Categorical { get; init; }
    public required int Offset { get; init; }
    public double Mean { get; init; }
    public double Scale { get; init; } = 1;
    public double Fill { get; init; }
    public bool MissingIndicator { get; init; }
    public IReadOnlyList<string> Categories { get; init; } = [];
    public string? FillCategory { get; init; }
    /// <summary>The categories are numbers (matched by value; the graph input is float32).</summary>
    public bool NumericCategories { get; init; }
    public int Width => Categorical ? Categories.Count : MissingIndicator ? 2 : 1;
}

/// <summary>
/// Writes a trained MLP as an ONNX model (opset 17, IR version 8, so that onnx 1.12's checker and every
/// ONNX Runtime since 1.13 read it) with its whole preprocessing in the graph. For a network of dtype T
/// (float or double):
/// <code>
/// features (N, F) T     ─ [IsNaN → Where(fill)] ─ Sub(mean) ─ Div(scale)          numeric columns, NaN = missing
///                          └ IsNaN → Cast → Gather                                "(missing)" indicator inputs
/// colour (N, 1) string  ─ LabelEncoder (ai.onnx.ml) → index ─ OneHot ─ Reshape   one input per categorical column
/// Concat ─ Gather (network input order) ─ [Gemm(W, b, transB=1) ─ activation]… ─ Gemm ─ head
/// head, binary:      Sigmoid → p; Concat(1 − p, p) → probabilities (N, 2) T; ArgMax → class_index (N) int64; Gather(labels) → label (N) string
/// head, multiclass:  Softmax(axis 1) → probabilities (N, K) T; ArgMax → class_index; Gather(labels) → label
/// head, regression:  Mul(target scale) ─ Add(target mean) → prediction (N, 1) T, in the target's units
/// </code>
/// Weights keep their PyTorch names ("0.weight" of shape (out, in), hence transB). The metadata carries
/// the columns, categories, class labels, target and task, so a consumer needs nothing but the file.
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
    public const string MlDomain = "ai.onnx.ml";
    /// <summary>ai.onnx.ml opset 2 has LabelEncoder with string and float keys; onnx 1.12 knows up to 3.</summary>
    public const int MlOpset = 3;

    /// <summary>The ONNX file's bytes.</summary>
    public static byte[] Export(OnnxExportSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var linear = source.Network.Layers.OfType<Linear>().ToArray();
        if (linear.Length == 0) throw new BackpropException("The network has no Linear layer to export.");
        var dtype = linear[0].DType;
        var t = dtype == DType.Float64 ? OnnxDataType.Double : OnnxDataType.Float;
        var pre = source;
        int width = source.Columns.Sum(c => c.Width);
        if (width != linear[0].InFeatures || source.NetworkInputs.Count != width)
            throw new BackpropException($"The model disagrees with itself: the first layer takes {linear[0].InFeatures} inputs, but the preprocessing makes {width} ({source.NetworkInputs.Count} names).");
        var covered = new bool[width];
        foreach (var c in source.Columns)
            for (int i = c.Offset; i < c.Offset + c.Width; i++)
            {
                if (i < 0 || i >= width || covered[i]) throw new BackpropException($"Column '{c.Name}' claims network input {i}, which is out of range or another column's.");
                covered[i] = true;
            }
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
        var inputs = new List<OnnxValueInfo>();
        string x = Preprocess(g, pre, t, inputs, out bool usesMl);

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
            new("feature_names", JsonSerializer.Serialize(NumericColumns(pre).Select(c => c.Name))),
            new("categorical_inputs", JsonSerializer.Serialize(CategoricalColumns(pre).ToDictionary(c => c.Name, c => c.Categories))),
            new("network_inputs", JsonSerializer.Serialize(source.NetworkInputs)),
            new("missing", source.MissingPolicy),
            new("unknown", source.UnknownPolicy),
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
            Opsets = usesMl ? [("", Opset), (MlDomain, MlOpset)] : [("", Opset)],
            ProducerName = "backprop",
            ProducerVersion = ProducerVersion(),
            GraphName = "backprop_mlp",
            Doc = $"{Describe(source, linear)}. Inputs: raw column values, one row per example ({string.Join("; ", inputs.Select(i => i.Doc))}); the preprocessing fitted on the training rows (imputation, one-hot, standardisation) is part of the graph.",
            Nodes = g.Nodes,
            Initializers = g.Initializers,
            Inputs = inputs,
            Outputs = outputsInfo,
            Metadata = metadata,
        };
        return model.Encode();
    }

    private static OnnxColumn[] NumericColumns(OnnxExportSource pre) => pre.Columns.Where(c => !c.Categorical).ToArray();

    private static OnnxColumn[] CategoricalColumns(OnnxExportSource pre) => pre.Columns.Where(c => c.Categorical).ToArray();

    /// <summary>The spellings Backprop's CSV reader takes for a missing value (case-insensitive, after trimming).</summary>
    public static IReadOnlyList<string> MissingSpellings { get; } = ["", "NA", "N/A", "NaN", "null", "?"];

    /// <summary>
    /// The graph inputs and the nodes that turn them into the network's input (N, Width), exactly as
    /// the preprocessing does for predict: numeric columns come in together as
    /// <see cref="FeaturesInput"/> (NaN where missing), each categorical column as an input of its own
    /// name. The blocks (standardised numbers, missing indicators, one-hot codes) are concatenated, then
    /// one Gather along axis 1 puts every input where the network expects it.
    /// </summary>
    private static string Preprocess(OnnxGraphBuilder g, OnnxExportSource pre, OnnxDataType t, List<OnnxValueInfo> inputs, out bool usesMl)
    {
        usesMl = false;
        bool impute = pre.ImputeMissing;
        var numeric = NumericColumns(pre);
        var blocks = new List<string>();
        var position = new int[pre.NetworkInputs.Count];                 // network input i is column position[i] of the concatenated blocks
        int width = 0;
        if (numeric.Length > 0)
        {
            long[] row = [1, numeric.Length];
            string x = g.Input(FeaturesInput);
            inputs.Add(new OnnxValueInfo(FeaturesInput, t, [null, numeric.Length],
                $"'{FeaturesInput}' (N, {numeric.Length}): the numeric columns {string.Join(", ", numeric.Select(c => c.Name))} in this order, raw values, " +
                (impute ? "NaN where a value is missing" : "every value present (a NaN gives NaN outputs)")));
            string? missing = null;
            if (impute)
            {
                missing = g.Node("IsNaN", [x], "features_missing");
                x = g.Node("Where", [missing, g.Initializer(OnnxTensor.Of(t, "features_fill", row, numeric.Select(c => c.Fill).ToArray())), x], "features_imputed");
            }
            x = g.Node("Sub", [x, g.Initializer(OnnxTensor.Of(t, "features_mean", row, numeric.Select(c => c.Mean).ToArray()))], "features_centred");
            x = g.Node("Div", [x, g.Initializer(OnnxTensor.Of(t, "features_scale", row, numeric.Select(c => c.Scale).ToArray()))], "features_standardized");
            blocks.Add(x);
            for (int j = 0; j < numeric.Length; j++) position[numeric[j].Offset] = width + j;
            width += numeric.Length;
            var flagged = Enumerable.Range(0, numeric.Length).Where(j => numeric[j].MissingIndicator).ToArray();
            if (flagged.Length > 0)
            {
                // An indicator exists only under --missing impute, so the IsNaN above was made.
                string flags = g.Node("Cast", [missing!], "features_missing_flags", OnnxAttribute.Int("to", (int)t));
                blocks.Add(g.Node("Gather", [flags, g.Initializer(OnnxTensor.Int64("missing_indicator_columns", [flagged.Length], flagged.Select(j => (long)j).ToArray()))],
                    "missing_indicators", OnnxAttribute.Int("axis", 1)));
                for (int k = 0; k < flagged.Length; k++) position[numeric[flagged[k]].Offset + 1] = width + k;
                width += flagged.Length;
            }
        }

        foreach (var c in CategoricalColumns(pre))
        {
            usesMl = true;
            int k = c.Categories.Count;
            string input = g.Input(c.Name);
            string code;
            var indices = Enumerable.Range(0, k).Select(i => (long)i).ToList();
            if (c.NumericCategories)
            {
                inputs.Add(new OnnxValueInfo(c.Name, OnnxDataType.Float, [null, 1],
                    $"'{c.Name}' (N, 1) float: a number, one of the categories {string.Join(", ", c.Categories)}" + (impute ? ", NaN where missing" : "")));
                string value = input;
                if (impute && c.FillCategory is not null)
                {
                    float fill = float.Parse(c.FillCategory, CultureInfo.InvariantCulture);
                    value = g.Node("Where", [g.Node("IsNaN", [input], c.Name + "/missing"), g.Initializer(OnnxTensor.Float(c.Name + "/fill", [1], [fill])), input], c.Name + "/imputed");
                }
                code = g.NodeIn(MlDomain, "LabelEncoder", [value], c.Name + "/index",
                    OnnxAttribute.Floats("keys_floats", c.Categories.Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()),
                    OnnxAttribute.Ints("values_int64s", [.. indices]),
                    OnnxAttribute.Int("default_int64", k));
            }
            else
            {
                inputs.Add(new OnnxValueInfo(c.Name, OnnxDataType.String, [null, 1],
                    $"'{c.Name}' (N, 1) string: the text as in the CSV, one of {string.Join(", ", c.Categories)}" +
                    (impute ? $"; a missing value as an empty string (or {string.Join(", ", MissingSpellings.Skip(1))}), which becomes '{c.FillCategory}'" : "")));
                var keys = c.Categories.ToList();
                if (impute && c.FillCategory is not null)
                {
                    // The spellings predict reads as missing map to the fill category (case variants written out).
                    long fill = c.Categories.ToList().IndexOf(c.FillCategory);
                    foreach (var spelling in MissingSpellingVariants())
                    {
                        if (keys.Contains(spelling)) continue;
                        keys.Add(spelling);
                        indices.Add(fill);
                    }
                }
                code = g.NodeIn(MlDomain, "LabelEncoder", [input], c.Name + "/index",
                    OnnxAttribute.Strings("keys_strings", [.. keys]),
                    OnnxAttribute.Ints("values_int64s", [.. indices]),
                    OnnxAttribute.Int("default_int64", k));
            }
            // An index outside [−k, k − 1] gives an all-zero row, so the default k encodes an unseen category as zeros.
            string oneHot = g.Node("OneHot", [code, g.Initializer(OnnxTensor.Int64(c.Name + "/depth", [1], [k])), g.Initializer(OnnxTensor.Of(t, c.Name + "/off_on", [2], [0, 1]))],
                c.Name + "/one_hot_3d", OnnxAttribute.Int("axis", -1));
            blocks.Add(g.Node("Reshape", [oneHot, g.Initializer(OnnxTensor.Int64(c.Name + "/shape", [2], [-1, k]))], c.Name + "/one_hot"));
            for (int i = 0; i < k; i++) position[c.Offset + i] = width + i;
            width += k;
        }

        string all = blocks.Count == 1 ? blocks[0] : g.Node("Concat", [.. blocks], "inputs_by_kind", OnnxAttribute.Int("axis", 1));
        bool inOrder = true;
        for (int i = 0; i < position.Length; i++) inOrder &= position[i] == i;
        return inOrder ? all : g.Node("Gather", [all, g.Initializer(OnnxTensor.Int64("network_input_order", [position.Length], position.Select(p => (long)p).ToArray()))],
            "network_inputs", OnnxAttribute.Int("axis", 1));
    }

    /// <summary><see cref="MissingSpellings"/> as written, in lower case, upper case and capitalised: the case variants predict also accepts.</summary>
    private static IEnumerable<string> MissingSpellingVariants() =>
        MissingSpellings
            .SelectMany(s => new[] { s, s.ToLowerInvariant(), s.ToUpperInvariant(), s.Length > 0 ? char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant() : s })
            .Distinct(StringComparer.Ordinal);

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
