namespace Backprop.Data;

/// <summary>What a target column asks a model to do.</summary>
public enum TaskKind
{
    /// <summary>Two classes; class 1 (the second label in sorted order) is the positive class.</summary>
    Binary,
    Multiclass,
    Regression,
}

/// <summary>What to do with a missing feature value (empty, NA, N/A, NaN, null, ?).</summary>
public enum MissingPolicy
{
    /// <summary>Numeric: the training rows' mean plus a 0/1 "(missing)" indicator; categorical: the most frequent category.</summary>
    Impute,
    /// <summary>Leave out every row with a missing feature value (training only; predict then refuses missing values).</summary>
    Drop,
    /// <summary>A missing feature value is an error naming file, line and column.</summary>
    Error,
}

/// <summary>What to do at predict time with a category that the training rows did not have.</summary>
public enum UnknownCategoryPolicy
{
    /// <summary>An error naming the column, the value and the known categories.</summary>
    Error,
    /// <summary>Encode it as all zeros (no category) and count it.</summary>
    Ignore,
}

/// <summary>Which columns are features and how they are turned into numbers; stored with the model.</summary>
public sealed record PreprocessOptions
{
    /// <summary>Use exactly these columns as features (null: every column but the target and <see cref="Drop"/>).</summary>
    public IReadOnlyList<string>? Features { get; init; }
    /// <summary>Columns that are not features (an ID, free-text notes).</summary>
    public IReadOnlyList<string> Drop { get; init; } = [];
    /// <summary>Numeric columns to one-hot encode as categories (text columns always are).</summary>
    public IReadOnlyList<string> Categorical { get; init; } = [];
    public MissingPolicy Missing { get; init; } = MissingPolicy.Impute;
    public UnknownCategoryPolicy Unknown { get; init; } = UnknownCategoryPolicy.Error;
    /// <summary>A categorical column with more distinct values than this in the training rows is refused.</summary>
    public int MaxCategories { get; init; } = 1000;

    public static readonly PreprocessOptions Default = new();

    public static MissingPolicy ParseMissing(string text) => text.Trim().ToLowerInvariant() switch
    {
        "impute" => MissingPolicy.Impute,
        "drop" => MissingPolicy.Drop,
        "error" => MissingPolicy.Error,
        _ => throw new DataException($"--missing: '{MessageText.Quote(text)}' is not a choice; use impute (default), drop or error."),
    };

    public static UnknownCategoryPolicy ParseUnknown(string text) => text.Trim().ToLowerInvariant() switch
    {
        "error" => UnknownCategoryPolicy.Error,
        "ignore" => UnknownCategoryPolicy.Ignore,
        _ => throw new DataException($"--unknown: '{MessageText.Quote(text)}' is not a choice; use error (default) or ignore."),
    };
}

/// <summary>
/// A loaded CSV table with one target column: the task, the class labels or numeric targets, the rows that
/// have a target, and the columns that are feature candidates. Turning features into numbers is the
/// <see cref="Preprocessor"/>'s job; <see cref="Features"/> gives them "as given" for commands that use raw
/// numbers (grad, explain without a model).
/// </summary>
public sealed class TabularData
{
    private FeatureMatrix? _features;
    private readonly List<string> _warnings;

    private TabularData(DataTable table, DataColumn target, int[] rows, string[] featureColumns, TaskKind task,
        LabelEncoder? labels, int[]? classes, double[]? targets, PreprocessOptions options, List<string> warnings)
    {
        Table = table;
        TargetName = target.Name;
        TargetColumn = target.Position;
        TableRows = rows;
        FeatureColumns = featureColumns;
        Task = task;
        Labels = labels;
        ClassIndices = classes;
        Targets = targets;
        Options = options;
        _warnings = warnings;
    }

