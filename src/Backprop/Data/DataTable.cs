using System.Globalization;

namespace Backprop.Data;

/// <summary>
/// The cells of a CSV file, stored by column and compactly: a column whose every present cell is a number
/// holds doubles (missing cells as NaN); any other column holds an int code per row into its list of
/// distinct strings (missing cells as −1). Each row remembers the physical line it started on, so every
/// later error can name file, line and column. Only the columns asked for are stored.
/// </summary>
public sealed class DataTable
{
    private readonly DataColumn[] _columns;
    private readonly int[] _lines;

    internal DataTable(string source, string[] header, DataColumn[] columns, int[] lines, int rows)
    {
        Source = source;
        Header = header;
        _columns = columns;
        _lines = lines;
        Rows = rows;
    }

    /// <summary>The file name, for messages.</summary>
    public string Source { get; }
    /// <summary>Every column name of the file, in file order, including those not stored.</summary>
    public IReadOnlyList<string> Header { get; }
    /// <summary>The stored columns, in file order.</summary>
    public IReadOnlyList<DataColumn> Columns => _columns;
    public int Rows { get; }

    /// <summary>The 1-based physical line on which data row <paramref name="row"/> starts (the header is line 1 or later).</summary>
    public int Line(int row) => _lines[row];

    /// <summary>The stored column called <paramref name="name"/> (exact, ordinal), or null.</summary>
    public DataColumn? Find(string name)
    {
        foreach (var c in _columns)
            if (string.Equals(c.Name, name, StringComparison.Ordinal)) return c;
        return null;
    }

    /// <summary>The column called <paramref name="name"/>, or an error naming the file's columns and close matches.</summary>
    public DataColumn Column(string name, string purpose) =>
        Find(name) ?? throw new DataException(MissingColumnMessage(name, purpose));

    /// <summary>"file line L, column 'name' (k)": where a cell is, for messages.</summary>
    public string Where(int row, DataColumn column) => $"{Source} line {Line(row)}, column '{column.Name}' ({column.Position})";

    internal string MissingColumnMessage(string name, string purpose) => MissingColumnMessage(Source, Header, name, purpose);

    /// <summary>"data.csv has no column 'x' (purpose). Did you mean 'y'? Its columns are: …".</summary>
    public static string MissingColumnMessage(string source, IReadOnlyList<string> header, string name, string purpose)
    {
        var close = ColumnNames.Suggest(name, header);
        string suggestion = close.Count > 0 ? $" Did you mean {string.Join(" or ", close.Select(c => $"'{c}'"))}?" : "";
        return $"{source} has no column '{MessageText.Quote(name)}'{purpose}.{suggestion} Its columns are: {ColumnNames.Preview(header)}.";
    }

    /// <summary>Reads all of <paramref name="path"/>, storing the columns <paramref name="keep"/> accepts (all when null).</summary>
    public static DataTable Load(string path, CsvOptions? options = null, Func<string, bool>? keep = null, Action<LoadProgress>? progress = null)
    {
        using var loader = TableLoader.Open(path, options, keep, progress);
        return loader.ReadBlock(int.MaxValue) ?? throw new DataException(loader.NoRowsMessage());
    }

    /// <summary>Parses CSV text (for tests and the browser); <paramref name="source"/> names it in messages.</summary>
    public static DataTable Parse(string text, string source, CsvOptions? options = null, Func<string, bool>? keep = null)
    {
        var stream = new MemoryStream(new System.Text.UTF8Encoding(false).GetBytes(text));
        using var loader = new TableLoader(new CsvReader(stream, source, options), keep, null, stream.Length);
        return loader.ReadBlock(int.MaxValue) ?? throw new DataException(loader.NoRowsMessage());
    }

    /// <summary>
    /// Reads <paramref name="path"/> in blocks of at most <paramref name="blockRows"/> rows, for streaming
    /// (predict): memory is bounded by the block, not the file.
    /// </summary>
    public static IEnumerable<DataTable> ReadBlocks(string path, int blockRows, CsvOptions? options = null, Func<string, bool>? keep = null, Action<LoadProgress>? progress = null)
    {
        using var loader = TableLoader.Open(path, options, keep, progress);
        bool any = false;
        while (loader.ReadBlock(blockRows) is { } block)
        {
            any = true;
            yield return block;
        }
        if (!any) throw new DataException(loader.NoRowsMessage());
    }

