using System.Diagnostics;
using Backprop.Cli;

namespace Backprop.Tests.Cli;

/// <summary>An allocation that fails becomes one error line saying what needed how much, not "Out of memory." and an abort.</summary>
public class CliResourceTests
{
    [Fact]
    public void ATensorTooLargeForTheHeapIsOneLineNamingItsShapeAndSize()
    {
        // A 512 MiB heap limit: the 30000×30000 float32 weight (3.35 GiB) cannot be had.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["DOTNET_GCHeapHardLimit"] = "0x20000000";
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll"), "grad", CliRunner.DataFile("iris.csv"), "--target", "species", "--hidden", "30000,30000" })
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(120_000));
        Assert.Equal(ExitCodes.Failure, p.ExitCode);
        Assert.Matches(@"^error: out of memory: a float32 tensor of shape \(30000, (30000|4)\) needs [0-9.]+ (MiB|GiB)", stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void MemorySizesAreWrittenInBinaryUnits()
    {
        Assert.Equal("512 B", MemoryException.Format(512));
        Assert.Equal("3.35 GiB", MemoryException.Format(30000L * 30000 * 4));
        Assert.Equal("1 KiB", MemoryException.Format(1024));
    }
}
