namespace Backprop.Data;

/// <summary>
/// Per-feature standardization, x' = (x − mean) / scale, with the mean and the population standard
/// deviation (divisor n, as scikit-learn's StandardScaler) fitted on the training rows only, so that no
/// information from validation or test rows leaks into training.
/// A constant column (standard deviation zero, or only rounding noise: at most 16·ε·|mean|) gets scale 1:
/// it is centred to zeros rather than divided by zero, and a later non-constant value passes through as
/// its plain offset from the training mean.
/// The state is two plain double arrays, <see cref="Mean"/> and <see cref="Scale"/>, for saving with a model.
/// </summary>
public sealed class Standardizer
{
    // Unit roundoff of double (2^-52); .NET's double.Epsilon is the smallest subnormal instead.
    private const double MachineEpsilon = 2.220446049250313e-16;

    private readonly double[] _mean;
    private readonly double[] _scale;

    /// <summary>Restores a fitted standardizer from saved arrays.</summary>
    public Standardizer(double[] mean, double[] scale)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(scale);
        if (mean.Length != scale.Length)
            throw new ShapeException($"A standardizer needs one mean and one scale per feature, but has {mean.Length} means and {scale.Length} scales.");
        for (int i = 0; i < scale.Length; i++)
        {
            if (!double.IsFinite(mean[i]) || !double.IsFinite(scale[i]) || scale[i] <= 0)
                throw new BackpropException($"Standardizer feature {i + 1} has mean {mean[i]} and scale {scale[i]}; the mean must be finite and the scale finite and positive (the saved model may be corrupt).");
        }
        _mean = [.. mean];
        _scale = [.. scale];
    }

    public int Features => _mean.Length;
    /// <summary>A copy of the fitted means.</summary>
    public double[] Mean => [.. _mean];
    /// <summary>A copy of the fitted scales (standard deviations, or 1 for constant columns).</summary>
    public double[] Scale => [.. _scale];

    /// <summary>Fits on all rows of a row-major <paramref name="rows"/> × <paramref name="columns"/> array.</summary>
    public static Standardizer Fit(ReadOnlySpan<double> data, int rows, int columns)
    {
        if (rows <= 0) throw new BackpropException("Cannot fit a standardizer on zero rows; the training split is empty.");
        if ((long)rows * columns != data.Length)
            throw new ShapeException($"{rows} rows × {columns} columns need {(long)rows * columns} values, not {data.Length}.");
        var all = new int[rows];
        for (int i = 0; i < rows; i++) all[i] = i;
        return Fit(data, columns, all);
    }

    /// <summary>Fits on the rows of <paramref name="matrix"/> listed in <paramref name="trainRows"/>.</summary>
    public static Standardizer Fit(FeatureMatrix matrix, ReadOnlySpan<int> trainRows) =>
        Fit(matrix.Values, matrix.Columns, trainRows);

    /// <summary>Fits on the listed rows of a row-major array with <paramref name="columns"/> columns.</summary>
    public static Standardizer Fit(ReadOnlySpan<double> data, int columns, ReadOnlySpan<int> trainRows)
    {
        if (trainRows.Length == 0) throw new BackpropException("Cannot fit a standardizer on zero rows; the training split is empty.");
        if (columns < 0) throw new ShapeException($"A standardizer cannot have {columns} columns.");
        long rowCount = columns == 0 ? 0 : data.Length / columns;
        foreach (int r in trainRows)
        {
            if (r < 0 || r >= rowCount)
                throw new ShapeException($"Training row index {r} is outside the data's {rowCount} rows.");
        }
        var mean = new double[columns];
        var scale = new double[columns];
        foreach (int r in trainRows)
        {
            var row = data.Slice(r * columns, columns);
            for (int c = 0; c < columns; c++) mean[c] += row[c];
        }
        for (int c = 0; c < columns; c++) mean[c] /= trainRows.Length;
        // Two passes rather than sum of squares: the one-pass formula cancels catastrophically for
        // features with a large mean and a small spread.
        foreach (int r in trainRows)
        {
            var row = data.Slice(r * columns, columns);
            for (int c = 0; c < columns; c++)
            {
                double d = row[c] - mean[c];
                scale[c] += d * d;
            }
        }
        for (int c = 0; c < columns; c++)
        {
            double std = Math.Sqrt(scale[c] / trainRows.Length);
            scale[c] = std == 0 || std <= 16 * MachineEpsilon * Math.Abs(mean[c]) ? 1.0 : std;
        }
        return new Standardizer(mean, scale);
    }

    /// <summary>Standardizes row-major <paramref name="source"/> into <paramref name="destination"/> (may be the same span).</summary>
    public void Transform(ReadOnlySpan<double> source, Span<double> destination)
    {
        CheckLength(source.Length, destination.Length);
        int cols = _mean.Length;
        for (int i = 0; i < source.Length; i += cols)
        {
            for (int c = 0; c < cols; c++) destination[i + c] = (source[i + c] - _mean[c]) / _scale[c];
        }
    }

    public double[] Transform(ReadOnlySpan<double> source)
    {
        var result = new double[source.Length];
        Transform(source, result);
        return result;
    }

    public FeatureMatrix Transform(FeatureMatrix matrix)
    {
        if (matrix.Columns != Features)
            throw new ShapeException($"The standardizer was fitted on {Features} features but the data has {matrix.Columns}.");
        return new FeatureMatrix(matrix.Names, Transform(matrix.Values), matrix.Rows);
    }

    public void InverseTransform(ReadOnlySpan<double> source, Span<double> destination)
    {
        CheckLength(source.Length, destination.Length);
        int cols = _mean.Length;
        for (int i = 0; i < source.Length; i += cols)
        {
            for (int c = 0; c < cols; c++) destination[i + c] = source[i + c] * _scale[c] + _mean[c];
        }
    }

    private void CheckLength(int source, int destination)
    {
        int cols = _mean.Length;
        if (cols == 0 ? source != 0 : source % cols != 0)
            throw new ShapeException($"The standardizer was fitted on {cols} features, but got {source} values, which is not a whole number of rows.");
        if (destination != source)
            throw new ShapeException($"The destination holds {destination} values but the source has {source}.");
    }
}
