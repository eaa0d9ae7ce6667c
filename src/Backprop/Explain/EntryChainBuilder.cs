using System.Globalization;
using System.Text.RegularExpressions;

namespace Backprop.Explain;

/// <summary>
/// One parameter entry's derivative as the chain rule writes it element by element: for W[l]ᵢ,ₖ,
/// ∂L/∂W[l]ᵢ,ₖ = scale · Σ_j Σ_paths dZ[L]_(u_L, j) · W[L]_(u_L, u_{L−1}) · g′(z[L−1]_(u_{L−1}, j)) ⋯ W[l+1]_(u_{l+1}, i) · g′(z[l]_(i, j)) · a[l−1]_(k, j),
/// the paths running over every unit u_t of each later layer t (u_l = i). Each term is a product of
/// numbers the forward and backward passes already show.
/// </summary>
internal static partial class EntryChainBuilder
{
    /// <summary>The sum is enumerated term by term; past this many terms the request is refused as unreadable.</summary>
    internal const long MaxTerms = 200_000;

    /// <summary>How many terms are kept for display (the sum always runs over all of them).</summary>
    internal const int ShownTerms = 12;

    [GeneratedRegex(@"^\s*(?<p>W|b)\s*\[\s*(?<l>\d+)\s*\]\s*\[\s*(?<i>\d+)\s*(,\s*(?<k>\d+)\s*)?\]\s*$")]
    private static partial Regex EntryPattern();

    /// <summary>Parses "W[1][0,2]" or "b[2][0]" against the network's sizes.</summary>
    internal static (bool IsWeight, int Layer, int Unit, int Input) Parse(string entry, int[] sizes)
    {
        var match = EntryPattern().Match(entry);
        int L = sizes.Length - 1;
        string example = $"e.g. W[1][0,{Math.Min(2, sizes[0] - 1)}] or b[{L}][0]";
        if (!match.Success)
            throw new BackpropException($"explain --entry: '{entry}' is not a parameter entry; write W[l][i,k] or b[l][i] with 0-based i, k and l from 1 to {L}, {example}.");
        bool weight = match.Groups["p"].Value == "W";
        int l = int.Parse(match.Groups["l"].Value, CultureInfo.InvariantCulture);
        int i = int.Parse(match.Groups["i"].Value, CultureInfo.InvariantCulture);
        bool hasK = match.Groups["k"].Success;
        if (l < 1 || l > L) throw new BackpropException($"explain --entry: layer {l} does not exist; the network has layers 1 to {L} ({example}).");
        if (weight != hasK)
            throw new BackpropException(weight
                ? $"explain --entry: W[{l}] is a matrix; give two indices, W[{l}][i,k] with i < {sizes[l]} and k < {sizes[l - 1]}."
                : $"explain --entry: b[{l}] is a vector; give one index, b[{l}][i] with i < {sizes[l]}.");
        if (i >= sizes[l]) throw new BackpropException($"explain --entry: unit {i} is past layer {l}'s {sizes[l]} units (0 to {sizes[l] - 1}).");
        int k = hasK ? int.Parse(match.Groups["k"].Value, CultureInfo.InvariantCulture) : -1;
        if (hasK && k >= sizes[l - 1]) throw new BackpropException($"explain --entry: input {k} is past layer {l - 1}'s {sizes[l - 1]} units (0 to {sizes[l - 1] - 1}).");
        return (weight, l, i, k);
    }

