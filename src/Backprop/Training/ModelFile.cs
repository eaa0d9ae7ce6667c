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
/// names, standardisation, class labels, target scaling and facts about the run.
/// </summary>
public static class ModelFile
{
    public const string Format = "backprop-mlp/1";

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
            ["input_mean"] = JsonSerializer.Serialize(model.Inputs.Mean),
            ["input_scale"] = JsonSerializer.Serialize(model.Inputs.Scale),
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
        if (Meta("format") != Format) throw new ModelFileException($"{name}: unknown model format '{Meta("format")}'; this version of backprop reads '{Format}'.");
        try
        {
            var task = Meta("task") switch
            {
                "binary" => TaskKind.Binary,
                "multiclass" => TaskKind.Multiclass,
                "regression" => TaskKind.Regression,
                var other => throw new ModelFileException($"{name}: unknown task '{other}' in the metadata."),
            };
            int inputs = int.Parse(Meta("inputs"), CultureInfo.InvariantCulture);
            int outputs = int.Parse(Meta("outputs"), CultureInfo.InvariantCulture);
            var hiddenText = Meta("hidden");
            int[] hidden = hiddenText.Length == 0 ? [] : hiddenText.Split(',').Select(h => int.Parse(h, CultureInfo.InvariantCulture)).ToArray();
            var activation = ActivationExtensions.Parse(Meta("activation"));
            var dtype = DTypeExtensions.Parse(Meta("dtype"));
            var features = JsonSerializer.Deserialize<string[]>(Meta("feature_names")) ?? [];
            var labels = JsonSerializer.Deserialize<string[]>(Meta("class_labels")) ?? [];
            var mean = JsonSerializer.Deserialize<double[]>(Meta("input_mean")) ?? [];
            var scale = JsonSerializer.Deserialize<double[]>(Meta("input_scale")) ?? [];
            var info = JsonSerializer.Deserialize<Dictionary<string, string>>(Meta("training")) ?? [];
            if (features.Length != inputs || mean.Length != inputs || scale.Length != inputs)
                throw new ModelFileException($"{name}: the metadata disagrees with itself: {inputs} inputs, {features.Length} feature names, {mean.Length} means and {scale.Length} scales.");
            if (task != TaskKind.Regression && labels.Length != (task == TaskKind.Binary ? 2 : outputs))
                throw new ModelFileException($"{name}: a {task.ToString().ToLowerInvariant()} model with {outputs} outputs has {labels.Length} class labels.");

            var network = Mlp.Create(inputs, hidden, outputs, activation, Init.Auto, new Rng(0), dtype);
            var expected = network.NamedParameters().ToArray();
            var unexpected = file.Tensors.Select(t => t.Name).Except(expected.Select(e => e.Name)).ToArray();
            if (unexpected.Length > 0)
                throw new ModelFileException($"{name}: tensors {string.Join(", ", unexpected)} do not belong to a {inputs}-{string.Join("-", hidden)}{(hidden.Length > 0 ? "-" : "")}{outputs} network.");
            using (Autodiff.NoGrad())
            {
                foreach (var (pname, parameter) in expected)
                {
                    if (!file.TryGet(pname, out var entry))
                        throw new ModelFileException($"{name}: the weights '{pname}' of shape {ShapeUtil.Format(parameter.Dims)} are missing.");
                    if (!entry.Shape.SequenceEqual(parameter.Shape.ToArray()))
                        throw new ModelFileException($"{name}: '{pname}' has shape {ShapeUtil.Format(entry.Shape.ToArray())} but the architecture needs {ShapeUtil.Format(parameter.Dims)}.");
                    parameter.CopyFrom(ToTensor(entry, dtype));
                }
            }
            return new TrainedModel
            {
                Network = network,
                Task = task,
                Hidden = hidden,
                Activation = activation,
                FeatureNames = features,
                TargetName = Meta("target"),
                Inputs = new Standardizer(mean, scale),
                ClassLabels = labels,
                TargetMean = double.Parse(Meta("target_mean"), CultureInfo.InvariantCulture),
                TargetScale = double.Parse(Meta("target_scale"), CultureInfo.InvariantCulture),
                TrainingInfo = info,
            };
        }
        catch (Exception e) when (e is FormatException or JsonException or OverflowException or BackpropException and not ModelFileException)
        {
            throw new ModelFileException($"{name}: the model metadata is damaged ({e.Message}).", e);
        }
    }

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
