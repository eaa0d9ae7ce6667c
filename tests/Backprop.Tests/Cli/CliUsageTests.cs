using System.CommandLine;
using System.Text.RegularExpressions;
using Backprop.Cli;

namespace Backprop.Tests.Cli;

/// <summary>
/// The command line itself wrong: one <c>error:</c> line on stderr (with a "did you mean" where a name is
/// close and a pointer to --help), nothing on stdout, no .NET type names, exit code 2.
/// </summary>
public class CliUsageTests
{
    private static readonly string Iris = CliRunner.DataFile("iris.csv");

    public static TheoryData<string, string[], string> UsageCases() => new()
    {
        { "misspelt command", ["trian"], @"'trian' is not a backprop command \(did you mean 'train'\?\); see 'backprop --help'" },
        { "unknown command", ["frobnicate"], @"'frobnicate' is not a backprop command; see 'backprop --help'" },
        { "misspelt option", ["train", Iris, "--targt", "species"], @"unknown option '--targt' for 'backprop train' \(did you mean '--target'\?\); see 'backprop train --help'" },
        { "unknown option", ["predict", "m.safetensors", Iris, "--zzzzzz"], @"unknown option '--zzzzzz' for 'backprop predict'; see 'backprop predict --help'" },
        { "missing required option", ["train", Iris], @"'backprop train' needs --target \(name of the column to predict.*\); see 'backprop train --help'" },
        { "missing argument", ["train", "--target", "y"], @"'backprop train' needs DATA \(CSV file.*\); see 'backprop train --help'" },
        { "extra argument", ["inspect", "a.safetensors", "b.safetensors"], @"unexpected argument 'b.safetensors' for 'backprop inspect'" },
        { "nullable double not a number", ["train", Iris, "--target", "species", "--lr", "abc"], @"--lr: 'abc' is not a number \(.*e\.g\. 0\.001.*\); see 'backprop train --help'" },
        { "bool not a bool", ["train", Iris, "--target", "species", "--refit=maybe"], @"--refit: 'maybe' is not true or false" },
        { "bool value separate", ["train", Iris, "--target", "species", "--refit", "maybe"], @"--refit: 'maybe' is not true or false" },
        { "enumeration misspelt", ["train", Iris, "--target", "species", "--optimizer", "adm"], @"--optimizer: 'adm' is not one of adam, adamw, sgd, rmsprop, rk4, dopri5 \(did you mean 'adam'\?\)" },
        { "activation misspelt", ["grad", Iris, "--target", "species", "--activation", "tahn"], @"--activation: 'tahn' is not one of .*\(did you mean 'tanh'\?\)" },
        { "format misspelt", ["explain", Iris, "--target", "species", "--format", "htm"], @"--format: 'htm' is not one of .*\(did you mean 'html'\?\)" },
        { "bench workload", ["bench", "--workload", "tiny"], @"--workload: 'tiny' is not one of small, mid, wide, cnn, all" },
        { "out of range", ["train", Iris, "--target", "species", "--epochs", "-3"], @"--epochs: -3 is out of range; it must be at least 1" },
        { "split out of range", ["train", Iris, "--target", "species", "--test-split", "1.5"], @"--test-split: 1\.5 is out of range; it must be between 0 and 1" },
        { "zero learning rate", ["train", Iris, "--target", "species", "--lr", "0"], @"--lr: 0 is out of range; it must be more than 0" },
        { "demo samples", ["demo", "--samples", "5"], @"--samples: 5 is out of range; it must be at least 20" },
        { "bad hidden", ["train", Iris, "--target", "species", "--hidden", "32,x"], @"--hidden: 'x' is not a layer width" },
    };

    /// <summary>Numbers: culture-invariant, a dot for decimals, no group separators; anything else names the option and the value.</summary>
    public static TheoryData<string, string[], string> NumberCases() => new()
    {
        { "comma decimal in --lr", ["train", Iris, "--target", "species", "--lr", "0,001"], @"^error: --lr: '0,001' is not a number \(use a dot for decimals and no separators between digits, e\.g\. 0\.001\)" },
        { "comma decimal in --noise", ["demo", "--noise", "0,15"], @"^error: --noise: '0,15' is not a number \(use a dot for decimals" },
        { "group separator in --epochs", ["train", Iris, "--target", "species", "--epochs", "1,000"], @"^error: --epochs: '1,000' is not a whole number \(write it without separators" },
        { "underscore separator", ["demo", "--samples", "1_000"], @"^error: --samples: '1_000' is not a whole number \(write it without separators" },
        { "decimal where whole", ["demo", "--epochs", "2.5"], @"^error: --epochs: '2\.5' is not a whole number \(give a whole number" },
        { "infinity", ["train", Iris, "--target", "species", "--weight-decay", "Infinity"], @"^error: --weight-decay: 'Infinity' is not a finite number" },
        { "NaN", ["train", Iris, "--target", "species", "--tolerance", "NaN"], @"^error: --tolerance: 'NaN' is not a finite number" },
        { "negative seed", ["grad", Iris, "--target", "species", "--seed", "-1"], @"^error: --seed: '-1' is not a whole number of 0 or more \(it cannot be negative" },
        { "too large", ["train", Iris, "--target", "species", "--epochs", "99999999999"], @"^error: --epochs: 99999999999 is too large" },
        { "nullable int", ["bench", "--threads", "two"], @"^error: --threads: 'two' is not a whole number" },
        { "modes inputs", ["modes", "--inputs", "1e3"], @"^error: --inputs: '1e3' is not a whole number" },
    };

