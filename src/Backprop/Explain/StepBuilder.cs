using System.Globalization;

namespace Backprop.Explain;

/// <summary>Turns the hand pass and the engine's numbers into named, formulated, checked steps.</summary>
internal static class StepBuilder
{
    public static MlpExplanation Build(Network net, HandPass hand, EngineCheck engine, ExplainOptions options)
    {
        bool cols = options.Layout == ExplainLayout.Columns;
        int L = net.L, m = net.M;
        var forward = new List<ExplainStep>();
        var backward = new List<ExplainStep>();
        string S(params int[] dims) => ShapeUtil.Format(dims);
        int[] Act(int l) => cols ? [net.Sizes[l], m] : [m, net.Sizes[l]];
        int[] WShape(int l) => [net.Sizes[l], net.Sizes[l - 1]];
        int[] WtShape(int l) => [net.Sizes[l - 1], net.Sizes[l]];
        int[] BShape(int l) => cols ? [net.Sizes[l], 1] : [net.Sizes[l]];
        var yHat = F.Var("ŷ");
        var y = F.Var("y");
        string example = cols ? "column" : "row";

        // Forward pass.
        forward.Add(new ExplainStep("a[0]", F.Var("a", 0),
            F.Var("a", 0) + F.Eq + (cols ? F.Var("x") : F.Var("X")),
            [Act(0)], S(Act(0)), hand.A[0], StepCheck.None(hand.A[0].Length),
            [cols
                ? $"The input x holds the m = {m} chosen examples as columns: one column per example, one row per feature (n_0 = {net.Sizes[0]})."
                : $"The input X holds the m = {m} chosen examples as rows: one row per example, one column per feature (n_0 = {net.Sizes[0]})."]));
        for (int l = 1; l <= L; l++)
        {
            var zl = F.Var("z", l);
            var formulaZ = cols
                ? zl + F.Eq + F.Var("W", l) + F.Times + F.Var("a", l - 1) + F.Plus + F.Var("b", l)
                : zl + F.Eq + F.Var("a", l - 1) + F.Times + F.Var("W", l, transpose: true) + F.Plus + F.Var("b", l);
            int[][] zOperands = cols ? [WShape(l), Act(l - 1), BShape(l)] : [Act(l - 1), WtShape(l), BShape(l)];
            forward.Add(new ExplainStep($"z[{l}]", zl, formulaZ, zOperands,
                $"{S(zOperands[0])}·{S(zOperands[1])} + {S(zOperands[2])} → {S(Act(l))}",
                hand.Z[l], Compare(hand.Z[l], cols, engine.Z[l], null, net.DType),
                [cols
                    ? $"b[{l}] {S(BShape(l))} is added to every column: the same bias for each of the m = {m} examples (broadcasting)."
                    : $"b[{l}] {S(BShape(l))} is added to every row: the same bias for each of the m = {m} examples (broadcasting). W[{l}] is stored (out, in) = {S(WShape(l))}, so the rows layout multiplies by its transpose."]));

            var g = net.Activations[l];
            var al = F.Var("a", l);
            var formulaA = al + F.Eq + ActivationFormula(g, net.Slopes[l], zl);
            var notesA = new List<string>();
            string how = $"{Network.ActivationName(g, net.Slopes[l])} applied to each entry";
            if (l == L)
            {
                formulaA = yHat + F.Eq + formulaA;
                notesA.Add(net.Task switch
                {
                    ExplainTask.Binary => "ŷ = a[L] is the predicted probability of class 1 for each example.",
                    ExplainTask.Multiclass => $"ŷ = a[L] holds each example's class probabilities: each {example} sums to 1.",
                    _ => "ŷ = a[L] = z[L]: a regression network outputs its last pre-activation unchanged.",
                });
                if (g == Activation.Softmax) how = $"softmax over each {example} (each example's classes)";
            }
            forward.Add(new ExplainStep($"a[{l}]", al, formulaA, [Act(l)], $"{how}: {S(Act(l))} → {S(Act(l))}",
                hand.A[l], Compare(hand.A[l], cols, engine.A[l], null, net.DType), notesA));
        }
        forward.Add(new ExplainStep("loss", F.Ident("L"), LossFormula(net.Task, cols), [Act(L), Act(L)],
            $"{S(Act(L))}, {S(Act(L))} → scalar", hand.Loss, Compare(hand.Loss, cols, [engine.Loss], null, net.DType),
            LossNotes(net, hand)));

        // Backward pass.
        var deltaL = F.Var("δ", L);
        var deltaFormula = net.Task == ExplainTask.Regression
            ? deltaL + F.Eq + F.Frac(F.Num("2") + F.Paren(yHat + F.Minus + y), F.Ident("m") + F.Dot + F.Sub(F.Ident("n"), "_L", "L", "<mi>L</mi>"))
            : deltaL + F.Eq + F.Frac(F.Paren(yHat + F.Minus + y), F.Ident("m"));
        backward.Add(new ExplainStep($"delta[{L}]", deltaL, deltaFormula, [Act(L), Act(L)],
            $"{S(Act(L))} − {S(Act(L))} → {S(Act(L))}", hand.Delta[L],
            Compare(hand.Delta[L], cols, engine.Delta[L], engine.FdDelta[L], net.DType), DeltaDerivation(net, cols)));
        for (int l = L; l >= 1; l--)
        {
            var dl = F.Var("δ", l);
            int[][] dwOperands = [[net.Sizes[l], m], [m, net.Sizes[l - 1]]];
            var dwFormula = cols
                ? F.Var("dW", l) + F.Eq + dl + F.Times + F.Var("a", l - 1, transpose: true)
                : F.Var("dW", l) + F.Eq + F.Var("δ", l, transpose: true) + F.Times + F.Var("a", l - 1);
            backward.Add(new ExplainStep($"dW[{l}]", F.Var("dW", l), dwFormula, dwOperands,
                $"{S(dwOperands[0])}·{S(dwOperands[1])} → {S(WShape(l))}", hand.DW[l],
                Compare(hand.DW[l], cols, engine.DW[l], engine.FdDW[l], net.DType, kind: StepKind.Weight),
                [$"The product sums over the m = {m} examples: entry (i, k) is Σ_j δ[{l}] of unit i times a[{l - 1}] of unit k, both for example j.",
                 $"dW[{l}] has the shape of W[{l}], (out, in) = {S(WShape(l))}: it is what PyTorch reports as weight.grad."]));

            var dbFormula = cols
                ? F.Var("db", l) + F.Eq + F.Sum("j", "m", F.Sub(dl, "[:, j]", ":,j", "<mo>:</mo><mo>,</mo><mi>j</mi>"))
                : F.Var("db", l) + F.Eq + F.Sum("i", "m", F.Sub(dl, "[i, :]", "i,:", "<mi>i</mi><mo>,</mo><mo>:</mo>"));
            backward.Add(new ExplainStep($"db[{l}]", F.Var("db", l), dbFormula, [Act(l)],
                $"{S(Act(l))} summed over the {m} {example}s → {S(BShape(l))}", hand.Db[l],
                Compare(hand.Db[l], cols, engine.Db[l], engine.FdDb[l], net.DType, kind: StepKind.Weight),
                [$"b[{l}] was added to every example, so its gradient collects every example's δ[{l}]."]));

            if (l == 1) break;
            int[][] daOperands = cols ? [WtShape(l), Act(l)] : [Act(l), WShape(l)];
            var daFormula = cols
                ? F.Var("da", l - 1) + F.Eq + F.Var("W", l, transpose: true) + F.Times + dl
                : F.Var("da", l - 1) + F.Eq + dl + F.Times + F.Var("W", l);
            backward.Add(new ExplainStep($"da[{l - 1}]", F.Var("da", l - 1), daFormula, daOperands,
                $"{S(daOperands[0])}·{S(daOperands[1])} → {S(Act(l - 1))}", hand.DA[l - 1],
                Compare(hand.DA[l - 1], cols, engine.DA[l - 1], engine.FdDA[l - 1], net.DType),
                [cols
                    ? $"The transpose gives da[{l - 1}] the shape of a[{l - 1}]: each unit of layer {l - 1} collects the errors of the units it feeds, weighted by the weights it feeds them through."
                    : $"No transpose here: the forward pass multiplied by W[{l}]ᵀ, so the backward pass multiplies by W[{l}], and da[{l - 1}] gets the shape of a[{l - 1}]."]));

            var gPrev = net.Activations[l - 1];
            var deltaPrev = F.Var("δ", l - 1);
            backward.Add(new ExplainStep($"delta[{l - 1}]", deltaPrev,
                deltaPrev + F.Eq + F.Var("da", l - 1) + F.Hadamard + DerivativeFormula(gPrev, net.Slopes[l - 1], l - 1),
                [Act(l - 1), Act(l - 1)], $"{S(Act(l - 1))} ⊙ {S(Act(l - 1))} → {S(Act(l - 1))}", hand.Delta[l - 1],
                Compare(hand.Delta[l - 1], cols, engine.Delta[l - 1], engine.FdDelta[l - 1], net.DType),
                [$"Elementwise (⊙): unit i's activation depends only on its own z, so the chain rule multiplies entry by entry.",
                 DerivativeNote(gPrev, net.Slopes[l - 1])]));
        }

        return new MlpExplanation(net, options, forward, backward);
    }

