using Backprop.Data;
using Backprop.Tests.Cli;
using Backprop.Training;

namespace Backprop.Tests.Data;

public class PreprocessorTests
{
    internal static string Fixture => Path.Combine(CliRunner.RepoRoot(), "tests", "Backprop.Tests", "Data", "Fixtures", "customers.csv");

    private static DataTable Table(string text) => DataTable.Parse(text, "t.csv");

    private static int[] All(DataTable t) => [.. Enumerable.Range(0, t.Rows)];

    [Fact]
    public void TextColumnsAreOneHotWithSortedTrainingCategoriesAndNumbersAreStandardised()
    {
        var t = Table("x,colour\n1,red\n2,blue\nNA,red\n5,green\n");
        var pre = Preprocessor.Fit(t, ["x", "colour"], All(t), PreprocessOptions.Default);
        Assert.Equal(["x", "x (missing)", "colour=blue", "colour=green", "colour=red"], pre.FeatureNames);
        var x = pre.Columns[0];
        // Mean of the present values; the imputed row adds nothing to the spread but counts in n.
        Assert.Equal(8.0 / 3, x.Mean, 15);
        double ss = Math.Pow(1 - 8.0 / 3, 2) + Math.Pow(2 - 8.0 / 3, 2) + Math.Pow(5 - 8.0 / 3, 2);
        Assert.Equal(Math.Sqrt(ss / 4), x.Scale, 15);
        Assert.Equal("red", pre.Columns[1].FillCategory);
        var v = pre.Transform(t, DType.Float64).ToDoubleArray();
        Assert.Equal([(1 - x.Mean) / x.Scale, 0, 0, 0, 1], v[0..5]);
        Assert.Equal([0.0, 1, 0, 0, 1], v[10..15]); // the missing x: the mean (0 after standardising) and indicator 1
        Assert.Equal([0.0, 1, 0], v[17..20]);         // green
    }

    [Fact]
    public void ImputationAndScalingAreLearnedOnTrainingRowsOnly()
    {
        // Rows 0..59 have x near 1; the pipeline's validation and test rows get x = 1000 where they are odd.
        var lines = new List<string> { "x,y" };
        for (int i = 0; i < 80; i++) lines.Add($"{(i % 4 == 0 ? "NA" : (1 + i % 3).ToString())},{i % 2}");
        var data = TabularData.FromTable(Table(string.Join("\n", lines) + "\n"), "y");
        var settings = new TrainSettings { Training = new TrainingOptions { Epochs = 2 }, Refit = false };
        var split = Split.For(data, settings.TestFraction, settings.ValidationFraction, settings.Training.Seed);
        var col = data.Table.Columns[0];
        // Change the held-out rows' values: the fitted mean must not move.
        var trainValues = split.Train.Select(i => col.Number(data.TableRows[i])).Where(v => !double.IsNaN(v)).ToArray();
        var run = TrainingPipeline.Run(data, settings);
        Assert.Equal(trainValues.Average(), run.Model.Preprocessing.Columns[0].Mean, 12);
        Assert.Equal(trainValues.Average(), run.Model.Preprocessing.Columns[0].Fill, 12);
        var heldOut = split.Validation.Concat(split.Test).Select(i => col.Number(data.TableRows[i])).Where(v => !double.IsNaN(v)).ToArray();
        double allMean = trainValues.Concat(heldOut).Average();
        Assert.NotEqual(allMean, run.Model.Preprocessing.Columns[0].Mean, 6);

        // Same file with huge values in every held-out row: identical preprocessing.
        var changed = new List<string> { "x,y" };
        var heldRows = new HashSet<int>(split.Validation.Concat(split.Test).Select(i => data.TableRows[i]));
        for (int i = 0; i < 80; i++) changed.Add($"{(heldRows.Contains(i) ? "1000" : lines[i + 1].Split(',')[0])},{i % 2}");
        var data2 = TabularData.FromTable(Table(string.Join("\n", changed) + "\n"), "y");
        var run2 = TrainingPipeline.Run(data2, settings);
        Assert.Equal(run.Model.Preprocessing.ToJson(), run2.Model.Preprocessing.ToJson());
    }

