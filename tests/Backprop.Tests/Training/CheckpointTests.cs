using Backprop.Data;
using Backprop.Nn;
using Backprop.Tests.Cli;
using Backprop.Training;

namespace Backprop.Tests.Training;

public class CheckpointTests
{
    private static (Trainer Trainer, Sequential Network) Build(string optimizer)
    {
        var network = Mlp.Create(4, [8], 3, Activation.Relu, Init.Auto, new Rng(5));
        var opt = OptimizerFactory.Create(optimizer, network.NamedParameters(), 0.01, 0, 1e-3);
        var trainer = new Trainer(network, TaskKind.Multiclass, opt, new TrainingOptions { Epochs = 10, BatchSize = 16, Patience = 0, Seed = 9 },
            optimizer == "sgd" ? new StepLR(opt, 3, 0.5) : null);
        return (trainer, network);
    }

    private static (TensorDataset Train, TensorDataset Validation) Data()
    {
        var data = TabularData.Load(CliRunner.DataFile("iris.csv"), "species");
        var std = Standardizer.Fit(data.Features, Enumerable.Range(0, data.Rows).ToArray());
        var x = Tensor.FromArray(std.Transform(data.Features.Values), [data.Rows, 4], DType.Float32);
        var y = Losses.OneHot(data.ClassIndices!, 3);
        return (new TensorDataset(x.Rows(0, 120), y.Rows(0, 120)), new TensorDataset(x.Rows(120, 30), y.Rows(120, 30)));
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    public void ResumingFromACheckpointEqualsUninterruptedTraining(string optimizer)
    {
        var (train, validation) = Data();
        var path = Path.Combine(CliRunner.TempDir(), "checkpoint.safetensors");

        var (straight, straightNet) = Build(optimizer);
        straight.Fit(train, validation, m => { if (m.Epoch == 4) ModelFile.SaveCheckpoint(straight, path); });

        var (resumed, resumedNet) = Build(optimizer);
        ModelFile.LoadCheckpoint(resumed, path);
        resumed.Fit(train, validation);

        var a = straightNet.Parameters().SelectMany(p => p.ToFloatArray()).ToArray();
        var b = resumedNet.Parameters().SelectMany(p => p.ToFloatArray()).ToArray();
        Assert.Equal(a, b);
        Assert.Equal(straight.History.Epochs.Select(e => e.TrainLoss), resumed.History.Epochs.Select(e => e.TrainLoss));
    }

    [Fact]
    public void AModelRoundTripsThroughItsFile()
    {
        var data = TabularData.Load(CliRunner.DataFile("diabetes.csv"), "progression");
        var run = TrainingPipeline.Run(data, new TrainSettings { Hidden = [8, 4], Training = new TrainingOptions { Epochs = 5 } });
        var path = Path.Combine(CliRunner.TempDir(), "model.safetensors");
        ModelFile.Save(run.Model, path);
        var loaded = ModelFile.Load(path);
        Assert.Equal(run.Model.FeatureNames, loaded.FeatureNames);
        Assert.Equal(run.Model.TargetMean, loaded.TargetMean);
        Assert.Equal(run.Model.Predict(data.Features).Values, loaded.Predict(data.Features).Values);
        Assert.Equal(new[] { "0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight" },
            Backprop.Serialization.SafeTensors.Read(path).Tensors.Select(t => t.Name).Order().ToArray());
    }
}
