namespace Backprop.Tests.Functional;

public class TransformTests
{
    private static Tensor S(double v) => TestUtil.Scalar(v);

    [Fact]
    public void GradOfAScalarFunctionMatchesTheFormula()
    {
        var x = Tensor.FromArray([0.5, -1.0, 2.0], [3], DType.Float64);
        // f = Σ x³ + Σ x, so ∇f = 3x² + 1.
        var (value, grad) = Transforms.ValueAndGrad(t => (t * t * t).Sum() + t.Sum(), x);
        Assert.Equal(0.125 - 1 + 8 + 1.5, value.Item(), 12);
        TestUtil.AssertClose(Tensor.FromArray([1.75, 4.0, 13.0], [3], DType.Float64), grad, 1e-15);
    }

    [Fact]
    public void GradWithSeveralInputsGivesOneGradientPerInputInItsShape()
    {
        var a = Tensor.FromArray(new double[,] { { 1, 2 }, { 3, 4 } }, DType.Float64);
        var b = Tensor.FromArray([0.5, -0.5], [2], DType.Float64);
        var grads = Transforms.Grad(xs => (xs[0] * xs[1]).Sum(), [a, b]);
        TestUtil.AssertClose(Tensor.FromArray(new double[,] { { 0.5, -0.5 }, { 0.5, -0.5 } }, DType.Float64), grads[0], 0);
        TestUtil.AssertClose(Tensor.FromArray([4.0, 6.0], [2], DType.Float64), grads[1], 0);
        var unused = Transforms.Grad(xs => xs[0].Sum(), [a, b]);
        TestUtil.AssertClose(Tensor.Zeros([2], DType.Float64), unused[1], 0);
    }

    [Fact]
    public void GradOfGradIsTheSecondDerivative()
    {
        Func<Tensor, Tensor> cube = x => x * x * x;
        var d1 = Transforms.Grad(cube);
        var d2 = Transforms.Grad(d1);
        var d3 = Transforms.Grad(d2);
        foreach (double x in new[] { -1.5, 0.0, 2.0 })
        {
            Assert.Equal(3 * x * x, d1(S(x)).Item(), 12);
            Assert.Equal(6 * x, d2(S(x)).Item(), 12);
            Assert.Equal(6, d3(S(x)).Item(), 12);
        }
    }

    [Fact]
    public void JacobiansByForwardAndReverseModeAgreeAndHaveOutputThenInputShape()
    {
        var w = TestUtil.Normal([4, 3], new Rng(3));
        Func<Tensor, Tensor> f = x => x.MatMul(w, transposeB: true).Tanh() * x.Sum(1, keepDims: true);
        var x = TestUtil.Normal([2, 3], new Rng(4));
        var forward = Transforms.JacobianForward(f, x);
        var reverse = Transforms.JacobianReverse(f, x);
        Assert.Equal(new[] { 2, 4, 2, 3 }, forward.Shape.ToArray());
        TestUtil.AssertClose(reverse, forward, 1e-13);
        // Small batches of directions give the same Jacobian.
        TestUtil.AssertClose(forward, Transforms.JacobianForward(f, x, directionsPerPass: 4), 1e-15);
        // Row (0, 1) of the Jacobian is the gradient of output element (0, 1).
        var row = Transforms.Grad(t => f(t).Slice(0, 0, 1).Slice(1, 1, 1).Sum(), x);
        TestUtil.AssertClose(row, forward.Slice(0, 0, 1).Slice(1, 1, 1).Reshape(2, 3), 1e-13);
    }

    [Fact]
    public void JvpManyRunsTheFunctionOnceForAllDirections()
    {
        var x = TestUtil.Normal([3, 2], new Rng(8));
        var v = TestUtil.Normal([7, 3, 2], new Rng(9));
        int calls = 0;
        Func<Tensor, Tensor> f = t => { calls++; return (t.Exp() * t).Softmax(0).MatMul(t, transposeB: true); };
        var (_, tangents) = Transforms.JvpMany(f, x, v);
        Assert.Equal(1, calls);
        Assert.Equal(new[] { 7, 3, 3 }, tangents.Shape.ToArray());
        for (int j = 0; j < 7; j++)
            TestUtil.AssertClose(Transforms.Jvp(f, x, v.Slice(0, j, 1).Reshape(3, 2)).Tangent, tangents.Slice(0, j, 1).Reshape(3, 3), 1e-13);
    }