    [Fact]
    public void UnseenCategoryIsAnErrorNamingColumnValueAndKnownCategoriesOrZerosWhenIgnored()
    {
        var train = Table("colour,n\nred,1\nblue,2\n");
        var pre = Preprocessor.Fit(train, ["colour", "n"], All(train), PreprocessOptions.Default);
        var test = Table("n,colour\n1,purple\n");
        var e = Assert.Throws<DataException>(() => pre.Transform(test, DType.Float32));
        Assert.Contains("t.csv line 2, column 'colour' (2)", e.Message);
        Assert.Contains("'purple'", e.Message);
        Assert.Contains("'blue', 'red'", e.Message);
        Assert.Contains("--unknown ignore", e.Message);

        var ignoring = Preprocessor.Fit(train, ["colour", "n"], All(train), PreprocessOptions.Default with { Unknown = UnknownCategoryPolicy.Ignore });
        var counts = new TransformCounts();
        var v = ignoring.Transform(test, DType.Float64, counts).ToDoubleArray();
        Assert.Equal(0.0, v[0]);
        Assert.Equal(0.0, v[1]);
        Assert.Equal(1, counts.Unknown["colour"]);
    }

    [Fact]
    public void ColumnsAreFoundByNameWhateverTheirOrderAndMissingOnesAreNamed()
    {
        var train = Table("a,b,c\n1,x,3\n2,y,5\n4,x,6\n");
        var pre = Preprocessor.Fit(train, ["a", "b", "c"], All(train), PreprocessOptions.Default);
        var reordered = Table("c,extra,b,a\n3,zz,x,1\n5,zz,y,2\n6,zz,x,4\n");
        Assert.Equal(pre.Transform(train, DType.Float64).ToDoubleArray(), pre.Transform(reordered, DType.Float64).ToDoubleArray());
        var e = Assert.Throws<DataException>(() => pre.Transform(Table("c,x\n1,2\n"), DType.Float64));
        Assert.Contains("'a'", e.Message);
        Assert.Contains("'b'", e.Message);
    }

    [Fact]
    public void MissingPoliciesErrorAndDrop()
    {
        var t = Table("x,y\n1,0\nNA,1\n3,0\n4,1\n");
        var error = PreprocessOptions.Default with { Missing = MissingPolicy.Error };
        var e = Assert.Throws<DataException>(() => Preprocessor.Fit(t, ["x"], All(t), error));
        Assert.Contains("line 3, column 'x' (1)", e.Message);
        var dropped = TabularData.FromTable(t, "y", null, PreprocessOptions.Default with { Missing = MissingPolicy.Drop });
        Assert.Equal([0, 2, 3], dropped.TableRows);
        Assert.Contains(dropped.Warnings, w => w.Contains("line 3"));
        var pre = Preprocessor.Fit(dropped, [0, 1, 2]);
        Assert.False(pre.Columns[0].HasMissingIndicator);
        // A model trained with --missing drop has no value for a missing cell at predict time.
        Assert.Contains("--missing drop", Assert.Throws<DataException>(() => pre.Transform(Table("x\nNA\n"), DType.Float32)).Message);
    }

    [Fact]
    public void ValuesThatOverflowTheDtypeAfterStandardisingAreNamed()
    {
        var t = Table("x\n1\n2\n3\n");
        var pre = Preprocessor.Fit(t, ["x"], All(t), PreprocessOptions.Default);
        var e = Assert.Throws<DataException>(() => pre.Transform(Table("x\n1\n1e300\n"), DType.Float32));
        Assert.Contains("line 3, column 'x' (1)", e.Message);
        Assert.Contains("float32", e.Message);
        Assert.Equal(1e300, (pre.Transform(Table("x\n1e300\n"), DType.Float64).ToDoubleArray()[0] * pre.Columns[0].Scale) + pre.Columns[0].Mean, 1e288);
        var inf = Assert.Throws<DataException>(() => pre.Transform(Table("x\n-inf\n"), DType.Float64));
        Assert.Contains("infinite", inf.Message);
        var huge = Table("x\n1e308\n1e308\n-1e308\n");
        Assert.Contains("too large to standardise", Assert.Throws<DataException>(() => Preprocessor.Fit(huge, ["x"], All(huge), PreprocessOptions.Default)).Message);
    }