    /// <summary>The file name, for messages.</summary>
    public string Source => Table.Source;
    public DataTable Table { get; }
    /// <summary>The rows of <see cref="Table"/> that are examples (those with a target, and with every feature under <see cref="MissingPolicy.Drop"/>), ascending.</summary>
    public int[] TableRows { get; }
    public int Rows => TableRows.Length;
    /// <summary>The feature columns chosen (file order, or the order of <see cref="PreprocessOptions.Features"/>).</summary>
    public IReadOnlyList<string> FeatureColumns { get; }
    /// <summary>Same as <see cref="FeatureColumns"/>.</summary>
    public IReadOnlyList<string> FeatureNames => FeatureColumns;
    public PreprocessOptions Options { get; }
    public string TargetName { get; }
    /// <summary>The target's 1-based column number in the file.</summary>
    public int TargetColumn { get; }
    public TaskKind Task { get; }
    public bool IsClassification => Task != TaskKind.Regression;
    /// <summary>The class labels in class-index order; null for regression.</summary>
    public LabelEncoder? Labels { get; }
    /// <summary>Each example's class index (aligned with <see cref="TableRows"/>); null for regression.</summary>
    public int[]? ClassIndices { get; }
    /// <summary>Each example's numeric target; null for classification.</summary>
    public double[]? Targets { get; }
    /// <summary>
    /// Each example's target as text: the class label (numbers in shortest form, so "1.0" reads "1") or the
    /// value in shortest round-trip form.
    /// </summary>
    public IReadOnlyList<string> RawTargets => _rawTargets ??= ClassIndices is { } ci
        ? [.. ci.Select(Labels!.Decode)]
        : [.. Targets!.Select(Cells.Format)];

    private string[]? _rawTargets;

    /// <summary>Things the user should know (rows left out, columns that look like identifiers), one sentence each.</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>
    /// The feature columns as given, as a dense matrix (one row per example): every one must be numeric,
    /// present and finite. Commands that take features as given (grad, explain without a model) use it.
    /// </summary>
    public FeatureMatrix Features => _features ??= RawFeatures();

    /// <summary>
    /// Loads <paramref name="path"/> with <paramref name="target"/> as the target column. Only the target and the
    /// feature columns that <paramref name="options"/> chooses are stored. <paramref name="task"/> overrides
    /// <see cref="TaskInference.Infer(IReadOnlyList{string})"/>.
    /// </summary>
    public static TabularData Load(string path, string target, TaskKind? task = null, PreprocessOptions? options = null,
        CsvOptions? csv = null, Action<LoadProgress>? progress = null)
    {
        options ??= PreprocessOptions.Default;
        var wanted = options.Features is { } f ? new HashSet<string>(f, StringComparer.Ordinal) : null;
        var drop = new HashSet<string>(options.Drop, StringComparer.Ordinal);
        var table = DataTable.Load(path, csv, name => name == target || (wanted?.Contains(name) ?? !drop.Contains(name)), progress);
        return FromTable(table, target, task, options);
    }

