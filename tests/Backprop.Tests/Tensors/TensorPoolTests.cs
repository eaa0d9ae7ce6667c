using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Tensors;

/// <summary>
/// The caching allocator (Tensors/TensorPool.cs): memory is reused across scopes, a tensor of an ended
/// scope refuses to be read instead of showing another tensor's values, and what must outlive a step
/// (gradients, parameters, factory tensors) does.
/// </summary>
public class TensorPoolTests
{
    [Fact]
    public void AnOpOutputReusesTheMemoryOfTheLastScope()
    {
        var x = Tensor.RandomNormal([64, 32], new Rng(1));
        TensorPool.ReleaseCached();
        long cachedBefore = TensorPool.CachedBytes;
        using (TensorPool.BeginScope()) _ = (x * x).Exp();
        // Two outputs of 64·32 float32 went back: the cache holds them for the next step.
        Assert.Equal(cachedBefore + 2 * 64 * 32 * 4, TensorPool.CachedBytes);
        using (TensorPool.BeginScope())
        {
            var y = x * x;
            Assert.Equal(cachedBefore + 64 * 32 * 4, TensorPool.CachedBytes);
            // Reused memory is a fresh, correct result, not the previous step's values.
            Assert.Equal(x.ToDoubleArray().Select(v => (double)(float)(v * v)), y.ToDoubleArray());
        }
    }

