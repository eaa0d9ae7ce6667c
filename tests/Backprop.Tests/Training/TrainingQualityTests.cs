using Backprop.Data;
using Backprop.Tests.Cli;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// With default settings, test metrics on the shipped data sets at least match the scikit-learn
/// reference of data/README.md (MLP with 32 hidden units, standardised inputs, stratified 25% test
/// split, averaged over five seeds).
/// </summary>
public class TrainingQualityTests
{
    [Theory]
    [InlineData("breast-cancer.csv", "diagnosis", 0.96)]
    [InlineData("iris.csv", "species", 0.93)]
    [InlineData("diabetes.csv", "progression", 0.38)]
    public void DefaultsMatchTheScikitLearnReferenceAveragedOverFiveSeeds(string file, string target, double reference)
    {
        var data = TabularData.Load(CliRunner.DataFile(file), target);
        var scores = new List<double>();
        for (ulong seed = 0; seed < 5; seed++)
        {
            var run = TrainingPipeline.Run(data, new TrainSettings { Training = new TrainingOptions { Seed = seed } });
            scores.Add(data.Task == TaskKind.Regression ? run.Test.R2!.Value : run.Test.Accuracy!.Value);
        }
        Assert.True(scores.Average() >= reference, $"{file}: mean {scores.Average():F4} over seeds 0–4 ({string.Join(", ", scores.Select(s => s.ToString("F3")))}) is below {reference}");
    }

    [Fact]
    public void TheSameSeedGivesTheSameModel()
    {
        var data = TabularData.Load(CliRunner.DataFile("iris.csv"), "species");
        var settings = new TrainSettings { Training = new TrainingOptions { Seed = 3, Epochs = 20 } };
        var a = TrainingPipeline.Run(data, settings).Model.Network.Parameters().SelectMany(p => p.ToFloatArray()).ToArray();
        var b = TrainingPipeline.Run(data, settings).Model.Network.Parameters().SelectMany(p => p.ToFloatArray()).ToArray();
        Assert.Equal(a, b);
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("rmsprop")]
    [InlineData("adamw")]
    [InlineData("rk4")]
    [InlineData("dopri5")]
    public void EveryOptimizerTrainsBreastCancer(string optimizer)
    {
        var data = TabularData.Load(CliRunner.DataFile("breast-cancer.csv"), "diagnosis");
        var run = TrainingPipeline.Run(data, new TrainSettings { Optimizer = optimizer, Training = new TrainingOptions { Epochs = 60 } });
        Assert.True(run.Test.Accuracy > 0.9, $"{optimizer}: accuracy {run.Test.Accuracy}");
    }

    [Fact]
    public void CancellationStopsCleanlyAndKeepsTheBestWeights()
    {
        var data = TabularData.Load(CliRunner.DataFile("breast-cancer.csv"), "diagnosis");
        using var cts = new CancellationTokenSource();
        var run = TrainingPipeline.Run(data, new TrainSettings(), m => { if (m.Epoch == 3) cts.Cancel(); }, cts.Token);
        Assert.True(run.History.Cancelled);
        Assert.Equal(3, run.History.Epochs.Count);
        Assert.True(run.Test.Accuracy > 0.8);
    }

    [Fact]
    public void DivergenceIsReportedWithTheOpThatMadeTheNonFiniteValue()
    {
        var data = TabularData.Load(CliRunner.DataFile("diabetes.csv"), "progression");
        var error = Assert.Throws<DivergenceException>(() =>
            TrainingPipeline.Run(data, new TrainSettings { Optimizer = "sgd", LearningRate = 1e6, Training = new TrainingOptions { Epochs = 50 } }));
        Assert.Contains("diverged", error.Message);
        Assert.Contains("learning rate", error.Message);
        Assert.Equal(DivergenceCause.LearningRate, error.Cause);
    }
}
