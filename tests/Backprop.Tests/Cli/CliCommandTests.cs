using System.Text.Json;

namespace Backprop.Tests.Cli;

public class CliCommandTests
{
    [Theory]
    [InlineData("train")]
    [InlineData("evaluate")]
    [InlineData("predict")]
    [InlineData("inspect")]
    [InlineData("demo")]
    [InlineData("grad")]
    [InlineData("modes")]
    [InlineData("explain")]
    [InlineData("bench")]
    public void EveryCommandHasHelp(string command)
    {
        var r = CliRunner.Run(command, "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Usage:", r.Output);
        Assert.Contains("Example", r.Output);
    }

    [Fact]
    public void BenchJsonReportsTheFieldsOfTheIssueAndNoAllocationPerStep()
    {
        var one = CliRunner.Run("bench", "--workload", "small", "--epochs", "2", "--json");
        Assert.True(one.ExitCode == 0, one.Error);
        var result = JsonDocument.Parse(one.Output).RootElement;
        Assert.Equal("small", result.GetProperty("workload").GetString());
        Assert.Equal(36, result.GetProperty("steps").GetInt32());
        foreach (var field in new[] { "samples_per_second", "ms_per_step", "gflops" })
            Assert.True(result.GetProperty(field).GetDouble() > 0, field);
        Assert.Equal(0, result.GetProperty("allocated_bytes_per_step").GetDouble());

        var engine = CliRunner.Run("bench", "--workload", "small", "--epochs", "1", "--engine", "autodiff", "--json");
        Assert.True(engine.ExitCode == 0, engine.Error);
        Assert.Equal("autodiff", JsonDocument.Parse(engine.Output).RootElement.GetProperty("engine").GetString());

        var bad = CliRunner.Run("bench", "--workload", "huge");
        Assert.NotEqual(0, bad.ExitCode);
    }

    [Fact]
    public void BenchCnnRunsOnTheAutodiffEngineAndSaysSo()
    {
        // 256 samples: 4 steps of 64, so that the test takes a fraction of a second; no timing is asserted.
        var r = CliRunner.Run("bench", "--workload", "cnn", "--epochs", "1", "--samples", "256", "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var result = JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal("cnn", result.GetProperty("workload").GetString());
        Assert.Equal("backprop", result.GetProperty("framework").GetString());
        // The default engine is fused, which has no convolution: the run falls back and reports it.
        Assert.Equal("autodiff", result.GetProperty("engine").GetString());
        Assert.Contains("compiled step does not support", result.GetProperty("engine_note").GetString());
        Assert.Contains("define-by-run", r.Error);
        Assert.Equal(4, result.GetProperty("steps").GetInt32());
        Assert.Equal(1, result.GetProperty("epochs").GetInt32());
        foreach (var field in new[] { "samples_per_second", "ms_per_step", "gflops", "seconds", "allocated_bytes_per_step", "threads" })
            Assert.True(result.GetProperty(field).GetDouble() > 0, field);
        // Ten classes at random: the loss starts near ln 10.
        Assert.InRange(result.GetProperty("final_loss").GetDouble(), 1.5, 3.5);

        var autodiff = CliRunner.Run("bench", "--workload", "cnn", "--epochs", "1", "--samples", "64", "--engine", "autodiff", "--json");
        Assert.True(autodiff.ExitCode == 0, autodiff.Error);
        var plain = JsonDocument.Parse(autodiff.Output).RootElement;
        Assert.Equal("autodiff", plain.GetProperty("engine").GetString());
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("engine_note").ValueKind);   // asked for, so nothing to explain

        var table = CliRunner.Run("bench", "--workload", "cnn", "--epochs", "1", "--samples", "64");
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("autodiff", table.Output);

        var distributed = CliRunner.Run("bench", "--workload", "cnn", "--distributed");
        Assert.NotEqual(0, distributed.ExitCode);
        Assert.Contains("--distributed", distributed.Error);
    }

