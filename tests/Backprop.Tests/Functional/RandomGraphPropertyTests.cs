using CsCheck;

namespace Backprop.Tests.Functional;

/// <summary>
/// Property tests on random computation graphs: a random sequence of ops over three inputs of
/// different shapes, each op reading earlier values (inputs or results, so values are reused) and
/// broadcasting them against each other. Forward mode, reverse mode and the transforms built on them
/// must agree on every graph.
/// </summary>
public class RandomGraphPropertyTests
{
    /// <summary>One op of the graph; A and B pick its operands among the values computed so far.</summary>
    public readonly record struct Step(int Kind, int A, int B)
    {
        public override string ToString() => $"{KindNames[Kind]}(v{A}, v{B})";
    }

    private static readonly string[] KindNames =
    [
        "add", "sub", "mul", "div", "tanh", "sigmoid", "softplus", "gauss", "mul-tanh", "sum0",
        "logsumexp", "softmax", "matmul", "where", "max", "concat-slice", "reshape-transpose", "relu", "mean",
    ];

    private static readonly int[][] InputShapes = [[3, 4], [4], [3, 1]];
    private static readonly int[] Full = [3, 4];

    private static readonly Gen<Step[]> GenGraph =
        Gen.Select(Gen.Int[0, KindNames.Length - 1], Gen.Int[0, 1000], Gen.Int[0, 1000], (k, a, b) => new Step(k, a, b)).Array[2, 10];

    private static readonly Gen<(Step[], int)> GenGraphAndSeed = Gen.Select(GenGraph, Gen.Int[1, 1_000_000]);

    private static readonly Tensor Condition = Tensor.FromArray([1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0], [3, 4], DType.Float64);

    /// <summary>Interprets the steps on the inputs; every value keeps a shape that broadcasts to (3, 4).</summary>
    private static List<Tensor> Evaluate(Step[] steps, Tensor[] x)
    {
        var values = new List<Tensor>(x);
        foreach (var s in steps)
        {
            var a = values[s.A % values.Count];
            var b = values[s.B % values.Count];
            values.Add(s.Kind switch
            {
                0 => a + b,
                1 => a - b,
                2 => a * b,
                3 => a / (1.0 + b.Square()),
                4 => a.Tanh(),
                5 => a.Sigmoid(),
                6 => a.Softplus(),
                7 => (-a.Square()).Exp(),
                8 => a * b.Tanh(),
                9 => a.Rank == 0 ? a : a.Sum(0, keepDims: true),
                10 => a.Rank == 0 ? a : a.LogSumExp(-1, keepDims: true),
                11 => a.Rank == 0 ? a : a.Softmax(-1),
                12 => a.BroadcastTo(Full).MatMul(b.BroadcastTo(Full), transposeB: true).Tanh().MatMul(a.BroadcastTo(Full)) * 0.25,
                13 => TensorOps.Where(Condition, a, b),
                14 => a.Rank == 0 ? a : a.Max(-1, keepDims: true),
                15 => TensorOps.Concat([a.BroadcastTo(Full), b.BroadcastTo(Full)], 1).Slice(1, 2, 4),
                16 => a.BroadcastTo(Full).Reshape(4, 3).Transpose(),
                17 => a.Relu(),
                _ => a.Mean(),
            });
        }
        return values;
    }

    /// <summary>A vector output that depends on the last values computed (and through them on earlier ones).</summary>
    private static Tensor VectorOutput(Step[] steps, Tensor[] x)
    {
        var values = Evaluate(steps, x);
        return values[^1].BroadcastTo(Full) + 0.5 * values[^2].BroadcastTo(Full);
    }

    private static readonly Tensor OutputWeights = Tensor.FromArray([0.7, -1.1, 0.4, 0.9, -0.3, 1.3, 0.2, -0.8, 1.0, 0.6, -0.5, 0.15], [3, 4], DType.Float64);

