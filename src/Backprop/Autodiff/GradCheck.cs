using System.Globalization;
using System.Text;

namespace Backprop;

/// <summary>How one input's analytic gradient compared with central differences.</summary>
/// <param name="Index">Which input.</param>
/// <param name="Shape">The input's shape.</param>
/// <param name="MaxAbsError">Largest |analytic − numeric| over its elements.</param>
/// <param name="MaxRelError">Largest relative error over its elements.</param>
/// <param name="WorstElement">The flat index of the element with the largest absolute error.</param>
/// <param name="Analytic">The analytic value at the worst element.</param>
/// <param name="Numeric">The central difference at the worst element.</param>
/// <param name="AnalyticValues">
/// Every element's analytic derivative of ⟨w, f⟩: for a scalar f (w = 1) the gradient ∂f/∂x itself.
/// </param>
/// <param name="NumericValues">The central differences of ⟨w, f⟩ for the same elements.</param>
/// <param name="Passed">Whether every element was within tolerance.</param>
public sealed record GradCheckInputReport(int Index, int[] Shape, double MaxAbsError, double MaxRelError, int WorstElement, double Analytic, double Numeric, bool Passed,
    double[] AnalyticValues, double[] NumericValues);

/// <summary>The outcome of <c>GradCheck.Check</c>: one report per input, plus the forward-mode checks.</summary>
public sealed class GradCheckResult
{
    public required IReadOnlyList<GradCheckInputReport> Inputs { get; init; }
    /// <summary>Largest |J·u − finite difference of f along u| over the outputs, for a random direction u.</summary>
    public required double JvpMaxAbsError { get; init; }
    public required bool JvpPassed { get; init; }
    /// <summary>|⟨w, J·u⟩ − ⟨Jᵀ·w, u⟩| relative to their size: forward and reverse mode agreeing.</summary>
    public required double TransposeRelError { get; init; }
    public required bool TransposePassed { get; init; }
    /// <summary>
    /// True when f returned one number: the cotangent is then 1, so the reports hold the gradient
    /// itself; otherwise they hold the gradient of ⟨w, f⟩ for the random cotangent w.
    /// </summary>
    public required bool ScalarOutput { get; init; }

    public bool Passed => JvpPassed && TransposePassed && Inputs.All(r => r.Passed);
    public double MaxAbsError => Inputs.Count == 0 ? 0 : Inputs.Max(r => r.MaxAbsError);
    public double MaxRelError => Inputs.Count == 0 ? 0 : Inputs.Max(r => r.MaxRelError);

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.AppendLine(Passed ? "gradcheck passed" : "gradcheck FAILED");
        foreach (var r in Inputs)
        {
            sb.Append(string.Create(CultureInfo.InvariantCulture,
                $"  input {r.Index} {ShapeUtil.Format(r.Shape)}: max abs error {r.MaxAbsError:E2}, max rel error {r.MaxRelError:E2}"));
            if (!r.Passed)
                sb.Append(string.Create(CultureInfo.InvariantCulture, $"  <- element {r.WorstElement}: analytic {r.Analytic:G10}, numeric {r.Numeric:G10}"));
            sb.AppendLine();
            // For a scalar f the numbers are the gradient itself, worth seeing when there are few.
            if (ScalarOutput && r.AnalyticValues.Length <= 12)
            {
                sb.AppendLine("    analytic ∂f/∂x = [" + string.Join(", ", r.AnalyticValues.Select(v => v.ToString("G10", CultureInfo.InvariantCulture))) + "]");
                sb.AppendLine("    numeric  ∂f/∂x = [" + string.Join(", ", r.NumericValues.Select(v => v.ToString("G10", CultureInfo.InvariantCulture))) + "]");
            }
        }
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  forward mode (JVP vs finite differences): max abs error {JvpMaxAbsError:E2}{(JvpPassed ? "" : "  <- FAILED")}"));
        sb.Append(string.Create(CultureInfo.InvariantCulture, $"  <w, J u> vs <J^T w, u>: rel error {TransposeRelError:E2}{(TransposePassed ? "" : "  <- FAILED")}"));
        return sb.ToString();
    }
}

