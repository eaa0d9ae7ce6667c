using System.CommandLine;
using Backprop.Data;
using Backprop.Explain;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Cli.Commands;

/// <summary>
/// The forward and backward pass of a network on chosen rows, step by step, in the notation of the
/// course, with every number checked against the engine and against finite differences.
/// </summary>
internal static class ExplainCommand
{
    public static Command Create()
    {
        var files = new Argument<FileInfo[]>("MODEL_OR_DATA")
        {
            Description = "Either a model from 'backprop train' followed by DATA.csv (the model's own preprocessing applies), " +
                "or just DATA.csv with the network options below (features used as given, like 'backprop grad').",
            Arity = new ArgumentArity(1, 2),
        };
        var target = CliOptions.Target(required: false);
        target.Description = "Target column (default with a model: the one it was trained on).";
        var rows = new Option<string>("--rows") { Description = "Row indices (0-based, after the header) forming the mini-batch, e.g. 0 or 0,1,2.", DefaultValueFactory = _ => "0,1" };
        var layout = new Option<string>("--layout") { Description = "columns: the course notation (examples as columns, z = W a + b); rows: the code notation (examples as rows, z = a Wᵀ + b).", DefaultValueFactory = _ => "columns" };
        var format = new Option<string>("--format")
        {
            Description = "text (terminal), markdown (LaTeX maths), html (self-contained page with MathML) or json; " +
                "or the loss's computation graph op by op: trace (each node's VJP, in reverse topological order), dot (Graphviz) or mermaid.",
            DefaultValueFactory = _ => "text",
        };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write the explanation to this file instead of stdout." };
        var hidden = CliOptions.Hidden();
        hidden.DefaultValueFactory = _ => "3";
        var activation = CliOptions.Activation();
        var task = CliOptions.Task();
        var weights = new Option<FileInfo?>("--weights") { Description = "Weights (.safetensors, PyTorch nn.Sequential names) for the network options; default: seeded initialisation." };
        var dtype = CliOptions.DType();
        dtype.DefaultValueFactory = _ => "float64";
        var seed = CliOptions.Seed();
        var encoding = CliOptions.Encoding();
        var command = new Command("explain", "Show the forward and backward pass on chosen rows step by step: formulas, shapes, numbers, and a check of each.\n" +
            "Examples: backprop explain data/breast-cancer.csv --target diagnosis --hidden 3 --rows 0,1\n" +
            "          backprop explain model.safetensors data/iris.csv --format html --out explain.html")
        { files, target, rows, layout, format, output, hidden, activation, task, weights, dtype, seed, encoding };
        command.SetAction(parse =>
        {
            var given = parse.GetValue(files)!;
            string fmt = parse.GetValue(format)!.ToLowerInvariant();
            if (fmt is not ("text" or "markdown" or "html" or "json" or "trace" or "dot" or "mermaid"))
                throw new CliUsageException($"--format: '{fmt}' is not a format; use text, markdown, html, json, trace, dot or mermaid.");
            var lay = parse.GetValue(layout)!.ToLowerInvariant() switch
            {
                "columns" => ExplainLayout.Columns,
                "rows" => ExplainLayout.Rows,
                var other => throw new CliUsageException($"--layout: '{other}' is not a layout; use columns or rows."),
            };
            var dt = DTypeExtensions.Parse(parse.GetValue(dtype)!);
            string dataPath = CliOptions.RequireFile(given[^1]);
            int[] chosen = ParseRows(parse.GetValue(rows)!);

            Sequential network;
            TaskKind kind;
            Tensor inputs, targets;
            string source;
            if (given.Length == 2)
            {
                var model = ModelFile.Load(CliOptions.RequireFile(given[0]));
                // Columns by name, through the model's own preprocessing (the same code as predict and evaluate).
                string targetName = parse.GetValue(target) ?? model.TargetName;
                var table = ModelData.Load(model, dataPath, [targetName], CliOptions.Csv(parse, encoding));
                CheckRows(chosen, table.Rows, dataPath);
                var labelled = ModelData.Labelled(model, table, targetName);
                network = model.Network;
                kind = model.Task;
                inputs = model.PrepareInputs(table, chosen).To(dt);
                targets = ModelTargets(labelled, chosen, model, dt, dataPath);
                source = $"{Path.GetFileName(given[0].FullName)} on {Path.GetFileName(dataPath)}, rows {string.Join(", ", chosen)} (preprocessed as in training: {PreprocessingSummary(model, table, chosen)})";
            }
            else
            {
                var targetName = parse.GetValue(target) ?? throw new CliUsageException("--target is required when no model is given: name the column to predict.");
                var table = TabularData.Load(dataPath, targetName, CliOptions.ParseTask(parse.GetValue(task)), csv: CliOptions.Csv(parse, encoding));
                CheckRows(chosen, table.Rows, dataPath);
                kind = table.Task;
                network = Mlp.Create(table.Features.Columns, CliOptions.ParseHidden(parse.GetValue(hidden)!), TaskHead.Outputs(kind, table.Labels?.Count ?? 0),
                    ActivationExtensions.Parse(parse.GetValue(activation)!), Init.Auto, new Rng(parse.GetValue(seed)), dt);
                if (parse.GetValue(weights) is { } w) GradCommand.LoadWeights(CliOptions.RequireFile(w), network.NamedParameters().ToArray());
                inputs = Tensor.FromArray(table.Features.SelectRows(chosen).Values, [chosen.Length, table.Features.Columns], dt);
                targets = Targets(table, chosen, kind, null, dt);
                source = $"{Path.GetFileName(dataPath)}, rows {string.Join(", ", chosen)} (features as given)";
            }

            if (fmt is "trace" or "dot" or "mermaid")
            {
                var graph = GraphOfLoss(network, kind, inputs, targets, dt);
                Emit(parse, fmt == "dot" ? GraphExport.ToDot(graph) : fmt == "mermaid" ? GraphExport.ToMermaid(graph) : graph.ToText(), $"{graph.Nodes.Count} nodes");
                return 0;
            }

            var layers = new List<ExplainLayer>();
            var modules = network.Layers;
            for (int i = 0; i < modules.Count; i++)
            {
                if (modules[i] is not Linear linear) continue;
                string act = i + 1 < modules.Count && modules[i + 1] is not Linear ? ActivationName(modules[i + 1]) : "identity";
                double slope = i + 1 < modules.Count && modules[i + 1] is LeakyReLU lr ? lr.NegativeSlope : 0.01;
                layers.Add(new ExplainLayer(linear.Weight.Detach().To(dt), (linear.Bias ?? Tensor.Zeros([linear.OutFeatures], dt)).Detach().To(dt), act, slope));
            }
            var explainTask = kind switch { TaskKind.Binary => ExplainTask.Binary, TaskKind.Multiclass => ExplainTask.Multiclass, _ => ExplainTask.Regression };
            var explanation = Explainer.Explain(layers, explainTask, inputs, targets, new ExplainOptions { Layout = lay, DType = dt, Source = source });
            string text = fmt switch
            {
                "markdown" => explanation.ToMarkdown(),
                "html" => explanation.ToHtml(),
                "json" => explanation.ToJson(indented: true),
                _ => explanation.ToText(ansiColour: parse.GetValue(output) is null && !Console.IsOutputRedirected && parse.InvocationConfiguration.Output == Console.Out),
            };
            Emit(parse, text, explanation.CheckSummary);
            return explanation.AllPassed ? 0 : 2;
        });
        return command;
    }