    internal enum StepKind { Activation, Weight }

    /// <summary>Compares the shown values with the engine's (float64, rows layout) and with central differences.</summary>
    private static StepCheck Compare(Tensor shown, bool cols, double[] engineValues, (int[] Index, double[] Value)? fd, DType dtype, StepKind kind = StepKind.Activation)
    {
        // The engine works in the rows layout; a weight gradient is (out, in) in both layouts.
        var values = cols && kind == StepKind.Activation && shown.Rank == 2 ? shown.Transpose().ToDoubleArray() : shown.ToDoubleArray();
        if (values.Length != engineValues.Length)
            throw new BackpropException($"explain: internal shape mismatch ({values.Length} values, engine has {engineValues.Length}).");
        double scale = 0, engineErr = 0;
        for (int i = 0; i < values.Length; i++)
        {
            scale = Math.Max(scale, Math.Abs(engineValues[i]));
            double e = Math.Abs(values[i] - engineValues[i]);
            engineErr = double.IsNaN(e) ? double.PositiveInfinity : Math.Max(engineErr, e);
        }
        // float64 values come from the same float64 inputs, so only summation order differs; float32
        // values carry float32 rounding (about 1e-7 relative per operation, growing with depth).
        double engineTol = dtype == DType.Float64 ? 1e-12 + 1e-10 * scale : 1e-7 + 1e-4 * scale;
        // A central difference with h = 1e-6 in float64 is good to about 1e-9 absolute for a loss of order 1.
        double fdTol = Math.Max(engineTol, 1e-8 + 1e-6 * scale);
        double? fdErr = null;
        int fdCount = 0;
        if (fd is var (index, fdValues))
        {
            double err = 0;
            for (int k = 0; k < index.Length; k++)
            {
                double e = Math.Abs(values[index[k]] - fdValues[k]);
                err = double.IsNaN(e) ? double.PositiveInfinity : Math.Max(err, e);
            }
            fdErr = err;
            fdCount = index.Length;
        }
        return new StepCheck(engineErr, engineTol, fdErr, fdTol, fdCount, values.Length);
    }

