using Backprop.Data;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Docs;

/// <summary>The README's custom residual network, as written there, trained, saved and loaded.</summary>
public class ModulesReadmeExampleTests
{
    // ---- README: begin (the same code as the README's "Custom models" example) ----
    class Residual(int width) : Module
    {
        public Linear Fc1 { get; } = new(width, width);
        public Linear Fc2 { get; } = new(width, width);
        public override Tensor Forward(Tensor x) => (x + Fc2.Forward(Fc1.Forward(x).Relu())).Relu();
    }

    class ResNet : Module
    {
        public Linear Stem { get; } = new(2, 32);
        public Residual[] Blocks { get; } = [new(32), new(32)];
        public Linear Head { get; } = new(32, 2);

        public override Tensor Forward(Tensor x)
        {
            x = Stem.Forward(x).Relu();
            foreach (var block in Blocks) x = block.Forward(x);
            return Head.Forward(x);
        }
    }
    // ---- README: end ----

    [Fact]
    public void TheResidualNetworkTrainsSavesAndLoads()
    {
        var dir = Directory.CreateTempSubdirectory("bp-readme-");
        try
        {
            string path = Path.Combine(dir.FullName, "resnet.safetensors");
            Initializers.ManualSeed(0);
            var data = Synthetic.Moons(400, noise: 0.1, seed: 1);
            var x = Tensor.FromArray(data.X, data.Rows, 2);             // float32, the default
            var y = Losses.OneHot(data.Labels, 2);
            var model = new ResNet();
            var trainer = new Trainer(model, Losses.SoftmaxCrossEntropy, new Adam(model.NamedParameters(), lr: 0.01),
                new TrainingOptions { Epochs = 40, BatchSize = 32 }, score: Trainer.Accuracy);
            var history = trainer.Fit(new TensorDataset(x, y));         // no validation set: every epoch runs
            model.Save(path);                                           // PyTorch's names: stem.weight, blocks.0.fc1.weight, …
            var again = new ResNet().Load(path);

            Assert.Equal(40, history.Epochs.Count);
            Assert.True(double.IsNaN(history.Epochs[^1].ValidationLoss));
            Assert.True(history.Epochs[^1].TrainLoss < 0.5 * history.Epochs[0].TrainLoss, $"loss {history.Epochs[0].TrainLoss} → {history.Epochs[^1].TrainLoss}");
            var (_, accuracy) = trainer.Evaluate(new TensorDataset(x, y));
            Assert.True(accuracy > 0.9, $"training accuracy {accuracy}");
            Assert.Equal(model.Forward(x).ToDoubleArray(), again.Forward(x).ToDoubleArray());
            Assert.Equal(["stem.weight", "stem.bias", "blocks.0.fc1.weight", "blocks.0.fc1.bias", "blocks.0.fc2.weight", "blocks.0.fc2.bias"],
                model.StateDict().Keys.Take(6));
            Assert.StartsWith("ResNet(\n  (stem): Linear(in_features=2, out_features=32, bias=True)\n  (blocks.0): Residual(\n", model.ToString());
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void DataLoaderBatchesAreSeededShuffledAndCanDropTheLast()
    {
        var x = Tensor.Arange(10).Reshape(10, 1);
        var y = Tensor.Arange(10) * 2.0;
        var loader = new DataLoader(x, y, batchSize: 4, shuffle: true, seed: 3);
        var epoch1 = loader.ToList();
        var epoch2 = loader.ToList();
        Assert.Equal([4, 4, 2], epoch1.Select(b => b[0].Size(0)));
        var rows1 = epoch1.SelectMany(b => b[0].ToDoubleArray()).ToArray();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (double)i), rows1.Order());
        Assert.NotEqual(rows1, epoch2.SelectMany(b => b[0].ToDoubleArray()).ToArray());   // a fresh order each epoch
        Assert.All(epoch1, b => Assert.Equal(b[0].ToDoubleArray().Select(v => 2 * v), b[1].ToDoubleArray()));   // rows stay paired
        var same = new DataLoader(x, y, batchSize: 4, shuffle: true, seed: 3).ToList();
        Assert.Equal(rows1, same.SelectMany(b => b[0].ToDoubleArray()).ToArray());        // same seed, same batches
        var dropped = new DataLoader(x, y, batchSize: 4, dropLast: true).ToList();
        Assert.Equal([4, 4], dropped.Select(b => b[0].Size(0)));
        Assert.Equal([0.0, 1, 2, 3], dropped[0][0].ToDoubleArray());                       // no shuffle: in order
        Assert.Throws<ShapeException>(() => new DataLoader(x, Tensor.Zeros([9]), 2));
    }
}
