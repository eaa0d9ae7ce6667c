using System.Diagnostics;
using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.Tests.Data;

namespace Backprop.Tests.Cli;

/// <summary>
/// The fixture customers.csv has an ID column, a text column (colour) with missing values, a text column
/// with commas and quotes (city), a numeric column with NA/empty/?/null (age, income), free-text notes and a
/// yes/no target: train, predict (in a separate process too), evaluate, explain and inspect on it.
/// </summary>
public class TabularCliTests
{
    private static readonly Lazy<(string Dir, string Model)> Trained = new(() =>
    {
        string dir = CliRunner.TempDir();
        string model = Path.Combine(dir, "customers.safetensors");
        var r = CliRunner.Run("train", PreprocessorTests.Fixture, "--target", "bought", "--drop", "id,notes", "--epochs", "60", "--out", model, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        return (dir, model);
    });

    [Fact]
    public void TrainWarnsAboutIdentifierColumnsByName()
    {
        string model = Path.Combine(CliRunner.TempDir(), "m.safetensors");
        var r = CliRunner.Run("train", PreprocessorTests.Fixture, "--target", "bought", "--epochs", "2", "--out", model, "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("warning: column 'id' looks like an identifier", r.Error);
        Assert.Contains("--drop id", r.Error);
        Assert.Contains("warning: column 'notes'", r.Error);
        Assert.DoesNotContain("'colour' looks like", r.Error);
    }

    [Fact]
    public void PredictInANewProcessIsByteIdenticalWithIdsAndTargetNamedColumns()
    {
        var (dir, model) = Trained.Value;
        string a = Path.Combine(dir, "a.csv"), b = Path.Combine(dir, "b.csv");
        // Two fresh processes: in-process runs share the GEMM's global test switches with tests running in
        // parallel (GemmTests forces kernels and paths), which may change the last bit.
        var inProcess = CliRunner.RunProcess("predict", model, PreprocessorTests.Fixture, "--id", "id", "--out", a);
        Assert.True(inProcess.ExitCode == 0, inProcess.Error);
        var separate = CliRunner.RunProcess("predict", model, PreprocessorTests.Fixture, "--id", "id", "--out", b);
        Assert.True(separate.ExitCode == 0, separate.Error);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        var lines = File.ReadAllLines(a);
        Assert.Equal("id,bought,p_no,p_yes", lines[0]);
        Assert.Equal(161, lines.Length);
        Assert.StartsWith("C0001,", lines[1]);
        // float32 probabilities in their shortest form: never 17 significant digits.
        foreach (var field in lines[1..].SelectMany(l => l.Split(',').Skip(2)))
            Assert.True(field.TrimStart('0', '.').Replace("E-", "").Length <= 10, field);
        Assert.Contains("missing cells were imputed", inProcess.Error);
    }

    [Fact]
    public void EvaluateReadsOnlyTheModelsColumnsAndExplainAndInspectWork()
    {
        var (dir, model) = Trained.Value;
        var eval = CliRunner.Run("evaluate", model, PreprocessorTests.Fixture, "--json");
        Assert.True(eval.ExitCode == 0, eval.Error);
        var test = JsonNode.Parse(eval.Output)!["test"]!;
        Assert.Equal(160, (int)test["rows"]!);
        Assert.True((double)test["accuracy"]! > 0.7, eval.Output);

        // Columns by name: the same rows with the columns reversed (and an extra one) explain identically.
        var original = File.ReadAllLines(PreprocessorTests.Fixture);
        string reversed = Path.Combine(dir, "reversed.csv");
        File.WriteAllLines(reversed, original.Select(l => "extra," + string.Join(",", SplitCsv(l).Reverse().Select(f => CsvWriter.Quote(f)))).Select((l, i) => i == 0 ? l : l.Replace("extra,", "0,")));
        var e1 = CliRunner.RunProcess("explain", model, PreprocessorTests.Fixture, "--rows", "0,1", "--format", "json");
        var e2 = CliRunner.RunProcess("explain", model, reversed, "--rows", "0,1", "--format", "json");
        Assert.True(e1.ExitCode == 0, e1.Error + e1.Output[..Math.Min(500, e1.Output.Length)]);
        Assert.Equal(e1.Output.Replace("customers.csv", "X"), e2.Output.Replace("reversed.csv", "X"));
        var text = CliRunner.Run("explain", model, PreprocessorTests.Fixture, "--rows", "0,1");
        Assert.Contains("row 1 age (missing): 1: the value was missing", text.Output);

        var inspect = CliRunner.Run("inspect", model);
        Assert.Equal(0, inspect.ExitCode);
        Assert.Contains("colour=red", inspect.Output);
        Assert.Contains("age (missing)", inspect.Output);
        Assert.Contains("categorical, 3 categories", inspect.Output);
        var json = JsonNode.Parse(CliRunner.Run("inspect", model, "--json").Output)!;
        Assert.Equal("impute", (string)json["preprocessing"]!["missing"]!);
    }

    [Fact]
    public void UnseenCategoriesAreAnErrorOrCountedZeros()
    {
        var (dir, model) = Trained.Value;
        string data = Path.Combine(dir, "purple.csv");
        File.WriteAllText(data, "age,income,colour,city\n30,50,red,Oslo\n40,60,purple,Oslo\n");
        string before = Path.Combine(dir, "keep.csv");
        File.WriteAllText(before, "old");
        var r = CliRunner.Run("predict", model, data, "--out", before);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("purple.csv line 3, column 'colour' (3)", r.Error);
        Assert.Contains("'purple'", r.Error);
        Assert.Contains("'blue', 'green', 'red'", r.Error);
        Assert.Equal("old", File.ReadAllText(before));

        string ignoring = Path.Combine(dir, "ignore.safetensors");
        Assert.Equal(0, CliRunner.Run("train", PreprocessorTests.Fixture, "--target", "bought", "--drop", "id,notes", "--epochs", "5", "--unknown", "ignore", "--out", ignoring, "--json").ExitCode);
        var ok = CliRunner.Run("predict", ignoring, data);
        Assert.True(ok.ExitCode == 0, ok.Error);
        Assert.Equal(3, ok.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("1 cells had a category not seen in training", ok.Error);
        Assert.Contains("colour: 1", ok.Error);
    }

    [Fact]
    public void EvaluateOnOneClassGivesMetricsWithAucUndefined()
    {
        var (dir, model) = Trained.Value;
        string data = Path.Combine(dir, "yes.csv");
        var rows = File.ReadAllLines(PreprocessorTests.Fixture);
        File.WriteAllLines(data, rows.Take(1).Concat(rows.Skip(1).Where(l => l.EndsWith(",yes"))));
        var r = CliRunner.Run("evaluate", model, data, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var test = JsonNode.Parse(r.Output)!["test"]!;
        Assert.Null(test["roc_auc"]);
        Assert.Equal("undefined: only one class present", (string)test["roc_auc_note"]!);
        Assert.NotNull(test["accuracy"]);
        var text = CliRunner.Run("evaluate", model, data);
        Assert.Contains("undefined: only one class present", text.Output);
    }

    [Fact]
    public void NonFiniteAfterStandardisationNamesTheCell()
    {
        var (dir, model) = Trained.Value;
        string data = Path.Combine(dir, "huge.csv");
        File.WriteAllText(data, "age,income,colour,city\n30,50,red,Oslo\n40,1e300,red,Oslo\n");
        var r = CliRunner.Run("predict", model, data);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("huge.csv line 3, column 'income' (2)", r.Error);
        Assert.Contains("float32", r.Error);
    }

    [Fact]
    public void PredictionsCsvWithAwkwardLabelsReadsBackTheSameInPythonAndBackprop()
    {
        string dir = CliRunner.TempDir();
        string[] labels = ["a,b", "say \"hi\"", "two\nlines"];
        var lines = new List<string> { "x,label" };
        for (int i = 0; i < 90; i++) lines.Add($"{i % 3 + 0.1 * (i % 7)},{CsvWriter.Quote(labels[i % 3])}");
        string data = Path.Combine(dir, "awkward.csv");
        File.WriteAllText(data, string.Join("\n", lines) + "\n");
        string model = Path.Combine(dir, "m.safetensors"), predictions = Path.Combine(dir, "p.csv");
        Assert.Equal(0, CliRunner.Run("train", data, "--target", "label", "--epochs", "3", "--out", model, "--json").ExitCode);
        var r = CliRunner.Run("predict", model, data, "--out", predictions);
        Assert.True(r.ExitCode == 0, r.Error);

        // Backprop's own reader (cells as written; it trims, so compare trimmed).
        var table = DataTable.Load(predictions);
        var ours = new List<List<string>> { table.Header.ToList() };
        for (int row = 0; row < table.Rows; row++) ours.Add([.. table.Columns.Select(c => c.Text(row) ?? "")]);
        Assert.Equal(["label", "p_a,b", "p_say \"hi\"", "p_two\nlines"], ours[0]);

        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), "the tests need /usr/bin/python3 (Debian's python3), which .ci/run installs");
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import csv,json,sys\nwith open(sys.argv[1], newline='') as f: print(json.dumps(list(csv.reader(f))))");
        start.ArgumentList.Add(predictions);
        using var p = Process.Start(start)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
        var theirs = JsonNode.Parse(output)!.AsArray().Select(row => row!.AsArray().Select(f => ((string)f!).Trim()).ToList()).ToList();
        Assert.Equal(ours.Count, theirs.Count);
        for (int i = 0; i < ours.Count; i++) Assert.Equal(ours[i], theirs[i]);
    }

    private static IEnumerable<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var sb = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        fields.Add(sb.ToString());
        return fields;
    }
}
