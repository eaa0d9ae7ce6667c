using Backprop.Data;

namespace Backprop.Training;

/// <summary>Rows of a table with known targets in a model's terms: class indices by the model's labels, or values.</summary>
public sealed record LabelledRows(DataTable Table, int[] Rows, int[]? Classes, double[]? Values, IReadOnlyList<string> Warnings);

/// <summary>
/// How every command that applies a model (predict, evaluate, explain) reads a data file: only the columns
/// the model's preprocessing needs (found by name, in any order; extra columns are not even stored), plus
/// the target and any columns asked for; and the target cells turned into the model's class indices or values.
/// </summary>
public static class ModelData
{
    /// <summary>The column filter: the model's raw feature columns and <paramref name="extra"/> (a target, an ID).</summary>
    public static Func<string, bool> Columns(TrainedModel model, IEnumerable<string?> extra)
    {
        var wanted = new HashSet<string>(model.Preprocessing.RequiredColumns, StringComparer.Ordinal);
        foreach (var e in extra) if (e is not null) wanted.Add(e);
        return wanted.Contains;
    }

    /// <summary>Loads <paramref name="path"/> with the columns <see cref="Columns"/> names; checks the model's columns are all there.</summary>
    public static DataTable Load(TrainedModel model, string path, IEnumerable<string?> extra, CsvOptions? csv = null, Action<LoadProgress>? progress = null)
    {
        var table = DataTable.Load(path, csv, Columns(model, extra), progress);
        model.Preprocessing.Bind(table);
        return table;
    }

    /// <summary>
    /// The rows of <paramref name="table"/> with a value in <paramref name="targetName"/>, encoded for
    /// <paramref name="model"/>: a label the model does not know, or a non-number or infinite regression
    /// target, is an error naming the line. Rows whose target is missing are left out with a warning.
    /// </summary>
    public static LabelledRows Labelled(TrainedModel model, DataTable table, string targetName)
    {
        var target = table.Column(targetName, " to evaluate against (pass --target)");
        var rows = new List<int>(table.Rows);
        var warnings = new List<string>();
        int first = -1;
        for (int r = 0; r < table.Rows; r++)
        {
            if (target.IsMissing(r)) { if (first < 0) first = r; continue; }
            rows.Add(r);
        }
        if (first >= 0)
            warnings.Add($"{table.Rows - rows.Count} row{(table.Rows - rows.Count == 1 ? " has" : "s have")} no value in the target column '{target.Name}' (first: line {table.Line(first)}); left out.");
        if (rows.Count == 0)
            throw new DataException($"{table.Source}: every value in the target column '{target.Name}' ({target.Position}) is missing; there is nothing to evaluate against.");
        if (model.Task == TaskKind.Regression)
        {
            var values = new double[rows.Count];
            for (int i = 0; i < values.Length; i++)
            {
                int r = rows[i];
                if (!target.TryNumber(r, out values[i]))
                    throw new DataException($"{table.Where(r, target)}: the target value '{MessageText.Quote(target.Text(r))}' is not a number, but the model does regression.");
                if (!double.IsFinite(values[i]))
                    throw new DataException($"{table.Where(r, target)}: the target value is infinite; fix the value or remove the row.");
            }
            return new LabelledRows(table, [.. rows], null, values, warnings);
        }
        var encoder = new LabelEncoder(model.ClassLabels);
        var classes = new int[rows.Count];
        for (int i = 0; i < classes.Length; i++)
        {
            int r = rows[i];
            string label = target.Text(r)!;
            if (!encoder.TryEncode(label, out classes[i]))
                throw new DataException($"{table.Where(r, target)}: the label '{MessageText.Quote(label)}' is not one the model knows ({ColumnNames.Preview(model.ClassLabels, 20)}).");
        }
        return new LabelledRows(table, [.. rows], classes, null, warnings);
    }
}