    [Fact]
    public void JsonRoundTripGivesTheSameTransform()
    {
        var t = DataTable.Load(Fixture);
        var pre = Preprocessor.Fit(t, ["age", "income", "colour", "city"], All(t), PreprocessOptions.Default with { Unknown = UnknownCategoryPolicy.Ignore });
        var back = Preprocessor.FromJson(pre.ToJson());
        Assert.Equal(pre.FeatureNames, back.FeatureNames);
        Assert.Equal(UnknownCategoryPolicy.Ignore, back.Unknown);
        Assert.Equal(pre.Transform(t, DType.Float64).ToDoubleArray(), back.Transform(t, DType.Float64).ToDoubleArray());
        var trace = back.Trace(t, 1);
        Assert.Contains(trace, f => f.Feature == "age (missing)" && f.Value == 1);
    }

    [Fact]
    public void NumericColumnsCanBeCategorical()
    {
        var t = Table("grade,y\n1,a\n10,b\n2.0,a\n2,b\n");
        var pre = Preprocessor.Fit(t, ["grade"], All(t), PreprocessOptions.Default with { Categorical = ["grade"] });
        Assert.Equal(["grade=1", "grade=2", "grade=10"], pre.FeatureNames);
        Assert.Equal([0.0, 1, 0], pre.Transform(Table("grade\n2.00\n"), DType.Float64).ToDoubleArray());
    }

    [Fact]
    public void IdentifierLikeFeatureColumnsAreWarnedAboutByName()
    {
        var lines = Enumerable.Range(0, 30).Select(i => $"{i + 100},row{i},{i % 3},{i % 2}");
        var data = TabularData.FromTable(Table("id,code,x,y\n" + string.Join("\n", lines) + "\n"), "y");
        Assert.Contains(data.Warnings, w => w.Contains("'id'") && w.Contains("--drop id"));
        Assert.Contains(data.Warnings, w => w.Contains("'code'"));
        Assert.DoesNotContain(data.Warnings, w => w.Contains("'x'"));
        var dropped = TabularData.FromTable(Table("id,code,x,y\n" + string.Join("\n", lines) + "\n"), "y", null, new PreprocessOptions { Drop = ["id", "code"] });
        Assert.Empty(dropped.Warnings);
        Assert.Equal(["x"], dropped.FeatureColumns);
        var chosen = TabularData.FromTable(Table("id,code,x,y\n" + string.Join("\n", lines) + "\n"), "y", null, new PreprocessOptions { Features = ["x", "code"] });
        Assert.Equal(["x", "code"], chosen.FeatureColumns);
    }
}

public class TaskInferenceTests
{
    private static TabularData Load(string text, string target = "y", TaskKind? task = null) => TabularData.FromTable(DataTable.Parse(text, "t.csv"), target, task);

    [Fact]
    public void LabelsEqualAsNumbersAreOneClass()
    {
        var data = Load("a,y\n1,1\n2,1.0\n3,0\n4,0.0\n5,1\n");
        Assert.Equal(TaskKind.Binary, data.Task);
        Assert.Equal(["0", "1"], data.Labels!.Classes);
        Assert.True(data.Labels.TryEncode("1.00", out int c) && c == 1);
    }

    [Fact]
    public void MissingTargetsAreLeftOutNotAClass()
    {
        var iris = File.ReadAllLines(CliRunner.DataFile("iris.csv"));
        iris[5] = string.Join(",", iris[5].Split(',')[..^1]) + ",NA";
        var data = Load(string.Join("\n", iris) + "\n", "species");
        Assert.Equal(3, data.Labels!.Count);
        Assert.Equal(149, data.Rows);
        Assert.Contains(data.Warnings, w => w.Contains("line 6"));

        var diabetes = File.ReadAllLines(CliRunner.DataFile("diabetes.csv"));
        diabetes[10] = string.Join(",", diabetes[10].Split(',')[..^1]) + ",NA";
        var d = Load(string.Join("\n", diabetes) + "\n", "progression");
        Assert.Equal(TaskKind.Regression, d.Task);
        Assert.Equal(441, d.Rows);
    }

    [Fact]
    public void MissingTargetUnderErrorPolicyNamesTheLine()
    {
        var e = Assert.Throws<DataException>(() => TabularData.FromTable(DataTable.Parse("a,y\n1,0\n2,?\n3,1\n", "t.csv"), "y", null, new PreprocessOptions { Missing = MissingPolicy.Error }));
        Assert.Contains("t.csv line 3, column 'y' (2)", e.Message);
    }
}
