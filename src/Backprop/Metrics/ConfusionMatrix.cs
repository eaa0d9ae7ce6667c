using System.Text;

namespace Backprop.Metrics;

/// <summary>Precision, recall and F1 of one class (or their average), with the class's true count.</summary>
public readonly record struct PrecisionRecallF1(double Precision, double Recall, double F1, int Support);

/// <summary>
/// Counts of (true class, predicted class) pairs: rows are true classes, columns predicted classes.
/// Division by zero is defined as 0, as scikit-learn's default zero_division: precision of a class never
/// predicted, recall of a class never present, and F1 when precision + recall is 0. Macro averages run
/// over the classes that occur in the true or the predicted labels (scikit-learn's default label set),
/// so a class absent from a small test split does not drag the average down with a made-up 0.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[] _counts;
    private readonly string[] _names;

    private ConfusionMatrix(int classCount, long[] counts, string[] names)
    {
        ClassCount = classCount;
        _counts = counts;
        _names = names;
    }

    /// <summary>Tallies <paramref name="actual"/> against <paramref name="predicted"/>, classes 0..classCount-1.</summary>
    public static ConfusionMatrix Compute(ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted, int classCount, IReadOnlyList<string>? classNames = null)
    {
        if (classCount < 1) throw new BackpropException($"A confusion matrix needs at least one class, not {classCount}.");
        MetricChecks.SameLength(actual.Length, predicted.Length, "true labels", "predictions");
        if (classNames is not null && classNames.Count != classCount)
            throw new BackpropException($"Got {classNames.Count} class names for {classCount} classes.");
        var counts = new long[classCount * classCount];
        for (int i = 0; i < actual.Length; i++)
        {
            MetricChecks.ClassInRange(actual[i], classCount, i, "true label");
            MetricChecks.ClassInRange(predicted[i], classCount, i, "prediction");
            counts[actual[i] * classCount + predicted[i]]++;
        }
        string[] names = classNames is null ? [.. Enumerable.Range(0, classCount).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))] : [.. classNames];
        return new ConfusionMatrix(classCount, counts, names);
    }

    public int ClassCount { get; }
    public IReadOnlyList<string> ClassNames => _names;

    /// <summary>How many samples of true class <paramref name="actual"/> were predicted as <paramref name="predicted"/>.</summary>
    public long this[int actual, int predicted] => _counts[actual * ClassCount + predicted];

    public long Total => _counts.Sum();

    /// <summary>Samples whose true class is <paramref name="c"/>.</summary>
    public long Support(int c)
    {
        long s = 0;
        for (int p = 0; p < ClassCount; p++) s += this[c, p];
        return s;
    }

    /// <summary>Samples predicted as <paramref name="c"/>.</summary>
    public long PredictedCount(int c)
    {
        long s = 0;
        for (int t = 0; t < ClassCount; t++) s += this[t, c];
        return s;
    }

    /// <summary>Fraction predicted correctly; NaN when there are no samples.</summary>
    public double Accuracy
    {
        get
        {
            long total = Total;
            if (total == 0) return double.NaN;
            long correct = 0;
            for (int c = 0; c < ClassCount; c++) correct += this[c, c];
            return (double)correct / total;
        }
    }

    public PrecisionRecallF1 ForClass(int c)
    {
        if ((uint)c >= (uint)ClassCount) throw new ArgumentOutOfRangeException(nameof(c), $"class {c} is outside 0..{ClassCount - 1}");
        long tp = this[c, c], predicted = PredictedCount(c), support = Support(c);
        double precision = predicted == 0 ? 0 : (double)tp / predicted;
        double recall = support == 0 ? 0 : (double)tp / support;
        return new PrecisionRecallF1(precision, recall, F1(precision, recall), (int)support);
    }

    /// <summary>
    /// Unweighted mean of per-class precision, recall and F1 over the classes present in the true or the
    /// predicted labels (F1 averaged per class, not recomputed from the averages); Support is the total.
    /// NaN when there are no samples.
    /// </summary>
    public PrecisionRecallF1 Macro
    {
        get
        {
            double p = 0, r = 0, f = 0;
            int present = 0;
            for (int c = 0; c < ClassCount; c++)
            {
                if (Support(c) == 0 && PredictedCount(c) == 0) continue;
                var m = ForClass(c);
                p += m.Precision;
                r += m.Recall;
                f += m.F1;
                present++;
            }
            if (present == 0) return new PrecisionRecallF1(double.NaN, double.NaN, double.NaN, 0);
            return new PrecisionRecallF1(p / present, r / present, f / present, (int)Total);
        }
    }

    internal static double F1(double precision, double recall) =>
        precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);

    /// <summary>A table with true classes down the side and predicted classes across the top.</summary>
    public override string ToString()
    {
        const string corner = "true \\ predicted";
        var cells = new string[ClassCount, ClassCount];
        int width = 1;
        for (int t = 0; t < ClassCount; t++)
            for (int p = 0; p < ClassCount; p++)
            {
                cells[t, p] = this[t, p].ToString(System.Globalization.CultureInfo.InvariantCulture);
                width = Math.Max(width, cells[t, p].Length);
            }
        foreach (string n in _names) width = Math.Max(width, n.Length);
        int first = Math.Max(corner.Length, _names.Max(n => n.Length));

        var sb = new StringBuilder();
        sb.Append(corner.PadRight(first));
        foreach (string n in _names) sb.Append("  ").Append(n.PadLeft(width));
        sb.AppendLine();
        for (int t = 0; t < ClassCount; t++)
        {
            sb.Append(_names[t].PadRight(first));
            for (int p = 0; p < ClassCount; p++) sb.Append("  ").Append(cells[t, p].PadLeft(width));
            if (t < ClassCount - 1) sb.AppendLine();
        }
        return sb.ToString();
    }
}

internal static class MetricChecks
{
    public static void SameLength(int a, int b, string what, string other)
    {
        if (a != b) throw new BackpropException($"Got {a} {what} but {b} {other}; a metric needs one of each per sample.");
    }

    public static void ClassInRange(int label, int classCount, int index, string what)
    {
        if ((uint)label >= (uint)classCount)
            throw new BackpropException($"Sample {index} has {what} {label}, outside the classes 0..{classCount - 1}.");
    }
}
