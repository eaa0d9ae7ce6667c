using Backprop.Data;

namespace Backprop.Tests.Data;

public class TabularDataTests
{
    [Fact]
    public void BreastCancerIsBinaryWithMalignantPositive()
    {
        var data = TabularData.Load(RepoData.PathOf("breast-cancer.csv"), "diagnosis");
        Assert.Equal(569, data.Rows);
        Assert.Equal(30, data.Features.Columns);
        Assert.Equal(TaskKind.Binary, data.Task);
        Assert.Equal(["benign", "malignant"], data.Labels!.Classes);
        Assert.Equal(1, data.ClassIndices![0]);
        Assert.Equal(17.99, data.Features[0, 0]);
        Assert.Equal(0.1189, data.Features[0, 29]);
        Assert.Equal(212, data.ClassIndices.Count(c => c == 1));
        Assert.Equal(31, data.TargetColumn);
    }

    [Fact]
    public void IrisIsMulticlass()
    {
        var data = TabularData.Load(RepoData.PathOf("iris.csv"), "species");
        Assert.Equal(150, data.Rows);
        Assert.Equal(4, data.Features.Columns);
        Assert.Equal(TaskKind.Multiclass, data.Task);
        Assert.Equal(["setosa", "versicolor", "virginica"], data.Labels!.Classes);
    }

    [Fact]
    public void DiabetesIsRegression()
    {
        var data = TabularData.Load(RepoData.PathOf("diabetes.csv"), "progression");
        Assert.Equal(442, data.Rows);
        Assert.Equal(["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"], data.FeatureNames);
        Assert.Equal(TaskKind.Regression, data.Task);
        Assert.Null(data.Labels);
        Assert.Equal(151, data.Targets![0]);
    }

    [Fact]
    public void TaskCanBeOverridden()
    {
        var data = TabularData.Load(RepoData.PathOf("diabetes.csv"), "sex", TaskKind.Regression);
        Assert.Equal(TaskKind.Regression, data.Task);
        Assert.Equal(TaskKind.Binary, TabularData.Load(RepoData.PathOf("diabetes.csv"), "sex").Task);
    }

    [Fact]
    public void TargetInTheMiddleLeavesOtherColumnsInOrder()
    {
        var data = TabularData.FromTable(DataTable.Parse("a,y,b\n1,x,2\n3,z,4\n", "t.csv"), "y");
        Assert.Equal(["a", "b"], data.FeatureNames);
        Assert.Equal([1.0, 2, 3, 4], data.Features.Values);
        Assert.Equal(2, data.TargetColumn);
    }

    [Fact]
    public void FeaturesForPredictionFollowTheModelsOrderAndIgnoreTheTarget()
    {
        var table = DataTable.Parse("c,target,a,b\n3,x,1,2\n6,y,4,5\n", "new.csv");
        var pre = Preprocessor.Standardised(["a", "b", "c"], [0, 0, 0], [1, 1, 1]);
        var x = pre.Transform(table, DType.Float64);
        Assert.Equal([1.0, 2, 3, 4, 5, 6], x.ToDoubleArray());
    }

    [Fact]
    public void NumbersAcceptInvariantFormats()
    {
        var data = TabularData.FromTable(DataTable.Parse("a,y\n 1e-3 ,0\n-2.5,1\n+.5,1\n", "t.csv"), "y");
        Assert.Equal([0.001, -2.5, 0.5], data.Features.Values);
    }

    [Theory]
    [InlineData(new[] { "10", "2", "1", "2" }, new[] { "1", "2", "10" })]
    [InlineData(new[] { "-1", "0.5", "-3" }, new[] { "-3", "-1", "0.5" })]
    [InlineData(new[] { "b", "B", "a", "10", "9" }, new[] { "10", "9", "B", "a", "b" })]
    [InlineData(new[] { "virginica", "setosa", "versicolor" }, new[] { "setosa", "versicolor", "virginica" })]
    public void LabelsAreOrderedNumericallyOrOrdinally(string[] labels, string[] expected)
    {
        var encoder = LabelEncoder.Fit(labels);
        Assert.Equal(expected, encoder.Classes);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(i, encoder.Encode(expected[i]));
            Assert.Equal(expected[i], encoder.Decode(i));
        }
    }

    [Fact]
    public void UnknownLabelIsAnError()
    {
        var e = Assert.Throws<DataException>(() => LabelEncoder.Fit(["a", "b"]).Encode("c"));
        Assert.Contains("'c'", e.Message);
    }

    [Fact]
    public void TaskInferenceRule()
    {
        static string[] Repeat(int rows, Func<int, string> f) => [.. Enumerable.Range(0, rows).Select(f)];
        Assert.Equal(TaskKind.Binary, TaskInference.Infer(["yes", "no", "yes"]));
        Assert.Equal(TaskKind.Multiclass, TaskInference.Infer(["a", "b", "c"]));
        Assert.Equal(TaskKind.Binary, TaskInference.Infer(["0", "1", "1"]));
        Assert.Equal(TaskKind.Multiclass, TaskInference.Infer(Repeat(30, i => (i % 3).ToString())));
        // Three integer levels in only 20 rows: fewer than 10 rows per level, so treated as a quantity.
        Assert.Equal(TaskKind.Regression, TaskInference.Infer(Repeat(20, i => (i % 3).ToString())));
        Assert.Equal(TaskKind.Regression, TaskInference.Infer(Repeat(1000, i => (i % 21).ToString())));
        Assert.Equal(TaskKind.Multiclass, TaskInference.Infer(Repeat(1000, i => (i % 20).ToString())));
        Assert.Equal(TaskKind.Regression, TaskInference.Infer(Repeat(100, i => (i % 2 + 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Assert.Equal(TaskKind.Multiclass, TaskInference.Infer(["1", "2", "x"]));
    }
}
