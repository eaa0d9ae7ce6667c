using System.Globalization;

namespace Backprop.Data;

/// <summary>What a target column asks a model to do.</summary>
public enum TaskKind
{
    /// <summary>Two classes; class 1 (the second label in sorted order) is the positive class.</summary>
    Binary,
    Multiclass,
    Regression,
}

/// <summary>
/// A table of numeric features and one target column, loaded from a CSV file. Every column other than the
/// target is a feature and must hold a finite number in every row.
/// </summary>
public sealed class TabularData
{
    private readonly string[] _rawTargets;

    private TabularData(string source, FeatureMatrix features, string targetName, int targetColumn,
        string[] rawTargets, TaskKind task, LabelEncoder? labels, int[]? classes, double[]? targets)
    {
        Source = source;
        Features = features;
        TargetName = targetName;
        TargetColumn = targetColumn;
        _rawTargets = rawTargets;
        Task = task;
        Labels = labels;
        ClassIndices = classes;
        Targets = targets;
    }

    /// <summary>The file name, for messages.</summary>
    public string Source { get; }
    public FeatureMatrix Features { get; }
    public IReadOnlyList<string> FeatureNames => Features.Names;
    public int Rows => Features.Rows;
    public string TargetName { get; }
    /// <summary>The target's 1-based column number in the file.</summary>
    public int TargetColumn { get; }
    /// <summary>The target cells as written (trimmed), one per row.</summary>
    public IReadOnlyList<string> RawTargets => _rawTargets;
    public TaskKind Task { get; }
    public bool IsClassification => Task != TaskKind.Regression;
    /// <summary>The class labels in class-index order; null for regression.</summary>
    public LabelEncoder? Labels { get; }
    /// <summary>Each row's class index; null for regression.</summary>
    public int[]? ClassIndices { get; }
    /// <summary>Each row's numeric target; null for classification.</summary>
    public double[]? Targets { get; }

    /// <summary>
    /// Loads <paramref name="path"/> with <paramref name="target"/> as the target column and every other
    /// column as a numeric feature. <paramref name="task"/> overrides <see cref="TaskInference.Infer"/>.
    /// </summary>
    public static TabularData Load(string path, string target, TaskKind? task = null, char? delimiter = null) =>
        FromCsv(CsvReader.Read(path, delimiter), target, task);

    public static TabularData FromCsv(CsvTable table, string target, TaskKind? task = null)
    {
        int targetIndex = table.IndexOf(target);
        if (targetIndex < 0)
            throw new DataException(MissingColumnMessage(table, target, " to use as the target"));

        string targetName = table.Columns[targetIndex];
        int rows = table.Rows.Count;
        var featureColumns = Enumerable.Range(0, table.Columns.Count).Where(c => c != targetIndex).ToArray();
        if (featureColumns.Length == 0)
            throw new DataException($"{table.Source} has only the target column '{targetName}'; a model needs at least one feature column besides the target.");

        var features = ParseFeatures(table, featureColumns);

        var raw = new string[rows];
        for (int r = 0; r < rows; r++)
        {
            string cell = table.Rows[r][targetIndex].Trim();
            if (cell.Length == 0)
                throw new DataException($"{Where(table, r, targetIndex)}: the target value is empty; fill it in or remove the row.");
            if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && !double.IsFinite(v))
                throw new DataException($"{Where(table, r, targetIndex)}: the target value '{cell}' is {(double.IsNaN(v) ? "NaN (a missing value)" : "infinite")}; every row needs a finite target, so fix the value or remove the row.");
            raw[r] = cell;
        }

        TaskKind kind = task ?? TaskInference.Infer(raw);
        if (kind == TaskKind.Regression)
        {
            var y = new double[rows];
            for (int r = 0; r < rows; r++)
            {
                if (!LabelEncoder.TryParseNumber(raw[r], out y[r]))
                    throw new DataException($"{Where(table, r, targetIndex)}: the target value '{raw[r]}' is not a number, but the task is regression; use a numeric target column or a classification task.");
            }
            return new TabularData(table.Source, features, targetName, targetIndex + 1, raw, kind, null, null, y);
        }

