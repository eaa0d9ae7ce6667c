using System.Text.Json.Nodes;
using Backprop.Training;
using Spectre.Console;

namespace Backprop.Cli;

/// <summary>Evaluation reports as terminal tables and as JSON.</summary>
internal static class Reports
{
    public static JsonObject ToJson(EvaluationReport report)
    {
        var obj = new JsonObject { ["rows"] = report.Rows };
        foreach (var (name, value) in report.Values()) obj[name] = double.IsFinite(value) ? Math.Round(value, 6) : null;
        if (report.RocAucNote is { } note) { obj["roc_auc"] = null; obj["roc_auc_note"] = note; }
        if (report.Confusion is { } cm)
        {
            var rows = new JsonArray();
            for (int a = 0; a < cm.ClassCount; a++)
            {
                var row = new JsonArray();
                for (int p = 0; p < cm.ClassCount; p++) row.Add(cm[a, p]);
                rows.Add(row);
            }
            obj["confusion_matrix"] = new JsonObject
            {
                ["labels"] = new JsonArray(cm.ClassNames.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
                ["rows_are"] = "actual",
                ["counts"] = rows,
            };
        }
        return obj;
    }

    public static void Write(IAnsiConsole console, string title, EvaluationReport report)
    {
        var table = new Table().Title(title).AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (name, value) in report.Values())
            table.AddRow(name, value.ToString(Math.Abs(value) >= 1000 ? "F1" : "F4", System.Globalization.CultureInfo.InvariantCulture));
        if (report.RocAucNote is { } note) table.AddRow("roc_auc", Markup.Escape(note));
        console.Write(table);
        if (report.Confusion is { } cm)
        {
            var grid = new Table().Title("Confusion matrix (rows: actual, columns: predicted)").AddColumn("");
            foreach (var name in cm.ClassNames) grid.AddColumn(new TableColumn(Markup.Escape(name)).RightAligned());
            for (int a = 0; a < cm.ClassCount; a++)
            {
                var cells = new List<string> { Markup.Escape(cm.ClassNames[a]) };
                for (int p = 0; p < cm.ClassCount; p++) cells.Add(a == p ? $"[green]{cm[a, p]}[/]" : cm[a, p].ToString(System.Globalization.CultureInfo.InvariantCulture));
                grid.AddRow(cells.ToArray());
            }
            console.Write(grid);
        }
    }
}
