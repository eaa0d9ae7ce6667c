using Backprop.Metrics;

namespace Backprop.Tests.Metrics;

public class ClassificationMetricsTests
{
    private static readonly int[] Actual = [0, 0, 0, 1, 1, 2, 2, 2, 2];
    private static readonly int[] Predicted = [0, 1, 0, 1, 2, 2, 2, 0, 2];

    [Fact]
    public void ConfusionMatrixRowsAreTrueColumnsArePredicted()
    {
        var cm = ConfusionMatrix.Compute(Actual, Predicted, 3);
        long[,] expected = { { 2, 1, 0 }, { 0, 1, 1 }, { 1, 0, 3 } };
        for (int t = 0; t < 3; t++)
            for (int p = 0; p < 3; p++)
                Assert.Equal(expected[t, p], cm[t, p]);
        Assert.Equal(9, cm.Total);
        Assert.Equal(6.0 / 9, cm.Accuracy, 12);
        Assert.Equal(6.0 / 9, ClassificationMetrics.Accuracy(Actual, Predicted), 12);
    }

    [Fact]
    public void PerClassAndMacroScores()
    {
        var per = ClassificationMetrics.PerClass(Actual, Predicted, 3);
        Same(2.0 / 3, 2.0 / 3, 2.0 / 3, 3, per[0]);
        Same(0.5, 0.5, 0.5, 2, per[1]);
        Same(0.75, 0.75, 0.75, 4, per[2]);
        var macro = ClassificationMetrics.Macro(Actual, Predicted, 3);
        Assert.Equal((2.0 / 3 + 0.5 + 0.75) / 3, macro.Precision, 12);
        Assert.Equal((2.0 / 3 + 0.5 + 0.75) / 3, macro.Recall, 12);
        Assert.Equal(9, macro.Support);
    }

    [Fact]
    public void MacroSkipsClassesAbsentFromBothTruthAndPredictions()
    {
        var macro = ClassificationMetrics.Macro([0, 1, 1], [0, 1, 0], 4);
        // Class 0: P 1/2, R 1; class 1: P 1, R 1/2; classes 2 and 3 never occur.
        Assert.Equal(0.75, macro.Precision, 12);
        Assert.Equal(0.75, macro.Recall, 12);
        Assert.Equal(2.0 / 3, macro.F1, 12);
    }

    [Fact]
    public void BinaryScoresAreForClassOne()
    {
        var s = ClassificationMetrics.Binary([1, 1, 1, 0, 0, 0, 0, 1], [1, 0, 1, 1, 0, 0, 0, 0]);
        Assert.Equal(2.0 / 3, s.Precision, 12);
        Assert.Equal(0.5, s.Recall, 12);
        Assert.Equal(4.0 / 7, s.F1, 12);
        Assert.Equal(4, s.Support);
    }

    [Fact]
    public void ZeroDenominatorsGiveZero()
    {
        var neverPredicted = ClassificationMetrics.Binary([1, 0, 1], [0, 0, 0]);
        Assert.Equal(new PrecisionRecallF1(0, 0, 0, 2), neverPredicted);
        var neverPresent = ClassificationMetrics.Binary([0, 0], [1, 0]);
        Assert.Equal(new PrecisionRecallF1(0, 0, 0, 0), neverPresent);
        Assert.True(double.IsNaN(ClassificationMetrics.Accuracy([], [])));
    }

    [Fact]
    public void BadLabelsAndLengthsAreRejected()
    {
        Assert.Throws<BackpropException>(() => ConfusionMatrix.Compute([0, 3], [0, 1], 3));
        Assert.Throws<BackpropException>(() => ClassificationMetrics.Accuracy([0, 1], [0]));
        Assert.Throws<BackpropException>(() => ClassificationMetrics.RocAuc([0, 2], [0.1, 0.2]));
    }

    [Fact]
    public void RocAucCountsTiesAsHalf()
    {
        // Positives score 0.4, 0.8, 0.1; negatives 0.1, 0.4, 0.4.
        // Pairs won: 0.4 → 1 + ½ + ½, 0.8 → 3, 0.1 → ½; total 5.5 of 9.
        double auc = ClassificationMetrics.RocAuc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.4, 0.8, 0.4, 0.1]);
        Assert.Equal(5.5 / 9, auc, 12);
    }

    [Fact]
    public void RocAucEdgeCases()
    {
        Assert.Equal(1.0, ClassificationMetrics.RocAuc([0, 0, 1], [0.1, 0.2, 0.9]));
        Assert.Equal(0.0, ClassificationMetrics.RocAuc([1, 0], [0.1, 0.9]));
        Assert.Equal(0.5, ClassificationMetrics.RocAuc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3]));
        Assert.True(double.IsNaN(ClassificationMetrics.RocAuc([1, 1], [0.1, 0.9])));
        Assert.True(double.IsNaN(ClassificationMetrics.RocAuc([], [])));
        Assert.True(double.IsNaN(ClassificationMetrics.RocAuc([0, 1], [double.NaN, 0.9])));
    }

    [Fact]
    public void RocAucMatchesPairCountingOnRandomScoresWithTies()
    {
        var rng = new Rng(42);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = 2 + rng.NextInt(60);
            var y = new int[n];
            var s = new double[n];
            for (int i = 0; i < n; i++)
            {
                y[i] = rng.NextInt(2);
                s[i] = Math.Round(rng.NextDouble(), 1); // coarse scores: many ties
            }
            y[0] = 0;
            y[1] = 1;
            double wins = 0;
            int pairs = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (y[i] == 1 && y[j] == 0)
                    {
                        pairs++;
                        wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                    }
            Assert.Equal(wins / pairs, ClassificationMetrics.RocAuc(y, s), 12);
        }
    }

    [Fact]
    public void ConfusionMatrixPrintsAsATable()
    {
        var cm = ConfusionMatrix.Compute([0, 0, 1, 1, 1], [0, 1, 1, 1, 1], 2, ["benign", "malignant"]);
        string[] lines = cm.ToString().Split(Environment.NewLine);
        Assert.Equal(3, lines.Length);
        Assert.Equal("true \\ predicted     benign  malignant", lines[0]);
        Assert.Equal("benign                    1          1", lines[1]);
        Assert.Equal("malignant                 0          3", lines[2]);
    }

    private static void Same(double precision, double recall, double f1, int support, PrecisionRecallF1 actual)
    {
        Assert.Equal(precision, actual.Precision, 12);
        Assert.Equal(recall, actual.Recall, 12);
        Assert.Equal(f1, actual.F1, 12);
        Assert.Equal(support, actual.Support);
    }
}