    /// <summary>A table of numeric columns from a feature matrix (columns named as the matrix's), lines numbered from 2.</summary>
    public static DataTable FromMatrix(FeatureMatrix matrix, string source)
    {
        var columns = new DataColumn[matrix.Columns];
        for (int c = 0; c < matrix.Columns; c++)
        {
            var col = new DataColumn(matrix.Names[c], c + 1, matrix.Rows);
            for (int r = 0; r < matrix.Rows; r++) col.AddNumber(matrix[r, c], r);
            columns[c] = col;
        }
        var lines = Enumerable.Range(2, matrix.Rows).ToArray();
        return new DataTable(source, [.. matrix.Names], columns, lines, matrix.Rows);
    }

    /// <summary>The header of <paramref name="path"/> alone (column names in file order).</summary>
    public static IReadOnlyList<string> ReadHeader(string path, CsvOptions? options = null)
    {
        using var loader = TableLoader.Open(path, options, _ => false, null);
        return loader.Header;
    }
}

/// <summary>Where loading is: for a progress line.</summary>
public readonly record struct LoadProgress(long BytesRead, long TotalBytes, int Rows);

/// <summary>One stored column of a <see cref="DataTable"/>.</summary>
public sealed class DataColumn
{
    private double[]? _numbers;
    private int[]? _codes;
    private List<string>? _dictionary;
    private Dictionary<string, int>? _index;
    private int _count;
    private bool _integer = true, _increasing = true, _decreasing = true;
    private double _last = double.NaN;

    internal DataColumn(string name, int position, int capacity)
    {
        Name = name;
        Position = position;
        _numbers = new double[Math.Max(capacity, 16)];
    }

    public string Name { get; }
    /// <summary>1-based position in the file.</summary>
    public int Position { get; }
    /// <summary>Every present cell is a number (a missing cell is NaN).</summary>
    public bool IsNumeric => _codes is null;
    public int MissingCount { get; private set; }
    /// <summary>The first row holding an infinite number, or −1.</summary>
    public int FirstInfiniteRow { get; private set; } = -1;
    /// <summary>Distinct strings of a text column (in first-seen order); empty for numeric columns.</summary>
    public IReadOnlyList<string> Distinct => (IReadOnlyList<string>?)_dictionary ?? [];

    public bool IsMissing(int row) => IsNumeric ? double.IsNaN(_numbers![row]) : _codes![row] < 0;

    /// <summary>A numeric column's value (NaN when missing).</summary>
    public double Number(int row) =>
        _numbers is { } n && _codes is null ? n[row] : throw new InvalidOperationException($"Column '{Name}' holds text.");

    /// <summary>A cell as text (null when missing); numbers in shortest round-trip form.</summary>
    public string? Text(int row)
    {
        if (_codes is { } codes) return codes[row] < 0 ? null : _dictionary![codes[row]];
        double v = _numbers![row];
        return double.IsNaN(v) ? null : Cells.Format(v);
    }

    /// <summary>A cell as a number: a numeric column's value, or a text cell parsed; false for text that is no number.</summary>
    public bool TryNumber(int row, out double value)
    {
        if (_codes is null) { value = _numbers![row]; return true; }
        int code = _codes[row];
        if (code < 0) { value = double.NaN; return true; }
        return Cells.TryParseNumber(_dictionary![code], out value);
    }

    /// <summary>
    /// Integers that rise or fall by row with no gap in the record (1, 2, 3, …), or text different in every
    /// row: what an identifier column looks like.
    /// </summary>
    public bool LooksLikeIdentifier(int rows)
    {
        if (rows < 10 || MissingCount > 0) return false;
        if (IsNumeric) return _integer && (_increasing || _decreasing || AllDistinctNumbers(rows));
        return _dictionary!.Count == rows;
    }

    private bool AllDistinctNumbers(int rows)
    {
        var seen = new HashSet<double>();
        for (int r = 0; r < rows; r++)
            if (!seen.Add(_numbers![r])) return false;
        return true;
    }

