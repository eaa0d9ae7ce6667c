using System.Diagnostics;
using System.Globalization;

namespace Backprop.Deploy.Tests;

/// <summary>Paths, temp folders, the backprop command in-process and other processes, for the deploy tests.</summary>
internal static class DeployTestFiles
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Backprop.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Backprop.sln not found above the test folder.");
    }

    public static string DataFile(string name) => Path.Combine(RepoRoot(), "data", name);

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "backprop-deploy-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>The backprop command in this process (Program.Run, as the CLI tests call it).</summary>
    public static Result RunBackprop(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = global::Backprop.Cli.Program.Run(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>Runs a program to completion; its output and exit code. Fails the test after <paramref name="timeoutSeconds"/>.</summary>
    public static Result Run(string program, IEnumerable<string> args, string workingDirectory, int timeoutSeconds, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // The test host's own MSBuild settings must not leak into a nested dotnet pack or run.
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" }) start.Environment.Remove(name);
        if (environment is not null)
            foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(" ", args)} did not finish within {timeoutSeconds} s");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A comma-separated file with a header row and no quoted fields (the shipped data sets).</summary>
    public static (string[] Header, string[][] Rows) ReadSimpleCsv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        return (lines[0].Split(','), lines.Skip(1).Select(l => l.Split(',')).ToArray());
    }

    public static double ParseDouble(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
}