    public static TabularData FromTable(DataTable table, string target, TaskKind? task = null, PreprocessOptions? options = null)
    {
        options ??= PreprocessOptions.Default;
        var targetColumn = table.Find(target) ?? throw new DataException(table.MissingColumnMessage(target, " to use as the target"));
        var warnings = new List<string>();
        var featureColumns = ChooseFeatures(table, targetColumn, options);
        foreach (var name in featureColumns)
        {
            var column = table.Find(name)!;
            if (column.LooksLikeIdentifier(table.Rows))
                warnings.Add($"column '{column.Name}' looks like an identifier ({(column.IsNumeric ? "integers that differ in every row" : "a different value in every row")}) and is used as a feature; pass --drop {column.Name} to leave it out, or --features to choose the features.");
        }

        // Rows whose target is missing cannot be learned from (nor scored).
        var rows = new List<int>(table.Rows);
        int firstMissing = -1, missingTargets = 0;
        for (int r = 0; r < table.Rows; r++)
        {
            if (targetColumn.IsMissing(r))
            {
                if (options.Missing == MissingPolicy.Error)
                    throw new DataException($"{table.Where(r, targetColumn)}: the target value is missing; fill it in or remove the row (or train with --missing impute or drop, which leave such rows out).");
                if (firstMissing < 0) firstMissing = r;
                missingTargets++;
                continue;
            }
            rows.Add(r);
        }
        if (missingTargets > 0)
            warnings.Add($"{missingTargets} row{(missingTargets == 1 ? " has" : "s have")} no value in the target column '{targetColumn.Name}' (first: line {table.Line(firstMissing)}); left out.");
        if (options.Missing == MissingPolicy.Drop)
        {
            var columns = featureColumns.Select(n => table.Find(n)!).ToArray();
            int before = rows.Count, first = -1;
            rows.RemoveAll(r =>
            {
                foreach (var c in columns)
                    if (c.IsMissing(r)) { if (first < 0 || r < first) first = r; return true; }
                return false;
            });
            if (rows.Count < before)
                warnings.Add($"{before - rows.Count} row{(before - rows.Count == 1 ? " has" : "s have")} a missing feature value (first: line {table.Line(first)}); left out (--missing drop).");
        }
        if (rows.Count == 0)
            throw new DataException($"{table.Source}: no row has a target value in column '{targetColumn.Name}' ({targetColumn.Position}); every value there is missing.");

        // Infinite targets are never data.
        if (targetColumn.IsNumeric && targetColumn.FirstInfiniteRow >= 0)
            throw new DataException($"{table.Where(targetColumn.FirstInfiniteRow, targetColumn)}: the target value is infinite; every row needs a finite target, so fix the value or remove the row.");

        var example = rows.ToArray();
        var (kind, labelOf) = InferTask(table, targetColumn, example, task);
        if (kind == TaskKind.Regression)
        {
            var y = new double[example.Length];
            for (int i = 0; i < example.Length; i++)
            {
                int r = example[i];
                if (!targetColumn.TryNumber(r, out y[i]))
                    throw new DataException($"{table.Where(r, targetColumn)}: the target value '{MessageText.Quote(targetColumn.Text(r))}' is not a number, but the task is regression; use a numeric target column or a classification task.");
                if (!double.IsFinite(y[i]))
                    throw new DataException($"{table.Where(r, targetColumn)}: the target value is infinite; every row needs a finite target, so fix the value or remove the row.");
            }
            return new TabularData(table, targetColumn, example, featureColumns, kind, null, null, y, options, warnings);
        }

        // Labels from the distinct values, then one class index per row without a string per row.
        var distinctLabels = new HashSet<string>(StringComparer.Ordinal);
        var byValue = new Dictionary<double, int>();
        foreach (int r in example)
        {
            if (targetColumn.IsNumeric) { if (byValue.TryAdd(targetColumn.Number(r), 0)) distinctLabels.Add(labelOf(r)); }
            else distinctLabels.Add(targetColumn.Text(r)!);
        }
        var labels = LabelEncoder.Fit(distinctLabels);
        if (kind == TaskKind.Binary && labels.Count != 2)
            throw new DataException(
                $"{table.Source}: the task is binary but the target column '{targetColumn.Name}' (column {targetColumn.Position}) has {labels.Count} classes ({ColumnNames.Preview(labels.Classes)}); use a multiclass task or a two-class target.");
        foreach (var v in byValue.Keys.ToArray()) byValue[v] = labels.Encode(Cells.Format(v));
        var classes = new int[example.Length];
        for (int i = 0; i < classes.Length; i++)
            classes[i] = targetColumn.IsNumeric ? byValue[targetColumn.Number(example[i])] : labels.Encode(targetColumn.Text(example[i])!);
        return new TabularData(table, targetColumn, example, featureColumns, kind, labels, classes, null, options, warnings);
    }