    internal void Add(ReadOnlySpan<char> cell, int row)
    {
        if (_count == Capacity) Grow(_count + 1);
        var t = cell.Trim();
        if (Cells.IsMissing(t))
        {
            MissingCount++;
            if (_codes is null) _numbers![_count++] = double.NaN;
            else _codes[_count++] = -1;
            return;
        }
        if (_codes is null)
        {
            if (Cells.TryParseNumber(t, out double v))
            {
                _numbers![_count++] = v;
                if (double.IsInfinity(v) && FirstInfiniteRow < 0) FirstInfiniteRow = row;
                if (v != Math.Floor(v) || double.IsInfinity(v)) _integer = false;
                if (!double.IsNaN(_last)) { if (v <= _last) _increasing = false; if (v >= _last) _decreasing = false; }
                _last = v;
                return;
            }
            ToText();
        }
        _codes![_count++] = Intern(t);
    }

    internal void AddNumber(double v, int row)
    {
        if (_count == Capacity) Grow(_count + 1);
        if (double.IsNaN(v)) MissingCount++;
        if (double.IsInfinity(v) && FirstInfiniteRow < 0) FirstInfiniteRow = row;
        _numbers![_count++] = v;
    }

    internal void Reserve(int capacity)
    {
        if (capacity > Capacity) Resize(capacity);
    }

    private int Capacity => _codes?.Length ?? _numbers!.Length;

    private void Grow(int needed) => Resize((int)Math.Min(Array.MaxLength, Math.Max(needed, (long)Capacity * 3 / 2)));

    private void Resize(int capacity)
    {
        if (_codes is not null) Array.Resize(ref _codes, capacity);
        else Array.Resize(ref _numbers, capacity);
    }

    // A cell that is not a number turns the column into text; the numbers so far keep their shortest form.
    private void ToText()
    {
        _dictionary = [];
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        var codes = new int[Capacity];
        for (int r = 0; r < _count; r++)
            codes[r] = double.IsNaN(_numbers![r]) ? -1 : Intern(Cells.Format(_numbers[r]));
        _codes = codes;
        _numbers = null;
        FirstInfiniteRow = -1;
    }

    private int Intern(ReadOnlySpan<char> text)
    {
        var lookup = _index!.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(text, out int code)) return code;
        string s = text.ToString();
        code = _dictionary!.Count;
        _dictionary.Add(s);
        _index[s] = code;
        return code;
    }
}

/// <summary>What a cell means: the spellings of a missing value and of numbers, shared by every reader.</summary>
public static class Cells
{
    /// <summary>The spellings read as a missing value (case-insensitive, after trimming): empty, NA, N/A, NaN, null, ?.</summary>
    public static readonly IReadOnlyList<string> MissingSpellings = ["", "NA", "N/A", "NaN", "null", "?"];

    public static bool IsMissing(ReadOnlySpan<char> trimmed) =>
        trimmed.Length == 0
        || trimmed.Equals("NA", StringComparison.OrdinalIgnoreCase)
        || trimmed.Equals("N/A", StringComparison.OrdinalIgnoreCase)
        || trimmed.Equals("NaN", StringComparison.OrdinalIgnoreCase)
        || trimmed.Equals("null", StringComparison.OrdinalIgnoreCase)
        || trimmed.Equals("?", StringComparison.Ordinal);