    private static Formula ActivationFormula(Activation g, double slope, Formula z) => g switch
    {
        Activation.Relu => F.Apply("max", F.Num("0") + F.Comma + z),
        Activation.LeakyRelu => F.Apply("max", F.Num(slope) + F.Times + z + F.Comma + z),
        Activation.Tanh => F.Apply("tanh", z),
        Activation.Sigmoid => F.Apply("σ", z),
        Activation.Softplus => F.Apply("log", F.Num("1") + F.Plus + F.Raw("e^" + z.Text, "e^{" + z.Latex + "}", $"<msup><mi>e</mi><mrow>{z.MathMl}</mrow></msup>")),
        Activation.Identity => z,
        _ => F.Apply("softmax", z),
    };

    /// <summary>g'(z[l]) as the course writes it, from values the forward pass already has (math.md §1).</summary>
    private static Formula DerivativeFormula(Activation g, double slope, int l)
    {
        var z = F.Var("z", l);
        var a = F.Var("a", l);
        return g switch
        {
            Activation.Relu => F.Indicator(z + F.Greater + F.Num("0")),
            Activation.LeakyRelu => F.Paren(F.Indicator(z + F.Greater + F.Num("0")) + F.Plus + F.Num(slope) + F.Times +
                F.Indicator(z + F.Raw(" ≤ ", @" \le ", "<mo>≤</mo>") + F.Num("0"))),
            Activation.Tanh => F.Paren(F.Num("1") + F.Minus + F.Square(a)),
            Activation.Sigmoid => a + F.Hadamard + F.Paren(F.Num("1") + F.Minus + a),
            Activation.Softplus => F.Apply("σ", z),
            _ => F.Num("1"),
        };
    }

