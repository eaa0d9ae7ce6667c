using Backprop.Nn;

namespace Backprop.Tests.Nn;

/// <summary>Modules written the PyTorch way: members register themselves under PyTorch's names.</summary>
public class CustomModuleTests
{
    private sealed class Block : Module
    {
        public Linear Fc1 = new(4, 4, rng: new Rng(1));
        public Linear Fc2 = new(4, 4, bias: false, rng: new Rng(2));
        public override Tensor Forward(Tensor x) => x + Fc2.Forward(Fc1.Forward(x).Relu());
    }

    private sealed class Net : Module
    {
        private readonly Linear _encoder = new(3, 4, rng: new Rng(3));
        public Block[] Blocks { get; } = [new(), new()];
        [Buffer] public Tensor Scale { get; private set; } = Tensor.Full([1], 2.0);
        [NotRegistered] private readonly Linear _cache = new(1, 1);
        public BatchNorm1d Norm { get; } = new(4);
        private readonly Sequential _head = new(new ReLU(), new Linear(4, 2, rng: new Rng(4)));
        public Tensor Extra { get; }

        public Net() => Extra = RegisterParameter("extra", Tensor.Zeros([2]));

        public override Tensor Forward(Tensor x)
        {
            x = _encoder.Forward(x);
            foreach (var b in Blocks) x = b.Forward(x);
            return _head.Forward(Norm.Forward(x) * Scale) + Extra;
        }
    }

