namespace Backprop.Data;

/// <summary>
/// A dense feature table: <see cref="Rows"/> × <see cref="Columns"/> doubles stored row-major in
/// <see cref="Values"/> (row r starts at r * Columns), with the column names a model remembers.
/// </summary>
public sealed class FeatureMatrix
{
    private readonly string[] _names;

    public FeatureMatrix(IReadOnlyList<string> names, double[] values, int rows)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(values);
        if (rows < 0) throw new ShapeException($"A feature matrix cannot have {rows} rows.");
        if ((long)rows * names.Count != values.Length)
            throw new ShapeException($"A feature matrix of {rows} rows × {names.Count} columns needs {(long)rows * names.Count} values, not {values.Length}.");
        _names = [.. names];
        Values = values;
        Rows = rows;
    }

    public IReadOnlyList<string> Names => _names;
    /// <summary>Row-major values; row r is Values[r*Columns .. (r+1)*Columns).</summary>
    public double[] Values { get; }
    public int Rows { get; }
    public int Columns => _names.Length;

    public double this[int row, int column] => Values[row * Columns + column];

    public ReadOnlySpan<double> Row(int row)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} is outside 0..{Rows - 1}");
        return Values.AsSpan(row * Columns, Columns);
    }

    /// <summary>A new matrix with the given rows, in the given order (e.g. one split's indices).</summary>
    public FeatureMatrix SelectRows(ReadOnlySpan<int> rows)
    {
        int cols = Columns;
        var values = new double[rows.Length * cols];
        for (int i = 0; i < rows.Length; i++)
            Row(rows[i]).CopyTo(values.AsSpan(i * cols, cols));
        return new FeatureMatrix(_names, values, rows.Length);
    }
}