    private static string DerivativeNote(Activation g, double slope) => g switch
    {
        Activation.Relu => "ReLU′(z) is 1 where z > 0 and 0 elsewhere (0 at z = 0 exactly, as PyTorch chooses).",
        Activation.LeakyRelu => $"Leaky ReLU′(z) is 1 where z > 0 and α = {slope.ToString(CultureInfo.InvariantCulture)} elsewhere.",
        Activation.Tanh => "tanh′(z) = 1 − tanh²(z) = 1 − a², from the activation already computed.",
        Activation.Sigmoid => "σ′(z) = σ(z)(1 − σ(z)) = a(1 − a), from the activation already computed.",
        Activation.Softplus => "softplus′(z) = σ(z): the derivative of log(1 + eᶻ) is eᶻ/(1 + eᶻ).",
        _ => "The identity's derivative is 1: δ equals da.",
    };

    private static Formula LossFormula(ExplainTask task, bool cols)
    {
        var lhs = F.Ident("L") + F.Eq;
        var neg = F.Raw("−", "-", "<mo>−</mo>");
        // Written (1/m) in plain text: "−1/m Σ" would read as −1/(m Σ …).
        var invM = F.Raw("(1/m) ", @"\frac{1}{m}", "<mfrac><mn>1</mn><mi>m</mi></mfrac>");
        var j = "<mi>j</mi>";
        var yj = F.Sub(F.Var("y"), "_j", "j", j);
        var yhj = F.Sub(F.Var("ŷ"), "_j", "j", j);
        switch (task)
        {
            case ExplainTask.Binary:
                var body = F.Bracket(yj + F.Times + F.Apply("log", yhj) + F.Plus +
                                     F.Paren(F.Num("1") + F.Minus + yj) + F.Times + F.Apply("log", F.Num("1") + F.Minus + yhj));
                return lhs + neg + invM + F.Sum("j", "m", body);
            case ExplainTask.Multiclass:
                var pick = cols
                    ? F.Sub(F.Var("ŷ"), "_(y_j, j)", "y_j, j", "<msub><mi>y</mi><mi>j</mi></msub><mo>,</mo><mi>j</mi>")
                    : F.Sub(F.Var("ŷ"), "_(j, y_j)", "j, y_j", "<mi>j</mi><mo>,</mo><msub><mi>y</mi><mi>j</mi></msub>");
                return lhs + neg + invM + F.Sum("j", "m", F.Apply("log", pick));
            default:
                var nL = F.Sub(F.Ident("n"), "_L", "L", "<mi>L</mi>");
                return lhs + F.Raw("(1/(m·n_L)) ", @"\frac{1}{m\cdot n_L}", "<mfrac><mn>1</mn><mrow><mi>m</mi><mo>·</mo><msub><mi>n</mi><mi>L</mi></msub></mrow></mfrac>") +
                       F.Raw("Σ ", @"\sum ", "<mo>∑</mo>") +
                       F.Square(F.Paren(F.Var("ŷ") + F.Minus + F.Var("y")));
        }
    }

