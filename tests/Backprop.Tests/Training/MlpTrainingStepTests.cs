using Backprop.Data;
using Backprop.Kernels;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// The compiled MLP step against the autodiff engine (<c>loss.Backward()</c> on the same Sequential):
/// the same loss and gradients to rounding for each task head and activation, no allocation in steady
/// state, the engine left in charge of what the step does not support, and training through the
/// Trainer giving the same weights either way.
/// </summary>
public sealed class MlpTrainingStepTests
{
    /// <summary>
    /// Per tensor, |fused − engine| ≤ tol · max|engine| + tiny: both sum the same products in different
    /// orders (packed GEMM vs the engine's calls, the bias gradient row by row), so they differ by a few
    /// units of rounding relative to the tensor's scale; a wrong term would differ by far more.
    /// </summary>
    private static void AssertClose(double[] expected, double[] actual, DType dtype, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        double tol = dtype == DType.Float32 ? 2e-5 : 1e-12;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tol * scale + 1e-30, $"{what}: max |diff| {worst:E3} with scale {scale:E3}");
    }

    private static Tensor Targets(TaskKind task, int rows, int outputs, Rng rng, DType dtype)
    {
        if (task == TaskKind.Multiclass)
        {
            var classes = new int[rows];
            for (int i = 0; i < rows; i++) classes[i] = rng.NextInt(outputs);
            return Losses.OneHot(classes, outputs, dtype);
        }
        if (task == TaskKind.Binary)
        {
            var labels = new double[rows * outputs];
            for (int i = 0; i < labels.Length; i++) labels[i] = rng.NextInt(2);
            return Tensor.FromArray(labels, [rows, outputs], dtype);
        }
        return Tensor.RandomNormal([rows, outputs], rng, dtype: dtype);
    }

    private static void CompareWithEngine(Sequential model, TaskKind task, int inputs, int outputs, int rows, int capacity, DType dtype, ulong seed)
    {
        var rng = new Rng(seed);
        var x = Tensor.RandomNormal([rows, inputs], rng, std: 2, dtype: dtype);
        var y = Targets(task, rows, outputs, rng, dtype);

        model.ZeroGrad();
        var engineLoss = TaskHead.Loss(task, model.Forward(x), y);
        engineLoss.Backward();
        var names = model.NamedParameters().Select(p => p.Name).ToArray();
        var expected = model.NamedParameters().Select(p => p.Parameter.Grad!.ToDoubleArray()).ToArray();

        model.ZeroGrad();
        var step = MlpTrainingStep.TryCreate(model, task, capacity, out var reason);
        Assert.True(step is not null, reason);
        double loss = step.Step(x, y);

        Assert.Equal(engineLoss.Item(), loss, dtype == DType.Float32 ? 1e-5 * Math.Max(1, Math.Abs(loss)) : 1e-12);
        var parameters = model.NamedParameters().ToArray();
        for (int i = 0; i < parameters.Length; i++)
            AssertClose(expected[i], parameters[i].Parameter.Grad!.ToDoubleArray(), dtype, names[i]);
    }

    public static TheoryData<TaskKind, Activation, DType> Heads => new()
    {
        { TaskKind.Binary, Activation.Relu, DType.Float32 },
        { TaskKind.Binary, Activation.Tanh, DType.Float32 },
        { TaskKind.Binary, Activation.Sigmoid, DType.Float64 },
        { TaskKind.Multiclass, Activation.Relu, DType.Float32 },
        { TaskKind.Multiclass, Activation.Tanh, DType.Float32 },
        { TaskKind.Multiclass, Activation.Sigmoid, DType.Float32 },
        { TaskKind.Multiclass, Activation.Identity, DType.Float32 },
        { TaskKind.Multiclass, Activation.LeakyRelu, DType.Float32 },
        { TaskKind.Multiclass, Activation.Softplus, DType.Float32 },
        { TaskKind.Multiclass, Activation.Relu, DType.Float64 },
        { TaskKind.Regression, Activation.Relu, DType.Float32 },
        { TaskKind.Regression, Activation.Tanh, DType.Float32 },
        { TaskKind.Regression, Activation.Identity, DType.Float64 },
        { TaskKind.Regression, Activation.Softplus, DType.Float64 },
    };

    [Theory]
    [MemberData(nameof(Heads))]
    public void GradientsMatchTheEngine(TaskKind task, Activation activation, DType dtype)
    {
        int outputs = task == TaskKind.Multiclass ? 5 : task == TaskKind.Regression ? 2 : 1;
        var model = Mlp.Create(30, [16, 9], outputs, activation, Init.Auto, new Rng(3), dtype, leakySlope: 0.1);
        CompareWithEngine(model, task, 30, outputs, rows: 32, capacity: 32, dtype, seed: 11);
    }

    [Fact]
    public void GradientsMatchTheEngineOnShapesThatTakeThePackedGemm()
    {
        var model = Mlp.Create(100, [70], 10, Activation.Relu, Init.Auto, new Rng(4));
        CompareWithEngine(model, TaskKind.Multiclass, 100, 10, rows: 128, capacity: 128, DType.Float32, seed: 5);
    }

    [Fact]
    public void APartialBatchUsesOnlyItsRows()
    {
        var model = Mlp.Create(6, [8], 3, Activation.Tanh, Init.Auto, new Rng(6));
        CompareWithEngine(model, TaskKind.Multiclass, 6, 3, rows: 5, capacity: 16, DType.Float32, seed: 7);
    }

    [Fact]
    public void LayersWithoutBiasConsecutiveLinearsAndATrailingActivationAreSupported()
    {
        var rng = new Rng(8);
        var model = new Sequential(new Linear(5, 7, bias: false, rng: rng), new Linear(7, 6, rng: rng), new Identity(), new Linear(6, 4, rng: rng), new Sigmoid());
        CompareWithEngine(model, TaskKind.Regression, 5, 4, rows: 9, capacity: 9, DType.Float32, seed: 9);
    }

    [Fact]
    public void UnsupportedModelsAreLeftToTheEngine()
    {
        var nested = new Sequential(new Sequential(new Linear(3, 2)));
        Assert.Null(MlpTrainingStep.TryCreate(nested, TaskKind.Regression, 4, out var reason));
        Assert.Contains("not a Linear layer", reason);
        var twoActivations = new Sequential(new Linear(3, 2), new ReLU(), new Tanh());
        Assert.Null(MlpTrainingStep.TryCreate(twoActivations, TaskKind.Regression, 4, out reason));
        Assert.NotNull(reason);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void ASteadyStateStepAllocatesNothing(DType dtype)
    {
        var model = Mlp.Create(30, [16], 1, Activation.Relu, Init.Auto, new Rng(1), dtype);
        var rng = new Rng(2);
        var data = new TensorDataset(Tensor.RandomNormal([100, 30], rng, dtype: dtype), Targets(TaskKind.Binary, 100, 1, rng, dtype));
        var sgd = new Sgd(model.NamedParameters(), 0.01);
        var step = MlpTrainingStep.TryCreate(model, TaskKind.Binary, 32, out _)!;
        var order = Enumerable.Range(0, 100).ToArray();

        void Steps(int count)
        {
            for (int s = 0; s < count; s++)
            {
                var rows = order.AsSpan(s * 7 % 68, s % 2 == 0 ? 32 : 20);
                step.GatherBatch(data, rows);
                step.Step(rows.Length);
                sgd.Step();
            }
        }

        Steps(5);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Steps(20);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void AMultiLayerMulticlassStepAllocatesNothing()
    {
        var model = Mlp.Create(78, [64, 32], 10, Activation.Tanh, Init.Auto, new Rng(1));
        var rng = new Rng(2);
        var x = Tensor.RandomNormal([128, 78], rng);
        var y = Targets(TaskKind.Multiclass, 128, 10, rng, DType.Float32);
        var adam = new Adam(model.NamedParameters());
        var step = MlpTrainingStep.TryCreate(model, TaskKind.Multiclass, 128, out _)!;
        step.SetBatch(x, y);
        for (int s = 0; s < 5; s++) { step.Step(128); adam.Step(); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int s = 0; s < 20; s++) { step.Step(128); adam.Step(); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(TaskKind.Multiclass, "sgd")]
    [InlineData(TaskKind.Binary, "adam")]
    [InlineData(TaskKind.Regression, "rmsprop")]
    public void TheTrainerGivesTheSameWeightsWithOrWithoutTheCompiledStep(TaskKind task, string optimizer)
    {
        int outputs = task == TaskKind.Multiclass ? 3 : 1;
        var rng = new Rng(21);
        var x = Tensor.RandomNormal([90, 4], rng);
        var y = Targets(task, 90, outputs, rng, DType.Float32);
        var train = new TensorDataset(x.Rows(0, 70), y.Rows(0, 70));
        var validation = new TensorDataset(x.Rows(70, 20), y.Rows(70, 20));

        double[][] Train(bool compiled)
        {
            var model = Mlp.Create(4, [8], outputs, Activation.Relu, Init.Auto, new Rng(5));
            Optimizer opt = optimizer switch
            {
                "sgd" => new Sgd(model.NamedParameters(), 0.05, momentum: 0.9),
                "adam" => new Adam(model.NamedParameters(), 0.01),
                _ => new RmsProp(model.NamedParameters(), 0.005),
            };
            var options = new TrainingOptions { Epochs = 8, BatchSize = 16, Patience = 0, Seed = 3, AllowCompiledStep = compiled };
            new Trainer(model, task, opt, options).Fit(train, validation);
            return model.Parameters().Select(p => p.ToDoubleArray()).ToArray();
        }

        var engine = Train(compiled: false);
        var fused = Train(compiled: true);
        // Rounding differences compound over 40 updates, so the bound is looser than for one gradient.
        for (int i = 0; i < engine.Length; i++)
            for (int j = 0; j < engine[i].Length; j++)
                Assert.True(Math.Abs(engine[i][j] - fused[i][j]) <= 1e-4 * Math.Max(1, Math.Abs(engine[i][j])), $"parameter {i}[{j}]: {engine[i][j]} vs {fused[i][j]}");
    }

    [Fact]
    public void FusedLinearKernelsMatchTheirNaiveReferences()
    {
        const int m = 37, inF = 45, outF = 29;
        var rng = new Rng(12);
        float[] R(int n) => Tensor.RandomNormal([n], rng).ToFloatArray();
        float[] x = R(m * inF), w = R(outF * inF), b = R(outF), dz = R(m * outF);
        float[] z1 = new float[m * outF], a1 = new float[m * outF], z2 = new float[m * outF], a2 = new float[m * outF];
        FusedLinear.LinearForward<float, TanhActivation>(z1, a1, x, w, b, m, inF, outF, 0f);
        FusedLinear.LinearForwardNaive<float, TanhActivation>(z2, a2, x, w, b, m, inF, outF, 0f);
        AssertClose([.. a2.Select(v => (double)v)], [.. a1.Select(v => (double)v)], DType.Float32, "a");

        float[] dx1 = new float[m * inF], dw1 = new float[outF * inF], db1 = new float[outF];
        float[] dx2 = new float[m * inF], dw2 = new float[outF * inF], db2 = new float[outF];
        FusedLinear.LinearBackward<float>(dx1, dw1, db1, dz, x, w, m, inF, outF);
        FusedLinear.LinearBackwardNaive<float>(dx2, dw2, db2, dz, x, w, m, inF, outF);
        AssertClose([.. dx2.Select(v => (double)v)], [.. dx1.Select(v => (double)v)], DType.Float32, "dx");
        AssertClose([.. dw2.Select(v => (double)v)], [.. dw1.Select(v => (double)v)], DType.Float32, "dW");
        AssertClose([.. db2.Select(v => (double)v)], [.. db1.Select(v => (double)v)], DType.Float32, "db");
    }
}