    private static void Emit(System.CommandLine.ParseResult parse, string text, string summary)
    {
        if (parse.GetValue<FileInfo?>("--out") is { } file)
        {
            File.WriteAllText(file.FullName, text);
            parse.InvocationConfiguration.Error.WriteLine($"written to {file.FullName} ({summary})");
        }
        else parse.InvocationConfiguration.Output.Write(text);
    }

    /// <summary>The recorded graph of the mean loss as a function of the parameters, named as in PyTorch.</summary>
    private static GraphTrace GraphOfLoss(Sequential network, TaskKind kind, Tensor inputs, Tensor targets, DType dt)
    {
        int m = inputs.Size(0);
        var y = kind == TaskKind.Regression
            ? targets.Reshape(m, 1)
            : TaskHead.Targets(kind, targets.ToDoubleArray().Select(v => (int)v).ToArray(), [], network.Layers.OfType<Linear>().Last().OutFeatures, dt);
        var named = network.NamedParameters().ToArray();
        var loss = FunctionalCall.Of(network, inputs, outputs => TaskHead.Loss(kind, outputs, y));
        return GraphTrace.Explain(loss, named.Select(p => p.Parameter.Detach().To(dt)).ToArray(), named.Select(p => p.Name).ToArray());
    }

    private static string ActivationName(Module module) => module switch
    {
        ReLU => "relu",
        LeakyReLU => "leaky_relu",
        Tanh => "tanh",
        Sigmoid => "sigmoid",
        Softplus => "softplus",
        _ => "identity",
    };