    public static EntryChain Build(Network net, HandPass hand, EngineCheck engine, ExplainOptions options)
    {
        var (isWeight, layer, unit, input) = Parse(options.Entry!, net.Sizes);
        bool cols = options.Layout == ExplainLayout.Columns;
        bool course = options.Convention == ExplainConvention.Course;
        int L = net.L, m = net.M;
        long paths = 1;
        for (int t = layer + 1; t <= L; t++) paths *= net.Sizes[t];
        long termCount = paths * m;
        if (termCount > MaxTerms)
            throw new BackpropException($"explain --entry: {options.Entry} has {termCount:N0} terms ({m} examples × {paths:N0} paths through the later layers), too many to write out; choose fewer --rows or an entry in a later layer.");

        // Values as [unit, example], whatever the layout.
        double[,] ByUnit(Tensor t)
        {
            var v = t.ToDoubleArray();
            int n = cols ? t.Shape[0] : t.Shape[1];
            var r = new double[n, m];
            for (int u = 0; u < n; u++)
                for (int j = 0; j < m; j++) r[u, j] = cols ? v[u * m + j] : v[j * n + u];
            return r;
        }
        var dzL = ByUnit(hand.Delta[L]);
        var aPrev = ByUnit(hand.A[layer - 1]);
        var gPrime = new double[L + 1][,];
        for (int t = layer; t < L; t++)
            gPrime[t] = ByUnit(Network.Derivative(net.Activations[t], net.Slopes[t], hand.Z[t], hand.A[t]));
        var w = new double[L + 1][];
        for (int t = 1; t <= L; t++) w[t] = net.W[t].ToDoubleArray();

        string Z = course ? "Z" : "z", A = course ? "A" : "a", D = course ? "dZ" : "δ";
        string Sub(params int[] idx) => string.Join(",", idx.Select(SubscriptDigits));
        var terms = new List<ChainTerm>();
        var exampleSums = new double[m];
        var path = new int[L + 1];
        path[layer] = unit;
        double total = 0;
        for (int j = 0; j < m; j++)
        {
            double sum = 0;
            // Enumerate u_{l+1} … u_L as an odometer.
            var counter = new int[L + 1];
            for (long p = 0; p < paths; p++)
            {
                for (int t = layer + 1; t <= L; t++) path[t] = counter[t];
                var factors = new List<ChainFactor>(2 * (L - layer) + 2);
                bool keep = terms.Count < ShownTerms;
                double product = dzL[path[L], j];
                if (keep) factors.Add(new ChainFactor($"{D}[{L}]{Sub(path[L], j)}", product));
                for (int t = L; t > layer; t--)
                {
                    double wt = w[t][path[t] * net.Sizes[t - 1] + path[t - 1]];
                    double g = gPrime[t - 1][path[t - 1], j];
                    product *= wt * g;
                    if (keep)
                    {
                        factors.Add(new ChainFactor($"W[{t}]{Sub(path[t], path[t - 1])}", wt));
                        factors.Add(new ChainFactor($"g′({Z}[{t - 1}]{Sub(path[t - 1], j)})", g));
                    }
                }
                if (isWeight)
                {
                    product *= aPrev[input, j];
                    if (keep) factors.Add(new ChainFactor($"{A}[{layer - 1}]{Sub(input, j)}", aPrev[input, j]));
                }
                if (keep) terms.Add(new ChainTerm(j, path[layer..].ToArray(), factors, product));
                sum += product;
                for (int t = L; t > layer; t--)
                {
                    if (++counter[t] < net.Sizes[t]) break;
                    counter[t] = 0;
                }
            }
            exampleSums[j] = sum;
            total += sum;
        }
        double scale = course ? 1.0 / m : 1.0;
        total *= scale;

        // The entry of dW[l] (or db[l]) from the backward pass, and the engine's.
        int flat = isWeight ? unit * net.Sizes[layer - 1] + input : unit;
        double gradient = (isWeight ? hand.DW[layer] : hand.Db[layer]).ToDoubleArray()[flat];
        double engineValue = (isWeight ? engine.DW[layer] : engine.Db[layer])[flat];
        double tol = net.DType == DType.Float64 ? 1e-12 + 1e-10 * Math.Abs(engineValue) : 1e-7 + 1e-4 * Math.Abs(engineValue);
        var check = new StepCheck(Math.Abs(total - engineValue), tol, null, 0, 0, 1);

        string target = isWeight ? $"W[{layer}]{Sub(unit, input)}" : $"b[{layer}]{Sub(unit)}";
        string chain = $"{D}[{L}](u_{L}, j)";
        for (int t = L; t > layer; t--) chain += $" · W[{t}](u_{t}, u_{t - 1}) · g′({Z}[{t - 1}](u_{t - 1}, j))";
        chain = chain.Replace($"u_{layer}", unit.ToString(CultureInfo.InvariantCulture));
        if (isWeight) chain += $" · {A}[{layer - 1}]({input}, j)";
        string over = layer == L ? "Σ over j" : layer + 1 == L ? $"Σ over j and u_{L}" : $"Σ over j and u_{layer + 1}…u_{L}";
        string text = $"∂L/∂{target} = {(course ? "(1/m) " : "")}{over} of {chain}";
        var formula = F.Raw(text, Latexish(text), $"<mtext>{F.Esc(text)}</mtext>");
        return new EntryChain(options.Entry!.Trim(), formula, scale, terms, termCount, exampleSums, total, gradient, check);
    }

    private static string Latexish(string text) => @"\text{" + text.Replace("_", @"\_").Replace("Σ", @"$\Sigma$").Replace("∂", @"$\partial$").Replace("δ", @"$\delta$") + "}";

    internal static string SubscriptDigits(int v) =>
        string.Concat(v.ToString(CultureInfo.InvariantCulture).Select(c => (char)('₀' + (c - '0'))));
}