        var labels = LabelEncoder.Fit(raw);
        if (labels.Count < 2)
            throw new DataException(
                $"{table.Source}: the target column '{targetName}' (column {targetIndex + 1}) has only one distinct value, '{labels.Classes[0]}', in all {rows} rows; classification needs at least two classes, so check that this is the right target column and file.");
        if (kind == TaskKind.Binary && labels.Count != 2)
            throw new DataException(
                $"{table.Source}: the task is binary but the target column '{targetName}' (column {targetIndex + 1}) has {labels.Count} classes ({Preview(labels.Classes)}); use a multiclass task or a two-class target.");
        var classes = new int[rows];
        for (int r = 0; r < rows; r++) classes[r] = labels.Encode(raw[r]);
        return new TabularData(table.Source, features, targetName, targetIndex + 1, raw, kind, labels, classes, null);
    }

    /// <summary>
    /// Loads the named feature columns, in the given order, for prediction. Other columns, including a
    /// target column if the file has one, are ignored.
    /// </summary>
    public static FeatureMatrix LoadFeatures(string path, IReadOnlyList<string> featureNames, char? delimiter = null) =>
        FeaturesFromCsv(CsvReader.Read(path, delimiter), featureNames);

    public static FeatureMatrix FeaturesFromCsv(CsvTable table, IReadOnlyList<string> featureNames)
    {
        var indices = new int[featureNames.Count];
        var missing = new List<string>();
        for (int f = 0; f < featureNames.Count; f++)
        {
            indices[f] = table.IndexOf(featureNames[f]);
            if (indices[f] < 0) missing.Add(featureNames[f]);
        }
        if (missing.Count == 1)
            throw new DataException(MissingColumnMessage(table, missing[0], " (a feature the model was trained on)"));
        if (missing.Count > 1)
            throw new DataException(
                $"{table.Source} lacks {missing.Count} feature columns that the model was trained on: {Preview(missing)}; the file needs every feature column, named as in training. Its columns are: {Preview(table.Columns)}.");
        return ParseFeatures(table, indices);
    }

    private static FeatureMatrix ParseFeatures(CsvTable table, int[] columns)
    {
        int rows = table.Rows.Count, cols = columns.Length;
        var values = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            string[] cells = table.Rows[r];
            for (int f = 0; f < cols; f++)
            {
                string cell = cells[columns[f]];
                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    throw new DataException(NotANumberMessage(table, r, columns[f], cell));
                if (!double.IsFinite(v))
                    throw new DataException(
                        $"{Where(table, r, columns[f])}: the value '{cell.Trim()}' is {(double.IsNaN(v) ? "NaN (a missing value)" : "infinite or out of range")}; features must be finite numbers, so fill in a real value or remove the row.");
                values[r * cols + f] = v;
            }
        }
        return new FeatureMatrix(columns.Select(c => table.Columns[c]).ToArray(), values, rows);
    }

    private static string NotANumberMessage(CsvTable table, int row, int column, string cell)
    {
        string where = Where(table, row, column);
        string value = cell.Trim();
        if (value.Length == 0)
            return $"{where}: the value is missing (empty); features must be numbers in every row, so fill it in or remove the row.";
        string hint = value.Contains(',') && table.Delimiter != ','
            ? " Write decimals with a point (1.5, not 1,5)."
            : " Feature columns must be numeric (with '.' as the decimal point); encode text columns as numbers or remove the column.";
        return $"{where}: '{Shorten(value)}' is not a number.{hint}";
    }

    private static string Where(CsvTable table, int row, int column) =>
        $"{table.Source} line {table.LineNumbers[row]}, column '{table.Columns[column]}' ({column + 1})";

    private static string MissingColumnMessage(CsvTable table, string name, string purpose)
    {
        var close = ColumnNames.Suggest(name, table.Columns);
        string suggestion = close.Count > 0 ? $" Did you mean {string.Join(" or ", close.Select(c => $"'{c}'"))}?" : "";
        return $"{table.Source} has no column '{name}'{purpose}.{suggestion} Its columns are: {Preview(table.Columns)}.";
    }

    private static string Preview(IReadOnlyList<string> names, int max = 40)
    {
        var shown = names.Take(max).Select(n => $"'{n}'");
        string list = string.Join(", ", shown);
        return names.Count > max ? $"{list} and {names.Count - max} more" : list;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";
}

/// <summary>
/// Decides the task from a target column's values. The rule: any value that is not a number means
/// classification (two distinct values: Binary, more: Multiclass). All-numeric values are classification
/// only if they are all integers, there are at most <see cref="MaxIntegerClasses"/> distinct values, and
/// either exactly two or at least <see cref="MinRowsPerClass"/> rows per distinct value on average;
/// everything else is Regression. So 0/1 and 0/1/2 codes are classes, and a count or score with many
/// levels (the diabetes progression, 214 levels in 442 rows) is a regression target. Pass an explicit
/// <see cref="TaskKind"/> when the rule guesses wrong.
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
        foreach (string raw in values)
        {
            string v = raw.Trim();
            distinct.Add(v);
            if (allNumeric && LabelEncoder.TryParseNumber(v, out double x))
            {
                distinctNumbers.Add(x);
                if (x != Math.Floor(x) || Math.Abs(x) > 1e15) allIntegers = false;
            }
            else
            {
                allNumeric = false;
            }
        }
        if (!allNumeric) return distinct.Count == 2 ? TaskKind.Binary : TaskKind.Multiclass;
        int k = distinctNumbers.Count;
        bool looksLikeClasses = allIntegers && k >= 2 && k <= MaxIntegerClasses
            && (k == 2 || (long)k * MinRowsPerClass <= values.Count);
        if (!looksLikeClasses) return TaskKind.Regression;
        return distinct.Count == 2 ? TaskKind.Binary : TaskKind.Multiclass;
    }
}

/// <summary>Suggestions for a mistyped column name.</summary>
internal static class ColumnNames
{
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
