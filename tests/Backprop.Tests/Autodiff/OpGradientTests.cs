namespace Backprop.Tests.Autodiff;

/// <summary>The generic tests every op row in <see cref="OpInfos"/> must pass.</summary>
public class OpGradientTests
{
    public static TheoryData<OpInfo> Ops => OpInfos.Rows();

    [Theory]
    [MemberData(nameof(Ops))]
    public void ReverseAndForwardModeMatchCentralDifferences(OpInfo op)
    {
        foreach (ulong seed in new ulong[] { 1, 2 })
        {
            var inputs = op.SampleInputs(seed);
            var result = GradCheck.Check(op.Function, inputs, op.Step, absoluteTolerance: 1e-7, relativeTolerance: 1e-6);
            Assert.True(result.Passed, $"{op}\n{result}");
        }
    }

    [Theory]
    [MemberData(nameof(Ops))]
    public void GradientsComeBackInEachInputsShape(OpInfo op)
    {
        var inputs = op.SampleInputs(3);
        foreach (var x in inputs) x.RequiresGrad = true;
        var y = op.Function(inputs);
        y.Sum().Backward();
        foreach (var x in inputs)
        {
            Assert.NotNull(x.Grad);
            Assert.Equal(x.Shape.ToArray(), x.Grad!.Shape.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Ops))]
    public void Float32ForwardAgreesWithFloat64(OpInfo op)
    {
        var y64 = op.Function(op.SampleInputs(4, DType.Float64));
        var y32 = op.Function(op.SampleInputs(4, DType.Float32));
        Assert.Equal(DType.Float32, y32.DType);
        Assert.Equal(y64.Shape.ToArray(), y32.Shape.ToArray());
        var a = y64.ToDoubleArray();
        var b = y32.ToDoubleArray();
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5 * (1 + Math.Abs(a[i])), $"{op}: element {i}: float64 {a[i]}, float32 {b[i]}");
    }
}
