namespace Backprop.Tests.Cli;

/// <summary>Bad input to the tool: each gets a one-line reason on stderr, a non-zero exit code, and no stack trace.</summary>
public class CliErrorTests
{
    public static TheoryData<string, string[], string> Cases()
    {
        var dir = CliRunner.TempDir();
        string Write(string name, string text)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllText(path, text);
            return path;
        }
        var iris = CliRunner.DataFile("iris.csv");
        var truncatedModel = Write("truncated.safetensors", "\u0010\0\0\0\0\0\0\0{\"a\":");
        var hugeHeader = Path.Combine(dir, "huge.safetensors");
        File.WriteAllBytes(hugeHeader, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, (byte)'{', (byte)'}']);
        var notAModel = Write("text.safetensors", "this is not a model file at all");
        return new TheoryData<string, string[], string>
        {
            { "missing data file", ["train", Path.Combine(dir, "nope.csv"), "--target", "y"], "not found" },
            { "empty file", ["train", Write("empty.csv", ""), "--target", "y"], "empty" },
            { "header only", ["train", Write("header.csv", "a,b,y\n"), "--target", "y"], "no data rows" },
            { "ragged row", ["train", Write("ragged.csv", "a,b,y\n1,2,0\n3,4\n5,6,1\n"), "--target", "y"], "line 3" },
            { "unterminated quote", ["train", Write("quote.csv", "a,b,y\n1,\"2,0\n3,4,1\n"), "--target", "y"], "quote" },
            { "missing target", ["train", iris, "--target", "colour"], "colour" },
            { "non-numeric feature as given", ["grad", Write("text.csv", "a,b,y\n1,2,0\n1,x,1\n" + string.Concat(Enumerable.Repeat("1,2,0\n1,2,1\n", 10))), "--target", "y"], "line 3" },
            { "NaN feature, --missing error", ["train", Write("nan.csv", "a,b,y\n1,2,0\n1,NaN,1\n" + string.Concat(Enumerable.Repeat("1,2,0\n1,2,1\n", 10))), "--target", "y", "--missing", "error"], "line 3" },
            { "infinite feature", ["train", Write("inf.csv", "a,b,y\n1,2,0\n1,inf,1\n" + string.Concat(Enumerable.Repeat("1,2,0\n1,2,1\n", 10))), "--target", "y"], "infinite" },
            { "single class", ["train", Write("one.csv", "a,y\n1,cat\n2,cat\n3,cat\n"), "--target", "y", "--task", "binary"], "class" },
            { "negative epochs", ["train", iris, "--target", "species", "--epochs", "-3"], "Epochs" },
            { "zero learning rate", ["train", iris, "--target", "species", "--lr", "0"], "learning rate" },
            { "unknown optimizer", ["train", iris, "--target", "species", "--optimizer", "lbfgs"], "optimizer" },
            { "bad hidden", ["train", iris, "--target", "species", "--hidden", "32,x"], "--hidden" },
            { "bad plot extension", ["train", iris, "--target", "species", "--plot", "curves.jpg"], ".png or .svg" },
            { "truncated model", ["inspect", truncatedModel], "truncated.safetensors" },
            { "oversized header", ["inspect", hugeHeader], "huge.safetensors" },
            { "corrupt model", ["predict", notAModel, iris], "text.safetensors" },
            { "unknown activation", ["grad", iris, "--target", "species", "--activation", "swish"], "swish" },
            { "row past the end", ["explain", iris, "--target", "species", "--rows", "1000"], "past the end" },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadInputGetsAOneLineReason(string name, string[] args, string expected)
    {
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode != 0, $"{name}: exit code 0");
        Assert.Contains(expected, r.Error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", r.Error); // no stack trace
        Assert.StartsWith("error:", r.Error.TrimStart());
    }

    [Fact]
    public void PredictWithTheWrongFeaturesNamesTheMissingColumn()
    {
        var dir = CliRunner.TempDir();
        var model = Path.Combine(dir, "iris.safetensors");
        Assert.Equal(0, CliRunner.Run("train", CliRunner.DataFile("iris.csv"), "--target", "species", "--epochs", "5", "--json", "--out", model).ExitCode);
        var csv = Path.Combine(dir, "other.csv");
        File.WriteAllText(csv, "a,b\n1,2\n");
        var r = CliRunner.Run("predict", model, csv);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("sepal", r.Error);
    }
}