    [Fact]
    public void FullGradientForwardModeRunsOncePerBatchOfDirections()
    {
        var x = TestUtil.Normal([10], new Rng(2));
        int calls = 0;
        Func<Tensor, Tensor> f = t => { calls++; return (t.Sigmoid() * t).Sum(); };
        var reverse = Transforms.Grad(f, x);
        calls = 0;
        var (_, all) = Transforms.FullGradientForwardMode(f, x);
        Assert.Equal(1, calls);
        TestUtil.AssertClose(reverse, all, 1e-14);
        calls = 0;
        var (_, chunked) = Transforms.FullGradientForwardMode(f, x, directionsPerPass: 3);
        Assert.Equal(4, calls);
        TestUtil.AssertClose(reverse, chunked, 1e-14);
    }

    [Fact]
    public void HessianVectorProductEqualsCentralDifferencesOfGradients()
    {
        var a = TestUtil.Normal([4, 5], new Rng(12));
        Func<Tensor, Tensor> f = x => (a.MatMul(x.Reshape(5, 1)).Tanh().Square().Sum() + (x * x * x).Sum() * 0.1);
        var x = TestUtil.Normal([5], new Rng(13));
        var v = TestUtil.Normal([5], new Rng(14));
        var hv = Transforms.HessianVectorProduct(f, x, v);
        const double h = 1e-5;
        var plus = Transforms.Grad(f, (x + v * h).Detach());
        var minus = Transforms.Grad(f, (x - v * h).Detach());
        TestUtil.AssertClose((plus - minus) / (2 * h), hv, 1e-8);
        TestUtil.AssertClose(Transforms.Hessian(f, x).MatMul(v.Reshape(5, 1)).Reshape(5), hv, 1e-12);
    }

    [Fact]
    public void HessianVectorProductWithSeveralInputs()
    {
        var a = TestUtil.Normal([3], new Rng(1));
        var b = TestUtil.Normal([2, 2], new Rng(2));
        Func<Tensor[], Tensor> f = xs => (xs[0].Sum() * xs[1]).Square().Sum() + xs[0].Exp().Sum();
        var va = TestUtil.Normal([3], new Rng(3));
        var vb = TestUtil.Normal([2, 2], new Rng(4));
        var hv = Transforms.HessianVectorProduct(f, [a, b], [va, vb]);
        const double h = 1e-5;
        var plus = Transforms.Grad(f, [(a + va * h).Detach(), (b + vb * h).Detach()]);
        var minus = Transforms.Grad(f, [(a - va * h).Detach(), (b - vb * h).Detach()]);
        for (int i = 0; i < 2; i++) TestUtil.AssertClose((plus[i] - minus[i]) / (2 * h), hv[i], 1e-8, $"input {i}");
    }

    [Fact]
    public void HessianOfAQuadraticFormIsItsSymmetrisedMatrix()
    {
        var a = Tensor.FromArray(new double[,] { { 2, 1, 0, -1 }, { 3, 4, 1, 0 }, { 0, -2, 5, 1 }, { 1, 0, 2, 3 } }, DType.Float64);
        var b = Tensor.FromArray([1.0, -1.0, 0.5, 2.0], [4], DType.Float64);
        Func<Tensor, Tensor> f = x => 0.5 * x.Reshape(1, 4).MatMul(a).MatMul(x.Reshape(4, 1)) + (b * x).Sum();
        var x = TestUtil.Normal([4], new Rng(6));
        var expected = (a + a.Transpose()) * 0.5;
        TestUtil.AssertClose(expected, Transforms.Hessian(f, x), 1e-14);
        TestUtil.AssertClose(expected, Transforms.JacobianReverse(Transforms.Grad(f), x), 1e-14);
        // The gradient is the symmetrised A times x, plus b.
        TestUtil.AssertClose(expected.MatMul(x.Reshape(4, 1)).Reshape(4) + b, Transforms.Grad(f, x), 1e-14);
    }

