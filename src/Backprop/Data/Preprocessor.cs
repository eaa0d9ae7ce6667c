using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Backprop.Data;

/// <summary>How one raw column becomes network inputs.</summary>
public enum FeatureKind
{
    /// <summary>One input, (x − Mean) / Scale; a missing x is replaced by Fill (and flagged by an indicator input if there is one).</summary>
    Numeric,
    /// <summary>One 0/1 input per known category, in sorted order; a missing value is replaced by Fill.</summary>
    Categorical,
}

/// <summary>
/// One raw column's treatment, as fitted on the training rows. Numeric: <see cref="Mean"/> and
/// <see cref="Scale"/> standardise (x' = (x − Mean) / Scale, Scale the population standard deviation after
/// imputation, 1 for a constant column), <see cref="Fill"/> is the training mean used for a missing value
/// and <see cref="HasMissingIndicator"/> adds an input "name (missing)" that is 1 where the value was
/// missing (only for columns with a missing value in the training rows). Categorical:
/// <see cref="Categories"/> in sorted order (ordinal for text, by value for numbers) each get an input
/// "name=category"; <see cref="FillCategory"/> (the most frequent training category, ties to the first in
/// order) replaces a missing value. The column's inputs are <see cref="Offset"/> .. Offset + Width − 1.
/// </summary>
public sealed record PreprocessedColumn
{
    public required string Name { get; init; }
    public required FeatureKind Kind { get; init; }
    public double Mean { get; init; }
    public double Scale { get; init; } = 1;
    public double Fill { get; init; }
    public bool HasMissingIndicator { get; init; }
    public IReadOnlyList<string> Categories { get; init; } = [];
    public string? FillCategory { get; init; }
    /// <summary>The categories are numbers (a numeric column named in --categorical), matched by value.</summary>
    public bool NumericCategories { get; init; }
    public int Offset { get; init; }
    public int Width => Kind == FeatureKind.Numeric ? (HasMissingIndicator ? 2 : 1) : Categories.Count;
}

/// <summary>What a transform did that the user should hear about.</summary>
public sealed class TransformCounts
{
    /// <summary>Missing cells replaced by their imputation value.</summary>
    public long Imputed { get; set; }
    /// <summary>Per column, cells with a category unknown to the model (encoded as all zeros under --unknown ignore).</summary>
    public Dictionary<string, long> Unknown { get; } = new(StringComparer.Ordinal);
    public long UnknownTotal => Unknown.Values.Sum();
}

/// <summary>One network input for one row, and how it was made from the raw cell (for explain's header).</summary>
public sealed record FeatureTrace(string Feature, string Column, string? Raw, double Value, string How);

/// <summary>
/// The one preprocessing between a CSV row and the network's input: which columns are features, how each is
/// encoded (standardised number, imputation, missing indicator, one-hot categories), fitted on training rows
/// only and stored with the model (<see cref="ToJson"/> / <see cref="FromJson"/>). Every command that applies
/// a model goes through <see cref="Transform(DataTable, ReadOnlySpan{int}, DType, TransformCounts?)"/>,
/// which finds the columns by name (order and extra columns do not matter; missing ones are an error naming
/// them) and refuses, naming file, line and column, anything it cannot encode: a missing value the model has
/// no imputation for, text in a numeric column, an infinite value, a value that standardisation makes too
/// large for the dtype, an unseen category (unless <see cref="Unknown"/> is Ignore).
/// Network input i is named <see cref="FeatureNames"/>[i]: "age", "age (missing)", "colour=red".
/// </summary>
public sealed class Preprocessor
{
    private const double MachineEpsilon = 2.220446049250313e-16;
    private readonly PreprocessedColumn[] _columns;
    private readonly string[] _names;
    private readonly Dictionary<string, int>[] _categoryIndex;

