using System.Text.Json;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Serialization.Onnx;

namespace Backprop.Training;

/// <summary>
/// A trained model as an ONNX file (docs/deploy.md): the network with its standardisation in front and
/// its output head behind, so that ONNX Runtime alone turns raw feature rows into what
/// <c>backprop predict</c> prints. The graph itself is built by <see cref="OnnxExporter"/>.
/// </summary>
public static class OnnxExport
{
    /// <summary>What <see cref="OnnxExporter"/> needs from a trained model.</summary>
    public static OnnxExportSource Source(TrainedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new OnnxExportSource
        {
            Network = model.Network,
            Task = model.Task,
            FeatureNames = model.FeatureNames,
            // Per network input; one-hot and indicator inputs pass through (Preprocessor.InputStandardizer).
            Inputs = model.Preprocessing.InputStandardizer(),
            ClassLabels = model.ClassLabels,
            TargetName = model.TargetName,
            TargetMean = model.TargetMean,
            TargetScale = model.TargetScale,
            Metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["hidden"] = string.Join(",", model.Hidden),
                ["activation"] = model.Activation.Name(),
                ["dtype"] = model.DType.Name(),
                ["training"] = JsonSerializer.Serialize(model.TrainingInfo),
            },
        };
    }

    /// <summary>The ONNX file's bytes.</summary>
    public static byte[] ToBytes(TrainedModel model) => OnnxExporter.Export(Source(model));

    /// <summary>Writes the ONNX file atomically (the old file stays whole until the new one is complete).</summary>
    public static void Save(TrainedModel model, string path) => AtomicFile.WriteAllBytes(path, ToBytes(model));
}