    // Siskind and Pearlmutter's example: d/dx [x · (d/dy (x + y))|y=1] at x = 1 is 1, since the inner
    // derivative is 1. An implementation that lets the inner derivative see the outer perturbation of x
    // computes d/dy (x + y) = 2 and answers 2.

    [Fact]
    public void NoPerturbationConfusionForwardOverForward()
    {
        var result = Transforms.Jvp(x => x * Transforms.Jvp(y => x + y, S(1), S(1)).Tangent, S(1), S(1)).Tangent;
        Assert.Equal(1.0, result.Item());
    }

    [Fact]
    public void NoPerturbationConfusionReverseOverReverse()
    {
        var result = Transforms.Grad(x => x * Transforms.Grad(y => x + y, S(1)), S(1));
        Assert.Equal(1.0, result.Item());
    }

    [Fact]
    public void NoPerturbationConfusionInMixedNestings()
    {
        var forwardOverReverse = Transforms.Jvp(x => x * Transforms.Grad(y => x + y, S(1)), S(1), S(1)).Tangent;
        var reverseOverForward = Transforms.Grad(x => x * Transforms.Jvp(y => x + y, S(1), S(1)).Tangent, S(1));
        var batchedOverReverse = Transforms.JacobianForward(x => x * Transforms.Grad(y => x + y, S(1)), S(1));
        var reverseOverBatched = Transforms.Grad(x => x * Transforms.JacobianForward(y => x + y, S(1)), S(1));
        Assert.Equal(1.0, forwardOverReverse.Item());
        Assert.Equal(1.0, reverseOverForward.Item());
        Assert.Equal(1.0, batchedOverReverse.Item());
        Assert.Equal(1.0, reverseOverBatched.Item());
    }

    [Fact]
    public void NestedDerivativesThatDependOnTheOuterVariable()
    {
        // d/dx [x · d/dy (x·y)] = d/dx x² = 2x: the inner derivative must keep its dependence on x.
        Func<Tensor, Tensor> g = x => x * Transforms.Grad(y => x * y, S(3));
        Assert.Equal(5.0, Transforms.Grad(g, S(2.5)).Item(), 14);
        Assert.Equal(5.0, Transforms.Jvp(g, S(2.5), S(1)).Tangent.Item(), 14);
    }

    [Fact]
    public void GradRejectsANonScalarFunction()
    {
        var ex = Assert.Throws<ShapeException>(() => Transforms.Grad(x => x * 2.0, Tensor.Ones([3], DType.Float64)));
        Assert.Contains("single element", ex.Message);
        Assert.Contains("(3,)", ex.Message);
        Assert.Throws<ShapeException>(() => Transforms.FullGradientForwardMode(x => x * 2.0, Tensor.Ones([3], DType.Float64)));
        Assert.Throws<ShapeException>(() => Transforms.Hessian(x => x.Exp(), Tensor.Ones([2], DType.Float64)));
        Assert.Throws<ShapeException>(() => ForwardGradient.Estimate(x => x.Exp(), Tensor.Ones([2], DType.Float64), new Rng(1)));
    }

    [Fact]
    public void TransformsRejectMismatchedShapes()
    {
        var x = Tensor.Ones([3], DType.Float64);
        var ex = Assert.Throws<ShapeException>(() => Transforms.HessianVectorProduct(t => t.Sum(), x, Tensor.Ones([4], DType.Float64)));
        Assert.Contains("direction 0 has shape (4,)", ex.Message);
        Assert.Throws<ShapeException>(() => Transforms.Jvp(t => t, x, Tensor.Ones([3, 1], DType.Float64)));
        var many = Assert.Throws<ShapeException>(() => Transforms.JvpMany(t => t, x, Tensor.Ones([3], DType.Float64)));
        Assert.Contains("(K, …that shape)", many.Message);
        Assert.Throws<ShapeException>(() => Transforms.JvpMany(xs => xs[0] + xs[1], [x, x], [Tensor.Ones([2, 3], DType.Float64), Tensor.Ones([5, 3], DType.Float64)]));
        Assert.Throws<BackpropException>(() => Transforms.Grad(xs => xs[0].Sum(), []));
        Assert.Throws<BackpropException>(() => Transforms.HessianVectorProduct(xs => xs[0].Sum(), [x, x], [x]));
    }
}