    private static List<string> LossNotes(Network net, HandPass hand)
    {
        var notes = new List<string>();
        string Values(double[] v) => string.Join(", ", v.Select(x => x.ToString("G6", CultureInfo.InvariantCulture)));
        switch (net.Task)
        {
            case ExplainTask.Binary:
                notes.Add($"Targets y = [{Values(net.YRows.ToDoubleArray())}] (1 = class 1).");
                notes.Add("Computed from the logit as max(z, 0) − z·y + log(1 + e^−|z|), which equals the formula but never takes log of a rounded-off σ(z).");
                break;
            case ExplainTask.Multiclass:
                notes.Add($"Target classes y = [{string.Join(", ", net.Classes)}]; y is used one-hot in δ[L].");
                notes.Add("Computed as log softmax(z) = z − logsumexp(z), never log of a rounded-off probability.");
                break;
            default:
                notes.Add($"Targets y = [{Values(net.YRows.ToDoubleArray())}] (rows, as given).");
                notes.Add($"The mean runs over all m·n_L = {net.M * net.Sizes[net.L]} elements, without the ½ some courses use.");
                break;
        }
        return notes;
    }

    private static List<string> DeltaDerivation(Network net, bool cols)
    {
        int m = net.M, L = net.L, nL = net.Sizes[L];
        var lines = new List<string>();
        switch (net.Task)
        {
            case ExplainTask.Binary:
                lines.Add("Per example, ℓ = −[y log ŷ + (1 − y) log(1 − ŷ)] with ŷ = σ(z[L]).");
                lines.Add("∂ℓ/∂ŷ = (ŷ − y) / (ŷ(1 − ŷ)) and ∂ŷ/∂z = σ′(z) = ŷ(1 − ŷ): the product cancels to ∂ℓ/∂z = ŷ − y.");
                lines.Add($"The loss is the mean over the m = {m} examples, so each example's share carries a factor 1/m: δ[{L}] = (ŷ − y)/{m}.");
                break;
            case ExplainTask.Multiclass:
                lines.Add("Per example, ℓ = −log ŷ_y with ŷ = softmax(z[L]); that is ℓ = −z_y + log Σ_k e^{z_k}.");
                lines.Add("∂ℓ/∂z_k = e^{z_k} / Σ e^{z} − 1[k = y] = ŷ_k − y_k with y one-hot: the same ŷ − y as for the sigmoid.");
                lines.Add($"The loss is the mean over the m = {m} examples, so δ[{L}] = (ŷ − y)/{m}, with y the one-hot {(cols ? "columns" : "rows")} of the targets.");
                break;
            default:
                lines.Add("Per element, ℓ = (ŷ − y)² with ŷ = z[L] (identity output; PyTorch's MSELoss has no ½).");
                lines.Add("∂ℓ/∂ŷ = 2(ŷ − y) and ∂ŷ/∂z = 1, so ∂ℓ/∂z = 2(ŷ − y). With ½(ŷ − y)² it would be ŷ − y exactly.");
                lines.Add($"MSELoss averages over all m·n_L = {m}·{nL} = {m * nL} elements, so δ[{L}] = 2(ŷ − y)/{m * nL}.");
                break;
        }
        return lines;
    }
}
