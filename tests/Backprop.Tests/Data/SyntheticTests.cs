using Backprop.Data;

namespace Backprop.Tests.Data;

public class SyntheticTests
{
    [Theory]
    [InlineData("xor", 2)]
    [InlineData("moons", 2)]
    [InlineData("circles", 2)]
    [InlineData("spirals", 3)]
    [InlineData("blobs", 3)]
    public void ShapeLabelsAndDeterminism(string name, int classes)
    {
        var a = Synthetic.Generate(name, 301, 0.1, seed: 5, classes: 3);
        var b = Synthetic.Generate(name, 301, 0.1, seed: 5, classes: 3);
        var c = Synthetic.Generate(name, 301, 0.1, seed: 6, classes: 3);
        Assert.Equal(301, a.Rows);
        Assert.Equal(602, a.X.Length);
        Assert.Equal(classes, a.ClassCount);
        Assert.Equal(a.X, b.X);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.X, c.X);
        for (int k = 0; k < classes; k++)
            Assert.InRange(a.Labels.Count(l => l == k), 301 / classes, 301 / classes + 1);
        Assert.All(a.X, v => Assert.True(double.IsFinite(v) && Math.Abs(v) < 5));
        // Shuffled: the first rows are not all one class.
        Assert.True(a.Labels.Take(20).Distinct().Count() > 1);
    }

    [Fact]
    public void MoonsWithoutNoiseLieOnTheirHalfCircles()
    {
        var set = Synthetic.Moons(100, 0, 1);
        for (int i = 0; i < set.Rows; i++)
        {
            double x = set.X[2 * i], y = set.X[2 * i + 1];
            if (set.Labels[i] == 0) Assert.Equal(1, x * x + y * y, 12);
            else Assert.Equal(1, (x - 1) * (x - 1) + (y - 0.5) * (y - 0.5), 12);
        }
    }

    [Fact]
    public void CirclesWithoutNoiseHaveTheirRadii()
    {
        var set = Synthetic.Circles(50, 0, 1, factor: 0.3);
        for (int i = 0; i < set.Rows; i++)
        {
            double r = Math.Sqrt(set.X[2 * i] * set.X[2 * i] + set.X[2 * i + 1] * set.X[2 * i + 1]);
            Assert.Equal(set.Labels[i] == 0 ? 1 : 0.3, r, 12);
        }
    }

    [Fact]
    public void XorWithoutNoiseIsLabelledBySignAgreement()
    {
        var set = Synthetic.Xor(200, 0, 3);
        for (int i = 0; i < set.Rows; i++)
            Assert.Equal(set.X[2 * i] * set.X[2 * i + 1] < 0 ? 1 : 0, set.Labels[i]);
    }

    [Fact]
    public void SpiralsHaveTheRequestedArms()
    {
        var set = Synthetic.Spirals(500, 5, 0.0, 2);
        Assert.Equal(5, set.ClassCount);
        Assert.Equal(Enumerable.Range(0, 5), set.Labels.Distinct().Order());
    }

    [Theory]
    [InlineData("moons", 1, 0.1)]
    [InlineData("moons", 100, -1)]
    [InlineData("moons", 100, double.NaN)]
    [InlineData("waves", 100, 0.1)]
    public void BadArgumentsAreRejected(string name, int n, double noise)
    {
        Assert.Throws<BackpropException>(() => Synthetic.Generate(name, n, noise, 1));
    }
}
