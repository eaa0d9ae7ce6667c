namespace Backprop.Data;

/// <summary>
/// Writes RFC 4180 CSV: a field is quoted when it holds the delimiter, a quote, a line break or leading or
/// trailing white space, and a quote inside it is doubled; records end with LF (as pandas writes them).
/// Python's csv module and <see cref="CsvReader"/> read back the same fields.
/// </summary>
public sealed class CsvWriter(TextWriter writer, char delimiter = ',')
{
    private bool _first = true;

    public void Field(string text)
    {
        if (!_first) writer.Write(delimiter);
        _first = false;
        writer.Write(Quote(text, delimiter));
    }

    public void EndRecord()
    {
        writer.Write('\n');
        _first = true;
    }

    /// <summary>The field as it must be written.</summary>
    public static string Quote(string text, char delimiter = ',')
    {
        bool needs = text.Length > 0 && (char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1]));
        if (!needs)
            foreach (char c in text)
                if (c == delimiter || c == '"' || c == '\r' || c == '\n') { needs = true; break; }
        return needs ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
    }
}