    [Fact]
    public void ParametersAreNamedLikePyTorchInDeclarationOrder()
    {
        var net = new Net();
        Assert.Equal(
            ["extra", "encoder.weight", "encoder.bias", "blocks.0.fc1.weight", "blocks.0.fc1.bias", "blocks.0.fc2.weight",
             "blocks.1.fc1.weight", "blocks.1.fc1.bias", "blocks.1.fc2.weight", "norm.weight", "norm.bias", "head.1.weight", "head.1.bias"],
            net.NamedParameters().Select(p => p.Name));
        Assert.Equal(["scale", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"], net.NamedBuffers().Select(b => b.Name));
        Assert.Equal(["encoder", "blocks.0", "blocks.1", "norm", "head"], net.NamedChildren().Select(c => c.Name));
        Assert.All(net.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.DoesNotContain(net.Buffers(), b => b.RequiresGrad);
        // As in PyTorch, a module's own parameters ("extra") come before its children's; every key once.
        Assert.Equal(net.NamedParameters().Count() + net.NamedBuffers().Count(), net.StateDict().Count);
    }

    [Fact]
    public void SequentialAndMlpKeepTheirNames()
    {
        var mlp = Mlp.Create(3, [5], 2, Activation.Relu, Init.Auto, new Rng(1));
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], mlp.StateDict().Keys);
        Assert.Equal(["0", "1", "2"], mlp.NamedChildren().Select(c => c.Name));
    }

    [Fact]
    public void ReprPrintsTheTreeLikePyTorch()
    {
        var model = new Sequential(new Conv2d(1, 8, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Flatten(), new Dropout(0.25), new Linear(128, 10), new GELU("tanh"));
        Assert.Equal(
            "Sequential(\n" +
            "  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n" +
            "  (1): ReLU()\n" +
            "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n" +
            "  (3): Flatten(start_dim=1, end_dim=-1)\n" +
            "  (4): Dropout(p=0.25, inplace=False)\n" +
            "  (5): Linear(in_features=128, out_features=10, bias=True)\n" +
            "  (6): GELU(approximate='tanh')\n" +
            ")", model.ToString());
        var net = new Net().ToString();
        Assert.Contains("  (blocks.0): Block(\n    (fc1): Linear(in_features=4, out_features=4, bias=True)\n", net);
        Assert.Contains("  (norm): BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", net);
    }

    [Fact]
    public void TrainAndEvalReachEveryModule()
    {
        var net = new Net();
        Assert.All(net.Modules(), m => Assert.True(m.Training));
        net.Eval();
        Assert.All(net.Modules(), m => Assert.False(m.Training));
        net.Train();
        Assert.All(net.Modules(), m => Assert.True(m.Training));
    }

    [Fact]
    public void ToConvertsParametersAndBuffersAndTheModelStillRuns()
    {
        var net = new Net();
        net.To(DType.Float64);
        Assert.All(net.StateDict().Values, t => Assert.Equal(DType.Float64, t.DType));
        Assert.All(net.Parameters(), p => Assert.True(p.RequiresGrad));
        var y = net.Forward(Tensor.RandomNormal([5, 3], 1, DType.Float64));
        Assert.Equal(DType.Float64, y.DType);
        y.Sum().Backward();
        Assert.All(net.Parameters(), p => Assert.NotNull(p.Grad));
    }

    [Fact]
    public void StateDictRoundTripsThroughAFile()
    {
        var dir = Directory.CreateTempSubdirectory("bp-modules-");
        try
        {
            var a = new Net();
            a.Forward(Tensor.RandomNormal([6, 3], 5));   // moves the BatchNorm running statistics
            var path = Path.Combine(dir.FullName, "net.safetensors");
            a.Save(path);
            var b = new Net();
            Initializers.ManualSeed(99);
            b.Load(path);
            foreach (var (name, t) in a.StateDict())
                Assert.Equal(t.ToDoubleArray(), b.StateDict()[name].ToDoubleArray());
            var x = Tensor.RandomNormal([4, 3], 6);
            a.Eval();
            b.Eval();
            Assert.Equal(a.Forward(x).ToDoubleArray(), b.Forward(x).ToDoubleArray());
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void LoadStateDictListsMissingUnexpectedAndMisShapedEntries()
    {
        var net = new Net();
        var state = net.StateDict();
        state.Remove("encoder.bias");
        state.Remove("norm.running_var");
        state["decoder.weight"] = Tensor.Zeros([2, 2]);
        state["head.1.weight"] = Tensor.Zeros([3, 4]);
        var e = Assert.Throws<StateDictException>(() => net.LoadStateDict(state));
        Assert.Equal(["encoder.bias", "norm.running_var"], e.Missing);
        Assert.Equal(["decoder.weight"], e.Unexpected);
        Assert.Single(e.WrongShape);
        Assert.Contains("'head.1.weight': the file has (3, 4), the model (2, 4)", e.Message);
        Assert.Contains("missing 2: 'encoder.bias', 'norm.running_var'", e.Message);
        Assert.Contains("unexpected 1: 'decoder.weight'", e.Message);

        // Non-strict: names may be missing or unexpected, shapes must still fit; the rest is loaded.
        state["head.1.weight"] = Tensor.Full([2, 4], 0.5);
        var result = net.LoadStateDict(state, strict: false);
        Assert.Equal(["encoder.bias", "norm.running_var"], result.MissingKeys);
        Assert.Equal(["decoder.weight"], result.UnexpectedKeys);
        Assert.All(net.StateDict()["head.1.weight"].ToDoubleArray(), v => Assert.Equal(0.5, v));
    }

    [Fact]
    public void AModelTrainedByTheCliStillLoadsIntoAnMlp()
    {
        var mlp = Mlp.Create(4, [8], 3, Activation.Relu, Init.Auto, new Rng(1));
        var dir = Directory.CreateTempSubdirectory("bp-modules-");
        try
        {
            var path = Path.Combine(dir.FullName, "mlp.safetensors");
            mlp.Save(path);
            var file = Backprop.Serialization.SafeTensors.Read(path);
            Assert.Equal(["0.bias", "0.weight", "2.bias", "2.weight"], file.Tensors.Select(t => t.Name).Order());
            var again = Mlp.Create(4, [8], 3, Activation.Relu, Init.Auto, new Rng(2));
            again.Load(path);
            var x = Tensor.RandomNormal([3, 4], 3);
            Assert.Equal(mlp.Forward(x).ToDoubleArray(), again.Forward(x).ToDoubleArray());
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void DefaultDTypeIsFloat32AndFactoriesFollowIt()
    {
        Assert.Equal(DType.Float32, Tensor.DefaultDType);
        Assert.Equal(DType.Float32, Tensor.FromArray([1.0, 2.0], 2).DType);
        Assert.Equal(DType.Float32, Tensor.FromArray(new double[,] { { 1, 2 } }).DType);
        Assert.Equal(DType.Float32, new Linear(2, 2).Weight.DType);
        // The first attempt of a PyTorch user now works: float64 arrays meet float32 layers as float32.
        var y = new Linear(2, 3).Forward(Tensor.FromArray([1.0, 2.0], 1, 2));
        Assert.Equal(DType.Float32, y.DType);
        using (Tensor.UseDefaultDType(DType.Float64))
        {
            Assert.Equal(DType.Float64, Tensor.FromArray([1.0], 1).DType);
            Assert.Equal(DType.Float64, Tensor.Zeros([2]).DType);
            Assert.Equal(DType.Float64, new Conv2d(1, 1, 1).Weight.DType);
        }
        Assert.Equal(DType.Float32, Tensor.Zeros([2]).DType);
        Assert.Equal(DType.Float64, Tensor.FromArray([1.0], [1], DType.Float64).DType);
    }

    [Fact]
    public void MixingDTypesIsAnErrorThatSaysHowToConvert()
    {
        var e = Assert.Throws<BackpropException>(() => new Linear(2, 2).Forward(Tensor.FromArray([1.0, 2.0], [1, 2], DType.Float64)));
        Assert.Contains("To(DType)", e.Message);
    }

    [Fact]
    public void Int64EntriesAsPyTorchWritesThemLoadAsFloat64()
    {
        // num_batches_tracked as safetensors.torch.save_file writes it: I64, rank 0; and an I64 vector.
        string header = "{\"nbt\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},\"v\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[8,24]}}";
        header += new string(' ', (8 - header.Length % 8) % 8);
        var bytes = new List<byte>(BitConverter.GetBytes((ulong)header.Length));
        bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(header));
        foreach (long v in new long[] { 7, -3, 1L << 40 }) bytes.AddRange(BitConverter.GetBytes(v));
        var file = Backprop.Serialization.SafeTensors.Parse(bytes.ToArray());
        Assert.Equal(DType.Float64, file["nbt"].DType);
        Assert.Equal([7.0], file["nbt"].ToDoubleArray());
        Assert.Equal([-3.0, 1L << 40], file["v"].ToDoubleArray());
    }
}
