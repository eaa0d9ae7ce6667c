using System.Globalization;

namespace Backprop.Explain;

/// <summary>
/// The gradient-descent step W[l] ← W[l] − α dW[l], b[l] ← b[l] − α db[l] on the explained rows, and the
/// loss on the same rows before and after it (what TensorFlow Playground's users ask to see).
/// </summary>
internal static class UpdateBuilder
{
    public static ExplainUpdate Build(Network net, HandPass hand, EngineCheck engine, ExplainOptions options)
    {
        double alpha = options.LearningRate ?? throw new BackpropException("explain: the update needs a learning rate.");
        if (!(alpha > 0) || !double.IsFinite(alpha)) throw new BackpropException($"explain: the learning rate α must be a positive number; got {alpha.ToString(CultureInfo.InvariantCulture)}.");
        bool cols = options.Layout == ExplainLayout.Columns;
        int L = net.L;
        var w = new Tensor[L + 1];
        var b = new Tensor[L + 1];
        var steps = new List<ExplainStep>();
        var arrow = F.Raw(" ← ", @" \leftarrow ", "<mo>←</mo>");
        var a = F.Raw("α", @"\alpha", "<mi>α</mi>");
        double predicted = 0;
        for (int l = 1; l <= L; l++)
        {
            w[l] = net.W[l] - hand.DW[l] * alpha;
            b[l] = net.B[l] - hand.Db[l].Reshape(-1) * alpha;
            // The check: the same step taken with the engine's float64 gradient.
            var w0 = net.W[l].ToDoubleArray();
            var b0 = net.B[l].ToDoubleArray();
            var expectW = w0.Select((v, i) => v - alpha * engine.DW[l][i]).ToArray();
            var expectB = b0.Select((v, i) => v - alpha * engine.Db[l][i]).ToArray();
            predicted -= alpha * (engine.DW[l].Sum(g => g * g) + engine.Db[l].Sum(g => g * g));
            string S(IReadOnlyList<int> d) => ShapeUtil.Format(d.ToArray());
            steps.Add(new ExplainStep($"W[{l}] updated", F.Var("W", l), F.Var("W", l) + arrow + F.Var("W", l) + F.Minus + a + F.Times + F.Var("dW", l),
                [net.W[l].Shape.ToArray(), net.W[l].Shape.ToArray()], $"{S(net.W[l].Shape.ToArray())} − α·{S(net.W[l].Shape.ToArray())} → {S(net.W[l].Shape.ToArray())}", w[l],
                StepBuilder.Compare(w[l], cols, expectW, null, net.DType, StepBuilder.StepKind.Weight),
                [$"α = {NumberFormat.Format(alpha, 6)}: each weight moves against its own derivative, by α times it."])
            { ParameterName = $"{2 * (l - 1)}.weight" });
            steps.Add(new ExplainStep($"b[{l}] updated", F.Var("b", l), F.Var("b", l) + arrow + F.Var("b", l) + F.Minus + a + F.Times + F.Var("db", l),
                [net.B[l].Shape.ToArray(), net.B[l].Shape.ToArray()], $"{S(net.B[l].Shape.ToArray())} − α·{S(net.B[l].Shape.ToArray())} → {S(net.B[l].Shape.ToArray())}", b[l],
                StepBuilder.Compare(b[l], cols, expectB, null, net.DType, StepBuilder.StepKind.Weight), [])
            { ParameterName = $"{2 * (l - 1)}.bias" });
        }
        var after = net.WithParameters(w, b);
        double before = hand.Loss.Item();
        double lossAfter = HandPass.Run(after, options.Layout, options.Convention).Loss.Item();
        double engineAfter = EngineCheck.LossOf(after);
        double tol = net.DType == DType.Float64 ? 1e-12 + 1e-10 * Math.Abs(engineAfter) : 1e-7 + 1e-4 * Math.Abs(engineAfter);
        var check = new StepCheck(Math.Abs(lossAfter - engineAfter), tol, null, 0, 0, 1);
        string F6(double v) => NumberFormat.Format(v, 6);
        double change = lossAfter - before;
        string verdict = change < 0
            ? $"The loss on these rows fell from {F6(before)} to {F6(lossAfter)} (by {F6(-change)}); the first-order prediction −α‖∇L‖² was {F6(predicted)}."
            : change == 0
                ? $"The loss on these rows did not change ({F6(before)}): the gradient is zero (or below rounding), so the step moved nothing."
                : $"The loss on these rows rose from {F6(before)} to {F6(lossAfter)} (by {F6(change)}), although to first order it should change by −α‖∇L‖² = {F6(predicted)}: " +
                  "α is too large for this step, so the curvature of the loss outweighs the linear decrease. Try a smaller --lr.";
        return new ExplainUpdate(alpha, steps, before, lossAfter, check, predicted, verdict);
    }
}