    // The task, and for classification each row's label: text as written, numbers in shortest form, so "1"
    // and "1.0" are one class.
    private static (TaskKind, Func<int, string>) InferTask(DataTable table, DataColumn target, int[] rows, TaskKind? task)
    {
        int distinctCount;
        bool numeric = target.IsNumeric;
        bool integers = true;
        string first = "";
        if (numeric)
        {
            var distinct = new HashSet<double>();
            foreach (int r in rows)
            {
                double v = target.Number(r);
                distinct.Add(v);
                if (v != Math.Floor(v) || Math.Abs(v) > 1e15) integers = false;
            }
            distinctCount = distinct.Count;
            first = Cells.Format(distinct.First());
        }
        else
        {
            var distinct = new HashSet<string>(StringComparer.Ordinal);
            foreach (int r in rows) distinct.Add(target.Text(r)!);
            distinctCount = distinct.Count;
            first = distinct.First();
        }
        if (distinctCount < 2)
            throw new DataException(
                $"{table.Source}: the target column '{target.Name}' (column {target.Position}) has only one distinct value, '{MessageText.Quote(first)}', in all {rows.Length} rows with a target; there is nothing to learn (classification needs two classes, regression a target that varies), so check that this is the right target column and file.");
        var kind = task ?? TaskInference.Decide(numeric, integers, distinctCount, rows.Length);
        Func<int, string> label = numeric ? r => Cells.Format(target.Number(r)) : r => target.Text(r)!;
        return (kind, label);
    }

    private static string[] ChooseFeatures(DataTable table, DataColumn target, PreprocessOptions options)
    {
        foreach (var name in options.Drop)
            if (!table.Header.Contains(name))
                throw new DataException(table.MissingColumnMessage(name, " to drop (--drop)"));
        if (options.Features is { } chosen)
        {
            var missing = chosen.Where(n => table.Find(n) is null).ToList();
            if (missing.Count > 0)
                throw new DataException(missing.Count == 1
                    ? table.MissingColumnMessage(missing[0], " to use as a feature (--features)")
                    : $"{table.Source} has no columns {ColumnNames.Preview(missing)} (--features). Its columns are: {ColumnNames.Preview(table.Header)}.");
            if (chosen.Contains(target.Name))
                throw new DataException($"--features names the target column '{target.Name}'; a column cannot be both the target and a feature.");
            var dup = chosen.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (dup is not null) throw new DataException($"--features names '{dup.Key}' twice; name each column once.");
            var both = chosen.Intersect(options.Drop).FirstOrDefault();
            if (both is not null) throw new DataException($"'{both}' is in both --features and --drop; choose one.");
            return [.. chosen];
        }
        var features = table.Columns.Where(c => c != target && !options.Drop.Contains(c.Name)).Select(c => c.Name).ToArray();
        if (features.Length == 0)
            throw new DataException($"{table.Source} has no feature column besides the target '{target.Name}'{(options.Drop.Count > 0 ? " and the dropped ones" : "")}; a model needs at least one.");
        return features;
    }

    private FeatureMatrix RawFeatures()
    {
        var columns = FeatureColumns.Select(n => Table.Find(n)!).ToArray();
        int cols = columns.Length;
        var values = new double[(long)Rows * cols];
        for (int i = 0; i < Rows; i++)
        {
            int r = TableRows[i];
            for (int f = 0; f < cols; f++)
            {
                var c = columns[f];
                if (c.IsMissing(r))
                    throw new DataException($"{Table.Where(r, c)}: the value is missing; this command uses features as given, so fill it in or remove the row ('backprop train' imputes missing values).");
                if (!c.TryNumber(r, out double v))
                    throw new DataException($"{Table.Where(r, c)}: '{MessageText.Quote(c.Text(r))}' is not a number; this command uses features as given, with '.' as the decimal point. 'backprop train' one-hot encodes text columns; or leave the column out.");
                if (!double.IsFinite(v))
                    throw new DataException($"{Table.Where(r, c)}: the value is infinite; features must be finite numbers, so fix the value or remove the row.");
                values[(long)i * cols + f] = v;
            }
        }
        return new FeatureMatrix(FeatureColumns, values, Rows);
    }
}

