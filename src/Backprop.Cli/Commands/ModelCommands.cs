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
        var encoding = CliOptions.Encoding();
        var command = new Command("evaluate", "Metrics and confusion matrix of a saved model on a labelled CSV file.\n" +
            "Only the model's feature columns (found by name, in any order) and the target are read; other columns are ignored.\n" +
            "Example: backprop evaluate model.safetensors data/breast-cancer.csv") { model, data, target, json, encoding };
        command.SetAction(parse =>
        {
            var trained = ModelFile.Load(CliOptions.RequireFile(parse.GetRequiredValue(model)));
            string targetName = parse.GetValue(target) ?? trained.TargetName;
            var path = CliOptions.RequireFile(parse.GetRequiredValue(data));
            var err = parse.InvocationConfiguration.Error;
            var table = ModelData.Load(trained, path, [targetName], CliOptions.Csv(parse, encoding), CliOptions.LoadingProgress(err, path));
            var labelled = ModelData.Labelled(trained, table, targetName);
            foreach (var w in labelled.Warnings) err.WriteLine("warning: " + w);
            var counts = new TransformCounts();
            var inputs = trained.PrepareInputs(table, labelled.Rows, counts);
            EvaluationReport report;
            try { report = Evaluation.Evaluate(trained, inputs, labelled.Classes, labelled.Values); }
            catch (NonFiniteOutputException e) { throw new DataException($"{table.Source} line {table.Line(labelled.Rows[e.Row])}: {e.Message}"); }
            WriteCounts(err, counts);
            if (parse.GetValue(json))
            {
                var result = new JsonObject { ["task"] = trained.Task.ToString().ToLowerInvariant(), ["data"] = Path.GetFileName(path), ["test"] = Reports.ToJson(report) };
                parse.InvocationConfiguration.Output.WriteLine(result.ToJsonString());
            }
            else Reports.Write(Consoles.For(parse.InvocationConfiguration.Output, false), $"Metrics on {Markup.Escape(Path.GetFileName(path))} ({report.Rows} rows)", report);
            return 0;
        });
        return command;
    }

    /// <summary>Rows read per block by predict: memory does not grow with the file.</summary>
    internal const int PredictBlockRows = 4096;

    public static Command Predict()
    {
        var model = ModelArgument();
        var data = CliOptions.DataArgument();
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write predictions to this CSV file instead of stdout." };
        var id = new Option<string?>("--id") { Description = "Copy these columns (comma separated, e.g. an ID) into the output, first, so predictions can be joined back." };
        var encoding = CliOptions.Encoding();
        var command = new Command("predict", "Predict every row of a CSV file with a saved model: the class and its probabilities, or the value.\n" +
            "The file needs the model's feature columns (by name, any order); other columns, a target among them, are ignored.\n" +
            "Output columns: the --id columns, then one named after the target (the class or value), then p_<label> per class.\n" +
            "Rows stream through in blocks, so memory does not grow with the file's length.\n" +
            "Example: backprop predict model.safetensors data/iris.csv --out predictions.csv") { model, data, output, id, encoding };
        command.SetAction(parse =>
        {
            var modelPath = CliOptions.RequireFile(parse.GetRequiredValue(model));
            var dataPath = CliOptions.RequireFile(parse.GetRequiredValue(data));
            var outFile = parse.GetValue(output);
            if (outFile is not null) Backprop.IO.OutputPath.Check(outFile.FullName, modelPath, dataPath);
            var trained = ModelFile.Load(modelPath);
            var ids = CliOptions.ParseNames(parse.GetValue(id));
            var err = parse.InvocationConfiguration.Error;
            var header = DataTable.ReadHeader(dataPath, CliOptions.Csv(parse, encoding));
            foreach (var name in ids)
                if (!header.Contains(name))
                    throw new DataException(DataTable.MissingColumnMessage(Path.GetFileName(dataPath), header, name, " to copy into the output (--id)"));
            var counts = new TransformCounts();
            long rows = 0;
            void Write(TextWriter writer)
            {
                var csv = new CsvWriter(writer);
                foreach (var name in ids) csv.Field(name);
                csv.Field(trained.TargetName);
                if (trained.Task != TaskKind.Regression) foreach (var label in trained.ClassLabels) csv.Field("p_" + label);
                csv.EndRecord();
                bool single = trained.DType == DType.Float32;
                int k = trained.ClassLabels.Count;
                foreach (var block in DataTable.ReadBlocks(dataPath, PredictBlockRows, CliOptions.Csv(parse, encoding), ModelData.Columns(trained, ids), CliOptions.LoadingProgress(err, dataPath)))
                {
                    var all = Enumerable.Range(0, block.Rows).ToArray();
                    Predictions predictions;
                    try { predictions = trained.Predict(block, all, counts); }
                    catch (NonFiniteOutputException e) { throw new DataException($"{block.Source} line {block.Line(e.Row)}: {e.Message}"); }
                    var idColumns = ids.Select(n => block.Find(n)!).ToArray();
                    for (int r = 0; r < block.Rows; r++)
                    {
                        foreach (var c in idColumns) csv.Field(c.Text(r) ?? "");
                        if (trained.Task == TaskKind.Regression) csv.Field(Number(predictions.Values![r], single));
                        else
                        {
                            csv.Field(trained.ClassLabels[predictions.Classes![r]]);
                            for (int c = 0; c < k; c++) csv.Field(Number(predictions.Probabilities![r * k + c], single));
                        }
                        csv.EndRecord();
                    }
                    rows += block.Rows;
                }
            }
            if (outFile is not null)
            {
                Backprop.IO.AtomicFile.Write(outFile.FullName, stream =>
                {
                    using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
                    Write(writer);
                });
                err.WriteLine($"{rows} predictions written to {outFile.FullName}");
            }
            else Write(parse.InvocationConfiguration.Output);
            WriteCounts(err, counts);
            return 0;
        });
        return command;
    }

    /// <summary>Shortest round-trip text for the model's own dtype: a float32 model's numbers are not printed with 17 digits.</summary>
    internal static string Number(double value, bool float32) => float32 ? Cells.Format((float)value) : Cells.Format(value);

    private static void WriteCounts(TextWriter err, TransformCounts counts)
    {
        if (counts.UnknownTotal > 0)
            err.WriteLine($"warning: {counts.UnknownTotal} cells had a category not seen in training and were encoded as all zeros ({string.Join(", ", counts.Unknown.Select(kv => $"{kv.Key}: {kv.Value}"))}).");
        if (counts.Imputed > 0)
            err.WriteLine($"note: {counts.Imputed} missing cells were imputed as in training.");
    }

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
                    ["preprocessing"] = trained.Preprocessing.ToJsonNode(),
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
            foreach (var (name, shape, count) in layers) tensors.AddRow(name, "(" + string.Join(", ", shape) + ")", count.ToString(CultureInfo.InvariantCulture));
            console.Write(tensors);
            console.MarkupLine($"target [bold]{Markup.Escape(trained.TargetName)}[/]" + (trained.ClassCount > 0 ? $", classes: {Markup.Escape(string.Join(", ", trained.ClassLabels))}" : ""));
            console.MarkupLine($"inputs ({trained.FeatureNames.Count}): {Markup.Escape(string.Join(", ", trained.FeatureNames))}");
            var pre = new Table().Title($"Preprocessing (missing values: {trained.Preprocessing.Missing.ToString().ToLowerInvariant()}, unseen categories: {trained.Preprocessing.Unknown.ToString().ToLowerInvariant()})")
                .AddColumn("column").AddColumn("treatment");
            foreach (var (column, treatment) in trained.Preprocessing.Describe()) pre.AddRow(Markup.Escape(column), Markup.Escape(treatment));
            console.Write(pre);
            var info = new Table().Title("Training").AddColumn("").AddColumn("");
            foreach (var (k, v) in trained.TrainingInfo) info.AddRow(Markup.Escape(k), Markup.Escape(v));
            console.Write(info);
            return 0;
        });
        return command;
    }
}
