namespace Backprop.Metrics;

/// <summary>
/// Classification scores from integer class labels (0..K-1). Rules for degenerate inputs: an empty
/// input gives NaN; a ratio with a zero denominator gives 0 (see <see cref="ConfusionMatrix"/>); ROC AUC
/// is NaN when only one class is present or any score is NaN.
/// </summary>
public static class ClassificationMetrics
{
    /// <summary>Fraction of positions where the labels agree; NaN for empty input.</summary>
    public static double Accuracy(ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted)
    {
        MetricChecks.SameLength(actual.Length, predicted.Length, "true labels", "predictions");
        if (actual.Length == 0) return double.NaN;
        int correct = 0;
        for (int i = 0; i < actual.Length; i++)
            if (actual[i] == predicted[i]) correct++;
        return (double)correct / actual.Length;
    }

    /// <summary>
    /// Precision, recall and F1 of the positive class (class <paramref name="positive"/>, by default 1) of
    /// a binary task; 0 where a denominator is 0. Labels other than 0 and 1 are rejected.
    /// </summary>
    public static PrecisionRecallF1 Binary(ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted, int positive = 1) =>
        ConfusionMatrix.Compute(actual, predicted, 2).ForClass(positive);

    /// <summary>Per-class precision, recall and F1 for classes 0..classCount-1.</summary>
    public static PrecisionRecallF1[] PerClass(ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted, int classCount)
    {
        var cm = ConfusionMatrix.Compute(actual, predicted, classCount);
        return [.. Enumerable.Range(0, classCount).Select(cm.ForClass)];
    }

    /// <summary>Macro-averaged precision, recall and F1 (see <see cref="ConfusionMatrix.Macro"/>).</summary>
    public static PrecisionRecallF1 Macro(ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted, int classCount) =>
        ConfusionMatrix.Compute(actual, predicted, classCount).Macro;

    /// <summary>
    /// Area under the ROC curve of a binary task: the probability that a random positive (label 1) scores
    /// above a random negative (label 0), ties counting one half. Computed as the Mann–Whitney U statistic
    /// with average ranks for tied scores, in O(n log n). NaN if either class is absent or a score is NaN.
    /// </summary>
    public static double RocAuc(ReadOnlySpan<int> actual, ReadOnlySpan<double> scores)
    {
        MetricChecks.SameLength(actual.Length, scores.Length, "true labels", "scores");
        int n = actual.Length;
        long positives = 0;
        for (int i = 0; i < n; i++)
        {
            if (actual[i] is not (0 or 1))
                throw new BackpropException($"Sample {i} has true label {actual[i]}; ROC AUC is for binary labels 0 and 1.");
            positives += actual[i];
            if (double.IsNaN(scores[i])) return double.NaN;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0) return double.NaN;

        var keys = scores.ToArray();
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Array.Sort(keys, order);

        // Sum of (1-based, tie-averaged) ranks of the positives.
        double positiveRankSum = 0;
        for (int start = 0; start < n;)
        {
            int end = start + 1;
            while (end < n && keys[end] == keys[start]) end++;
            double averageRank = (start + 1 + end) / 2.0;
            int positivesInGroup = 0;
            for (int k = start; k < end; k++) positivesInGroup += actual[order[k]];
            positiveRankSum += averageRank * positivesInGroup;
            start = end;
        }
        double u = positiveRankSum - positives * (positives + 1) / 2.0;
        return u / ((double)positives * negatives);
    }
}