/// <summary>
/// Decides the task from a target column's values. Missing values (empty, NA, …) are left out first. The
/// rule: any value that is not a number means classification (two distinct values: Binary, more:
/// Multiclass). All-numeric values are classification only if they are all integers, there are at most
/// <see cref="MaxIntegerClasses"/> distinct values, and either exactly two or at least
/// <see cref="MinRowsPerClass"/> rows per distinct value on average; everything else is Regression.
/// Numbers are distinct by value, so "1" and "1.0" are one. So 0/1 and 0/1/2 codes are classes, and a
/// count or score with many levels (the diabetes progression, 214 levels in 442 rows) is a regression
/// target. Pass an explicit <see cref="TaskKind"/> when the rule guesses wrong.
/// </summary>
public static class TaskInference
{
    public const int MaxIntegerClasses = 20;
    public const int MinRowsPerClass = 10;

    public static TaskKind Infer(IReadOnlyList<string> values)
    {
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        var distinctNumbers = new HashSet<double>();
        bool allNumeric = true, allIntegers = true;
        int present = 0;
        foreach (string raw in values)
        {
            var v = raw.AsSpan().Trim();
            if (Cells.IsMissing(v)) continue;
            present++;
            distinct.Add(v.ToString());
            if (allNumeric && Cells.TryParseNumber(v, out double x))
            {
                distinctNumbers.Add(x);
                if (x != Math.Floor(x) || Math.Abs(x) > 1e15) allIntegers = false;
            }
            else allNumeric = false;
        }
        return Decide(allNumeric, allIntegers, allNumeric ? distinctNumbers.Count : distinct.Count, present);
    }

    /// <summary>The rule above, from a column's summary.</summary>
    public static TaskKind Decide(bool allNumeric, bool allIntegers, int distinctCount, int rows)
    {
        if (!allNumeric) return distinctCount == 2 ? TaskKind.Binary : TaskKind.Multiclass;
        int k = distinctCount;
        bool looksLikeClasses = allIntegers && k >= 2 && k <= MaxIntegerClasses && (k == 2 || (long)k * MinRowsPerClass <= rows);
        if (!looksLikeClasses) return TaskKind.Regression;
        return k == 2 ? TaskKind.Binary : TaskKind.Multiclass;
    }
}

/// <summary>Suggestions for a mistyped column name.</summary>
internal static class ColumnNames
{
    /// <summary>Names quoted and joined, at most <paramref name="max"/> of them.</summary>
    public static string Preview(IReadOnlyList<string> names, int max = 40)
    {
        var shown = names.Take(max).Select(n => $"'{MessageText.Quote(n)}'");
        string list = string.Join(", ", shown);
        return names.Count > max ? $"{list} and {names.Count - max} more" : list;
    }

    public static IReadOnlyList<string> Suggest(string wanted, IReadOnlyList<string> available, int max = 3)
    {
        string w = wanted.Trim().ToLowerInvariant();
        // Short names allow one edit, so "a" does not suggest every other one-letter column.
        int limit = w.Length <= 3 ? 1 : Math.Max(2, w.Length / 3);
        return available
            .Select(name => (name, score: Score(w, name.ToLowerInvariant(), limit)))
            .Where(t => t.score < int.MaxValue)
            .OrderBy(t => t.score)
            .ThenBy(t => t.name, StringComparer.Ordinal)
            .Take(max)
            .Select(t => t.name)
            .ToList();
    }

    private static int Score(string wanted, string name, int limit)
    {
        if (wanted.Length == 0) return int.MaxValue;
        if (name == wanted) return 0;
        int d = EditDistance(wanted, name);
        if (d <= limit) return d;
        // A prefix or fragment ("radius" for "mean_radius") is a weaker hint, ranked after typos.
        if (wanted.Length >= 3 && name.Contains(wanted, StringComparison.Ordinal)) return limit + 1 + name.Length - wanted.Length;
        return int.MaxValue;
    }

    // Optimal string alignment distance: Levenshtein plus adjacent transpositions ("lable" → "label" is 1).
    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                int best = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    best = Math.Min(best, d[i - 2, j - 2] + 1);
                d[i, j] = best;
            }
        }
        return d[a.Length, b.Length];
    }
}
