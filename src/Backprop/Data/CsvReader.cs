using System.Text;

namespace Backprop.Data;

/// <summary>
/// A parsed CSV file: the header's column names and every data row as strings, with the line on which each
/// row starts so later errors can point at it.
/// </summary>
public sealed class CsvTable
{
    internal CsvTable(string source, char delimiter, string[] columns, List<string[]> rows, List<int> lines)
    {
        Source = source;
        Delimiter = delimiter;
        Columns = columns;
        Rows = rows;
        LineNumbers = lines;
    }

    /// <summary>The file name (or other label) used in error messages.</summary>
    public string Source { get; }
    public char Delimiter { get; }
    public IReadOnlyList<string> Columns { get; }
    /// <summary>Data rows; every row has exactly <see cref="Columns"/>.Count cells.</summary>
    public IReadOnlyList<string[]> Rows { get; }
    /// <summary>The 1-based physical line on which each data row starts (the header is line 1).</summary>
    public IReadOnlyList<int> LineNumbers { get; }

    /// <summary>The index of the column called <paramref name="name"/> (exact, ordinal), or -1.</summary>
    public int IndexOf(string name)
    {
        for (int i = 0; i < Columns.Count; i++)
            if (string.Equals(Columns[i], name, StringComparison.Ordinal)) return i;
        return -1;
    }
}

/// <summary>
/// Reads RFC 4180 CSV: a header row, quoted fields with doubled quotes, delimiters and line breaks inside
/// quotes, CRLF or LF line ends, an optional UTF-8 byte order mark. Blank lines are skipped (as pandas
/// does), so a trailing empty line is harmless.
/// </summary>
public static class CsvReader
{
    /// <summary>
    /// Reads <paramref name="path"/>. With no <paramref name="delimiter"/>, the header line decides: a comma
    /// if it has one, else a semicolon, else a tab, else a comma (a one-column file).
    /// </summary>
    public static CsvTable Read(string path, char? delimiter = null)
    {
        string name = Path.GetFileName(path);
        if (Directory.Exists(path))
            throw new DataException($"'{path}' is a directory, not a CSV file; pass the path of the .csv file itself.");
        if (!File.Exists(path))
            throw new DataException($"Data file '{path}' does not exist; check the path (relative paths start at {Environment.CurrentDirectory}).");
        string text;
        try
        {
            // detectEncodingFromByteOrderMarks strips a UTF-8 BOM so it does not end up in the first column name.
            using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"Cannot read data file '{path}': {e.Message}");
        }
        return Parse(text, name, delimiter);
    }

    /// <summary>Parses CSV text; <paramref name="source"/> names it in error messages.</summary>
    public static CsvTable Parse(string text, string source, char? delimiter = null)
    {
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        if (string.IsNullOrWhiteSpace(text))
            throw new DataException($"{source} is empty; a data file needs a header row with the column names and at least one data row.");

        char delim = delimiter ?? DetectDelimiter(text);
        if (delim is '"' or '\r' or '\n')
            throw new DataException($"'{Printable(delim)}' cannot be a CSV delimiter; use a comma, semicolon or tab.");

        var records = new List<string[]>();
        var lines = new List<int>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1, i = 0, n = text.Length;

        while (i < n)
        {
            // Start of a record: skip blank lines.
            if (text[i] == '\n' || text[i] == '\r')
            {
                i += text[i] == '\r' && i + 1 < n && text[i + 1] == '\n' ? 2 : 1;
                line++;
                continue;
            }
            recordLine = line;
            fields.Clear();
            bool endOfRecord = false;
            while (!endOfRecord)
            {
                field.Clear();
                if (i < n && text[i] == '"')
                {
                    int quoteLine = line;
                    i++;
                    while (true)
                    {
                        if (i >= n)
                            throw new DataException(
                                $"{source} line {quoteLine}: a quoted field (field {fields.Count + 1}) is never closed; add the closing '\"', and write a quote inside a quoted field as two quotes (\"\").");
                        char c = text[i];
                        if (c == '"')
                        {
                            if (i + 1 < n && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                            i++;
                            break;
                        }
                        if (c == '\n' || (c == '\r' && !(i + 1 < n && text[i + 1] == '\n'))) line++;
                        field.Append(c);
                        i++;
                    }
                    if (i < n && text[i] != delim && text[i] != '\r' && text[i] != '\n')
                        throw new DataException(
                            $"{source} line {line}: field {fields.Count + 1} has '{Printable(text[i])}' after its closing quote; a quoted field must end at a delimiter or the line end (write a literal quote as \"\").");
                }
                else
                {
                    while (i < n && text[i] != delim && text[i] != '\r' && text[i] != '\n')
                        field.Append(text[i++]);
                }
                fields.Add(field.ToString());

                if (i >= n) endOfRecord = true;
                else if (text[i] == delim) i++;
                else
                {
                    i += text[i] == '\r' && i + 1 < n && text[i + 1] == '\n' ? 2 : 1;
                    line++;
                    endOfRecord = true;
                }
            }
            records.Add([.. fields]);
            lines.Add(recordLine);
        }

        if (records.Count == 0)
            throw new DataException($"{source} is empty; a data file needs a header row with the column names and at least one data row.");

        string[] header = records[0];
        for (int c = 0; c < header.Length; c++)
        {
            header[c] = header[c].Trim();
            if (header[c].Length == 0)
                throw new DataException(
                    $"{source} line {lines[0]}: column {c + 1} of the header has no name; name every column{(c == header.Length - 1 ? " (or remove the trailing delimiter)" : "")}.");
        }
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < header.Length; c++)
        {
            if (seen.TryGetValue(header[c], out int first))
                throw new DataException(
                    $"{source} line {lines[0]}: the column name '{header[c]}' appears twice (columns {first + 1} and {c + 1}); rename one so every column name is unique.");
            seen[header[c]] = c;
        }

        if (records.Count == 1)
            throw new DataException($"{source} has a header row but no data rows; add at least one row of values below the header.");

        for (int r = 1; r < records.Count; r++)
        {
            if (records[r].Length != header.Length)
                throw new DataException(
                    $"{source} line {lines[r]}: expected {header.Length} fields (as in the header) but got {records[r].Length}; give every row one value per column, and quote values that contain the delimiter '{Printable(delim)}'.");
        }

        records.RemoveAt(0);
        lines.RemoveAt(0);
        return new CsvTable(source, delim, header, records, lines);
    }

    private static char DetectDelimiter(string text)
    {
        bool inQuotes = false, semicolon = false, tab = false;
        foreach (char c in text)
        {
            if (c == '"') inQuotes = !inQuotes;
            else if (inQuotes) continue;
            else if (c == ',') return ',';
            else if (c == ';') semicolon = true;
            else if (c == '\t') tab = true;
            else if (c == '\n' || c == '\r') break;
        }
        return semicolon ? ';' : tab ? '\t' : ',';
    }

    internal static string Printable(char c) => c switch
    {
        '\t' => "\\t",
        '\r' => "\\r",
        '\n' => "\\n",
        _ => c.ToString(),
    };
}
