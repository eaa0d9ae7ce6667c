using System.Diagnostics;
using Backprop.Serialization;
using Backprop.Tests.Cli;
using Backprop.Training;

namespace Backprop.Tests.Distributed;

/// <summary>A test that needs Open MPI's mpirun (Debian: openmpi-bin; .ci/run installs it).</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (Mpirun.Path is null) Skip = "mpirun is not installed (apt-get install -y openmpi-bin); distributed training cannot be run.";
    }
}

/// <summary>Starts `mpirun -np N dotnet Backprop.Cli.dll …` the way a user would on one machine.</summary>
internal static class Mpirun
{
    public static readonly string? Path = new[] { "/usr/bin/mpirun", "/usr/local/bin/mpirun" }.FirstOrDefault(File.Exists);

    public static Process Start(int ranks, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(Path!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // As root (containers, CI) Open MPI wants consent; more ranks than cores need --oversubscribe.
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString() }) start.ArgumentList.Add(a);
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(System.IO.Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        // Cross-memory attach is not permitted in many containers; shared memory still works without it.
        start.Environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none";
        start.Environment["TERM"] = "dumb";
        return Process.Start(start)!;
    }

    public static CliRunner.Result Run(int ranks, params string[] args)
    {
        using var process = Start(ranks, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(180_000)) { process.Kill(true); throw new TimeoutException($"mpirun -np {ranks} did not finish in 180 s"); }
        return new CliRunner.Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}

public class MpiTests
{
    private static string[] TrainArgs(string model, params string[] more) =>
    [
        "train", CliRunner.DataFile("breast-cancer.csv"), "--target", "diagnosis", "--dtype", "float64",
        "--hidden", "16", "--batch-size", "32", "--seed", "3", "--out", model, .. more,
    ];

    private static Dictionary<string, double[]> Weights(string path) =>
        SafeTensors.Read(path).Tensors.ToDictionary(t => t.Name, t => ModelFileTensor(t));

    private static double[] ModelFileTensor(TensorEntry t) => t.Float64 ?? t.Float32!.Select(v => (double)v).ToArray();

    private static double LargestRelativeDifference(string a, string b)
    {
        var x = Weights(a);
        var y = Weights(b);
        Assert.Equal(x.Keys.Order(), y.Keys.Order());
        double worst = 0;
        foreach (var (name, values) in x)
        {
            double scale = values.Max(Math.Abs);
            for (int i = 0; i < values.Length; i++) worst = Math.Max(worst, Math.Abs(values[i] - y[name][i]) / scale);
        }
        return worst;
    }

    [MpiFact]
    public void NProcessesGiveTheModelOfOneProcessToRounding()
    {
        var dir = CliRunner.TempDir();
        var single = Path.Combine(dir, "single.safetensors");
        string[] options = ["--epochs", "20", "--patience", "0", "--refit", "false"];
        var one = CliRunner.RunProcess(TrainArgs(single, options));
        Assert.True(one.ExitCode == 0, one.Error);
        foreach (int ranks in new[] { 1, 2, 3 })
        {
            var model = Path.Combine(dir, $"np{ranks}.safetensors");
            var run = Mpirun.Run(ranks, [.. TrainArgs(model, options), "--distributed", "--json"]);
            Assert.True(run.ExitCode == 0, $"mpirun -np {ranks}: {run.Error}");
            // Only rank 0 prints and writes.
            Assert.Single(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.TrimStart().StartsWith('{'));
            double difference = LargestRelativeDifference(single, model);
            Assert.True(difference <= 1e-9, $"np {ranks}: largest relative weight difference {difference:E2} after 20 epochs");
            if (ranks == 1) Assert.Equal(0, difference); // one rank runs exactly the one-process code
        }
        Assert.Equal(new[] { "np1.safetensors", "np2.safetensors", "np3.safetensors", "single.safetensors" },
            Directory.GetFiles(dir).Select(Path.GetFileName).Order());
    }

