using System.Diagnostics;
using Backprop.Cli;
using Backprop.Data;
using Backprop.Training;

namespace Backprop.Tests.Cli;

/// <summary>
/// Ctrl-C during training or during the refit: the run keeps a named set of weights, says which in its
/// output and in the model's metadata, and the command exits 130.
/// </summary>
public class InterruptionTests
{
    private static TabularData Iris() => TabularData.Load(CliRunner.DataFile("iris.csv"), "species");

    private static TrainSettings Settings(bool refit) => new()
    {
        Hidden = [4],
        Refit = refit,
        Training = new TrainingOptions { Epochs = 6, Patience = 0, Seed = 3 },
    };

    [Fact]
    public void CancelledDuringRefitKeepsTheEarlyStoppedWeightsAndSaysSo()
    {
        var data = Iris();
        using var stop = new CancellationTokenSource();
        // The last early-stopping epoch cancels: that phase is complete, so the refit is what gets interrupted.
        var run = TrainingPipeline.Run(data, Settings(refit: true), m => { if (m.Epoch == 6) stop.Cancel(); }, stop.Token);
        Assert.NotNull(run.Interrupted);
        Assert.StartsWith("during refit at epoch 1 of ", run.Interrupted);
        Assert.Contains("kept the early-stopped weights of epoch", run.Interrupted);
        Assert.Equal(run.Interrupted, run.Model.TrainingInfo["interrupted"]);
        Assert.StartsWith("interrupted at epoch 1 of ", run.Model.TrainingInfo["refit"]);
        Assert.EndsWith("not used", run.Model.TrainingInfo["refit"]);

        // The weights are exactly those of the same run without a refit.
        var plain = TrainingPipeline.Run(data, Settings(refit: false));
        Assert.Null(plain.Interrupted);
        Assert.Equal("no", plain.Model.TrainingInfo["refit"]);
        foreach (var ((name, a), (_, b)) in run.Model.Network.NamedParameters().Zip(plain.Model.Network.NamedParameters()))
            Assert.True(a.ToDoubleArray().SequenceEqual(b.ToDoubleArray()), $"{name} differs from the early-stopped run");
    }

    [Fact]
    public void CancelledDuringTrainingNamesTheEpochAndTheBestWeightsKept()
    {
        using var stop = new CancellationTokenSource();
        var run = TrainingPipeline.Run(Iris(), Settings(refit: true), m => { if (m.Epoch == 3) stop.Cancel(); }, stop.Token);
        Assert.StartsWith("during training at epoch 4 of 6; kept the weights of epoch ", run.Interrupted);
        Assert.EndsWith("no refit", run.Interrupted);
        Assert.Equal("no", run.Model.TrainingInfo["refit"]);
        Assert.Equal(run.Interrupted, run.Model.TrainingInfo["interrupted"]);
        Assert.Equal("3", run.Model.TrainingInfo["epochs_run"]);
    }

    [Fact]
    public void CancelledBeforeAnyEpochSaysTheWeightsWereNeverValidated()
    {
        using var stop = new CancellationTokenSource();
        stop.Cancel();
        var run = TrainingPipeline.Run(Iris(), Settings(refit: true), cancellation: stop.Token);
        Assert.StartsWith("during training in epoch 1 of 6, before any epoch completed", run.Interrupted);
        Assert.Contains("never validated", run.Interrupted);
    }

    [Fact]
    public void FinishedRunsSayNothingWasInterrupted()
    {
        var run = TrainingPipeline.Run(Iris(), Settings(refit: true));
        Assert.Null(run.Interrupted);
        Assert.False(run.Model.TrainingInfo.ContainsKey("interrupted"));
        Assert.StartsWith("on training + validation rows for ", run.Model.TrainingInfo["refit"]);
    }

    /// <summary>SIGINT to a real `backprop train`: exit 130, the model saved, the output and metadata say what was kept.</summary>
    [Fact]
    public async Task SigintToTrainExits130AndTheModelSaysItWasInterrupted()
    {
        if (!OperatingSystem.IsLinux()) return;
        var dir = CliRunner.TempDir();
        try
        {
            var model = Path.Combine(dir, "m.safetensors");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll"), "train", CliRunner.DataFile("iris.csv"), "--target", "species",
                         "--epochs", "1000000", "--patience", "0", "--hidden", "4", "--out", model })
                start.ArgumentList.Add(a);
            using var child = Process.Start(start)!;
            var stdout = child.StandardOutput.ReadToEndAsync();
            // Wait for the first epoch line (non-interactive stderr logs epoch 1), then interrupt.
            string? line;
            var stderr = new System.Text.StringBuilder();
            while ((line = child.StandardError.ReadLine()) is not null)
            {
                stderr.AppendLine(line);
                if (line.StartsWith("epoch 1/", StringComparison.Ordinal)) break;
            }
            Assert.NotNull(line);
            Assert.Equal(0, Libc.kill(child.Id, Libc.SIGINT));
            stderr.Append(child.StandardError.ReadToEnd());
            Assert.True(child.WaitForExit(60_000), "train did not stop within 60 s of SIGINT");
            Assert.True(child.ExitCode == ExitCodes.Interrupted, $"exit {child.ExitCode}: {stderr}");
            Assert.Contains("interrupted during training at epoch ", stderr.ToString());
            Assert.Contains("(interrupted)", await stdout);

            var inspect = CliRunner.Run("inspect", model, "--json");
            Assert.True(inspect.ExitCode == 0, inspect.Error);
            Assert.Contains("\"interrupted\":\"during training at epoch ", inspect.Output);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