    /// <summary>
    /// A number in invariant notation (a '.' decimal point, no group separators, an optional exponent), or an
    /// infinity (inf, infinity, ∞, with a sign). Missing spellings are not numbers.
    /// </summary>
    public static bool TryParseNumber(ReadOnlySpan<char> text, out double value)
    {
        var t = text.Trim();
        if (IsMissing(t)) { value = double.NaN; return false; }
        var body = t.Length > 0 && (t[0] == '+' || t[0] == '-') ? t[1..] : t;
        if (body.Equals("inf", StringComparison.OrdinalIgnoreCase) || body.Equals("infinity", StringComparison.OrdinalIgnoreCase) || body.SequenceEqual("∞"))
        {
            value = t[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && !double.IsNaN(value);
    }

    /// <summary>Shortest round-trip text of a double, invariant culture.</summary>
    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Shortest round-trip text of a float32 value.</summary>
    public static string Format(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Reads a CSV file into <see cref="DataTable"/> blocks: the header once, then rows.</summary>
internal sealed class TableLoader : IDisposable
{
    private readonly CsvReader _reader;
    private readonly string[] _header;
    private readonly int[] _kept;
    private readonly Action<LoadProgress>? _progress;
    private readonly long _totalBytes;
    private readonly int _headerLine;
    private int _rowsRead;

    public static TableLoader Open(string path, CsvOptions? options, Func<string, bool>? keep, Action<LoadProgress>? progress)
    {
        var stream = CsvReader.OpenFile(path);
        long total = stream.CanSeek ? stream.Length : -1;
        return new TableLoader(new CsvReader(stream, Path.GetFileName(path), options), keep, progress, total);
    }

    public TableLoader(CsvReader reader, Func<string, bool>? keep, Action<LoadProgress>? progress, long totalBytes)
    {
        _reader = reader;
        _progress = progress;
        _totalBytes = totalBytes;
        try
        {
            if (!reader.Read())
                throw new DataException($"{reader.Source} is empty; a data file needs a header row with the column names and at least one data row.");
            _headerLine = reader.Line;
            _header = new string[reader.FieldCount];
            bool blank = true;
            for (int c = 0; c < reader.FieldCount; c++) blank &= reader.Field(c).IsWhiteSpace();
            if (blank)
                throw new DataException($"{reader.Source} is empty (line {_headerLine} has only white space); a data file needs a header row with the column names and at least one data row.");
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int c = 0; c < _header.Length; c++)
            {
                _header[c] = reader.Field(c).Trim().ToString();
                if (_header[c].Length == 0)
                    throw new DataException(
                        $"{reader.Source} line {_headerLine}: column {c + 1} of the header has no name; name every column{(c == _header.Length - 1 ? " (or remove the trailing delimiter)" : "")}.");
                if (seen.TryGetValue(_header[c], out int first))
                    throw new DataException(
                        $"{reader.Source} line {_headerLine}: the column name '{MessageText.Quote(_header[c])}' appears twice (columns {first + 1} and {c + 1}); rename one so every column name is unique.");
                seen[_header[c]] = c;
            }
            _kept = Enumerable.Range(0, _header.Length).Where(c => keep?.Invoke(_header[c]) ?? true).ToArray();
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    public IReadOnlyList<string> Header => _header;

    public string NoRowsMessage() => $"{_reader.Source} has a header row but no data rows; add at least one row of values below the header.";

    /// <summary>The next block of up to <paramref name="maxRows"/> rows, or null at the end.</summary>
    public DataTable? ReadBlock(int maxRows)
    {
        int capacity = Math.Min(maxRows, 1024);
        var columns = _kept.Select(c => new DataColumn(_header[c], c + 1, capacity)).ToArray();
        var lines = new int[Math.Max(capacity, 16)];
        int rows = 0;
        bool sized = false;
        while (rows < maxRows && _reader.Read())
        {
            if (_reader.FieldCount != _header.Length)
                throw new DataException(
                    $"{_reader.Source} line {_reader.Line}: expected {_header.Length} fields (as in the header) but got {_reader.FieldCount}; give every row one value per column, and quote values that contain the delimiter '{CsvReader.Printable(_reader.Delimiter)}'.");
            if (rows == lines.Length)
            {
                // Once 50,000 rows show the bytes per row (the read-ahead of one 64 KiB chunk is then under 1 %
                // of what was read), size the columns for the whole file at once, plus 3 %: regrowing by a
                // factor would leave the old arrays as garbage the size of the table until the next full GC.
                // Past the estimate, grow by an eighth.
                int grown = (int)Math.Min(Array.MaxLength, sized ? (long)lines.Length * 9 / 8 + 1024 : (long)lines.Length * 3 / 2);
                if (!sized && _totalBytes > 0 && rows >= 50_000)
                {
                    sized = true;
                    double perRow = (double)_reader.BytesRead / Math.Max(1, _rowsRead + rows);
                    long estimate = (long)((_totalBytes - _reader.BytesRead) / perRow * 1.03) + rows + 1024;
                    grown = (int)Math.Clamp(estimate, rows + 1, Math.Min(maxRows, Array.MaxLength));
                }
                Array.Resize(ref lines, grown);
                foreach (var col in columns) col.Reserve(grown);
            }
            lines[rows] = _reader.Line;
            for (int k = 0; k < _kept.Length; k++) columns[k].Add(_reader.Field(_kept[k]), rows);
            rows++;
            if (_progress is not null && ((_rowsRead + rows) & 0xFFFF) == 0)
                _progress(new LoadProgress(_reader.BytesRead, _totalBytes, _rowsRead + rows));
        }
        if (rows == 0) return null;
        _rowsRead += rows;
        _progress?.Invoke(new LoadProgress(_reader.BytesRead, _totalBytes, _rowsRead));
        return new DataTable(_reader.Source, _header, columns, lines, rows);
    }

    public void Dispose() => _reader.Dispose();
}