/// <summary>
/// Checks the derivatives of any function of tensors against float64 central differences
/// (f(x + h·e) − f(x − h·e)) / 2h, in reverse mode and in forward mode, and checks the two modes against
/// each other with ⟨w, J·u⟩ = ⟨Jᵀ·w, u⟩ (docs/math.md). A scalar output is differentiated as it is
/// (w = 1), so the reports carry the gradient itself; a non-scalar output is reduced with a random
/// cotangent w, which tests every output's derivative at once with probability 1.
/// </summary>
public static class GradCheck
{
    /// <param name="f">The function; it receives float64 copies of the inputs.</param>
    /// <param name="inputs">Points to check at (any dtype; converted to float64).</param>
    /// <param name="step">The finite-difference step h.</param>
    /// <param name="absoluteTolerance">An element passes when |analytic − numeric| ≤ atol + rtol·|numeric|.</param>
    /// <param name="relativeTolerance">See <paramref name="absoluteTolerance"/>.</param>
    /// <param name="seed">Seed for the random cotangent and tangent directions.</param>
    public static GradCheckResult Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double step = 1e-6,
        double absoluteTolerance = 1e-6, double relativeTolerance = 1e-5, ulong seed = 12345)
    {
        var x = inputs.Select(t => t.Detach().To(DType.Float64)).ToArray();
        var rng = new Rng(seed);
        var y0 = Evaluate(f, x);
        bool scalar = y0.Length == 1;
        // A random cotangent would scale a scalar gradient by a random number (8 shown as 3.06);
        // the draw is still made so the tangent directions below do not depend on the output's size.
        var w = Tensor.RandomNormal(y0.Dims, rng, dtype: DType.Float64);
        if (scalar) w = Tensor.OnesLike(w);

        var (_, analytic) = Transforms.Vjp(f, x, w);
        var reports = new List<GradCheckInputReport>();
        for (int i = 0; i < x.Length; i++)
        {
            var a = analytic[i].ToDoubleArray();
            var values = x[i].Span<double>();
            var numericValues = new double[values.Length];
            double maxAbs = 0, maxRel = 0, worstA = 0, worstN = 0;
            int worst = -1;
            bool passed = true;
            for (int j = 0; j < values.Length; j++)
            {
                double saved = values[j];
                values[j] = saved + step;
                double plus = Dot(Evaluate(f, x), w);
                values[j] = saved - step;
                double minus = Dot(Evaluate(f, x), w);
                values[j] = saved;
                double numeric = (plus - minus) / (2 * step);
                numericValues[j] = numeric;
                double err = Math.Abs(a[j] - numeric);
                // NaN compares false, so a NaN on either side fails the element.
                bool ok = err <= absoluteTolerance + relativeTolerance * Math.Abs(numeric);
                passed &= ok;
                maxRel = Math.Max(maxRel, err / Math.Max(Math.Max(Math.Abs(numeric), Math.Abs(a[j])), absoluteTolerance));
                if (worst < 0 || !(err <= maxAbs))
                {
                    maxAbs = double.IsNaN(err) ? double.PositiveInfinity : err;
                    worst = j;
                    worstA = a[j];
                    worstN = numeric;
                }
            }
            reports.Add(new GradCheckInputReport(i, x[i].Dims.ToArray(), maxAbs, maxRel, worst, worstA, worstN, passed, a, numericValues));
        }

        // Forward mode along a random direction u: J·u against the central difference of f along u.
        var u = x.Select(t => Tensor.RandomNormal(t.Dims, rng, dtype: DType.Float64)).ToArray();
        var (_, ju) = Transforms.Jvp(f, x, u);
        var plusX = x.Select((t, i) => (t + u[i] * step).Detach()).ToArray();
        var minusX = x.Select((t, i) => (t - u[i] * step).Detach()).ToArray();
        var fdPlus = Evaluate(f, plusX).ToDoubleArray();
        var fdMinus = Evaluate(f, minusX).ToDoubleArray();
        var juValues = ju.ToDoubleArray();
        double jvpErr = 0;
        bool jvpOk = true;
        for (int k = 0; k < juValues.Length; k++)
        {
            double numeric = (fdPlus[k] - fdMinus[k]) / (2 * step);
            double err = Math.Abs(juValues[k] - numeric);
            jvpErr = Math.Max(jvpErr, err);
            if (!(err <= absoluteTolerance + relativeTolerance * Math.Abs(numeric))) jvpOk = false;
        }

        double forward = Dot(ju, w);
        double reverse = 0;
        for (int i = 0; i < x.Length; i++) reverse += Dot(analytic[i], u[i]);
        double scale = Math.Max(Math.Max(Math.Abs(forward), Math.Abs(reverse)), 1e-300);
        double transposeRel = Math.Abs(forward - reverse) / scale;
        bool transposeOk = Math.Abs(forward - reverse) <= 1e-10 * scale + 1e-12;

        return new GradCheckResult
        {
            Inputs = reports,
            JvpMaxAbsError = jvpErr,
            JvpPassed = jvpOk,
            TransposeRelError = transposeRel,
            TransposePassed = transposeOk,
            ScalarOutput = scalar,
        };
    }

    /// <summary>Check for a function of one tensor.</summary>
    public static GradCheckResult Check(Func<Tensor, Tensor> f, Tensor x, double step = 1e-6, double absoluteTolerance = 1e-6, double relativeTolerance = 1e-5) =>
        Check(xs => f(xs[0]), [x], step, absoluteTolerance, relativeTolerance);

    private static Tensor Evaluate(Func<Tensor[], Tensor> f, Tensor[] x)
    {
        var y = f(x);
        if (y.DType != DType.Float64)
            throw new BackpropException($"GradCheck: f returned {y.DType.Name()} for float64 inputs; make f keep its inputs' dtype (create constants with the inputs' DType).");
        return y.Detach();
    }

    private static double Dot(Tensor a, Tensor b) =>
        System.Numerics.Tensors.TensorPrimitives.Dot<double>(a.ToDoubleArray(), b.ToDoubleArray());
}
