using Backprop.Data;

namespace Backprop.Tests.Data;

public class SplitTests
{
    private static int[] ImbalancedClasses()
    {
        // 100 of class 0, 40 of class 1, 10 of class 2, interleaved.
        var classes = new List<int>();
        for (int i = 0; i < 100; i++) classes.Add(0);
        for (int i = 0; i < 40; i++) classes.Add(1);
        for (int i = 0; i < 10; i++) classes.Add(2);
        var array = classes.ToArray();
        new Rng(99).Shuffle(array.AsSpan());
        return array;
    }

    [Fact]
    public void StratifiedSplitKeepsClassProportions()
    {
        int[] classes = ImbalancedClasses();
        var split = Split.Stratified(classes, 0.2, 0.25, seed: 7);
        Assert.Equal(30, split.Test.Length);
        Assert.Equal(30, split.Validation.Length);
        Assert.Equal(90, split.Train.Length);
        int[] sizes = [100, 40, 10];
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(sizes[c] * 0.2, split.Test.Count(i => classes[i] == c), 0);
            Assert.Equal(sizes[c] * 0.2, split.Validation.Count(i => classes[i] == c), 0);
            Assert.Equal(sizes[c] * 0.6, split.Train.Count(i => classes[i] == c), 0);
        }
    }

    [Fact]
    public void StratifiedCountsRoundToTheNearestRowPerClass()
    {
        var iris = TabularData.Load(RepoData.PathOf("iris.csv"), "species");
        var split = Split.For(iris, 0.25, 0.1, seed: 1);
        Assert.Equal(38, split.Test.Length);
        for (int c = 0; c < 3; c++)
        {
            int inTest = split.Test.Count(i => iris.ClassIndices![i] == c);
            Assert.InRange(inTest, 12, 13);
        }
    }

    [Fact]
    public void SplitIsAPartitionAndDeterministic()
    {
        int[] classes = ImbalancedClasses();
        var a = Split.Stratified(classes, 0.25, 0.1, seed: 3);
        var b = Split.Stratified(classes, 0.25, 0.1, seed: 3);
        var c = Split.Stratified(classes, 0.25, 0.1, seed: 4);
        Assert.Equal(a.Train, b.Train);
        Assert.Equal(a.Validation, b.Validation);
        Assert.Equal(a.Test, b.Test);
        Assert.NotEqual(a.Test, c.Test);
        var all = a.Train.Concat(a.Validation).Concat(a.Test).OrderBy(i => i);
        Assert.Equal(Enumerable.Range(0, classes.Length), all);
        Assert.True(a.Train.SequenceEqual(a.Train.Order()));
    }

    [Fact]
    public void ShuffledSplitForRegression()
    {
        var diabetes = TabularData.Load(RepoData.PathOf("diabetes.csv"), "progression");
        var split = Split.For(diabetes, 0.25, 0.1, seed: 5);
        Assert.Equal(111, split.Test.Length); // round(110.5)
        Assert.Equal(33, split.Validation.Length); // round(33.1)
        Assert.Equal(298, split.Train.Length);
        Assert.Equal(Enumerable.Range(0, 442), split.Train.Concat(split.Validation).Concat(split.Test).Order());
        Assert.Equal(split.Test, Split.Shuffled(442, 0.25, 0.1, 5).Test);
    }

    [Theory]
    [InlineData(1.0, 0.1)]
    [InlineData(-0.1, 0.1)]
    [InlineData(0.2, double.NaN)]
    [InlineData(0.9, 0.9)]
    public void BadFractionsAreRejected(double test, double validation)
    {
        Assert.Throws<BackpropException>(() => Split.Shuffled(5, test, validation, 1));
    }

    [Fact]
    public void ZeroFractionsGiveEmptySets()
    {
        var split = Split.Shuffled(10, 0, 0, 1);
        Assert.Empty(split.Test);
        Assert.Empty(split.Validation);
        Assert.Equal(10, split.Train.Length);
    }

    [Fact]
    public void BatchSamplerCoversEveryRowOncePerEpochWithAPartialLastBatch()
    {
        int[] rows = [.. Enumerable.Range(100, 10)];
        var sampler = new BatchSampler(rows, 4, new Rng(11));
        Assert.Equal(3, sampler.BatchCount);
        var epochs = new List<int[]>();
        for (int e = 0; e < 3; e++)
        {
            sampler.NextEpoch();
            var seen = new List<int>();
            for (int b = 0; b < sampler.BatchCount; b++) seen.AddRange(sampler.Batch(b).ToArray());
            Assert.Equal(2, sampler.Batch(2).Length);
            Assert.Equal(rows, seen.Order());
            epochs.Add([.. seen]);
        }
        Assert.False(epochs[0].SequenceEqual(epochs[1]) && epochs[1].SequenceEqual(epochs[2]));

        var again = new BatchSampler(rows, 4, new Rng(11));
        again.NextEpoch();
        Assert.Equal(epochs[0], again.Order.ToArray());
    }

    [Fact]
    public void BatchSamplerDoesNotAllocatePerEpoch()
    {
        var sampler = new BatchSampler(1000, 32, seed: 1);
        sampler.NextEpoch();
        long before = GC.GetAllocatedBytesForCurrentThread();
        long sum = 0;
        for (int e = 0; e < 20; e++)
        {
            int batches = sampler.NextEpoch();
            for (int b = 0; b < batches; b++) sum += sampler.Batch(b)[0];
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(sum > 0);
    }

    [Fact]
    public void BatchSamplerWithoutRngKeepsOrder()
    {
        var sampler = new BatchSampler([5, 3, 1], 2, null);
        sampler.NextEpoch();
        Assert.Equal([5, 3], sampler.Batch(0).ToArray());
        Assert.Equal([1], sampler.Batch(1).ToArray());
    }
}
