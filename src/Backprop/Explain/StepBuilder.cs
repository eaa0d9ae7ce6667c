using System.Globalization;

namespace Backprop.Explain;

/// <summary>Turns the hand pass and the engine's numbers into named, formulated, checked steps.</summary>
internal static class StepBuilder
{
    public static MlpExplanation Build(Network net, HandPass hand, EngineCheck engine, ExplainOptions options)
    {
        bool cols = options.Layout == ExplainLayout.Columns;
        bool course = options.Convention == ExplainConvention.Course;
        int L = net.L, m = net.M;
        var forward = new List<ExplainStep>();
        var backward = new List<ExplainStep>();
        string S(params int[] dims) => ShapeUtil.Format(dims);
        int[] Act(int l) => cols ? [net.Sizes[l], m] : [m, net.Sizes[l]];
        int[] WShape(int l) => [net.Sizes[l], net.Sizes[l - 1]];
        int[] WtShape(int l) => [net.Sizes[l - 1], net.Sizes[l]];
        int[] BShape(int l) => cols ? [net.Sizes[l], 1] : [net.Sizes[l]];
        var n = new Names(course);
        var yHat = course ? n.A(L) : F.Var("ŷ");
        var y = n.Y;
        string example = cols ? "column" : "row";
        // The course's dZ and dA are m times the engine's ∂L/∂z and ∂L/∂a: they differentiate the summed losses.
        double scale = course ? m : 1;

        // Forward pass.
        var input = cols ? (course ? F.Var("X") : F.Var("x")) : F.Var("X");
        forward.Add(new ExplainStep("a[0]", n.A(0),
            n.A(0) + F.Eq + input,
            [Act(0)], S(Act(0)), hand.A[0], StepCheck.None(hand.A[0].Length),
            [cols
                ? $"The input {input.Text} holds the m = {m} chosen examples as columns: one column per example, one row per feature (n_0 = {net.Sizes[0]})."
                : $"The input X holds the m = {m} chosen examples as rows: one row per example, one column per feature (n_0 = {net.Sizes[0]})."])
        {
            RowLabels = cols ? options.FeatureNames : null,
            ColumnLabels = cols ? null : options.FeatureNames,
        });
        for (int l = 1; l <= L; l++)
        {
            var zl = n.Z(l);
            var formulaZ = cols
                ? zl + F.Eq + F.Var("W", l) + F.Times + n.A(l - 1) + F.Plus + F.Var("b", l)
                : zl + F.Eq + n.A(l - 1) + F.Times + F.Var("W", l, transpose: true) + F.Plus + F.Var("b", l);
            int[][] zOperands = cols ? [WShape(l), Act(l - 1), BShape(l)] : [Act(l - 1), WtShape(l), BShape(l)];
            forward.Add(new ExplainStep($"z[{l}]", zl, formulaZ, zOperands,
                $"{S(zOperands[0])}·{S(zOperands[1])} + {S(zOperands[2])} → {S(Act(l))}",
                hand.Z[l], Compare(hand.Z[l], cols, engine.Z[l], null, net.DType),
                [cols
                    ? $"b[{l}] {S(BShape(l))} is added to every column: the same bias for each of the m = {m} examples (broadcasting)."
                    : $"b[{l}] {S(BShape(l))} is added to every row: the same bias for each of the m = {m} examples (broadcasting). W[{l}] is stored (out, in) = {S(WShape(l))}, so the rows layout multiplies by its transpose."]));

            var g = net.Activations[l];
            var al = n.A(l);
            var formulaA = al + F.Eq + ActivationFormula(g, net.Slopes[l], zl);
            var notesA = new List<string>();
            string how = $"{Network.ActivationName(g, net.Slopes[l])} applied to each entry";
            if (l == L)
            {
                if (!course) formulaA = yHat + F.Eq + formulaA;
                notesA.Add(net.Task switch
                {
                    ExplainTask.Binary => $"{(course ? $"A[{L}]" : "ŷ = a[L]")} is the predicted probability of class 1 for each example.",
                    ExplainTask.Multiclass => $"{(course ? $"A[{L}]" : "ŷ = a[L]")} holds each example's class probabilities: each {example} sums to 1.",
                    _ => $"{(course ? $"A[{L}] = Z[{L}]" : "ŷ = a[L] = z[L]")}: a regression network outputs its last pre-activation unchanged.",
                });
                if (g == Activation.Softmax) how = $"softmax over each {example} (each example's classes)";
            }
            forward.Add(new ExplainStep($"a[{l}]", al, formulaA, [Act(l)], $"{how}: {S(Act(l))} → {S(Act(l))}",
                hand.A[l], Compare(hand.A[l], cols, engine.A[l], null, net.DType), notesA));
        }
        forward.Add(new ExplainStep("loss", F.Ident("L"), LossFormula(net.Task, cols, course, L), [Act(L), Act(L)],
            $"{S(Act(L))}, {S(Act(L))} → scalar", hand.Loss, Compare(hand.Loss, cols, [engine.Loss], null, net.DType),
            LossNotes(net, hand)));

        // Backward pass.
        var deltaL = n.DZ(L);
        var nL = F.Sub(F.Ident("n"), "_L", "L", "<mi>L</mi>");
        var deltaFormula = (net.Task == ExplainTask.Regression, course) switch
        {
            (true, true) => deltaL + F.Eq + F.Frac(F.Num("2") + F.Paren(yHat + F.Minus + y), nL),
            (true, false) => deltaL + F.Eq + F.Frac(F.Num("2") + F.Paren(yHat + F.Minus + y), F.Ident("m") + F.Dot + nL),
            (false, true) => deltaL + F.Eq + yHat + F.Minus + y,
            _ => deltaL + F.Eq + F.Frac(F.Paren(yHat + F.Minus + y), F.Ident("m")),
        };
        backward.Add(new ExplainStep(n.DZId(L), deltaL, deltaFormula, [Act(L), Act(L)],
            $"{S(Act(L))} − {S(Act(L))} → {S(Act(L))}", hand.Delta[L],
            Compare(hand.Delta[L], cols, engine.Delta[L], engine.FdDelta[L], net.DType, unit: scale), DeltaDerivation(net, cols, course)));
        var invM = F.Raw("(1/m) ", @"\frac{1}{m}", "<mfrac><mn>1</mn><mi>m</mi></mfrac>");
        for (int l = L; l >= 1; l--)
        {
            var dl = n.DZ(l);
            int[][] dwOperands = [[net.Sizes[l], m], [m, net.Sizes[l - 1]]];
            var dwFormula = cols
                ? F.Var("dW", l) + F.Eq + (course ? invM : F.Raw("", "", "")) + dl + F.Times + n.A(l - 1, transpose: true)
                : F.Var("dW", l) + F.Eq + (course ? invM : F.Raw("", "", "")) + n.DZ(l, transpose: true) + F.Times + n.A(l - 1);
            backward.Add(new ExplainStep($"dW[{l}]", F.Var("dW", l), dwFormula, dwOperands,
                $"{S(dwOperands[0])}·{S(dwOperands[1])} → {S(WShape(l))}", hand.DW[l],
                Compare(hand.DW[l], cols, engine.DW[l], engine.FdDW[l], net.DType, kind: StepKind.Weight),
                [$"The product sums over the m = {m} examples: entry (i, k) is Σ_j {dl.Text} of unit i times {n.A(l - 1).Text} of unit k, both for example j" +
                    (course ? "; the 1/m turns that sum into the mean over the examples, the loss being a mean." : " (the 1/m of the mean is already inside δ)."),
                 $"dW[{l}] has the shape of W[{l}], (out, in) = {S(WShape(l))}: it is what PyTorch reports as weight.grad."]));

            var dbFormula = cols
                ? F.Var("db", l) + F.Eq + (course ? invM : F.Raw("", "", "")) + F.Sum("j", "m", F.Sub(dl, "[:, j]", ":,j", "<mo>:</mo><mo>,</mo><mi>j</mi>"))
                : F.Var("db", l) + F.Eq + (course ? invM : F.Raw("", "", "")) + F.Sum("i", "m", F.Sub(dl, "[i, :]", "i,:", "<mi>i</mi><mo>,</mo><mo>:</mo>"));
            backward.Add(new ExplainStep($"db[{l}]", F.Var("db", l), dbFormula, [Act(l)],
                $"{S(Act(l))} summed over the {m} {example}s → {S(BShape(l))}", hand.Db[l],
                Compare(hand.Db[l], cols, engine.Db[l], engine.FdDb[l], net.DType, kind: StepKind.Weight),
                [$"b[{l}] was added to every example, so its gradient collects every example's {dl.Text}{(course ? ", averaged (1/m)" : "")}."]));

            if (l == 1) break;
            int[][] daOperands = cols ? [WtShape(l), Act(l)] : [Act(l), WShape(l)];
            var daFormula = cols
                ? n.DA(l - 1) + F.Eq + F.Var("W", l, transpose: true) + F.Times + dl
                : n.DA(l - 1) + F.Eq + dl + F.Times + F.Var("W", l);
            backward.Add(new ExplainStep(n.DAId(l - 1), n.DA(l - 1), daFormula, daOperands,
                $"{S(daOperands[0])}·{S(daOperands[1])} → {S(Act(l - 1))}", hand.DA[l - 1],
                Compare(hand.DA[l - 1], cols, engine.DA[l - 1], engine.FdDA[l - 1], net.DType, unit: scale),
                [cols
                    ? $"The transpose gives {n.DA(l - 1).Text} the shape of {n.A(l - 1).Text}: each unit of layer {l - 1} collects the errors of the units it feeds, weighted by the weights it feeds them through."
                    : $"No transpose here: the forward pass multiplied by W[{l}]ᵀ, so the backward pass multiplies by W[{l}], and {n.DA(l - 1).Text} gets the shape of {n.A(l - 1).Text}."]));

            var gPrev = net.Activations[l - 1];
            var deltaPrev = n.DZ(l - 1);
            backward.Add(new ExplainStep(n.DZId(l - 1), deltaPrev,
                deltaPrev + F.Eq + n.DA(l - 1) + F.Hadamard + DerivativeFormula(gPrev, net.Slopes[l - 1], n.Z(l - 1), n.A(l - 1)),
                [Act(l - 1), Act(l - 1)], $"{S(Act(l - 1))} ⊙ {S(Act(l - 1))} → {S(Act(l - 1))}", hand.Delta[l - 1],
                Compare(hand.Delta[l - 1], cols, engine.Delta[l - 1], engine.FdDelta[l - 1], net.DType, unit: scale),
                [$"Elementwise (⊙): unit i's activation depends only on its own z, so the chain rule multiplies entry by entry.",
                 DerivativeNote(gPrev, net.Slopes[l - 1])]));
        }

        return new MlpExplanation(net, options, forward, backward);
    }

