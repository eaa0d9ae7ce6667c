using Backprop.IO;
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
                "or just DATA.csv with the network options below (features standardised as 'train' does, unless --raw).",
            Arity = new ArgumentArity(1, 2),
        };
        var target = CliOptions.Target(required: false);
        target.Description = "Target column (default with a model: the one it was trained on).";
        var rows = new Option<string?>("--rows")
        {
            Description = "Data rows (0-based, after the header) forming the mini-batch: indices and ranges, e.g. 0,1 or 0-4,50. " +
                "Default: for a classifier the first row of each class (up to 3 classes), so the batch has examples of different classes; for regression 0,1.",
        };
        var layout = new Option<string>("--layout") { Description = "columns: the course notation (examples as columns, Z = W A + b); rows: the code notation (examples as rows, z = a Wᵀ + b).", DefaultValueFactory = _ => "columns" }.OneOf(["columns", "rows"]);
        var convention = new Option<string>("--convention")
        {
            Description = "course: Andrew Ng's dZ[L] = A[L] − Y, dW = (1/m) dZ A[l−1]ᵀ, db = (1/m) Σ dZ; " +
                "mean-in-delta: the engine's δ[L] = (ŷ − y)/m, dW = δ a[l−1]ᵀ. Both give identical dW and db.",
            DefaultValueFactory = _ => "course",
        };
        var format = new Option<string>("--format")
        {
            Description = "text (terminal), markdown (LaTeX maths), html (self-contained page with MathML) or json; " +
                "or the loss's computation graph op by op: trace (each node's VJP, in reverse topological order), dot (Graphviz) or mermaid.",
            DefaultValueFactory = _ => "text",
        }.OneOf(["text", "markdown", "html", "json", "trace", "dot", "mermaid"]);
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write the explanation to this file instead of stdout (- is stdout). Never one of the inputs." };
        var hidden = CliOptions.Hidden();
        hidden.DefaultValueFactory = _ => "3";
        var activation = CliOptions.Activation();
        var task = CliOptions.Task();
        var weights = new Option<FileInfo?>("--weights") { Description = "Weights (.safetensors, PyTorch nn.Sequential names) for the network options; default: seeded initialisation." };
        var dtype = CliOptions.DType();
        dtype.DefaultValueFactory = _ => "float64";
        var seed = CliOptions.Seed();
        var encoding = CliOptions.Encoding();
        var raw = new Option<bool>("--raw") { Description = "Use the data file's feature values as given instead of standardising them (no effect with a model, which has its own preprocessing)." };
        var lr = new Option<double?>("--lr") { Description = "Add the update: one gradient-descent step W ← W − α dW with this α, and the loss on the same rows after it. Default: no update section." };
        var entry = new Option<string?>("--entry") { Description = "Write out one parameter entry's derivative as a sum of products of scalar factors over examples and paths, e.g. \"W[1][0,2]\" or \"b[2][0]\" (0-based indices)." };
        var mode = new Option<string>("--mode")
        {
            Description = "reverse: the backward pass only; forward: also run forward mode, carrying ∂a[l]/∂W[k] through the layers during the forward pass, " +
                "its dW checked against reverse mode, and a table of the multiply-adds and numbers held by each mode.",
            DefaultValueFactory = _ => "reverse",
        };
        var command = new Command("explain", "Show the forward and backward pass on chosen rows step by step: parameters, formulas, shapes, numbers, and a check of each.\n" +
            "Examples: backprop explain data/breast-cancer.csv --target diagnosis --hidden 3\n" +
            "          backprop explain data/iris.csv --target species --hidden 4 --rows 0,50,100 --lr 0.5 --entry \"W[1][0,2]\"\n" +
            "          backprop explain data/breast-cancer.csv --target diagnosis --hidden 3 --mode forward\n" +
            "          backprop explain model.safetensors data/iris.csv --format html --out explain.html")
        { files, target, rows, layout, convention, format, output, hidden, activation, task, weights, dtype, seed, raw, lr, entry, mode, encoding };
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
            var conv = parse.GetValue(convention)!.ToLowerInvariant() switch
            {
                "course" => ExplainConvention.Course,
                "mean-in-delta" => ExplainConvention.MeanInDelta,
                var other => throw new CliUsageException($"--convention: '{other}' is not a convention; use course or mean-in-delta."),
            };
            bool forwardMode = parse.GetValue(mode)!.ToLowerInvariant() switch
            {
                "reverse" => false,
                "forward" => true,
                var other => throw new CliUsageException($"--mode: '{other}' is not a mode; use reverse or forward."),
            };
            if (parse.GetValue(lr) is double rate && !(rate > 0 && double.IsFinite(rate)))
                throw new CliUsageException($"--lr: {rate.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not a positive learning rate.");
            string dataPath = CliOptions.RequireFile(given[^1]);
            string? modelPath = given.Length == 2 ? CliOptions.RequireFile(given[0]) : null;
            string? weightPath = parse.GetValue(weights) is { } wf ? CliOptions.RequireFile(wf) : null;
            CliOptions.CheckOutputs([CliOptions.OutputOf(parse.GetValue(output))], dataPath, modelPath, weightPath);
            string? rowsText = parse.GetValue(rows);
            int[] chosen;

            Sequential network;
            TaskKind kind;
            Tensor inputs, targets;
            string source, preprocessing;
            IReadOnlyList<string> featureNames;
            if (given.Length == 2)
            {
                var model = ModelFile.Load(modelPath!);
                // Columns by name, through the model's own preprocessing (the same code as predict and evaluate).
                string targetName = parse.GetValue(target) ?? model.TargetName;
                var table = ModelData.Load(model, dataPath, [targetName], CliOptions.Csv(parse, encoding));
                var labelled = ModelData.Labelled(model, table, targetName);
                chosen = rowsText is null ? DefaultRows(labelled) : ParseRows(rowsText);
                CheckRows(chosen, table.Rows, dataPath);
                network = model.Network;
                kind = model.Task;
                inputs = model.PrepareInputs(table, chosen).To(dt);
                targets = ModelTargets(labelled, chosen, model, dt, dataPath);
                featureNames = model.Preprocessing.FeatureNames;
                source = $"{Path.GetFileName(given[0].FullName)} on {Path.GetFileName(dataPath)}, rows {RowList(chosen)}";
                preprocessing = $"as in training, from the model file: {PreprocessingSummary(model, table, chosen)}";
            }
            else
            {
                var targetName = parse.GetValue(target) ?? throw new CliUsageException("--target is required when no model is given: name the column to predict.");
                var table = TabularData.Load(dataPath, targetName, CliOptions.ParseTask(parse.GetValue(task)), csv: CliOptions.Csv(parse, encoding));
                chosen = rowsText is null ? DefaultRows(table) : ParseRows(rowsText);
                CheckRows(chosen, table.Rows, dataPath);
                kind = table.Task;
                network = Mlp.Create(table.Features.Columns, CliOptions.ParseHidden(parse.GetValue(hidden)!), TaskHead.Outputs(kind, table.Labels?.Count ?? 0),
                    ActivationExtensions.Parse(parse.GetValue(activation)!), Init.Auto, new Rng(parse.GetValue(seed)), dt);
                if (weightPath is not null) GradCommand.LoadWeights(weightPath, network.NamedParameters().ToArray());
                var values = table.Features.SelectRows(chosen).Values;
                if (parse.GetValue(raw))
                    preprocessing = "raw: feature values as given in the file (--raw)";
                else
                {
                    // The rule of 'train': mean and standard deviation of the training rows only (not the
                    // validation or test rows), of the same seeded split.
                    var settings = new TrainSettings();
                    var split = Split.For(table, settings.TestFraction, settings.ValidationFraction, parse.GetValue(seed));
                    var standardizer = Standardizer.Fit(table.Features, split.Train);
                    values = standardizer.Transform(values);
                    preprocessing = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"standardised: (x − mean)/sd per feature, mean and sd of the {split.Train.Length} training rows of train's split (seed {parse.GetValue(seed)}, test {settings.TestFraction:P0}, validation {settings.ValidationFraction:P0}); --raw keeps the values as given");
                }
                inputs = Tensor.FromArray(values, [chosen.Length, table.Features.Columns], dt);
                targets = Targets(table, chosen, kind, null, dt);
                featureNames = table.FeatureNames;
                source = $"{Path.GetFileName(dataPath)}, rows {RowList(chosen)}{(kind == TaskKind.Regression ? "" : $", classes {string.Join(", ", chosen.Select(r => table.RawTargets[r]))}")}";
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
            var explanation = Explainer.Explain(layers, explainTask, inputs, targets, new ExplainOptions
            {
                Layout = lay,
                DType = dt,
                Source = source,
                Convention = conv,
                LearningRate = parse.GetValue(lr),
                Entry = parse.GetValue(entry),
                ForwardMode = forwardMode,
                FeatureNames = featureNames,
                Preprocessing = preprocessing,
                Rows = chosen,
            });
            string text = fmt switch
            {
                "markdown" => explanation.ToMarkdown(),
                "html" => explanation.ToHtml(),
                "json" => explanation.ToJson(indented: true),
                _ => explanation.ToText(ansiColour: parse.GetValue(output) is null && !Console.IsOutputRedirected && parse.InvocationConfiguration.Output == Console.Out),
            };
            Emit(parse, text, explanation.CheckSummary);
            return explanation.AllPassed ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    private static void Emit(System.CommandLine.ParseResult parse, string text, string summary)
    {
        if (CliOptions.OutputOf(parse.GetValue<FileInfo?>("--out")) is { } path && path != "-")
        {
            CliOptions.WriteText(parse, path, text);
            parse.InvocationConfiguration.Error.WriteLine($"written to {path} ({summary})");
        }
        else parse.InvocationConfiguration.Output.Write(text);
    }

    /// <summary>
    /// The recorded graph of the mean loss as a function of the parameters, in the course's names: x,
    /// W[1], b[1], z[1], a[1], …, z[L] (the logits the loss works on), y and L.
    /// </summary>
    private static GraphTrace GraphOfLoss(Sequential network, TaskKind kind, Tensor inputs, Tensor targets, DType dt)
    {
        int m = inputs.Size(0);
        var y = kind == TaskKind.Regression
            ? targets.Reshape(m, 1)
            : TaskHead.Targets(kind, targets.ToDoubleArray().Select(v => (int)v).ToArray(), [], network.Layers.OfType<Linear>().Last().OutFeatures, dt);
        var modules = network.Layers;
        var parameters = new List<Tensor>();
        var names = new List<string>();
        var activations = new List<Module?>();
        int l = 0;
        for (int i = 0; i < modules.Count; i++)
        {
            if (modules[i] is not Linear linear) continue;
            l++;
            parameters.Add(linear.Weight.Detach().To(dt));
            names.Add($"W[{l}]");
            parameters.Add((linear.Bias ?? Tensor.Zeros([linear.OutFeatures], dt)).Detach().To(dt));
            names.Add($"b[{l}]");
            activations.Add(i + 1 < modules.Count && modules[i + 1] is not Linear ? modules[i + 1] : null);
        }
        int layers = l;
        return GraphTrace.Explain(p =>
        {
            var named = new List<(string, Tensor)> { ("x", inputs), ("y", y) };
            var a = inputs;
            Tensor z = a;
            for (int k = 1; k <= layers; k++)
            {
                var product = a.MatMul(p[2 * (k - 1)], transposeB: true);
                named.Add(($"a[{k - 1}]W[{k}]ᵀ", product));
                z = product + p[2 * (k - 1) + 1];
                named.Add(($"z[{k}]", z));
                if (k < layers && activations[k - 1] is { } act)
                {
                    a = act.Forward(z);
                    named.Add(($"a[{k}]", a));
                }
                else a = z;
            }
            var loss = TaskHead.Loss(kind, z, y);
            named.Add(("L", loss));
            return (loss, named);
        }, [.. parameters], [.. names]);
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

    /// <summary>"0-4,50" → 0, 1, 2, 3, 4, 50: indices and inclusive ranges, in the order given.</summary>
    internal static int[] ParseRows(string text)
    {
        var rows = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = part.Split('-', StringSplitOptions.TrimEntries);
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)))
                throw new CliUsageException($"--rows: '{part}' in '{text}' is not a row index or range; use e.g. 0 or 0,1,2 or 0-4,50.");
            int from = int.Parse(ends[0], System.Globalization.CultureInfo.InvariantCulture);
            int to = ends.Length == 2 ? int.Parse(ends[1], System.Globalization.CultureInfo.InvariantCulture) : from;
            if (to < from) throw new CliUsageException($"--rows: the range '{part}' runs backwards; write it as {to}-{from}.");
            if (rows.Count + (long)(to - from + 1) > 10_000) throw new CliUsageException($"--rows: '{text}' names more than 10000 rows; explain is for a small mini-batch.");
            for (int r = from; r <= to; r++) rows.Add(r);
        }
        if (rows.Count == 0) throw new CliUsageException($"--rows: '{text}' names no rows; use e.g. 0 or 0,1,2 or 0-4,50.");
        var repeated = rows.GroupBy(r => r).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new CliUsageException($"--rows: row {repeated.Key} is named twice in '{text}'.");
        return [.. rows];
    }

    /// <summary>The first row of each class (up to 3 classes), so a default batch never has one class only; regression: rows 0 and 1.</summary>
    /// <summary>With a model: the first labelled row of each class (up to 3), or the first two labelled rows for regression.</summary>
    internal static int[] DefaultRows(LabelledRows labelled)
    {
        if (labelled.Classes is not { } classes) return [.. labelled.Rows.Take(2)];
        var first = new SortedDictionary<int, int>();
        for (int i = 0; i < classes.Length && first.Count < 3; i++) first.TryAdd(classes[i], labelled.Rows[i]);
        return [.. first.Values.Order()];
    }

    internal static int[] DefaultRows(TabularData table)
    {
        if (table.ClassIndices is not { } classes) return table.Rows >= 2 ? [0, 1] : [0];
        var first = new SortedDictionary<int, int>();
        for (int i = 0; i < classes.Length && first.Count < 3; i++) first.TryAdd(classes[i], i);
        return [.. first.Values.Order()];
    }

    private static string RowList(int[] rows) => string.Join(", ", rows);

    private static void CheckRows(int[] rows, int count, string path)
    {
        foreach (var r in rows)
            if (r >= count) throw new CliUsageException($"--rows: row {r} is past the end of {Path.GetFileName(path)}, which has {count} data rows (0 to {count - 1}).");
    }
}