    [Fact]
    public void BenchContentionReportsOneAndSeveralThreadsAndStopsItsNeighbour()
    {
        var r = CliRunner.Run("bench", "--contention", "--workload", "small", "--epochs", "1", "--rounds", "1", "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var result = JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal("small", result.GetProperty("workload").GetString());
        Assert.Contains(result.GetProperty("contention").GetString(), new[] { "process", "thread" });
        Assert.Equal(Environment.ProcessorCount, result.GetProperty("threads").GetInt32());
        Assert.Equal(1, result.GetProperty("rounds").GetInt32());
        double one = result.GetProperty("samples_per_second_1_thread").GetDouble();
        double threaded = result.GetProperty("samples_per_second_threaded").GetDouble();
        Assert.True(one > 0 && threaded > 0);
        Assert.Equal(threaded / one, result.GetProperty("ratio").GetDouble(), 3);
        Assert.Equal(one, Assert.Single(result.GetProperty("runs_1_thread").EnumerateArray()).GetDouble());
        Assert.Equal(threaded, Assert.Single(result.GetProperty("runs_threaded").EnumerateArray()).GetDouble());
        Assert.InRange(result.GetProperty("worker_chunk_share").GetDouble(), 0, 1);
        Assert.Equal(0, result.GetProperty("allocated_bytes_per_step").GetDouble());
        if (result.GetProperty("neighbour_pid").ValueKind == JsonValueKind.Number)
        {
            // The child must be gone once the command has returned.
            int pid = result.GetProperty("neighbour_pid").GetInt32();
            bool running;
            try { using var p = System.Diagnostics.Process.GetProcessById(pid); running = !p.HasExited; }
            catch (ArgumentException) { running = false; }
            Assert.False(running, $"the spinning neighbour {pid} is still running");
        }

        Assert.Contains("--contention", CliRunner.Run("bench", "--help").Output);
        Assert.NotEqual(0, CliRunner.Run("bench", "--contention", "--distributed").ExitCode);
        Assert.NotEqual(0, CliRunner.Run("bench", "--contention", "--rounds", "0").ExitCode);
    }

    [Fact]
    public void TrainJsonThenPredictInANewProcessGivesTheSameOutputsBitForBit()
    {
        var dir = CliRunner.TempDir();
        var model = Path.Combine(dir, "iris.safetensors");
        var train = CliRunner.Run("train", CliRunner.DataFile("iris.csv"), "--target", "species", "--epochs", "60", "--json", "--out", model, "--plot", Path.Combine(dir, "curves.svg"));
        Assert.True(train.ExitCode == 0, train.Error);
        using var json = JsonDocument.Parse(train.Output);
        Assert.Equal("multiclass", json.RootElement.GetProperty("task").GetString());
        Assert.InRange(json.RootElement.GetProperty("test").GetProperty("accuracy").GetDouble(), 0.8, 1.0);
        Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir, "curves.svg")));

        var inProcess = CliRunner.Run("predict", model, CliRunner.DataFile("iris.csv"));
        var separate = CliRunner.RunProcess("predict", model, CliRunner.DataFile("iris.csv"));
        Assert.Equal(0, separate.ExitCode);
        Assert.Equal(inProcess.Output, separate.Output);
        Assert.StartsWith("species,p_setosa,p_versicolor,p_virginica", inProcess.Output);
        Assert.Equal(151, inProcess.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void RegressionJsonHasTheRegressionMetrics()
    {
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run("train", CliRunner.DataFile("diabetes.csv"), "--target", "progression", "--epochs", "20", "--json", "--out", Path.Combine(dir, "m.safetensors"));
        Assert.True(r.ExitCode == 0, r.Error);
        var test = JsonDocument.Parse(r.Output).RootElement.GetProperty("test");
        foreach (var key in new[] { "loss", "rmse", "mae", "r2" }) Assert.True(test.TryGetProperty(key, out _), key);
    }

    [Fact]
    public void EvaluateAndInspectReadASavedModel()
    {
        var dir = CliRunner.TempDir();
        var model = Path.Combine(dir, "bc.safetensors");
        Assert.Equal(0, CliRunner.Run("train", CliRunner.DataFile("breast-cancer.csv"), "--target", "diagnosis", "--epochs", "30", "--json", "--out", model).ExitCode);
        var eval = CliRunner.Run("evaluate", model, CliRunner.DataFile("breast-cancer.csv"), "--json");
        Assert.Equal(0, eval.ExitCode);
        var test = JsonDocument.Parse(eval.Output).RootElement.GetProperty("test");
        Assert.True(test.GetProperty("accuracy").GetDouble() > 0.9);
        Assert.Equal(2, test.GetProperty("confusion_matrix").GetProperty("counts").GetArrayLength());
        var inspect = CliRunner.Run("inspect", model);
        Assert.Equal(0, inspect.ExitCode);
        Assert.Contains("30-32-1", inspect.Output);
        Assert.Contains("0.weight", inspect.Output);
        Assert.Contains("(32, 30)", inspect.Output);
    }

    [Fact]
    public void GradModesAgreeAndWriteSafetensors()
    {
        var dir = CliRunner.TempDir();
        string Grad(string mode)
        {
            var path = Path.Combine(dir, mode + ".safetensors");
            var r = CliRunner.Run("grad", CliRunner.DataFile("iris.csv"), "--target", "species", "--hidden", "4", "--dtype", "float64", "--mode", mode, "--out", path);
            Assert.True(r.ExitCode == 0, r.Error);
            return path;
        }
        var reverse = Backprop.Serialization.SafeTensors.Read(Grad("reverse"));
        var forward = Backprop.Serialization.SafeTensors.Read(Grad("forward"));
        Assert.Equal(new[] { "0.bias", "0.weight", "2.bias", "2.weight" }, reverse.Tensors.Select(t => t.Name).Order().ToArray());
        foreach (var t in reverse.Tensors)
        {
            var a = t.ToDoubleArray();
            var b = forward[t.Name].ToDoubleArray();
            for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-10 * (1 + Math.Abs(a[i])));
        }
    }

    [Fact]
    public void DemoDrawsItsBoundary()
    {
        var dir = CliRunner.TempDir();
        var png = Path.Combine(dir, "demo.png");
        var r = CliRunner.Run("demo", "--epochs", "40", "--plot", png);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("test accuracy", r.Output);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
    }

    [Fact]
    public void ExplainJsonMatchesTheSchemaAndPasses()
    {
        var r = CliRunner.Run("explain", CliRunner.DataFile("breast-cancer.csv"), "--target", "diagnosis", "--hidden", "3", "--rows", "0,1,2", "--format", "json");
        Assert.True(r.ExitCode == 0, r.Error);
        var root = JsonDocument.Parse(r.Output).RootElement;
        var names = root.GetProperty("backward").EnumerateArray().Select(s => s.GetProperty("name").GetString()).ToArray();
        Assert.Contains("dZ[2]", names);
        Assert.Contains("dW[1]", names);
        var dW1 = root.GetProperty("backward").EnumerateArray().First(s => s.GetProperty("name").GetString() == "dW[1]");
        Assert.Equal(3, dW1.GetProperty("values").GetArrayLength());          // (out, in) = (3, 30)
        Assert.Equal(30, dW1.GetProperty("values")[0].GetArrayLength());
    }

    [Theory]
    [InlineData("dot", "digraph")]
    [InlineData("mermaid", "flowchart")]
    [InlineData("trace", "reverse topological order")]
    public void ExplainExportsTheGraphOfTheLoss(string format, string marker)
    {
        var r = CliRunner.Run("explain", CliRunner.DataFile("iris.csv"), "--target", "species", "--hidden", "3", "--rows", "0,50", "--format", format);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains(marker, r.Output);
        Assert.Contains("W[1]", r.Output);
        Assert.Contains("LogSoftmax", r.Output);
    }
}
