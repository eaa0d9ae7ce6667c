using Backprop.Data;

namespace Backprop.Tests.Data;

public class BadInputTests
{
    public static TheoryData<string, string?, string, string[]> Cases => new()
    {
        { "empty file", "", "y", ["bad.csv", "empty"] },
        { "whitespace only", "\n\n  \n", "y", ["bad.csv", "empty"] },
        { "header only", "a,b,y\n", "y", ["bad.csv", "no data rows"] },
        { "ragged row", "a,b,y\n1,2,0\n1,2\n", "y", ["bad.csv", "line 3", "expected 3 fields", "got 2"] },
        { "too many fields", "a,b,y\n1,2,0,9\n", "y", ["line 2", "expected 3 fields", "got 4"] },
        { "unterminated quote", "a,b,y\n1,2,0\n\"1,2,0\n3,4,1\n", "y", ["bad.csv", "line 3", "never closed"] },
        { "text after closing quote", "a,b,y\n\"1\"x,2,0\n", "y", ["line 2", "field 1", "after its closing quote"] },
        { "missing target", "alpha,beta,label\n1,2,0\n3,4,1\n", "lable", ["bad.csv", "no column 'lable'", "Did you mean 'label'", "'alpha', 'beta', 'label'"] },
        { "target case differs", "a,Label\n1,0\n3,1\n", "label", ["no column 'label'", "Did you mean 'Label'"] },
        { "non-numeric feature", "a,b,y\n1,2,0\n1,abc,1\n", "y", ["bad.csv line 3", "column 'b' (2)", "'abc' is not a number"] },
        { "decimal comma", "a;b;y\n1;2,5;0\n1;3;1\n", "y", ["line 2", "column 'b' (2)", "decimal"] },
        { "empty feature", "a,b,y\n1,,0\n1,2,1\n", "y", ["line 2", "column 'b' (2)", "missing"] },
        { "NaN feature", "a,b,y\n1,2,0\n3,4,1\nNaN,5,0\n", "y", ["line 4", "column 'a' (1)", "NaN"] },
        { "Inf feature", "y,a,b\n0,1,2\n1,3,-Infinity\n", "y", ["line 3", "column 'b' (3)", "infinite"] },
        { "overflowing feature", "a,y\n1e999,0\n2,1\n", "y", ["line 2", "column 'a' (1)", "infinite"] },
        { "empty target", "a,y\n1,0\n2,\n", "y", ["line 3", "column 'y' (2)", "target value is empty"] },
        { "NaN target", "a,y\n1,0\n2,nan\n", "y", ["line 3", "column 'y' (2)", "NaN"] },
        { "single class", "a,y\n1,cat\n2,cat\n3,cat\n", "y", ["bad.csv", "column 'y' (column 2)", "only one distinct value", "'cat'"] },
        { "duplicate column", "a,b,a,y\n1,2,3,0\n", "y", ["line 1", "'a' appears twice", "columns 1 and 3"] },
        { "empty column name", "a,,y\n1,2,0\n", "y", ["line 1", "column 2", "no name"] },
        { "target only", "y\n0\n1\n", "y", ["only the target column"] },
        { "nonexistent file", null, "y", ["does not exist", "bad.csv"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void RejectedWithAMessageThatSaysWhere(string name, string? content, string target, string[] expected)
    {
        using var dir = new TempDir();
        string path = dir.File("bad.csv", content);
        var e = Assert.Throws<DataException>(() => TabularData.Load(path, target));
        Assert.IsAssignableFrom<BackpropException>(e);
        foreach (string fragment in expected)
            Assert.True(e.Message.Contains(fragment, StringComparison.Ordinal), $"{name}: message lacks \"{fragment}\": {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void RegressionOverrideRejectsTextTarget()
    {
        var table = CsvReader.Parse("a,y\n1,1.5\n2,high\n", "t.csv");
        var e = Assert.Throws<DataException>(() => TabularData.FromCsv(table, "y", TaskKind.Regression));
        Assert.Contains("line 3", e.Message);
        Assert.Contains("'high' is not a number", e.Message);
    }

    [Fact]
    public void BinaryOverrideRejectsThreeClasses()
    {
        var table = CsvReader.Parse("a,y\n1,a\n2,b\n3,c\n", "t.csv");
        var e = Assert.Throws<DataException>(() => TabularData.FromCsv(table, "y", TaskKind.Binary));
        Assert.Contains("3 classes", e.Message);
    }

    [Fact]
    public void PredictionFileMissingAFeatureIsNamed()
    {
        var table = CsvReader.Parse("mean_radius,mean_areas,worst_area\n1,2,3\n", "new.csv");
        var e = Assert.Throws<DataException>(() => TabularData.FeaturesFromCsv(table, ["mean_radius", "mean_area", "worst_area"]));
        Assert.Contains("no column 'mean_area'", e.Message);
        Assert.Contains("Did you mean 'mean_areas'", e.Message);
    }
}
