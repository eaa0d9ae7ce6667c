using System.Globalization;

namespace Backprop.Explain;

/// <summary>
/// The scheme the question "why can't we calculate these derivatives during the forward pass?" proposes,
/// run: alongside a[l], carry ∂a[l]/∂W[k] and ∂a[l]/∂b[k] for every earlier layer k, one example at a
/// time, then combine ∂z[L]/∂W[k] with ∂L/∂z[L] at the end. Every multiply-add is counted as it is done.
/// </summary>
/// <remarks>
/// Recurrence, per example (shapes per example): ∂z[l]/∂W[k] = W[l] · ∂a[l−1]/∂W[k], (n_l, n_{l−1})·(n_{l−1}, n_k·n_{k−1});
/// ∂z[l]/∂W[l]ᵢ,ₚ,q = 1[i = p] a[l−1]_q (placed, not computed); ∂a[l] = g′(z[l]) ⊙ ∂z[l] row by row.
/// At the output the loss works on the logits, so the last tangents are ∂z[L]/∂W[k], and
/// dW[k]ₚ,q = Σ_j Σ_u ∂L/∂z[L]_(u, j) · ∂z[L]_u/∂W[k]ₚ,q.
/// </remarks>
internal static class ForwardModeBuilder
{
    /// <summary>Example 0's tangents are kept for display up to this many numbers each.</summary>
    private const int KeepNumbers = 2000;

