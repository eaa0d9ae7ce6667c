using System.CommandLine;
using Backprop.IO;
using Backprop.Nn;
using Backprop.Serialization.Onnx;
using Backprop.Training;

namespace Backprop.Cli.Commands;

/// <summary>backprop export: a saved model in a format other programs run (ONNX).</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("MODEL") { Description = "A model file written by 'backprop train' (.safetensors)." };
        var onnx = new Option<string>("--onnx")
        {
            Description = "Write the model as ONNX (opset 17) to this file, or - for standard output. Required.",
            Required = true,
        };
        var command = new Command("export",
            "Export a saved model as an ONNX file that ONNX Runtime (or any ONNX runtime) runs without Backprop.\n" +
            $"The graph takes one input, '{OnnxExporter.FeaturesInput}' (N rows × the model's features, raw values in the order 'inspect' lists; " +
            "float32, or float64 for a float64 model); the standardisation is inside the graph.\n" +
            $"Classification outputs: '{OnnxExporter.LabelOutput}' (N strings), '{OnnxExporter.ProbabilitiesOutput}' (N × classes, softmax or sigmoid applied), " +
            $"'{OnnxExporter.ClassIndexOutput}' (N int64). Regression output: '{OnnxExporter.PredictionOutput}' (N × 1, in the target's units).\n" +
            "Feature names, class labels, target and task are in the file's metadata. See docs/deploy.md.\n" +
            "Example: backprop export model.safetensors --onnx model.onnx") { model, onnx };
        command.SetAction(parse =>
        {
            var modelPath = CliOptions.RequireFile(parse.GetRequiredValue(model));
            var outPath = parse.GetRequiredValue(onnx);
            OutputPath.Check(outPath, modelPath);
            var trained = ModelFile.Load(modelPath);
            var bytes = OnnxExport.ToBytes(trained);
            AtomicFile.WriteAllBytes(outPath, bytes);
            if (outPath != "-")
            {
                string outputs = trained.Task == Data.TaskKind.Regression
                    ? $"{OnnxExporter.PredictionOutput} (N, 1)"
                    : $"{OnnxExporter.LabelOutput} (N), {OnnxExporter.ProbabilitiesOutput} (N, {trained.ClassCount}), {OnnxExporter.ClassIndexOutput} (N)";
                parse.InvocationConfiguration.Error.WriteLine(
                    $"wrote {outPath} ({bytes.Length:N0} bytes, ONNX opset {OnnxExporter.Opset}): {TrainCommand.Architecture(trained)} {trained.Activation.Name()} network, " +
                    $"input {OnnxExporter.FeaturesInput} (N, {trained.FeatureNames.Count}) {(trained.DType == DType.Float64 ? "float64" : "float32")}, outputs {outputs}");
            }
            return 0;
        });
        return command;
    }
}