    [Theory]
    [MemberData(nameof(UsageCases))]
    [MemberData(nameof(NumberCases))]
    public void AUsageErrorIsOneLineOnStderrWithExitCode2(string name, string[] args, string pattern)
    {
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == ExitCodes.Usage, $"{name}: exit code {r.ExitCode}, stderr: {r.Error}");
        Assert.Equal("", r.Output);
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"{name}: {lines.Length} lines on stderr:\n{r.Error}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.Matches(new Regex(pattern), lines[0]);
        Assert.DoesNotContain("System.", lines[0]);
        Assert.DoesNotContain("Nullable", lines[0]);
        Assert.DoesNotContain("Usage:", r.Error);
    }

    /// <summary>The value that reaches the command is the number written, read with a dot and nothing else.</summary>
    [Theory]
    [InlineData("0.001", 0.001)]
    [InlineData("1e-3", 0.001)]
    [InlineData("  .5 ", 0.5)]
    [InlineData("-0.25", -0.25)]
    [InlineData("2", 2.0)]
    public void ANumberIsReadCultureInvariant(string text, double expected)
    {
        var root = Program.CreateRoot();
        var train = root.Subcommands.Single(c => c.Name == "train");
        var lr = (Option<double?>)train.Options.Single(o => o.Name == "--lr");
        var parse = root.Parse(["train", "d.csv", "--target", "y", "--lr", text]);
        // The range validator (lr > 0) may object to -0.25; the parser itself must read the value exactly.
        var value = parse.GetResult(lr)!.GetValueOrDefault<double?>();
        Assert.Equal(expected, value);
    }

    [Fact]
    public void EveryNumericOptionOfEveryCommandUsesTheInvariantParser()
    {
        var root = Program.CreateRoot();
        var numeric = new List<string>();
        void Visit(Command c)
        {
            foreach (var o in c.Options)
            {
                var t = Nullable.GetUnderlyingType(o.ValueType) ?? o.ValueType;
                if (t == typeof(double) || t == typeof(int) || t == typeof(long) || t == typeof(ulong) || t == typeof(float))
                {
                    numeric.Add($"{c.Name} {o.Name}");
                    var parser = o.GetType().GetProperty("CustomParser")!.GetValue(o);
                    Assert.True(parser is not null, $"{c.Name} {o.Name} has no custom parser: System.CommandLine would read group separators");
                }
            }
            foreach (var s in c.Subcommands) Visit(s);
        }
        Visit(root);
        Assert.Contains("train --lr", numeric);
        Assert.Contains("demo --noise", numeric);
        Assert.True(numeric.Count >= 15, string.Join(", ", numeric));
    }

    [Fact]
    public void AHugeValueIsQuotedShortInTheErrorLine()
    {
        var huge = new string('7', 200) + "," + new string('x', 10_000_000);
        var r = CliRunner.Run("train", Iris, "--target", "species", "--lr", huge);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.True(r.Error.Length < 300, $"error line is {r.Error.Length} characters");
        Assert.Contains("--lr: '7777", r.Error);
        Assert.Contains("…", r.Error);

        var target = CliRunner.Run("train", Iris, "--target", new string('t', 1_000_000));
        Assert.NotEqual(0, target.ExitCode);
        Assert.True(target.Error.Length < 1000, $"error line is {target.Error.Length} characters");
    }

    [Fact]
    public void ExitCodesAreDocumentedInTheRootHelpAndTheReadme()
    {
        var r = CliRunner.Run("--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var needle in new[] { "Exit codes: 0 success", "1 failure", "2 usage error", "130 interrupted", "'-'" })
            Assert.Contains(needle, r.Output);
        var readme = File.ReadAllText(Path.Combine(CliRunner.RepoRoot(), "README.md"));
        foreach (var needle in new[] { "| 0 |", "| 1 |", "| 2 |", "| 130 |" })
            Assert.Contains(needle, readme);
    }

    [Fact]
    public void NoArgumentsShowsTheOverview()
    {
        var r = CliRunner.Run();
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("train", r.Output);
        Assert.Equal("", r.Error);
    }

    [Fact]
    public void AFailureIsExit1AndAFolderAsDataSaysItIsAFolder()
    {
        var r = CliRunner.Run("train", Path.GetDirectoryName(Iris)!, "--target", "species");
        Assert.Equal(ExitCodes.Failure, r.ExitCode);
        Assert.Matches("^error: '.*data' is a folder, not a file", r.Error);
        var missing = CliRunner.Run("train", Path.Combine(Path.GetTempPath(), "no-such-file-" + Guid.NewGuid().ToString("N") + ".csv"), "--target", "y");
        Assert.Equal(ExitCodes.Failure, missing.ExitCode);
        Assert.StartsWith("error: file not found", missing.Error);
    }
}