    public static ForwardModeScheme Build(Network net, HandPass hand, EngineCheck engine, ExplainOptions options)
    {
        bool cols = options.Layout == ExplainLayout.Columns;
        int L = net.L, m = net.M;
        var n = net.Sizes;
        double[,] ByUnit(Tensor t)
        {
            var v = t.ToDoubleArray();
            int size = cols ? t.Shape[0] : t.Shape[1];
            var r = new double[size, m];
            for (int u = 0; u < size; u++)
                for (int j = 0; j < m; j++) r[u, j] = cols ? v[u * m + j] : v[j * size + u];
            return r;
        }
        var a = new double[L + 1][,];
        for (int l = 0; l <= L; l++) a[l] = ByUnit(hand.A[l]);
        var gPrime = new double[L + 1][,];
        for (int l = 1; l < L; l++) gPrime[l] = ByUnit(Network.Derivative(net.Activations[l], net.Slopes[l], hand.Z[l], hand.A[l]));
        // ∂L/∂z[L] of the mean loss: δ[L], or the course's dZ[L] with its 1/m.
        var dLdz = ByUnit(hand.Delta[L]);
        double toMean = options.Convention == ExplainConvention.Course ? 1.0 / m : 1.0;
        var w = new double[L + 1][];
        for (int l = 1; l <= L; l++) w[l] = net.W[l].ToDoubleArray();

        // Block k of a tangent holds n_k·(n_{k−1} + 1) columns: the weights of layer k, then its biases.
        int Block(int k) => n[k] * (n[k - 1] + 1);
        var gradW = new double[L + 1][];
        for (int k = 1; k <= L; k++) gradW[k] = new double[Block(k)];
        var layerMacs = new long[L + 1];
        var kept = new double[L + 1][][];
        long peakPerExample = 0;
        long combineMacs = 0;
        for (int j = 0; j < m; j++)
        {
            // tangent[k] is (n_l, Block(k)) for the current layer l.
            double[][] tangent = [];
            for (int l = 1; l <= L; l++)
            {
                var next = new double[l + 1][];
                for (int k = 1; k < l; k++)
                {
                    int cols_k = Block(k);
                    var t = new double[n[l] * cols_k];
                    var prev = tangent[k];
                    for (int i = 0; i < n[l]; i++)
                        for (int r = 0; r < n[l - 1]; r++)
                        {
                            double wir = w[l][i * n[l - 1] + r];
                            for (int c = 0; c < cols_k; c++) t[i * cols_k + c] += wir * prev[r * cols_k + c];
                            layerMacs[l] += cols_k;
                        }
                    next[k] = t;
                }
                // The new block: ∂z[l]ᵢ/∂W[l]ᵢ,q = a[l−1]_q and ∂z[l]ᵢ/∂b[l]ᵢ = 1, placed on the diagonal.
                var own = new double[n[l] * Block(l)];
                for (int i = 0; i < n[l]; i++)
                {
                    for (int q = 0; q < n[l - 1]; q++) own[i * Block(l) + i * n[l - 1] + q] = a[l - 1][q, j];
                    own[i * Block(l) + n[l] * n[l - 1] + i] = 1;
                }
                next[l] = own;
                long held = 0;
                for (int k = 1; k <= l; k++) held += next[k].Length;
                for (int k = 1; k < tangent.Length; k++) held += tangent[k]?.Length ?? 0;
                peakPerExample = Math.Max(peakPerExample, held);
                if (l < L)
                {
                    // ∂a[l] = g′(z[l]) ⊙ ∂z[l], row i scaled by g′(z[l]ᵢ).
                    for (int k = 1; k <= l; k++)
                    {
                        int cols_k = Block(k);
                        for (int i = 0; i < n[l]; i++)
                        {
                            double g = gPrime[l][i, j];
                            for (int c = 0; c < cols_k; c++) next[k][i * cols_k + c] *= g;
                            layerMacs[l] += cols_k;
                        }
                    }
                }
                if (j == 0) kept[l] = next;
                tangent = next;
            }
            // Combine with ∂L/∂z[L].
            for (int k = 1; k <= L; k++)
            {
                int cols_k = Block(k);
                for (int u = 0; u < n[L]; u++)
                {
                    double d = dLdz[u, j] * toMean;
                    for (int c = 0; c < cols_k; c++) gradW[k][c] += d * tangent[k][u * cols_k + c];
                    combineMacs += cols_k;
                }
            }
        }

        string Shape(params int[] d) => ShapeUtil.Format(d);
        var layers = new List<ForwardModeLayer>();
        for (int l = 1; l <= L; l++)
        {
            var tangents = new List<ForwardTangent>();
            string of = l == L ? "z" : "a";
            for (int k = 1; k <= l; k++)
            {
                int[] shape = [n[l], n[k], n[k - 1]];
                var first = kept[l][k];
                // Example 0's weight tangents, reordered as (n_l, n_k, n_{k−1}) without the bias columns.
                double[] values = [];
                if ((long)n[l] * n[k] * n[k - 1] <= KeepNumbers)
                {
                    values = new double[n[l] * n[k] * n[k - 1]];
                    for (int i = 0; i < n[l]; i++)
                        for (int pq = 0; pq < n[k] * n[k - 1]; pq++) values[i * n[k] * n[k - 1] + pq] = first[i * Block(k) + pq];
                }
                tangents.Add(new ForwardTangent($"∂{of}[{l}]/∂W[{k}]", shape, (long)m * n[l] * Block(k), values));
            }
            var formula = l == 1
                ? F.Raw($"∂z[1]ᵢ/∂W[1]ₚ,q = 1[i = p] a[0]_q; ∂a[1] = g′(z[1]) ⊙ ∂z[1]", @"\partial z^{[1]}_i / \partial W^{[1]}_{pq} = \mathbb{1}[i=p]\, a^{[0]}_q", "<mtext>∂z[1]ᵢ/∂W[1]ₚ,q = 1[i = p] a[0]_q; ∂a[1] = g′(z[1]) ⊙ ∂z[1]</mtext>")
                : F.Raw($"∂z[{l}]/∂W[k] = W[{l}] · ∂a[{l - 1}]/∂W[k] for k < {l}, the new block ∂z[{l}]/∂W[{l}] placed from a[{l - 1}]" + (l < L ? $"; ∂a[{l}] = g′(z[{l}]) ⊙ ∂z[{l}]" : ""),
                    $@"\partial z^{{[{l}]}} / \partial W^{{[k]}} = W^{{[{l}]}} \, \partial a^{{[{l - 1}]}} / \partial W^{{[k]}}",
                    $"<mtext>{F.Esc($"∂z[{l}]/∂W[k] = W[{l}] · ∂a[{l - 1}]/∂W[k] for k < {l}")}</mtext>");
            layers.Add(new ForwardModeLayer(l, formula, tangents, layerMacs[l]));
        }
        var combine = F.Raw("dW[k] = Σ_j Σ_u ∂L/∂z[L]_(u, j) · ∂z[L]_u/∂W[k]", @"dW^{[k]} = \sum_j \sum_u \frac{\partial L}{\partial z^{[L]}_{uj}} \frac{\partial z^{[L]}_u}{\partial W^{[k]}}",
            "<mtext>dW[k] = Σ_j Σ_u ∂L/∂z[L]_(u, j) · ∂z[L]_u/∂W[k]</mtext>");

        // The gradients forward mode arrived at, checked against reverse mode (the engine's backward pass).
        var gradients = new List<ExplainStep>();
        for (int k = 1; k <= L; k++)
        {
            var dw = new double[n[k] * n[k - 1]];
            Array.Copy(gradW[k], dw, dw.Length);
            var db = new double[n[k]];
            Array.Copy(gradW[k], dw.Length, db, 0, n[k]);
            var dwT = Tensor.FromArray(dw, [n[k], n[k - 1]], DType.Float64);
            var dbT = Tensor.FromArray(db, [n[k]], DType.Float64);
            gradients.Add(new ExplainStep($"dW[{k}] forward mode", F.Var("dW", k), combine, [[n[L], n[k], n[k - 1]]], $"Σ over {m} examples and {n[L]} outputs → {Shape(n[k], n[k - 1])}",
                dwT, StepBuilder.Compare(dwT, cols, engine.DW[k], null, DType.Float64, StepBuilder.StepKind.Weight),
                ["Checked against the engine's reverse-mode dW: the same numbers by the other route."]));
            gradients.Add(new ExplainStep($"db[{k}] forward mode", F.Var("db", k), combine, [[n[L], n[k]]], $"Σ over {m} examples and {n[L]} outputs → {Shape(n[k])}",
                dbT, StepBuilder.Compare(dbT, cols, engine.Db[k], null, DType.Float64, StepBuilder.StepKind.Weight), []));
        }

        // The cost of both modes on this network and batch.
        long forwardMacs = 0, parameters = 0;
        for (int l = 1; l <= L; l++)
        {
            forwardMacs += (long)m * n[l] * n[l - 1];
            parameters += (long)n[l] * (n[l - 1] + 1);
        }
        long forwardModeMacs = layerMacs.Sum() + combineMacs;
        // Reverse mode, from the shapes of the backward pass's products: dW (n_l·n_{l−1} per example),
        // db (n_l), dA[l−1] = W[l]ᵀ dZ[l] (n_l·n_{l−1}) and ⊙ g′ (n_{l−1}) for l > 1.
        long reverseMacs = 0;
        for (int l = L; l >= 1; l--)
        {
            reverseMacs += (long)m * (n[l] * n[l - 1] + n[l]);
            if (l > 1) reverseMacs += (long)m * (n[l] * n[l - 1] + n[l - 1]);
        }
        // Reverse mode holds every layer's z and a for the backward pass (a[0] included), one error
        // matrix at a time, and the gradient; forward mode the tangents of two layers at once and the gradient.
        long saved = (long)m * n[0];
        for (int l = 1; l <= L; l++) saved += 2L * m * n[l];
        long reversePeak = saved + (long)m * n.Skip(1).Max() + parameters;
        long forwardPeak = m * peakPerExample + parameters;
        var costs = new List<ModeCost>
        {
            new("reverse (backprop)", forwardMacs, reverseMacs, reversePeak),
            new("forward (tangents)", forwardMacs, forwardModeMacs, forwardPeak),
        };
        var ic = CultureInfo.InvariantCulture;
        double workRatio = forwardModeMacs / (double)Math.Max(1, reverseMacs);
        double memRatio = forwardPeak / (double)Math.Max(1, reversePeak);
        string answer = string.Create(ic,
            $"We can: forward mode computed the same dW during the forward pass, but it took {forwardModeMacs:N0} multiply-adds for the derivatives against reverse mode's {reverseMacs:N0} ({workRatio:0.#}×) " +
            $"and held {forwardPeak:N0} numbers against {reversePeak:N0} ({memRatio:0.#}×), because it carries a tangent for every one of the P = {parameters:N0} parameters through every later layer, " +
            $"while reverse mode carries one cotangent back, once, since the loss is a single number.");
        return new ForwardModeScheme(layers, combine, gradients, costs, parameters, answer);
    }
}
