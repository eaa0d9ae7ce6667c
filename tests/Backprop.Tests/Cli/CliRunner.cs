using System.Diagnostics;

namespace Backprop.Tests.Cli;

/// <summary>Runs the backprop command in-process, or as a separate process, and captures its output.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Backprop.Cli.Program.Run(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>The command in a fresh process (dotnet Backprop.Cli.dll …): nothing shared with this one.</summary>
    public static Result RunProcess(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000)) { process.Kill(true); throw new TimeoutException("backprop did not finish in 120 s"); }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static string DataFile(string name) => Path.Combine(RepoRoot(), "data", name);

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Backprop.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Backprop.sln not found above the test folder.");
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "backprop-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