    public Preprocessor(IEnumerable<PreprocessedColumn> columns, MissingPolicy missing, UnknownCategoryPolicy unknown)
    {
        var list = new List<PreprocessedColumn>();
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in columns)
        {
            string where = $"preprocessing column {list.Count + 1} ('{MessageText.Quote(c.Name)}')";
            if (string.IsNullOrEmpty(c.Name)) throw new DataException($"preprocessing column {list.Count + 1} has no name.");
            if (!seen.Add(c.Name)) throw new DataException($"{where}: the name appears twice; every column name must be unique.");
            if (c.Kind == FeatureKind.Numeric)
            {
                if (!double.IsFinite(c.Mean)) throw new DataException($"{where}: mean is {Cells.Format(c.Mean)}; it must be finite.");
                if (!double.IsFinite(c.Scale) || c.Scale <= 0) throw new DataException($"{where}: scale is {Cells.Format(c.Scale)}; it must be finite and positive.");
                if (!double.IsFinite(c.Fill)) throw new DataException($"{where}: fill is {Cells.Format(c.Fill)}; it must be finite.");
                names.Add(c.Name);
                if (c.HasMissingIndicator) names.Add(c.Name + " (missing)");
            }
            else
            {
                if (c.Categories.Count == 0) throw new DataException($"{where}: a categorical column needs at least one category.");
                if (c.Categories.Distinct(StringComparer.Ordinal).Count() != c.Categories.Count) throw new DataException($"{where}: a category is listed twice; categories must be unique.");
                if (c.FillCategory is not null && !c.Categories.Contains(c.FillCategory)) throw new DataException($"{where}: the fill category '{MessageText.Quote(c.FillCategory)}' is not one of its categories.");
                if (c.NumericCategories && c.Categories.Any(k => !Cells.TryParseNumber(k, out _))) throw new DataException($"{where}: numeric categories must be numbers.");
                names.AddRange(c.Categories.Select(k => $"{c.Name}={k}"));
            }
            list.Add(c with { Offset = names.Count - (c.Kind == FeatureKind.Numeric ? (c.HasMissingIndicator ? 2 : 1) : c.Categories.Count) });
        }
        if (list.Count == 0) throw new DataException("preprocessing has no columns; a model needs at least one feature.");
        var dup = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new DataException($"preprocessing makes the input name '{MessageText.Quote(dup.Key)}' twice; rename a column.");
        _columns = [.. list];
        _names = [.. names];
        _categoryIndex = _columns.Select(c => c.Categories.Select((k, i) => (k, i)).ToDictionary(t => t.k, t => t.i, StringComparer.Ordinal)).ToArray();
        Missing = missing;
        Unknown = unknown;
    }

    /// <summary>The same preprocessing with another policy for unseen categories.</summary>
    public Preprocessor WithUnknown(UnknownCategoryPolicy unknown) => unknown == Unknown ? this : new Preprocessor(_columns, Missing, unknown);

    /// <summary>The raw columns used, in network-input order.</summary>
    public IReadOnlyList<PreprocessedColumn> Columns => _columns;
    /// <summary>The name of each network input.</summary>
    public IReadOnlyList<string> FeatureNames => _names;
    /// <summary>The number of network inputs.</summary>
    public int Width => _names.Length;
    public MissingPolicy Missing { get; }
    public UnknownCategoryPolicy Unknown { get; }
    /// <summary>The raw column names a data file must have.</summary>
    public IEnumerable<string> RequiredColumns => _columns.Select(c => c.Name);

    /// <summary>Numbers as they are (no standardisation, no missing values): what a model file of format 1 means.</summary>
    public static Preprocessor Standardised(IReadOnlyList<string> names, IReadOnlyList<double> mean, IReadOnlyList<double> scale) =>
        new(names.Select((n, i) => new PreprocessedColumn { Name = n, Kind = FeatureKind.Numeric, Mean = mean[i], Scale = scale[i], Fill = mean[i] }),
            MissingPolicy.Error, UnknownCategoryPolicy.Error);

    /// <summary>Fits on the training examples of <paramref name="data"/> (<paramref name="trainExamples"/> index its examples).</summary>
    public static Preprocessor Fit(TabularData data, ReadOnlySpan<int> trainExamples)
    {
        var rows = new int[trainExamples.Length];
        for (int i = 0; i < rows.Length; i++) rows[i] = data.TableRows[trainExamples[i]];
        return Fit(data.Table, data.FeatureColumns, rows, data.Options);
    }

    /// <summary>
    /// Fits on <paramref name="trainRows"/> of <paramref name="table"/> only: categories, imputation values and
    /// standardisation never see validation or test rows. Text columns and those in
    /// <see cref="PreprocessOptions.Categorical"/> are categorical, the rest numeric.
    /// </summary>
    public static Preprocessor Fit(DataTable table, IReadOnlyList<string> featureColumns, ReadOnlySpan<int> trainRows, PreprocessOptions options)
    {
        if (trainRows.Length == 0) throw new DataException($"{table.Source}: the training split is empty; give more rows.");
        foreach (var name in options.Categorical)
            if (!featureColumns.Contains(name))
                throw new DataException(table.Find(name) is null ? table.MissingColumnMessage(name, " (--categorical)") : $"--categorical names '{name}', which is not a feature column.");
        var result = new List<PreprocessedColumn>();
        foreach (var name in featureColumns)
        {
            var column = table.Column(name, " (a feature)");
            bool categorical = !column.IsNumeric || options.Categorical.Contains(name);
            result.Add(categorical ? FitCategorical(table, column, trainRows, options) : FitNumeric(table, column, trainRows, options));
        }
        return new Preprocessor(result, options.Missing, options.Unknown);
    }

    private static PreprocessedColumn FitNumeric(DataTable table, DataColumn column, ReadOnlySpan<int> rows, PreprocessOptions options)
    {
        double sum = 0, largest = 0;
        int present = 0, largestRow = rows[0];
        foreach (int r in rows)
        {
            double v = column.Number(r);
            if (double.IsNaN(v))
            {
                if (options.Missing == MissingPolicy.Error)
                    throw new DataException($"{table.Where(r, column)}: the value is missing; fill it in, or train with --missing impute (the default) or --missing drop.");
                continue;
            }
            if (double.IsInfinity(v))
                throw new DataException($"{table.Where(r, column)}: the value is infinite; features must be finite numbers, so fix the value or remove the row.");
            if (Math.Abs(v) > largest) { largest = Math.Abs(v); largestRow = r; }
            sum += v;
            present++;
        }
        if (present == 0)
            throw new DataException($"{table.Source}: column '{column.Name}' ({column.Position}) has no value in any training row; pass --drop {column.Name}.");
        double mean = sum / present;
        double squares = 0;
        foreach (int r in rows)
        {
            double v = column.Number(r);
            if (double.IsNaN(v)) continue;
            double d = v - mean;
            squares += d * d;
        }
        // Imputed rows sit at the mean: they count in n but add nothing to the spread (as SimpleImputer then StandardScaler).
        double std = Math.Sqrt(squares / rows.Length);
        if (!double.IsFinite(mean) || !double.IsFinite(std))
            throw new DataException($"{table.Where(largestRow, column)}: the value {Cells.Format(column.Number(largestRow))} is too large to standardise (the mean or spread of the column overflows double precision); rescale the column.");
        double scale = std == 0 || std <= 16 * MachineEpsilon * Math.Abs(mean) ? 1.0 : std;
        bool indicator = options.Missing == MissingPolicy.Impute && present < rows.Length;
        return new PreprocessedColumn { Name = column.Name, Kind = FeatureKind.Numeric, Mean = mean, Scale = scale, Fill = mean, HasMissingIndicator = indicator };
    }

    private static PreprocessedColumn FitCategorical(DataTable table, DataColumn column, ReadOnlySpan<int> rows, PreprocessOptions options)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        bool numeric = column.IsNumeric;
        foreach (int r in rows)
        {
            if (column.IsMissing(r))
            {
                if (options.Missing == MissingPolicy.Error)
                    throw new DataException($"{table.Where(r, column)}: the value is missing; fill it in, or train with --missing impute (the default) or --missing drop.");
                continue;
            }
            if (numeric && double.IsInfinity(column.Number(r)))
                throw new DataException($"{table.Where(r, column)}: the value is infinite; fix the value or remove the row.");
            string key = column.Text(r)!;
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        if (counts.Count == 0)
            throw new DataException($"{table.Source}: column '{column.Name}' ({column.Position}) has no value in any training row; pass --drop {column.Name}.");
        if (counts.Count > options.MaxCategories)
            throw new DataException($"{table.Source}: column '{column.Name}' ({column.Position}) has {counts.Count} distinct values in {rows.Length} training rows, too many to one-hot encode (at most {options.MaxCategories}); it looks like free text or an identifier, so pass --drop {column.Name}{(numeric ? "" : ", or fix the values that are not numbers if it is numeric")}.");
        string[] categories = numeric
            ? [.. counts.Keys.OrderBy(k => double.Parse(k, CultureInfo.InvariantCulture))]
            : [.. counts.Keys.Order(StringComparer.Ordinal)];
        string fill = categories[0];
        foreach (var k in categories) if (counts[k] > counts[fill]) fill = k;
        return new PreprocessedColumn { Name = column.Name, Kind = FeatureKind.Categorical, Categories = categories, FillCategory = fill, NumericCategories = numeric };
    }

    /// <summary>The table's columns for this preprocessing, found by name; an error names every one that is missing.</summary>
    public DataColumn[] Bind(DataTable table)
    {
        var bound = new DataColumn[_columns.Length];
        var missing = new List<string>();
        for (int i = 0; i < _columns.Length; i++)
        {
            var c = table.Find(_columns[i].Name);
            if (c is null) missing.Add(_columns[i].Name);
            else bound[i] = c;
        }
        if (missing.Count == 1)
            throw new DataException(table.MissingColumnMessage(missing[0], " (a feature the model was trained on)"));
        if (missing.Count > 1)
            throw new DataException(
                $"{table.Source} lacks {missing.Count} feature columns that the model was trained on: {ColumnNames.Preview(missing)}; the file needs every feature column, named as in training (order does not matter, extra columns are ignored). Its columns are: {ColumnNames.Preview(table.Header)}.");
        return bound;
    }

    /// <summary>
    /// The network input for <paramref name="rows"/> of <paramref name="table"/>: a (rows, <see cref="Width"/>)
    /// tensor of <paramref name="dtype"/>. Every value is finite in that dtype, or this throws naming where.
    /// </summary>
    public Tensor Transform(DataTable table, ReadOnlySpan<int> rows, DType dtype, TransformCounts? counts = null)
    {
        var bound = Bind(table);
        int w = Width;
        var row = new double[w];
        if (dtype == DType.Float32)
        {
            var values = new float[(long)rows.Length * w];
            for (int i = 0; i < rows.Length; i++)
            {
                TransformRow(table, bound, rows[i], row, counts);
                for (int j = 0; j < w; j++)
                {
                    float f = (float)row[j];
                    if (!float.IsFinite(f)) throw TooLarge(table, bound, rows[i], j, row[j], "float32");
                    values[(long)i * w + j] = f;
                }
            }
            return Tensor.Wrap(values, [rows.Length, w]);
        }
        var doubles = new double[(long)rows.Length * w];
        for (int i = 0; i < rows.Length; i++)
        {
            TransformRow(table, bound, rows[i], row, counts);
            for (int j = 0; j < w; j++)
            {
                if (!double.IsFinite(row[j])) throw TooLarge(table, bound, rows[i], j, row[j], "float64");
                doubles[(long)i * w + j] = row[j];
            }
        }
        return Tensor.Wrap(doubles, [rows.Length, w]);
    }

    /// <summary>Every row of <paramref name="table"/>.</summary>
    public Tensor Transform(DataTable table, DType dtype, TransformCounts? counts = null) =>
        Transform(table, Enumerable.Range(0, table.Rows).ToArray(), dtype, counts);

    /// <summary>
    /// One row into <paramref name="destination"/> (length <see cref="Width"/>), in double precision.
    /// <paramref name="bound"/> comes from <see cref="Bind"/>.
    /// </summary>
    public void TransformRow(DataTable table, DataColumn[] bound, int row, Span<double> destination, TransformCounts? counts = null)
    {
        for (int i = 0; i < _columns.Length; i++)
        {
            var spec = _columns[i];
            var column = bound[i];
            var dest = destination.Slice(spec.Offset, spec.Width);
            if (spec.Kind == FeatureKind.Numeric)
            {
                bool missing = column.IsMissing(row);
                double v;
                if (missing)
                {
                    if (Missing != MissingPolicy.Impute)
                        throw new DataException($"{table.Where(row, column)}: the value is missing, and the model was trained with --missing {Missing.ToString().ToLowerInvariant()}, so it has no value to put in its place; fill it in or remove the row.");
                    v = spec.Fill;
                    if (counts is not null) counts.Imputed++;
                }
                else if (!column.TryNumber(row, out v))
                    throw new DataException($"{table.Where(row, column)}: '{MessageText.Quote(column.Text(row))}' is not a number, but the model was trained with '{spec.Name}' as a numeric column (use '.' as the decimal point).");
                else if (double.IsInfinity(v))
                    throw new DataException($"{table.Where(row, column)}: the value is infinite; features must be finite numbers, so fix the value or remove the row.");
                dest[0] = (v - spec.Mean) / spec.Scale;
                if (spec.HasMissingIndicator) dest[1] = missing ? 1 : 0;
                continue;
            }

            dest.Clear();
            string? key = CategoryKey(spec, column, row);
            if (key is null)
            {
                if (Missing != MissingPolicy.Impute || spec.FillCategory is null)
                    throw new DataException($"{table.Where(row, column)}: the value is missing, and the model was trained with --missing {Missing.ToString().ToLowerInvariant()}, so it has no category to put in its place; fill it in or remove the row.");
                key = spec.FillCategory;
                if (counts is not null) counts.Imputed++;
            }
            if (_categoryIndex[i].TryGetValue(key, out int k)) { dest[k] = 1; continue; }
            if (Unknown == UnknownCategoryPolicy.Error)
                throw new DataException(
                    $"{table.Where(row, column)}: the category '{MessageText.Quote(key)}' was not in the training rows; the model knows {ColumnNames.Preview(spec.Categories, 20)}. Fix the value, or retrain with --unknown ignore to encode unseen categories as all zeros.");
            if (counts is not null) counts.Unknown[spec.Name] = counts.Unknown.GetValueOrDefault(spec.Name) + 1;
        }
    }

    private static string? CategoryKey(PreprocessedColumn spec, DataColumn column, int row)
    {
        if (column.IsMissing(row)) return null;
        if (spec.NumericCategories && column.TryNumber(row, out double v)) return Cells.Format(v);
        return column.Text(row);
    }

    private DataException TooLarge(DataTable table, DataColumn[] bound, int row, int input, double value, string dtype)
    {
        var spec = _columns.Last(c => c.Offset <= input);
        var column = bound[Array.IndexOf(_columns, spec)];
        return new DataException(
            $"{table.Where(row, column)}: the value {MessageText.Quote(column.Text(row))} becomes {Cells.Format(value)} after standardisation (x − {Cells.Format(spec.Mean)}) / {Cells.Format(spec.Scale)}, which {dtype} cannot hold; fix the value or rescale the column.");
    }

    /// <summary>
    /// What the preprocessing does to one row, input by input: the raw cell, the value given to the network,
    /// and how (standardised, imputed, category, unknown category). For explain's header.
    /// </summary>
    public IReadOnlyList<FeatureTrace> Trace(DataTable table, int row)
    {
        var bound = Bind(table);
        var values = new double[Width];
        var counts = new TransformCounts();
        TransformRow(table, bound, row, values, counts);
        var traces = new List<FeatureTrace>();
        for (int i = 0; i < _columns.Length; i++)
        {
            var spec = _columns[i];
            string? raw = bound[i].Text(row);
            if (spec.Kind == FeatureKind.Numeric)
            {
                string how = raw is null
                    ? $"missing: imputed with the training mean {Cells.Format(spec.Fill)}, then standardised"
                    : $"(x − {Cells.Format(spec.Mean)}) / {Cells.Format(spec.Scale)}";
                traces.Add(new FeatureTrace(_names[spec.Offset], spec.Name, raw, values[spec.Offset], how));
                if (spec.HasMissingIndicator)
                    traces.Add(new FeatureTrace(_names[spec.Offset + 1], spec.Name, raw, values[spec.Offset + 1], raw is null ? "1: the value was missing" : "0: the value was present"));
                continue;
            }
            string? key = CategoryKey(spec, bound[i], row);
            bool known = key is not null && _categoryIndex[i].ContainsKey(key);
            for (int k = 0; k < spec.Categories.Count; k++)
            {
                string how = key is null ? $"missing: imputed with the most frequent category '{spec.FillCategory}'"
                    : known ? $"one-hot of '{key}'" : $"'{key}' unseen in training: all zeros";
                traces.Add(new FeatureTrace(_names[spec.Offset + k], spec.Name, raw, values[spec.Offset + k], how));
            }
        }
        return traces;
    }

    /// <summary>One line per column saying what is done to it (for inspect).</summary>
    public IEnumerable<(string Column, string Treatment)> Describe()
    {
        foreach (var c in _columns)
        {
            if (c.Kind == FeatureKind.Numeric)
            {
                string missing = Missing == MissingPolicy.Impute
                    ? $"missing → mean {Cells.Format(c.Fill)}" + (c.HasMissingIndicator ? $", indicator '{c.Name} (missing)'" : "")
                    : $"missing → error (--missing {Missing.ToString().ToLowerInvariant()})";
                yield return (c.Name, $"numeric: (x − {Cells.Format(c.Mean)}) / {Cells.Format(c.Scale)}; {missing}");
            }
            else
            {
                string missing = Missing == MissingPolicy.Impute ? $"missing → '{c.FillCategory}'" : $"missing → error (--missing {Missing.ToString().ToLowerInvariant()})";
                string unknown = Unknown == UnknownCategoryPolicy.Ignore ? "unseen → all zeros" : "unseen → error";
                yield return (c.Name, $"categorical, {c.Categories.Count} categories ({ColumnNames.Preview(c.Categories, 12)}), one-hot; {missing}; {unknown}");
            }
        }
    }

    /// <summary>The preprocessing as JSON (stored in the model file's metadata as "preprocessing").</summary>
    public string ToJson() => ToJsonNode().ToJsonString();

    public JsonObject ToJsonNode()
    {
        var columns = new JsonArray();
        foreach (var c in _columns)
        {
            var o = new JsonObject { ["name"] = c.Name, ["kind"] = c.Kind == FeatureKind.Numeric ? "numeric" : "categorical" };
            if (c.Kind == FeatureKind.Numeric)
            {
                o["mean"] = c.Mean;
                o["scale"] = c.Scale;
                o["fill"] = c.Fill;
                o["missing_indicator"] = c.HasMissingIndicator;
            }
            else
            {
                o["categories"] = new JsonArray(c.Categories.Select(k => (JsonNode?)JsonValue.Create(k)).ToArray());
                o["fill"] = c.FillCategory;
                o["numeric_categories"] = c.NumericCategories;
            }
            columns.Add(o);
        }
        return new JsonObject
        {
            ["version"] = 1,
            ["missing"] = Missing.ToString().ToLowerInvariant(),
            ["unknown"] = Unknown.ToString().ToLowerInvariant(),
            ["columns"] = columns,
        };
    }

    /// <summary>Reads <see cref="ToJson"/>'s output, checking every field; an error names the field.</summary>
    public static Preprocessor FromJson(string json)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new DataException($"preprocessing is not valid JSON ({e.Message})."); }
        if (root is not JsonObject obj) throw new DataException("preprocessing must be a JSON object.");
        if (Get<int>(obj, "version", "preprocessing") != 1) throw new DataException("preprocessing: unknown version; this backprop reads version 1.");
        var missing = PreprocessOptions.ParseMissing(Get<string>(obj, "missing", "preprocessing"));
        var unknown = PreprocessOptions.ParseUnknown(Get<string>(obj, "unknown", "preprocessing"));
        if (obj["columns"] is not JsonArray array) throw new DataException("preprocessing: 'columns' must be an array.");
        var columns = new List<PreprocessedColumn>();
        foreach (var node in array)
        {
            string where = $"preprocessing column {columns.Count + 1}";
            if (node is not JsonObject c) throw new DataException($"{where} must be an object.");
            string name = Get<string>(c, "name", where);
            where += $" ('{MessageText.Quote(name)}')";
            string kind = Get<string>(c, "kind", where);
            columns.Add(kind switch
            {
                "numeric" => new PreprocessedColumn
                {
                    Name = name, Kind = FeatureKind.Numeric, Mean = Get<double>(c, "mean", where), Scale = Get<double>(c, "scale", where),
                    Fill = Get<double>(c, "fill", where), HasMissingIndicator = Get<bool>(c, "missing_indicator", where),
                },
                "categorical" => new PreprocessedColumn
                {
                    Name = name, Kind = FeatureKind.Categorical,
                    Categories = c["categories"] is JsonArray cats ? cats.Select(k => k?.GetValueKind() == JsonValueKind.String ? k.GetValue<string>() : throw new DataException($"{where}: every category must be a string.")).ToArray()
                        : throw new DataException($"{where}: 'categories' must be an array of strings."),
                    FillCategory = Get<string>(c, "fill", where), NumericCategories = Get<bool>(c, "numeric_categories", where),
                },
                _ => throw new DataException($"{where}: kind '{MessageText.Quote(kind)}' is neither numeric nor categorical."),
            });
        }
        return new Preprocessor(columns, missing, unknown);
    }

    private static T Get<T>(JsonObject o, string key, string where)
    {
        try
        {
            if (o[key] is JsonValue v) return v.GetValue<T>();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException) { }
        throw new DataException($"{where}: '{key}' is missing or not a {(typeof(T) == typeof(string) ? "string" : typeof(T) == typeof(bool) ? "true/false value" : "number")}.");
    }
}
