using Backprop.Tests.Autodiff;

namespace Backprop.Tests.Functional;

/// <summary>
/// Every op in <see cref="OpInfos"/>: forward mode against float64 central differences, forward and
/// reverse mode against each other (⟨J u, w⟩ = ⟨u, Jᵀ w⟩), and a batch of tangents against the same
/// tangents pushed one at a time.
/// </summary>
public class OpModeConsistencyTests
{
    public static TheoryData<OpInfo> Ops => OpInfos.Rows();

    [Theory]
    [MemberData(nameof(Ops))]
    public void JvpMatchesCentralDifferences(OpInfo op)
    {
        var x = op.SampleInputs(11);
        var rng = new Rng(5);
        double h = op.Step;
        for (int trial = 0; trial < 2; trial++)
        {
            var u = x.Select(t => TestUtil.Normal(t.Shape, rng)).ToArray();
            var (_, ju) = Transforms.Jvp(op.Function, x, u);
            var plus = op.Function(x.Select((t, i) => (t + u[i] * h).Detach()).ToArray()).ToDoubleArray();
            var minus = op.Function(x.Select((t, i) => (t - u[i] * h).Detach()).ToArray()).ToDoubleArray();
            var analytic = ju.ToDoubleArray();
            for (int k = 0; k < analytic.Length; k++)
            {
                double numeric = (plus[k] - minus[k]) / (2 * h);
                Assert.True(Math.Abs(analytic[k] - numeric) <= 1e-6 + 1e-6 * Math.Abs(numeric),
                    $"{op}: output {k}: JVP {analytic[k]:R}, central difference {numeric:R}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Ops))]
    public void JvpAndVjpAreTransposes(OpInfo op)
    {
        var x = op.SampleInputs(21);
        var rng = new Rng(7);
        var yShape = op.Function(x).Shape.ToArray();
        for (int trial = 0; trial < 4; trial++)
        {
            var u = x.Select(t => TestUtil.Normal(t.Shape, rng)).ToArray();
            var w = TestUtil.Normal(yShape, rng);
            var (_, ju) = Transforms.Jvp(op.Function, x, u);
            var (_, jtw) = Transforms.Vjp(op.Function, x, w);
            double forward = TestUtil.Dot(ju, w), reverse = 0, scale = TestUtil.AbsDot(ju, w);
            for (int i = 0; i < x.Length; i++)
            {
                reverse += TestUtil.Dot(u[i], jtw[i]);
                scale += TestUtil.AbsDot(u[i], jtw[i]);
            }
            Assert.True(Math.Abs(forward - reverse) <= 1e-12 * scale + 1e-300,
                $"{op}: <J u, w> = {forward:R} but <u, J^T w> = {reverse:R} (rel {Math.Abs(forward - reverse) / scale:E2})");
        }
    }

    [Theory]
    [MemberData(nameof(Ops))]
    public void BatchedTangentsEqualOneTangentAtATime(OpInfo op)
    {
        const int k = 3;
        var x = op.SampleInputs(31);
        var rng = new Rng(9);
        var batches = x.Select(t => TestUtil.Normal([k, .. t.Shape], rng)).ToArray();
        int calls = 0;
        var (value, tangents) = Transforms.JvpMany(xs => { calls++; return op.Function(xs); }, x, batches);
        Assert.Equal(1, calls);
        TestUtil.AssertClose(op.Function(x), value, 0, op.ToString());
        for (int j = 0; j < k; j++)
        {
            var u = x.Select((t, i) => batches[i].Slice(0, j, 1).Reshape(t.Shape.ToArray())).ToArray();
            var (_, expected) = Transforms.Jvp(op.Function, x, u);
            TestUtil.AssertClose(expected, tangents.Slice(0, j, 1).Reshape(expected.Shape.ToArray()), 1e-13, $"{op}, direction {j}");
        }
    }

    /// <summary>An op with no batched rule of its own, to exercise the one-direction-at-a-time fallback.</summary>
    private sealed class CubeOp : Op
    {
        public override string Name => "Cube";
        public override Tensor Forward(Tensor[] x) => (x[0] * x[0] * x[0]).Detach();
        public override Tensor? Jvp(Tensor[] x, Tensor?[] tx, Tensor y) => tx[0] is { } t ? 3.0 * x[0].Square() * t : null;
        public override void Vjp(Tensor gy, Tensor[] x, Tensor y, ReadOnlySpan<bool> needsGrad, Tensor?[] gx) => gx[0] = 3.0 * x[0].Square() * gy;
    }

    [Fact]
    public void OpsWithoutABatchedRuleFallBackToOneJvpPerDirection()
    {
        var x = Tensor.FromArray([1.0, -2.0, 0.5], 3);
        var cube = (Tensor t) => Backprop.Autodiff.Apply(new CubeOp(), t).Sum();
        var hessian = Transforms.JacobianForward(Transforms.Grad(cube), x);
        TestUtil.AssertClose(Tensor.FromArray(new double[,] { { 6, 0, 0 }, { 0, -12, 0 }, { 0, 0, 3 } }), hessian, 1e-14);
        var (_, grad) = Transforms.FullGradientForwardMode(cube, x);
        TestUtil.AssertClose(Tensor.FromArray([3.0, 12.0, 0.75], 3), grad, 1e-14);
    }
}
