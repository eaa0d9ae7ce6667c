using System.CommandLine;
using System.Globalization;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Serialization;
using Backprop.Training;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary>
/// The gradient of a network's mean loss on a data set, by reverse mode, by forward mode, or as one
/// forward-gradient estimate, in PyTorch's names and layouts so the numbers can be compared directly.
/// </summary>
internal static class GradCommand
{
    public static Command Create()
    {
        var data = CliOptions.DataArgument();
        var target = CliOptions.Target(required: true);
        var hidden = CliOptions.Hidden();
        hidden.DefaultValueFactory = _ => "16";
        var activation = CliOptions.Activation();
        var task = CliOptions.Task();
        var mode = new Option<string>("--mode")
        {
            Description = "reverse (backpropagation, default), forward (the full gradient by forward mode: one tangent per parameter) " +
                "or forward-gradient (one estimate (∇L·v) v with v ~ N(0, I)).",
            DefaultValueFactory = _ => "reverse",
        };
        var weights = new Option<FileInfo?>("--weights")
        {
            Description = "Weights as .safetensors with PyTorch nn.Sequential names (\"0.weight\" (out, in), \"0.bias\" (out), \"2.weight\", …), " +
                "e.g. a PyTorch state dict saved with safetensors. Default: seeded initialisation.",
        };
        var dtype = CliOptions.DType();
        var seed = CliOptions.Seed();
        var encoding = CliOptions.Encoding();
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write the gradients to this .safetensors file (same names as the weights) instead of printing them." };
        var command = new Command("grad", "The gradient of a network's mean loss over every row of a CSV file. Features are used exactly as given\n" +
            "(no standardisation); binary: sigmoid + BCE, multiclass: softmax + cross-entropy, regression: MSE as PyTorch's MSELoss.\n" +
            "Class labels are sorted (numbers numerically, text ordinally); the first is class 0.\n" +
            "Example: backprop grad data/iris.csv --target species --hidden 8 --mode forward")
        { data, target, hidden, activation, task, mode, weights, dtype, seed, output, encoding };
        command.SetAction(parse =>
        {
            string modeName = parse.GetValue(mode)!.ToLowerInvariant();
            if (modeName is not ("reverse" or "forward" or "forward-gradient"))
                throw new CliUsageException($"--mode: '{modeName}' is not a mode; use reverse, forward or forward-gradient.");
            var table = TabularData.Load(CliOptions.RequireFile(parse.GetRequiredValue(data)), parse.GetValue(target)!, CliOptions.ParseTask(parse.GetValue(task)), csv: CliOptions.Csv(parse, encoding));
            var dt = DTypeExtensions.Parse(parse.GetValue(dtype)!);
            var network = Mlp.Create(table.Features.Columns, CliOptions.ParseHidden(parse.GetValue(hidden)!),
                TaskHead.Outputs(table.Task, table.Labels?.Count ?? 0), ActivationExtensions.Parse(parse.GetValue(activation)!),
                Init.Auto, new Rng(parse.GetValue(seed)), dt);
            var named = network.NamedParameters().ToArray();
            if (parse.GetValue(weights) is { } weightFile) LoadWeights(CliOptions.RequireFile(weightFile), named);

            var x = Tensor.FromArray(table.Features.Values, [table.Rows, table.Features.Columns], dt);
            var y = TaskHead.Targets(table.Task, table.ClassIndices, table.Targets, table.Labels?.Count ?? 0, dt);
            var lossOf = FunctionalCall.Of(network, x, outputs => TaskHead.Loss(table.Task, outputs, y));
            var parameters = named.Select(p => p.Parameter.Detach()).ToArray();
            Tensor loss;
            Tensor[] gradients;
            switch (modeName)
            {
                case "reverse":
                    (loss, gradients) = Transforms.ValueAndGrad(lossOf, parameters);
                    break;
                case "forward":
                    (loss, gradients) = Transforms.FullGradientForwardMode(lossOf, parameters);
                    break;
                default:
                    var estimate = ForwardGradient.Estimate(lossOf, parameters, new Rng(parse.GetValue(seed) + 1));
                    (loss, gradients) = (estimate.Value, estimate.Gradients);
                    break;
            }

            var err = parse.InvocationConfiguration.Error;
            string summary = string.Create(CultureInfo.InvariantCulture,
                $"{TrainCommand.ArchitectureOf(network)} network, {table.Task.ToString().ToLowerInvariant()}, {table.Rows} rows, {dt.Name()}: mean loss {loss.Item():R} ({modeName} mode)");
            if (parse.GetValue(output) is { } outFile)
            {
                SafeTensors.Write(outFile.FullName, named.Select((p, i) => ModelFile.ToEntry(p.Name, gradients[i])).ToList(),
                    new Dictionary<string, string> { ["mode"] = modeName, ["loss"] = loss.Item().ToString("R", CultureInfo.InvariantCulture), ["dtype"] = dt.Name() });
                err.WriteLine(summary);
                err.WriteLine($"gradients written to {outFile.FullName}");
                return 0;
            }
            var console = Consoles.For(parse.InvocationConfiguration.Output, false);
            console.WriteLine(summary);
            if (modeName == "forward-gradient")
                console.WriteLine("(an unbiased random estimate of the gradient: its mean over many draws is the gradient)");
            for (int i = 0; i < named.Length; i++)
            {
                console.MarkupLine($"[bold]d loss / d {Markup.Escape(named[i].Name)}[/]");
                console.WriteLine(gradients[i].ToString(maxPerDim: 8, format: "G7"));
            }
            return 0;
        });
        return command;
    }

    internal static void LoadWeights(string path, (string Name, Tensor Parameter)[] named)
    {
        var file = SafeTensors.Read(path);
        string fileName = Path.GetFileName(path);
        var expected = string.Join(", ", named.Select(p => $"{p.Name} {ShapeUtil.Format(p.Parameter.Dims)}"));
        foreach (var entry in file.Tensors)
            if (!named.Any(p => p.Name == entry.Name))
                throw new ModelFileException($"{fileName}: tensor '{entry.Name}' does not belong to this network, which has {expected}. Check --hidden.");
        using var _ = Autodiff.NoGrad();
        foreach (var (name, parameter) in named)
        {
            if (!file.TryGet(name, out var entry))
                throw new ModelFileException($"{fileName}: no tensor '{name}'; this network needs {expected}.");
            if (!entry.Shape.SequenceEqual(parameter.Shape.ToArray()))
                throw new ModelFileException($"{fileName}: '{name}' has shape {ShapeUtil.Format(entry.Shape.ToArray())} but this network needs {ShapeUtil.Format(parameter.Dims)}. Check --hidden and the data's columns.");
            parameter.CopyFrom(ModelFile.ToTensor(entry, parameter.DType));
        }
    }
}
