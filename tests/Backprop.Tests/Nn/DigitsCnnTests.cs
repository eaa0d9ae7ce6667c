using System.Globalization;
using Backprop.Nn;
using Backprop.Tests.Explain;
using Backprop.Training;
using Xunit.Abstractions;

namespace Backprop.Tests.Nn;

/// <summary>
/// A small CNN on the 8×8 handwritten digits (data/digits.csv), trained through Trainer; docs/modules.md
/// shows a longer run of the same code (BACKPROP_DIGITS_EPOCHS=30).
/// </summary>
public class DigitsCnnTests(ITestOutputHelper output)
{
    /// <summary>Images (n, 1, 8, 8) scaled to [0, 1] and the digits 0–9.</summary>
    internal static (Tensor Images, int[] Labels) LoadDigits()
    {
        var lines = File.ReadAllLines(Path.Combine(ExplainTestData.RepoRoot(), "data", "digits.csv")).Skip(1).Where(l => l.Length > 0).ToArray();
        var pixels = new double[lines.Length * 64];
        var labels = new int[lines.Length];
        for (int i = 0; i < lines.Length; i++)
        {
            var fields = lines[i].Split(',');
            for (int j = 0; j < 64; j++) pixels[i * 64 + j] = double.Parse(fields[j], CultureInfo.InvariantCulture) / 16;
            labels[i] = int.Parse(fields[64], CultureInfo.InvariantCulture);
        }
        return (Tensor.FromArray(pixels, lines.Length, 1, 8, 8), labels);
    }

    internal static Sequential SmallCnn() => new(
        new Conv2d(1, 8, 3, padding: 1), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),      // (n, 8, 4, 4)
        new Conv2d(8, 16, 3, padding: 1), new ReLU(), new MaxPool2d(2),                         // (n, 16, 2, 2)
        new Flatten(), new Dropout(0.1), new Linear(64, 10));

    [Fact]
    public void ASmallCnnLearnsTheDigits()
    {
        int epochs = int.TryParse(Environment.GetEnvironmentVariable("BACKPROP_DIGITS_EPOCHS"), out int e) ? e : 4;
        var (images, labels) = LoadDigits();
        Assert.Equal(1797, images.Size(0));
        var split = Backprop.Data.Split.Shuffled(images.Size(0), 0.2, 0.1, seed: 42);
        TensorDataset Subset(int[] rows) => new(Trainer.GatherRows(images, rows), Losses.OneHot(rows.Select(r => labels[r]).ToArray(), 10));
        var (train, validation, test) = (Subset(split.Train), Subset(split.Validation), Subset(split.Test));

        Initializers.ManualSeed(1);
        var model = SmallCnn();
        var trainer = new Trainer(model, Losses.SoftmaxCrossEntropy, new Adam(model.NamedParameters(), lr: 0.01),
            new TrainingOptions { Epochs = epochs, BatchSize = 32, Seed = 7, Patience = 10 }, score: Trainer.Accuracy);
        var history = trainer.Fit(train, validation, m => output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {m.Epoch,3}  train loss {m.TrainLoss:F4}  validation loss {m.ValidationLoss:F4}  validation accuracy {m.ValidationScore:P1}")));
        var (testLoss, testAccuracy) = trainer.Evaluate(test);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{model}\n{model.ParameterCount} parameters; train {train.Count}, validation {validation.Count}, test {test.Count} images; best epoch {history.BestEpoch + 1}; test loss {testLoss:F4}, test accuracy {testAccuracy:P1}"));

        // Chance is 10 %; four epochs of this network reach well over 80 % on the held-out test images.
        Assert.True(testAccuracy > 0.8, $"test accuracy {testAccuracy:P1} after {epochs} epochs");
        Assert.True(history.Epochs[^1].TrainLoss < history.Epochs[0].TrainLoss);
    }
}
