using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.Training;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary>The commands that use a saved model: evaluate, predict, inspect.</summary>
internal static class ModelCommands
{
    private static Argument<FileInfo> ModelArgument() => new("MODEL") { Description = "A model file written by 'backprop train' (.safetensors)." };

    public static Command Evaluate()
    {
        var model = ModelArgument();
        var data = CliOptions.DataArgument();
        var target = CliOptions.Target(required: false);
        target.Description = "Target column; default: the one the model was trained on.";
        var json = CliOptions.Json();
        var command = new Command("evaluate", "Metrics and confusion matrix of a saved model on a labelled CSV file.\n" +
            "Example: backprop evaluate model.safetensors data/breast-cancer.csv") { model, data, target, json };
        command.SetAction(parse =>
        {
            var trained = ModelFile.Load(CliOptions.RequireFile(parse.GetRequiredValue(model)));
            string targetName = parse.GetValue(target) ?? trained.TargetName;
            var path = CliOptions.RequireFile(parse.GetRequiredValue(data));
            var table = CsvReader.Read(path);
            if (table.IndexOf(targetName) < 0)
                throw new DataException($"{Path.GetFileName(path)} has no column '{targetName}' to evaluate against; columns are: {string.Join(", ", table.Columns)}. Pass --target.");
            var features = TabularData.FeaturesFromCsv(table, trained.FeatureNames);
            var labels = TabularData.FromCsv(table, targetName, trained.Task);
            int[]? classes = null;
            if (trained.Task != TaskKind.Regression)
            {
                var encoder = new LabelEncoder(trained.ClassLabels);
                classes = new int[labels.Rows];
                for (int i = 0; i < classes.Length; i++)
                {
                    if (!encoder.TryEncode(labels.RawTargets[i], out classes[i]))
                        throw new DataException($"{Path.GetFileName(path)}, line {table.LineNumbers[i]}: label '{labels.RawTargets[i]}' is not one the model knows ({string.Join(", ", trained.ClassLabels)}).");
                }
            }
            var report = Evaluation.Evaluate(trained, features, classes, labels.Targets);
            if (parse.GetValue(json))
            {
                var result = new JsonObject { ["task"] = trained.Task.ToString().ToLowerInvariant(), ["data"] = Path.GetFileName(path), ["test"] = Reports.ToJson(report) };
                parse.InvocationConfiguration.Output.WriteLine(result.ToJsonString());
            }
            else Reports.Write(Consoles.For(parse.InvocationConfiguration.Output, false), $"Metrics on {Path.GetFileName(path)} ({report.Rows} rows)", report);
            return 0;
        });
        return command;
    }

