using System.Text.Json;

namespace Backprop.Tests.Cli;

public class OdeAndFlowCommandTests
{
    [Theory]
    [InlineData("adjoint", 36)]
    [InlineData("backprop", 0)]
    public void OdeLearnsAndCountsEvaluationsForwardAndBackward(string gradient, int backwardPerIteration)
    {
        var dir = CliRunner.TempDir();
        var plot = Path.Combine(dir, "ode.png");
        var r = CliRunner.Run("ode", "--iterations", "40", "--gradient", gradient, "--json", "--plot", plot, "--report-every", "20");
        Assert.True(r.ExitCode == 0, r.Error);
        var json = JsonDocument.Parse(r.Output).RootElement;
        // 10 samples per piece: 9 intervals of one RK4 step, 4 evaluations each.
        Assert.Equal(36, json.GetProperty("forward_evaluations_per_iteration").GetDouble());
        Assert.Equal(backwardPerIteration, json.GetProperty("backward_evaluations_per_iteration").GetDouble());
        Assert.True(json.GetProperty("trajectory_loss").GetDouble() < json.GetProperty("initial_trajectory_loss").GetDouble());
        Assert.Contains("iteration    20/40", r.Error);
        var bytes = File.ReadAllBytes(plot);
        Assert.Equal(0x89, bytes[0]);
        Assert.Equal((byte)'P', bytes[1]);
    }

    [Fact]
    public void OdeAnimateWritesOneGifFramePerProgressReport()
    {
        var dir = CliRunner.TempDir();
        var gif = Path.Combine(dir, "ode.gif");
        var r = CliRunner.Run("ode", "--iterations", "40", "--report-every", "10", "--animate", gif);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("animation of 4 frames", r.Output);
        var bytes = File.ReadAllBytes(gif);
        Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(bytes, 0, 6));
        Assert.Equal(4, GifFrames(bytes));
        var bad = CliRunner.Run("ode", "--iterations", "2", "--animate", Path.Combine(dir, "ode.png"));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("not a .gif", bad.Error);
    }

    /// <summary>The number of images in a GIF, by walking its blocks (not by searching for bytes).</summary>
    private static int GifFrames(byte[] b)
    {
        int at = 13;
        if ((b[10] & 0x80) != 0) at += 3 << ((b[10] & 7) + 1);
        int frames = 0;
        void SkipSubBlocks() { while (b[at] != 0) at += b[at] + 1; at++; }
        while (true)
        {
            byte kind = b[at++];
            if (kind == 0x3B) return frames;
            if (kind == 0x21) { at++; SkipSubBlocks(); }
            else if (kind == 0x2C)
            {
                frames++;
                byte flags = b[at + 8];
                at += 9;
                if ((flags & 0x80) != 0) at += 3 << ((flags & 7) + 1);
                at++; // LZW minimum code size
                SkipSubBlocks();
            }
            else throw new InvalidDataException($"unexpected GIF block 0x{kind:x2} at {at - 1}");
        }
    }

    [Fact]
    public void OdeWithDopri5ReportsAdaptiveEvaluations()
    {
        var r = CliRunner.Run("ode", "--iterations", "3", "--solver", "dopri5", "--rtol", "1e-4", "--atol", "1e-6", "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var json = JsonDocument.Parse(r.Output).RootElement;
        Assert.StartsWith("dopri5", json.GetProperty("solver").GetString());
        // At least f(t₀), the initial-step probe and one attempt of six stages per interval.
        Assert.True(json.GetProperty("forward_evaluations_per_iteration").GetDouble() >= 9 * 8);
        Assert.True(json.GetProperty("backward_evaluations_per_iteration").GetDouble() >= 9 * 8);
    }

    [Theory]
    [InlineData("--gradient", "sideways", "adjoint or backprop")]
    [InlineData("--solver", "euler", "rk4 or dopri5")]
    [InlineData("--batch-time", "1", "--batch-time")]
    public void OdeRejectsBadOptionsWithOneErrorLine(string option, string value, string hint)
    {
        var r = CliRunner.Run("ode", option, value, "--iterations", "1");
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("error:", r.Error.TrimStart());
        Assert.Contains(hint, r.Error);
        Assert.DoesNotContain("   at ", r.Error);
    }

    [Fact]
    public void FlowOnTheQuadraticFollowsTheExactFlow()
    {
        var dir = CliRunner.TempDir();
        var plot = Path.Combine(dir, "flow.png");
        var r = CliRunner.Run("flow", "--condition", "10", "--json", "--plot", plot);
        Assert.True(r.ExitCode == 0, r.Error);
        var paths = JsonDocument.Parse(r.Output).RootElement.GetProperty("paths").EnumerateArray().ToDictionary(p => p.GetProperty("method").GetString()!);
        Assert.Contains(paths.Keys, k => k.StartsWith("exact flow", StringComparison.Ordinal));
        var rk4 = paths.Single(p => p.Key.StartsWith("RK4", StringComparison.Ordinal)).Value;
        var sgd = paths.Single(p => p.Key.StartsWith("SGD, η = 1.9", StringComparison.Ordinal)).Value;
        // RK4 at the step where SGD zig-zags stays on the flow; SGD at that step is far from it early on.
        Assert.Equal(120, rk4.GetProperty("gradient_evaluations").GetInt64());
        Assert.True(rk4.GetProperty("distance_to_exact_flow").GetDouble() < 1e-3, rk4.ToString());
        Assert.True(File.Exists(plot));
    }

    [Fact]
    public void FlowOnRosenbrockRunsEveryMethod()
    {
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run("flow", "--loss", "rosenbrock", "--evaluations", "300", "--json", "--plot", Path.Combine(dir, "r.svg"));
        Assert.True(r.ExitCode == 0, r.Error);
        var paths = JsonDocument.Parse(r.Output).RootElement.GetProperty("paths");
        Assert.Equal(6, paths.GetArrayLength());
        foreach (var p in paths.EnumerateArray()) Assert.True(p.GetProperty("gradient_evaluations").GetInt64() <= 300);
        Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir, "r.svg")));
    }

    [Fact]
    public void FlowRejectsAConditionBelowOne()
    {
        var r = CliRunner.Run("flow", "--condition", "0.5", "--plot", Path.Combine(CliRunner.TempDir(), "f.png"));
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("error:", r.Error.TrimStart());
        Assert.Contains("--condition", r.Error);
    }
}