    private static Tensor ScalarOutput(Step[] steps, Tensor[] x) => (VectorOutput(steps, x) * OutputWeights).Sum();

    private static Tensor[] Inputs(int seed)
    {
        var rng = new Rng((ulong)seed);
        return InputShapes.Select(s => TestUtil.Normal(s, rng)).ToArray();
    }

    private static string Describe(Step[] steps) => string.Join(" ", steps.Select((s, i) => $"v{i + 3}={s}"));

    [Fact]
    public void ForwardAndReverseModeAgree()
    {
        GenGraphAndSeed.Sample((steps, seed) =>
        {
            var x = Inputs(seed);
            var rng = new Rng((ulong)seed + 1);
            var u = x.Select(t => TestUtil.Normal(t.Shape, rng)).ToArray();
            var (_, forward) = Transforms.Jvp(xs => ScalarOutput(steps, xs), x, u);
            var reverse = Transforms.Grad(xs => ScalarOutput(steps, xs), x);
            double dot = 0, scale = Math.Abs(forward.Item());
            for (int i = 0; i < x.Length; i++)
            {
                dot += TestUtil.Dot(reverse[i], u[i]);
                scale += TestUtil.AbsDot(reverse[i], u[i]);
            }
            // The same absolute floor as AssertClose: when the exact derivative is 0 (a softmax summed
            // over its axis is constant), both sides are rounding noise near 1e-17 and a purely
            // relative bound fails at random.
            Assert.True(Math.Abs(forward.Item() - dot) <= 1e-11 * (1 + scale),
                $"{Describe(steps)}: J·u = {forward.Item():R}, ∇·u = {dot:R}");
        }, iter: 150);
    }

    [Fact]
    public void FullGradientByForwardModeEqualsReverseMode()
    {
        GenGraphAndSeed.Sample((steps, seed) =>
        {
            var x = Inputs(seed);
            var reverse = Transforms.Grad(xs => ScalarOutput(steps, xs), x);
            int calls = 0;
            // Odd seeds split the P = 19 directions into several passes.
            int perPass = seed % 2 == 0 ? 0 : 1 + seed % 7;
            var (_, forward) = Transforms.FullGradientForwardMode(xs => { calls++; return ScalarOutput(steps, xs); }, x, perPass);
            Assert.Equal(perPass == 0 ? 1 : (19 + perPass - 1) / perPass, calls);
            for (int i = 0; i < x.Length; i++) TestUtil.AssertClose(reverse[i], forward[i], 1e-11, $"{Describe(steps)}, input {i}");
        }, iter: 150);
    }

    [Fact]
    public void JacobianForwardEqualsJacobianReverse()
    {
        GenGraphAndSeed.Sample((steps, seed) =>
        {
            var x = Inputs(seed);
            var forward = Transforms.JacobianForward(xs => VectorOutput(steps, xs), x);
            var reverse = Transforms.JacobianReverse(xs => VectorOutput(steps, xs), x);
            for (int i = 0; i < x.Length; i++) TestUtil.AssertClose(reverse[i], forward[i], 1e-11, $"{Describe(steps)}, input {i}");
        }, iter: 100);
    }

    [Fact]
    public void HessianVectorProductAgreesWithTheForwardModeHessian()
    {
        GenGraphAndSeed.Sample((steps, seed) =>
        {
            var x = Inputs(seed)[0];
            Func<Tensor, Tensor> f = t => ScalarOutput(steps, [t, t.Sum(0), t.Mean(1, keepDims: true)]);
            var v = TestUtil.Normal([3, 4], new Rng((ulong)seed + 2));
            var hv = Transforms.HessianVectorProduct(f, x, v);
            var h = Transforms.Hessian(f, x).Reshape(12, 12);
            TestUtil.AssertClose(h.MatMul(v.Reshape(12, 1)).Reshape(3, 4), hv, 1e-10, Describe(steps));
        }, iter: 60);
    }
}
