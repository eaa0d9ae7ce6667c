using System.Globalization;
using System.Text.Json;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Serialization;

namespace Backprop.Training;

/// <summary>
/// A trained model as one .safetensors file: the weights under PyTorch nn.Sequential names ("0.weight"
/// of shape (out, in), "0.bias", "2.weight", …), loadable by PyTorch's safetensors loader, and in the
/// header metadata everything <c>predict</c> needs to take raw CSV rows: architecture, task, feature
/// names, the preprocessing (<see cref="Preprocessor"/> as JSON under "preprocessing"), class labels, target
/// scaling and facts about the run. Loading checks every invariant the metadata implies before allocating
/// the network, and refuses a file that contradicts itself with the field named.
/// </summary>
public static class ModelFile
{
    public const string Format = "backprop-mlp/2";
    /// <summary>The previous format: numeric columns only, standardisation as input_mean / input_scale.</summary>
    public const string FormatV1 = "backprop-mlp/1";

    /// <summary>Writes atomically: a temporary file in the same folder, flushed, then renamed over the target.</summary>
    public static void Save(TrainedModel model, string path)
    {
        var tensors = model.Network.NamedParameters().Select(p => ToEntry(p.Name, p.Parameter)).ToList();
        var linear = model.Network.Layers.OfType<Linear>().ToArray();
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = Format,
            ["task"] = model.Task.ToString().ToLowerInvariant(),
            ["inputs"] = linear[0].InFeatures.ToString(CultureInfo.InvariantCulture),
            ["hidden"] = string.Join(",", model.Hidden),
            ["outputs"] = linear[^1].OutFeatures.ToString(CultureInfo.InvariantCulture),
            ["activation"] = model.Activation.Name(),
            ["output_activation"] = TaskHead.OutputActivation(model.Task),
            ["loss"] = TaskHead.LossName(model.Task),
            ["dtype"] = model.DType.Name(),
            ["feature_names"] = JsonSerializer.Serialize(model.FeatureNames),
            ["target"] = model.TargetName,
            ["class_labels"] = JsonSerializer.Serialize(model.ClassLabels),
            ["preprocessing"] = model.Preprocessing.ToJson(),
            ["target_mean"] = model.TargetMean.ToString("R", CultureInfo.InvariantCulture),
            ["target_scale"] = model.TargetScale.ToString("R", CultureInfo.InvariantCulture),
            ["training"] = JsonSerializer.Serialize(model.TrainingInfo),
        };
        SafeTensors.Write(path, tensors, meta);
    }

    /// <summary>A file's tensor as a plain tensor of <paramref name="dtype"/> (its own dtype when null).</summary>
    internal static Tensor ToTensor(TensorEntry entry, DType? dtype = null) =>
        (dtype ?? entry.DType) == DType.Float32
            ? Tensor.FromArray(entry.ToFloatArray(), entry.Shape.ToArray())
            : Tensor.FromArray(entry.ToDoubleArray(), entry.Shape.ToArray());

    internal static TensorEntry ToEntry(string name, Tensor t) =>
        t.DType == DType.Float32 ? new TensorEntry(name, t.Detach().ToFloatArray(), t.Shape.ToArray()) : new TensorEntry(name, t.Detach().ToDoubleArray(), t.Shape.ToArray());

    /// <summary>Reads a model, checking that its metadata and weights describe one consistent network.</summary>
    public static TrainedModel Load(string path)
    {
        var file = SafeTensors.Read(path);
        string name = Path.GetFileName(path);
        string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v
            : throw new ModelFileException($"{name}: the metadata has no '{key}'. Only files written by 'backprop train' carry what predict needs; a bare PyTorch state dict can be used with 'backprop grad --weights'.");
        string format = Meta("format");
        if (format != Format && format != FormatV1) throw new ModelFileException($"{name}: unknown model format '{MessageText(format)}'; this version of backprop reads '{Format}' and '{FormatV1}'.");
        ModelFileException Bad(string field, string problem) => new($"{name}: metadata field '{field}' {problem}; the file contradicts itself (damaged or edited), so retrain or re-copy it.");
        int ParseInt(string field)
        {
            string text = Meta(field);
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= 1 ? v : throw Bad(field, $"is '{MessageText(text)}', not a positive integer");
        }
        double ParseDouble(string field)
        {
            string text = Meta(field);
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw Bad(field, $"is '{MessageText(text)}', not a number");
        }
        T ParseJson<T>(string field) where T : class
        {
            try { return JsonSerializer.Deserialize<T>(Meta(field)) ?? throw Bad(field, "is null"); }
            catch (JsonException) { throw Bad(field, $"is not a JSON {(typeof(T) == typeof(string[]) ? "list of strings" : typeof(T) == typeof(double[]) ? "list of numbers" : "object")}"); }
        }

        var task = Meta("task") switch
        {
            "binary" => TaskKind.Binary,
            "multiclass" => TaskKind.Multiclass,
            "regression" => TaskKind.Regression,
            var other => throw Bad("task", $"is '{MessageText(other)}', not binary, multiclass or regression"),
        };
        int inputs = ParseInt("inputs");
        int outputs = ParseInt("outputs");
        var hiddenText = Meta("hidden");
        var hidden = new List<int>();
        foreach (var h in hiddenText.Length == 0 ? [] : hiddenText.Split(','))
            hidden.Add(int.TryParse(h, NumberStyles.None, CultureInfo.InvariantCulture, out int width) && width >= 1 ? width : throw Bad("hidden", $"is '{MessageText(hiddenText)}', not a list of positive widths"));
        Activation activation;
        DType dtype;
        try
        {
            activation = ActivationExtensions.Parse(Meta("activation"));
            dtype = DTypeExtensions.Parse(Meta("dtype"));
        }
        catch (BackpropException e) when (e is not ModelFileException) { throw new ModelFileException($"{name}: {e.Message}"); }
        var features = ParseJson<string[]>("feature_names");
        var labels = ParseJson<string[]>("class_labels");
        var info = ParseJson<Dictionary<string, string>>("training");
        Preprocessor preprocessing;
        try
        {
            preprocessing = format == FormatV1
                ? Preprocessor.Standardised(features, ParseJson<double[]>("input_mean"), ParseJson<double[]>("input_scale"))
                : Preprocessor.FromJson(Meta("preprocessing"));
        }
        catch (DataException e) { throw Bad("preprocessing", $"is inconsistent: {e.Message}"); }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException) { throw Bad("input_mean", $"and input_scale do not have one value per feature ({features.Length})"); }

        // The invariants, each naming its field.
        if (features.Length != inputs) throw Bad("feature_names", $"lists {features.Length} names for a network of {inputs} inputs");
        if (features.Distinct(StringComparer.Ordinal).Count() != features.Length) throw Bad("feature_names", "lists a name twice");
        if (preprocessing.Width != inputs) throw Bad("preprocessing", $"makes {preprocessing.Width} inputs but the network ('inputs') has {inputs}");
        if (!preprocessing.FeatureNames.SequenceEqual(features)) throw Bad("feature_names", "does not match the inputs the preprocessing makes");
        int expectedOutputs = task == TaskKind.Multiclass ? labels.Length : 1;
        if (task == TaskKind.Regression && labels.Length != 0) throw Bad("class_labels", $"lists {labels.Length} labels for a regression model");
        if (task == TaskKind.Binary && labels.Length != 2) throw Bad("class_labels", $"lists {labels.Length} labels for a binary model (it needs 2)");
        if (task == TaskKind.Multiclass && labels.Length < 2) throw Bad("class_labels", $"lists {labels.Length} labels for a multiclass model (it needs at least 2)");
        if (outputs != expectedOutputs) throw Bad("outputs", $"is {outputs}, but a {task.ToString().ToLowerInvariant()} model{(task == TaskKind.Multiclass ? $" with {labels.Length} classes" : "")} has {expectedOutputs}");
        try { _ = new LabelEncoder(labels); }
        catch (DataException e) { throw Bad("class_labels", $"is inconsistent: {e.Message}"); }
        double targetMean = ParseDouble("target_mean"), targetScale = ParseDouble("target_scale");
        if (!double.IsFinite(targetMean)) throw Bad("target_mean", $"is {Cells.Format(targetMean)}; it must be finite");
        if (!double.IsFinite(targetScale) || targetScale <= 0) throw Bad("target_scale", $"is {Cells.Format(targetScale)}; it must be finite and positive");

        // Shapes from the metadata against the tensors in the file, before anything is allocated.
        var widths = new List<int> { inputs };
        widths.AddRange(hidden);
        widths.Add(outputs);
        var expectedShapes = new List<(string Name, int[] Shape)>();
        for (int l = 0; l + 1 < widths.Count; l++)
        {
            expectedShapes.Add(($"{2 * l}.weight", [widths[l + 1], widths[l]]));
            expectedShapes.Add(($"{2 * l}.bias", [widths[l + 1]]));
        }
        string arch = string.Join("-", widths);
        var unexpected = file.Tensors.Select(t => t.Name).Except(expectedShapes.Select(e => e.Name)).ToArray();
        if (unexpected.Length > 0)
            throw new ModelFileException($"{name}: tensors {string.Join(", ", unexpected.Select(MessageText))} do not belong to the {arch} network the metadata ('inputs', 'hidden', 'outputs') describes.");
        foreach (var (pname, shape) in expectedShapes)
        {
            if (!file.TryGet(pname, out var entry))
                throw new ModelFileException($"{name}: the weights '{pname}' of shape {ShapeUtil.Format(shape)} that the {arch} network in the metadata needs are missing.");
            if (!entry.Shape.SequenceEqual(shape))
                throw new ModelFileException($"{name}: '{pname}' has shape {ShapeUtil.Format(entry.Shape.ToArray())} but the {arch} network in the metadata ('inputs', 'hidden', 'outputs') needs {ShapeUtil.Format(shape)}.");
            for (int i = 0; i < entry.ElementCount; i++)
            {
                double v = entry.Float32 is { } f ? f[i] : entry.Float64![i];
                if (!double.IsFinite(v))
                    throw new ModelFileException($"{name}: tensor '{pname}' holds {Cells.Format(v)} at flat index {i}; weights must be finite, so the file is damaged (or was saved from a diverged run): retrain it.");
            }
        }

        var network = Mlp.Create(inputs, [.. hidden], outputs, activation, Init.Auto, new Rng(0), dtype);
        using (Autodiff.NoGrad())
        {
            foreach (var (pname, parameter) in network.NamedParameters())
            {
                file.TryGet(pname, out var entry);
                parameter.CopyFrom(ToTensor(entry!, dtype));
            }
        }
        return new TrainedModel
        {
            Network = network,
            Task = task,
            Hidden = [.. hidden],
            Activation = activation,
            Preprocessing = preprocessing,
            TargetName = Meta("target"),
            ClassLabels = labels,
            TargetMean = targetMean,
            TargetScale = targetScale,
            TrainingInfo = info,
        };
    }

    private static string MessageText(string text) => text.Length <= 60 ? text : text[..57] + "...";

    /// <summary>Writes a trainer's checkpoint (weights, optimizer, generator, counters) atomically.</summary>
    public static void SaveCheckpoint(Trainer trainer, string path) =>
        SafeTensors.Write(path, trainer.CheckpointState().Select(kv => ToEntry(kv.Key, kv.Value)).ToList(),
            new Dictionary<string, string> { ["format"] = "backprop-checkpoint/1" });

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/> into a trainer built the same way.</summary>
    public static void LoadCheckpoint(Trainer trainer, string path) => trainer.RestoreCheckpoint(CheckpointTensors(SafeTensors.Read(path)));

    /// <summary>Writes named state tensors with metadata as a safetensors checkpoint (atomically).</summary>
    internal static void WriteCheckpoint(string path, IReadOnlyDictionary<string, Tensor> state, IReadOnlyDictionary<string, string> metadata) =>
        SafeTensors.Write(path, state.Select(kv => ToEntry(kv.Key, kv.Value)).ToList(), metadata);

    internal static Dictionary<string, Tensor> CheckpointTensors(SafeTensorsFile file) =>
        file.Tensors.ToDictionary(t => t.Name, t => ToTensor(t), StringComparer.Ordinal);
}