    [MpiFact]
    public void AGradientFlowOptimizerSynchronisesEveryEvaluation()
    {
        // rk4 evaluates the full-batch gradient four times per step, through the closure path.
        var dir = CliRunner.TempDir();
        string[] options = ["--optimizer", "rk4", "--epochs", "10", "--patience", "0", "--refit", "false"];
        var single = Path.Combine(dir, "single.safetensors");
        Assert.Equal(0, CliRunner.RunProcess(TrainArgs(single, options)).ExitCode);
        var model = Path.Combine(dir, "np2.safetensors");
        var run = Mpirun.Run(2, [.. TrainArgs(model, options), "--distributed"]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.True(LargestRelativeDifference(single, model) <= 1e-9);
    }

    [MpiFact]
    public void AJobWhoseRankDiesEndsAndResumesToTheUninterruptedModel()
    {
        var dir = CliRunner.TempDir();
        string[] options = ["--epochs", "100", "--patience", "0", "--refit", "false", "--checkpoint-every", "2"];
        var reference = Path.Combine(dir, "reference.safetensors");
        var straight = Mpirun.Run(2, [.. TrainArgs(reference, options), "--distributed"]);
        Assert.True(straight.ExitCode == 0, straight.Error);

        var model = Path.Combine(dir, "model.safetensors");
        var checkpoint = Path.Combine(dir, "model.checkpoint.safetensors");
        using var job = Mpirun.Start(2, [.. TrainArgs(model, options), "--distributed"]);
        var stderr = job.StandardError.ReadToEndAsync();
        _ = job.StandardOutput.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!File.Exists(checkpoint) && !job.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.True(File.Exists(checkpoint), "no checkpoint was written");
        var ranks = RankProcesses(model);
        Assert.Equal(2, ranks.Length);
        ranks[^1].Kill(); // SIGKILL one rank, as a node failure would
        // The job ends (mpirun notices the dead rank and stops the others) instead of hanging in an allreduce.
        Assert.True(job.WaitForExit(60_000), "the job hung after a rank died");
        Assert.NotEqual(0, job.ExitCode);
        Assert.False(File.Exists(model), "a killed run must not leave a model file");
        Assert.Matches("(?i)(killed|signal 9|exited on signal|non-zero)", stderr.Result);

        var resumed = Mpirun.Run(2, [.. TrainArgs(model, options), "--distributed", "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Equal(0, LargestRelativeDifference(reference, model)); // bit for bit
    }

    private static Process[] RankProcesses(string marker)
    {
        var found = new List<Process>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (cmdline.StartsWith("dotnet ", StringComparison.Ordinal) && cmdline.Contains(marker, StringComparison.Ordinal))
                try { found.Add(Process.GetProcessById(pid)); } catch (ArgumentException) { }
        }
        return [.. found.OrderBy(p => p.Id)];
    }

    [Fact]
    public void DistributedWithoutMpirunIsAUsageError()
    {
        var dir = CliRunner.TempDir();
        var result = CliRunner.Run(TrainArgs(Path.Combine(dir, "m.safetensors"), "--epochs", "1", "--distributed"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith("error: --distributed needs mpirun", result.Error);
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Theory]
    [InlineData(32, 1)]
    [InlineData(32, 3)]
    [InlineData(7, 3)]
    [InlineData(2, 3)]
    [InlineData(0, 2)]
    public void EveryRowOfABatchBelongsToExactlyOneRank(int batch, int size)
    {
        var owners = new int[batch];
        int next = 0;
        for (int rank = 0; rank < size; rank++)
        {
            var (start, count) = DataParallel.Share(batch, rank, size);
            Assert.Equal(next, start); // shares are contiguous and in rank order
            for (int i = start; i < start + count; i++) owners[i]++;
            next = start + count;
            Assert.InRange(count, batch / size, batch / size + 1);
        }
        Assert.Equal(batch, next);
        Assert.All(owners, o => Assert.Equal(1, o));
    }
}