    /// <summary>The symbols of each convention: the course's capitals (Z, A, dZ, dA, Y) or the engine's z, a, δ, da, y.</summary>
    internal readonly struct Names(bool course)
    {
        public Formula Z(int l) => F.Var(course ? "Z" : "z", l);
        public Formula A(int l, bool transpose = false) => F.Var(course ? "A" : "a", l, transpose);
        public Formula DZ(int l, bool transpose = false) => F.Var(course ? "dZ" : "δ", l, transpose);
        public Formula DA(int l) => F.Var(course ? "dA" : "da", l);
        public Formula Y => F.Var(course ? "Y" : "y");
        public string DZId(int l) => course ? $"dZ[{l}]" : $"delta[{l}]";
        public string DAId(int l) => course ? $"dA[{l}]" : $"da[{l}]";
    }

    internal enum StepKind { Activation, Weight }

    /// <summary>
    /// Compares the shown values with the engine's (float64, rows layout) and with central differences.
    /// <c>unit</c> is what the shown quantity is in units of the engine's: m for the course's dZ and dA
    /// (derivatives of the summed losses), 1 otherwise; the engine's and the central differences' values
    /// are multiplied by it.
    /// </summary>
    internal static StepCheck Compare(Tensor shown, bool cols, double[] engineValues, (int[] Index, double[] Value)? fd, DType dtype, StepKind kind = StepKind.Activation, double unit = 1)
    {
        if (unit != 1)
        {
            engineValues = engineValues.Select(v => v * unit).ToArray();
            if (fd is var (fi, fv)) fd = (fi, fv.Select(v => v * unit).ToArray());
        }
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
    private static Formula DerivativeFormula(Activation g, double slope, Formula z, Formula a)
    {
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

    private static Formula LossFormula(ExplainTask task, bool cols, bool course, int layers)
    {
        if (course)
        {
            // The course writes the loss with the output A[L] and the labels Y, examples as columns.
            var aL = F.Var("A", layers);
            var yc = F.Var("Y");
            var j0 = "<mi>j</mi>";
            var yjc = F.Sub(yc, "_j", "j", j0);
            var ajc = F.Sub(aL, "_j", "j", j0);
            var negc = F.Raw("−", "-", "<mo>−</mo>");
            var invMc = F.Raw("(1/m) ", @"\frac{1}{m}", "<mfrac><mn>1</mn><mi>m</mi></mfrac>");
            var lhsc = F.Ident("L") + F.Eq;
            switch (task)
            {
                case ExplainTask.Binary:
                    return lhsc + negc + invMc + F.Sum("j", "m", F.Bracket(yjc + F.Times + F.Apply("log", ajc) + F.Plus +
                        F.Paren(F.Num("1") + F.Minus + yjc) + F.Times + F.Apply("log", F.Num("1") + F.Minus + ajc)));
                case ExplainTask.Multiclass:
                    return lhsc + negc + invMc + F.Sum("j", "m", F.Sum("k", "n_L", F.Sub(yc, "_(k,j)", "k,j", "<mi>k</mi><mo>,</mo><mi>j</mi>") + F.Times +
                        F.Apply("log", F.Sub(aL, "_(k,j)", "k,j", "<mi>k</mi><mo>,</mo><mi>j</mi>"))));
                default:
                    return lhsc + F.Raw("(1/(m·n_L)) ", @"\frac{1}{m\cdot n_L}", "<mfrac><mn>1</mn><mrow><mi>m</mi><mo>·</mo><msub><mi>n</mi><mi>L</mi></msub></mrow></mfrac>") +
                           F.Raw("Σ ", @"\sum ", "<mo>∑</mo>") + F.Square(F.Paren(aL + F.Minus + yc));
            }
        }
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

    private static List<string> DeltaDerivation(Network net, bool cols, bool course)
    {
        int m = net.M, L = net.L, nL = net.Sizes[L];
        var lines = new List<string>();
        string dz = course ? $"dZ[{L}]" : $"δ[{L}]";
        switch (net.Task)
        {
            case ExplainTask.Binary:
                lines.Add("Per example, ℓ = −[y log ŷ + (1 − y) log(1 − ŷ)] with ŷ = σ(z[L]).");
                lines.Add("∂ℓ/∂ŷ = (ŷ − y) / (ŷ(1 − ŷ)) and ∂ŷ/∂z = σ′(z) = ŷ(1 − ŷ): the product cancels to ∂ℓ/∂z = ŷ − y.");
                break;
            case ExplainTask.Multiclass:
                lines.Add("Per example, ℓ = −log ŷ_y with ŷ = softmax(z[L]); that is ℓ = −z_y + log Σₖ exp(zₖ).");
                lines.Add("∂ℓ/∂zₖ = exp(zₖ) / Σ exp(z) − 1[k = y] = ŷₖ − yₖ with y one-hot: the same ŷ − y as for the sigmoid.");
                break;
            default:
                lines.Add("Per element, ℓ = (ŷ − y)² with ŷ = z[L] (identity output; PyTorch's MSELoss has no ½).");
                lines.Add($"∂ℓ/∂ŷ = 2(ŷ − y) and ∂ŷ/∂z = 1, so ∂ℓ/∂z = 2(ŷ − y); MSELoss also averages over the n_L = {nL} outputs.");
                break;
        }
        string what = net.Task == ExplainTask.Multiclass ? $", with Y the one-hot {(cols ? "columns" : "rows")} of the targets" : "";
        lines.Add(course
            ? $"Where the 1/m went: the loss is the mean over the m = {m} examples, but the course keeps {dz} per example (the derivative of the summed losses, m·∂L/∂Z[{L}]) and applies the 1/m in dW and db{what}. With --convention mean-in-delta the 1/m sits in δ instead; dW and db come out identical."
            : $"Where the 1/m went: the loss is the mean over the m = {m} examples, so each example's share carries a factor 1/m, kept inside {dz} = ∂L/∂z[{L}]{what}; every δ and da is m = {m} times smaller than the course's dZ and dA, and dW = δ aᵀ needs no 1/m.");
        return lines;
    }
}