    private static Tensor Targets(TabularData table, int[] rows, TaskKind kind, TrainedModel? model, DType dt) => kind switch
    {
        TaskKind.Regression => Tensor.FromArray(rows.Select(i => table.Targets![i]).ToArray(), [rows.Length], dt),
        _ => Tensor.FromArray(rows.Select(i => (double)table.ClassIndices![i]).ToArray(), [rows.Length], dt),
    };

    // The chosen table rows' targets in the model's terms; a trained regression model learned standardised
    // targets, so explain the loss it was trained on.
    private static Tensor ModelTargets(LabelledRows labelled, int[] rows, TrainedModel model, DType dt, string path)
    {
        var values = new double[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            int at = Array.BinarySearch(labelled.Rows, rows[i]);
            if (at < 0)
                throw new CliUsageException($"--rows: row {rows[i]} of {Path.GetFileName(path)} (line {labelled.Table.Line(rows[i])}) has no target value; choose rows with one.");
            values[i] = model.Task == TaskKind.Regression ? (labelled.Values![at] - model.TargetMean) / model.TargetScale : labelled.Classes![at];
        }
        return Tensor.FromArray(values, [rows.Length], dt);
    }

    // What the preprocessing did to the chosen rows, in a few words: imputed cells and unseen categories by name.
    private static string PreprocessingSummary(TrainedModel model, DataTable table, int[] rows)
    {
        var notes = new List<string>();
        foreach (int r in rows)
            foreach (var t in model.Preprocessing.Trace(table, r))
                if (t.Raw is null || t.How.Contains("unseen", StringComparison.Ordinal))
                    notes.Add($"row {r} {t.Feature}: {t.How}");
        int categorical = model.Preprocessing.Columns.Count(c => c.Kind == FeatureKind.Categorical);
        string what = $"{model.Preprocessing.Columns.Count} columns → {model.Preprocessing.Width} inputs, numeric standardised" + (categorical > 0 ? $", {categorical} one-hot" : "");
        return notes.Count == 0 ? what : what + "; " + string.Join("; ", notes.Distinct());
    }

    private static int[] ParseRows(string text)
    {
        try
        {
            var rows = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(r => int.Parse(r, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            if (rows.Length == 0 || rows.Any(r => r < 0)) throw new FormatException();
            return rows;
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new CliUsageException($"--rows: '{text}' is not a list of row indices; use e.g. 0 or 0,1,2.");
        }
    }

    private static void CheckRows(int[] rows, int count, string path)
    {
        foreach (var r in rows)
            if (r >= count) throw new CliUsageException($"--rows: row {r} is past the end of {Path.GetFileName(path)}, which has {count} data rows (0 to {count - 1}).");
    }
}
