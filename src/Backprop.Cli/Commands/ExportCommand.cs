using System.CommandLine;
using Backprop.Data;
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
            $"Inputs: '{OnnxExporter.FeaturesInput}' (N rows × the model's numeric columns, raw values in the order the metadata's feature_names lists, NaN where missing; " +
            "float32, or float64 for a float64 model), and one (N, 1) input named after each categorical column (its text as a string; " +
            "a column of numbers made categorical with --categorical takes float32). Imputation, one-hot coding and standardisation are inside the graph.\n" +
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
                string outputs = trained.Task == TaskKind.Regression
                    ? $"{OnnxExporter.PredictionOutput} (N, 1)"
                    : $"{OnnxExporter.LabelOutput} (N), {OnnxExporter.ProbabilitiesOutput} (N, {trained.ClassCount}), {OnnxExporter.ClassIndexOutput} (N)";
                var pre = trained.Preprocessing;
                int numeric = pre.Columns.Count(c => c.Kind == FeatureKind.Numeric);
                var inputs = (numeric > 0 ? [$"{OnnxExporter.FeaturesInput} (N, {numeric}) {trained.DType.Name()}"] : new List<string>())
                    .Concat(pre.Columns.Where(c => c.Kind == FeatureKind.Categorical).Select(c => $"{c.Name} (N, 1) {(c.NumericCategories ? "float32" : "string")}"));
                parse.InvocationConfiguration.Error.WriteLine(
                    $"wrote {outPath} ({bytes.Length:N0} bytes, ONNX opset {OnnxExporter.Opset}): {TrainCommand.Architecture(trained)} {trained.Activation.Name()} network, " +
                    $"inputs {string.Join(", ", inputs)}; outputs {outputs}");
            }
            return 0;
        });
        return command;
    }
}
