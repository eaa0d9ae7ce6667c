using System.CommandLine;
using System.Globalization;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Cli;

/// <summary>Options shared by several commands, defined once so their names, defaults and help agree.</summary>
internal static class CliOptions
{
    public static Argument<FileInfo> DataArgument() => new("DATA") { Description = "CSV file with a header row (comma, semicolon or tab separated)." };

    public static Option<string> Target(bool required) => new("--target", "-t")
    {
        Description = "Name of the column to predict (every other column is a feature unless --features or --drop say otherwise).",
        Required = required,
    };

    public static Option<string> Hidden() => new("--hidden")
    {
        Description = "Hidden layer widths, comma separated: 32 or 64,32. Empty for none.",
        DefaultValueFactory = _ => "32",
    };

    public static Option<string> Activation() => new("--activation")
    {
        Description = $"Hidden-layer activation: {string.Join(", ", ActivationExtensions.ValidNames)}.",
        DefaultValueFactory = _ => "relu",
    };

    public static Option<string?> Task() => new("--task")
    {
        Description = "binary, multiclass or regression. Default: inferred from the target column (text or few integer values: classification).",
    };

    public static Option<ulong> Seed() => new("--seed")
    {
        Description = "Seed for initialisation, splits and shuffling; the same seed gives the same run.",
        DefaultValueFactory = _ => 0UL,
    };

    public static Option<string> DType() => new("--dtype")
    {
        Description = "float32 (default, fast) or float64 (for checking numbers).",
        DefaultValueFactory = _ => "float32",
    };

    public static Option<string> Encoding() => new("--encoding")
    {
        Description = "Text encoding of the CSV file: utf-8 (default; a byte order mark is skipped), latin1, utf-16 (little-endian unless a byte order mark says otherwise) or utf-16be.",
        DefaultValueFactory = _ => "utf-8",
    };

    public static CsvOptions Csv(System.CommandLine.ParseResult parse, Option<string> encoding) =>
        new() { Encoding = CsvOptions.ParseEncoding(parse.GetValue(encoding)!) };

    /// <summary>A comma-separated list of column names (names may not contain commas; quote the option as a whole in the shell).</summary>
    public static IReadOnlyList<string> ParseNames(string? text) =>
        string.IsNullOrWhiteSpace(text) ? [] : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// Shows "loading FILE: …" on stderr once loading has taken more than a second: on a terminal one line
    /// rewritten in place twice a second, in a log a line per tenth of the file (or every ten seconds).
    /// </summary>
    public static Action<LoadProgress> LoadingProgress(TextWriter err, string path)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool terminal = err == Console.Error && !Console.IsErrorRedirected;
        double last = 0;
        long lastTenth = -1;
        string name = Path.GetFileName(path);
        return p =>
        {
            double s = clock.Elapsed.TotalSeconds;
            if (s < 1) return;
            bool done = p.TotalBytes > 0 && p.BytesRead >= p.TotalBytes;
            long tenth = p.TotalBytes > 0 ? 10 * p.BytesRead / p.TotalBytes : (long)(s / 10);
            if (terminal ? s - last < 0.5 && !done : tenth == lastTenth) return;
            last = s;
            lastTenth = tenth;
            string share = p.TotalBytes > 0 ? string.Create(CultureInfo.InvariantCulture, $"{100.0 * p.BytesRead / p.TotalBytes:F0}%, ") : "";
            string line = string.Create(CultureInfo.InvariantCulture, $"loading {name}: {share}{p.Rows:N0} rows, {p.BytesRead / 1e6:F0} MB in {s:F1} s");
            if (terminal) err.Write("\r" + line + (done ? "\n" : ""));
            else err.WriteLine(line);
        };
    }

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object on stdout instead of tables." };

    public static int[] ParseHidden(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
                throw new CliUsageException($"--hidden: '{parts[i]}' is not a layer width; give positive integers like 32 or 64,32.");
        return sizes;
    }

    public static TaskKind? ParseTask(string? text) => text?.ToLowerInvariant() switch
    {
        null => null,
        "binary" => TaskKind.Binary,
        "multiclass" => TaskKind.Multiclass,
        "regression" => TaskKind.Regression,
        _ => throw new CliUsageException($"--task: '{text}' is not a task; use binary, multiclass or regression."),
    };

    public static string RequireFile(FileInfo file)
    {
        if (Directory.Exists(file.FullName)) throw new CliUsageException($"'{file.FullName}' is a directory, not a file; pass the path of the file itself.");
        if (!file.Exists) throw new CliUsageException($"file not found: {file.FullName}");
        return file.FullName;
    }
}
