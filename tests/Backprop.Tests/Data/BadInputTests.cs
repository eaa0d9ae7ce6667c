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
        { "NaN feature", "a,b,y\n1,2,0\n3,4,1\nNaN,5,0\n", "y", ["line 4", "column 'a' (1)", "missing"] },
        { "Inf feature", "y,a,b\n0,1,2\n1,3,-Infinity\n", "y", ["line 3", "column 'b' (3)", "infinite"] },
        { "overflowing feature", "a,y\n1e999,0\n2,1\n", "y", ["line 2", "column 'a' (1)", "infinite"] },
        { "infinite target", "a,y\n1,0.5\n2,inf\n3,1\n", "y", ["line 3", "column 'y' (2)", "infinite"] },
        { "single class after missing", "a,y\n1,cat\n2,NA\n3,cat\n", "y", ["only one distinct value", "'cat'"] },
        { "single number", "a,y\n1,0\n2,0.0\n3,0\n", "y", ["only one distinct value", "'0'"] },
        { "all targets missing", "a,y\n1,\n2,NA\n", "y", ["every value there is missing"] },
        { "single class", "a,y\n1,cat\n2,cat\n3,cat\n", "y", ["bad.csv", "column 'y' (column 2)", "only one distinct value", "'cat'"] },
        { "duplicate column", "a,b,a,y\n1,2,3,0\n", "y", ["line 1", "'a' appears twice", "columns 1 and 3"] },
        { "empty column name", "a,,y\n1,2,0\n", "y", ["line 1", "column 2", "no name"] },
        { "target only", "y\n0\n1\n", "y", ["no feature column besides the target"] },
        { "a directory", "<dir>", "y", ["is a directory"] },
        { "binary data", "<nul>", "y", ["NUL", "not a CSV text file"] },
        { "latin-1 text", "<latin1>", "y", ["line 3", "not valid UTF-8", "--encoding latin1"] },
        { "nonexistent file", null, "y", ["does not exist", "bad.csv"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void RejectedWithAMessageThatSaysWhere(string name, string? content, string target, string[] expected)
    {
        using var dir = new TempDir();
        string path = dir.File("bad.csv", content is "<dir>" or "<nul>" or "<latin1>" ? null : content);
        if (content == "<dir>") Directory.CreateDirectory(path);
        if (content == "<nul>") File.WriteAllBytes(path, [.. "a,y\n"u8, 0, 0, 0]);
        if (content == "<latin1>") File.WriteAllBytes(path, [.. "city,y\nOslo,0\nK"u8, 0xF6, .. "ln,1\n"u8]);
        // Load, then ask for the features as given (what grad and explain without a model use).
        var e = Assert.Throws<DataException>(() => _ = TabularData.Load(path, target).Features);
        Assert.IsAssignableFrom<BackpropException>(e);
        foreach (string fragment in expected)
            Assert.True(e.Message.Contains(fragment, StringComparison.Ordinal), $"{name}: message lacks \"{fragment}\": {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void RegressionOverrideRejectsTextTarget()
    {
        var table = DataTable.Parse("a,y\n1,1.5\n2,high\n", "t.csv");
        var e = Assert.Throws<DataException>(() => TabularData.FromTable(table, "y", TaskKind.Regression));
        Assert.Contains("line 3", e.Message);
        Assert.Contains("'high' is not a number", e.Message);
    }

    [Fact]
    public void BinaryOverrideRejectsThreeClasses()
    {
        var table = DataTable.Parse("a,y\n1,a\n2,b\n3,c\n", "t.csv");
        var e = Assert.Throws<DataException>(() => TabularData.FromTable(table, "y", TaskKind.Binary));
        Assert.Contains("3 classes", e.Message);
    }

    [Fact]
    public void PredictionFileMissingAFeatureIsNamed()
    {
        var table = DataTable.Parse("mean_radius,mean_areas,worst_area\n1,2,3\n", "new.csv");
        var pre = Preprocessor.Standardised(["mean_radius", "mean_area", "worst_area"], [0, 0, 0], [1, 1, 1]);
        var e = Assert.Throws<DataException>(() => pre.Bind(table));
        Assert.Contains("no column 'mean_area'", e.Message);
        Assert.Contains("Did you mean 'mean_areas'", e.Message);
    }
}
