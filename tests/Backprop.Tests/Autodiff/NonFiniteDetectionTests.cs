namespace Backprop.Tests.Autodiff;

public class NonFiniteDetectionTests
{
    [Fact]
    public void NamesTheOpThatFirstMadeAnInfinity()
    {
        var x = Tensor.FromArray(new[] { 1f, 200f }, 2);
        using var _ = Backprop.Autodiff.DetectNonFinite();
        var error = Assert.Throws<NonFiniteException>(() => (x * 2.0).Exp().Sum());
        Assert.Equal("Exp", error.OpName);
        Assert.Contains("∞", error.Message.Replace("Infinity", "∞"));
    }

    [Fact]
    public void DoesNotBlameAnOpForANaNItWasGiven()
    {
        var x = Tensor.FromArray(new[] { 1.0, -1.0 }, [2], DType.Float64);
        using var _ = Backprop.Autodiff.DetectNonFinite();
        var error = Assert.Throws<NonFiniteException>(() => x.Log().Exp());
        Assert.Equal("Log", error.OpName); // log(−1) = NaN; Exp only passes it on
    }

    [Fact]
    public void ChecksTheBackwardPassToo()
    {
        var x = Tensor.FromArray(new[] { 0.0 }, [1], DType.Float64);
        x.RequiresGrad = true;
        var y = x.Sqrt().Sum(); // forward is finite: √0 = 0
        using var _ = Backprop.Autodiff.DetectNonFinite();
        var error = Assert.Throws<NonFiniteException>(() => y.Backward());
        Assert.Equal("Div", error.OpName); // the rule 0.5 / √x divides by zero
    }

    [Fact]
    public void IsOffOutsideTheScope()
    {
        var x = Tensor.FromArray(new[] { 1000f }, 1);
        Assert.Equal(float.PositiveInfinity, (float)x.Exp().Item());
    }
}