    [Fact]
    public void ATensorOfAnEndedScopeThrowsWhenRead()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 3);
        Tensor y;
        using (TensorPool.BeginScope()) y = x * 2.0;
        var e = Assert.Throws<BackpropException>(() => y.ToDoubleArray());
        Assert.Contains("TensorPool scope that has ended", e.Message);
        Assert.Contains("Clone()", e.Message);
        // Views and detached copies share the memory, so they refuse too.
        Assert.Throws<BackpropException>(() => y.Detach().ToFloatArray());
        Assert.Throws<BackpropException>(() => y.Reshape(1, 3).ToDoubleArray());
    }

    [Fact]
    public void ValuesReadOrClonedInsideTheScopeSurviveIt()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 3);
        Tensor kept;
        double[] read;
        using (TensorPool.BeginScope())
        {
            var y = x * 2.0;
            kept = y.Clone();
            read = y.ToDoubleArray();
        }
        Assert.Equal([2.0, 4.0, 6.0], kept.ToDoubleArray());
        Assert.Equal([2.0, 4.0, 6.0], read);
    }

    [Fact]
    public void WithoutAScopeNothingIsPooled()
    {
        var x = Tensor.FromArray([1f, 2f], 2);
        var y = x * 3.0;
        GC.Collect();
        Assert.Equal([3.0, 6.0], y.ToDoubleArray());
        Assert.False(TensorPool.IsActive);
    }

    [Fact]
    public void GradientsAndAssignedGradsOutliveTheScope()
    {
        var w = Tensor.FromArray([0.5f, -1f, 2f], 3);
        w.RequiresGrad = true;
        var other = Tensor.FromArray([1f, 1f, 1f], 3);
        other.RequiresGrad = true;
        using (TensorPool.BeginScope())
        {
            (w * w).Sum().Backward();
            // A pooled op output assigned to Grad by the user is kept too (gradient clipping does this).
            other.Grad = w.Detach() * 10.0;
        }
        Assert.Equal([1.0, -2.0, 4.0], w.Grad!.ToDoubleArray());
        Assert.Equal([5.0, -10.0, 20.0], other.Grad!.ToDoubleArray());
    }

    [Fact]
    public void BackwardPoolsItsOwnTemporariesWithoutAScope()
    {
        var w = Tensor.RandomNormal([32, 16], new Rng(5));
        w.RequiresGrad = true;
        var x = Tensor.RandomNormal([8, 16], new Rng(6));
        TensorPool.ReleaseCached();
        var loss = x.MatMul(w, transposeB: true).Tanh().Sum();
        var output = x.MatMul(w, transposeB: true).Tanh();
        loss.Backward();
        long cached = TensorPool.CachedBytes;
        Assert.True(cached > 0, "the backward pass handed its temporaries to the cache");
        var expected = w.Grad!.ToDoubleArray();

        w.ZeroGrad();
        x.MatMul(w, transposeB: true).Tanh().Sum().Backward();
        Assert.Equal(cached, TensorPool.CachedBytes);
        Assert.Equal(expected, w.Grad!.ToDoubleArray());
        // Forward values outside any scope are ordinary memory and stay readable after backward.
        Assert.Equal(8 * 32, output.ToDoubleArray().Length);
    }

    [Fact]
    public void NestedScopesReleaseOnlyTheirOwnTensors()
    {
        var x = Tensor.FromArray([1f, 2f], 2);
        using (TensorPool.BeginScope())
        {
            var outer = x + 1.0;
            Tensor inner;
            using (TensorPool.BeginScope()) inner = x + 2.0;
            Assert.Throws<BackpropException>(() => inner.ToDoubleArray());
            Assert.Equal([2.0, 3.0], outer.ToDoubleArray());
        }
    }

    [Fact]
    public void ScopesMustEndInReverseOrder()
    {
        var outer = TensorPool.BeginScope();
        var inner = TensorPool.BeginScope();
        var e = Assert.Throws<BackpropException>(() => outer.Dispose());
        Assert.Contains("reverse order", e.Message);
        inner.Dispose();
        outer.Dispose();
        Assert.False(TensorPool.IsActive);
    }

    [Fact]
    public void ScopesArePerThread()
    {
        using var scope = TensorPool.BeginScope();
        bool activeElsewhere = true;
        var thread = new Thread(() => activeElsewhere = TensorPool.IsActive);
        thread.Start();
        thread.Join();
        Assert.False(activeElsewhere);
        Assert.True(TensorPool.IsActive);
    }

    [Fact]
    public void ZeroGradInPlaceKeepsTheGradientTensorAndGivesTheSameGradients()
    {
        Initializers.ManualSeed(3);
        var model = new Sequential(new Linear(5, 4), new Tanh(), new Linear(4, 2));
        var x = Tensor.RandomNormal([6, 5], new Rng(4));
        var y = Losses.OneHot([0, 1, 1, 0, 1, 0], 2);
        Losses.SoftmaxCrossEntropy(model.Forward(x), y).Backward();
        var first = model.NamedParameters().Select(p => p.Parameter.Grad!).ToArray();
        var expected = first.Select(g => g.ToDoubleArray()).ToArray();

        model.ZeroGrad(setToNone: false);
        Assert.All(first, g => Assert.All(g.ToDoubleArray(), v => Assert.Equal(0.0, v)));
        using (TensorPool.BeginScope()) Losses.SoftmaxCrossEntropy(model.Forward(x), y).Backward();

        var again = model.NamedParameters().Select(p => p.Parameter.Grad!).ToArray();
        for (int i = 0; i < first.Length; i++)
        {
            Assert.Same(first[i], again[i]);
            Assert.Equal(expected[i], again[i].ToDoubleArray());
        }
        // A second backward pass adds in place, as PyTorch accumulates .grad.
        using (TensorPool.BeginScope()) Losses.SoftmaxCrossEntropy(model.Forward(x), y).Backward();
        for (int i = 0; i < first.Length; i++)
            Assert.Equal(expected[i].Select(v => 2 * v), again[i].ToDoubleArray().Select(v => v), new ToleranceComparer(1e-6));
    }

    /// <summary>
    /// The define-by-run engine's steady-state training step, as the Trainer runs it (one pool scope per
    /// step, gradients zeroed in place), allocates at most 64 KB on each benchmark workload: the objects
    /// that describe the graph (ops, nodes, tensor headers), never tensor memory that grows with the shapes.
    /// </summary>
    [Theory]
    [InlineData("small")]
    [InlineData("mid")]
    [InlineData("wide")]
    public void AnEngineStepAllocatesAtMost64KB(string workload)
    {
        var w = BenchWorkload.All.Single(b => b.Name == workload);
        // Fewer samples than the benchmark: the per-step figure does not depend on the epoch's length.
        var shortened = w with { Samples = Math.Min(w.Samples, 20 * w.BatchSize) };
        var result = TrainingBenchmark.Run(shortened, epochs: 2, BenchEngine.Autodiff);
        Assert.InRange(result.AllocatedBytesPerStep, 0, 64 * 1024);
        Assert.True(double.IsFinite(result.FinalLoss));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tolerance * Math.Max(1, Math.Abs(b));
        public int GetHashCode(double value) => 0;
    }
}