    public static Command Predict()
    {
        var model = ModelArgument();
        var data = CliOptions.DataArgument();
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write predictions to this CSV file instead of stdout (- is stdout). Never one of the inputs." };
        var command = new Command("predict", "Predict every row of a CSV file with a saved model: the class and its probabilities, or the value.\n" +
            "The file needs the model's feature columns; a target column, if present, is ignored.\n" +
            "Example: backprop predict model.safetensors data/iris.csv --out predictions.csv") { model, data, output };
        command.SetAction(parse =>
        {
            var modelPath = CliOptions.RequireFile(parse.GetRequiredValue(model));
            var dataPath = CliOptions.RequireFile(parse.GetRequiredValue(data));
            var outPath = CliOptions.OutputOf(parse.GetValue(output));
            CliOptions.CheckOutputs([outPath], modelPath, dataPath);
            var trained = ModelFile.Load(modelPath);
            var features = TabularData.LoadFeatures(dataPath, trained.FeatureNames);
            var predictions = trained.Predict(features);
            var csv = new StringBuilder();
            if (trained.Task == TaskKind.Regression)
            {
                csv.Append("prediction\n");
                foreach (var v in predictions.Values!) csv.Append(v.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            }
            else
            {
                csv.Append("prediction");
                foreach (var label in trained.ClassLabels) csv.Append(",p_").Append(CsvField(label));
                csv.Append('\n');
                int k = trained.ClassLabels.Count;
                for (int i = 0; i < predictions.Rows; i++)
                {
                    csv.Append(CsvField(trained.ClassLabels[predictions.Classes![i]]));
                    for (int c = 0; c < k; c++) csv.Append(',').Append(predictions.Probabilities![i * k + c].ToString("R", CultureInfo.InvariantCulture));
                    csv.Append('\n');
                }
            }
            if (outPath is not null && outPath != "-")
            {
                CliOptions.WriteText(parse, outPath, csv.ToString());
                parse.InvocationConfiguration.Error.WriteLine($"{predictions.Rows} predictions written to {outPath}");
            }
            else parse.InvocationConfiguration.Output.Write(csv.ToString());
            return 0;
        });
        return command;
    }

    private static string CsvField(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;

    public static Command Inspect()
    {
        var model = ModelArgument();
        var json = CliOptions.Json();
        var command = new Command("inspect", "Show a saved model: architecture, parameter count, task, features, classes and how it was trained.\n" +
            "Example: backprop inspect model.safetensors") { model, json };
        command.SetAction(parse =>
        {
            var path = CliOptions.RequireFile(parse.GetRequiredValue(model));
            var trained = ModelFile.Load(path);
            var layers = trained.Network.NamedParameters().Select(p => (p.Name, Shape: p.Parameter.Shape.ToArray(), Count: p.Parameter.Length)).ToArray();
            if (parse.GetValue(json))
            {
                var obj = new JsonObject
                {
                    ["architecture"] = TrainCommand.Architecture(trained),
                    ["activation"] = trained.Activation.ToString().ToLowerInvariant(),
                    ["task"] = trained.Task.ToString().ToLowerInvariant(),
                    ["parameters"] = trained.Network.ParameterCount,
                    ["dtype"] = trained.DType.Name(),
                    ["features"] = new JsonArray(trained.FeatureNames.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray()),
                    ["target"] = trained.TargetName,
                    ["classes"] = new JsonArray(trained.ClassLabels.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray()),
                    ["tensors"] = new JsonObject(layers.Select(l => KeyValuePair.Create(l.Name, (JsonNode?)new JsonArray(l.Shape.Select(d => (JsonNode?)d).ToArray())))),
                    ["training"] = new JsonObject(trained.TrainingInfo.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                };
                parse.InvocationConfiguration.Output.WriteLine(obj.ToJsonString());
                return 0;
            }
            var console = Consoles.For(parse.InvocationConfiguration.Output, false);
            console.MarkupLine($"[bold]{Markup.Escape(Path.GetFileName(path))}[/]: {TrainCommand.Architecture(trained)} {trained.Activation.ToString().ToLowerInvariant()} network, " +
                $"{trained.Network.ParameterCount} parameters, {trained.DType.Name()}, task {trained.Task.ToString().ToLowerInvariant()} " +
                $"({TaskHead.OutputActivation(trained.Task)} output, {TaskHead.LossName(trained.Task)})");
            var tensors = new Table().AddColumn("tensor").AddColumn("shape").AddColumn(new TableColumn("values").RightAligned());
            foreach (var (name, shape, count) in layers) tensors.AddRow(Markup.Escape(name), "(" + string.Join(", ", shape) + ")", count.ToString(CultureInfo.InvariantCulture));
            console.Write(tensors);
            console.MarkupLine($"target [bold]{Markup.Escape(trained.TargetName)}[/]" + (trained.ClassCount > 0 ? $", classes: {Markup.Escape(string.Join(", ", trained.ClassLabels))}" : ""));
            console.MarkupLine($"features ({trained.FeatureNames.Count}): {Markup.Escape(string.Join(", ", trained.FeatureNames))}");
            var info = new Table().Title("Training").AddColumn("").AddColumn("");
            foreach (var (k, v) in trained.TrainingInfo) info.AddRow(Markup.Escape(k), Markup.Escape(v));
            console.Write(info);
            return 0;
        });
        return command;
    }
}
