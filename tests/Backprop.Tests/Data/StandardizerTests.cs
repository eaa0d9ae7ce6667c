using Backprop.Data;

namespace Backprop.Tests.Data;

public class StandardizerTests
{
    [Fact]
    public void FitsOnTrainingRowsOnly()
    {
        // Two columns; rows 0-3 are training, rows 4-5 are far-away test rows that must not shift the fit.
        double[] data =
        [
            1, 10,
            2, 10,
            3, 10,
            4, 10,
            1000, -500,
            2000, 700,
        ];
        var s = Standardizer.Fit(data, 2, [0, 1, 2, 3]);
        Assert.Equal([2.5, 10], s.Mean);
        Assert.Equal(Math.Sqrt(1.25), s.Scale[0], 12);
        Assert.Equal(1.0, s.Scale[1]); // constant column: scale 1

        double[] z = s.Transform(data);
        Assert.Equal((1 - 2.5) / Math.Sqrt(1.25), z[0], 12);
        Assert.Equal(0.0, z[1]);
        Assert.Equal(-510.0, z[9]); // constant column only centred
        double[] back = new double[data.Length];
        s.InverseTransform(z, back);
        for (int i = 0; i < data.Length; i++) Assert.Equal(data[i], back[i], 9);
    }

    [Fact]
    public void TrainingColumnsHaveZeroMeanAndUnitVariance()
    {
        var iris = TabularData.Load(RepoData.PathOf("iris.csv"), "species");
        var split = Split.For(iris, 0.25, 0, seed: 2);
        var s = Standardizer.Fit(iris.Features, split.Train);
        var train = s.Transform(iris.Features.SelectRows(split.Train));
        for (int c = 0; c < train.Columns; c++)
        {
            double mean = 0, sq = 0;
            for (int r = 0; r < train.Rows; r++) mean += train[r, c];
            mean /= train.Rows;
            for (int r = 0; r < train.Rows; r++) sq += (train[r, c] - mean) * (train[r, c] - mean);
            Assert.Equal(0, mean, 12);
            Assert.Equal(1, sq / train.Rows, 12);
        }
    }

    [Fact]
    public void ConstantColumnWithRoundingNoiseIsStillConstant()
    {
        double[] data = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
        var s = Standardizer.Fit(data, data.Length, 1);
        Assert.Equal(1.0, s.Scale[0]);
        Assert.All(s.Transform(data), v => Assert.True(Math.Abs(v) < 1e-15));
    }

    [Fact]
    public void RestoresFromArraysAndRejectsBadState()
    {
        var s = new Standardizer([1, 2], [3, 4]);
        Assert.Equal([1.0, 2], s.Mean);
        Assert.Equal([3.0, 4], s.Scale);
        Assert.Throws<ShapeException>(() => new Standardizer([1], [1, 2]));
        Assert.Throws<BackpropException>(() => new Standardizer([1], [0]));
        Assert.Throws<ShapeException>(() => s.Transform(new double[3]));
    }
}
