using System.Globalization;
using Backprop.Explain;
using Backprop.Playground.Engine;

namespace Backprop.Playground.Tests;

[Collection("playground")]
public sealed class StepViewTests(PlaygroundFixture fixture)
{
    private const string Hash = "seed=5&networkShape=4,2&batchSize=10&activation=tanh";

    /// <summary>
    /// <see cref="Explainer"/> run here, in .NET, on what the page builds from <paramref name="hash"/>: the fresh
    /// network from its seed and the first mini-batch of its first epoch.
    /// </summary>
    private static (MlpExplanation Explanation, int[] Rows) ExplainFirstBatch(string hash, ExplainOptions? options = null)
    {
        var state = PlaygroundState.FromHash(hash);
        var data = TrainingData.FromPlane(PlaneData.Generate(state.CurrentDataset, state.Noise, state.PercTrainData, state.SeedValue), state, Session.Grid);
        var session = new Session(state, data);
        var rows = session.NextBatchRows.ToArray();
        int k = data.Inputs;
        var x = new double[rows.Length * k];
        for (int i = 0; i < rows.Length; i++)
            for (int c = 0; c < k; c++) x[i * k + c] = (float)data.TrainX[rows[i] * k + c];
        var y = rows.Select(r => data.TrainY[r]).ToArray();
        var layers = session.Layers.Select((layer, i) => new ExplainLayer(layer.Weight.Detach().To(DType.Float64), layer.Bias!.Detach().To(DType.Float64),
            i == session.Layers.Length - 1 ? "identity" : session.ActivationName)).ToList();
        return (Explainer.Explain(layers, ExplainTask.Binary, Tensor.FromArray(x, [rows.Length, k], DType.Float64), Tensor.FromArray(y, [rows.Length, 1], DType.Float64), options), rows);
    }

    /// <summary>
    /// The Step button's backward pass against <see cref="Explainer"/> run here on the same seed, network and
    /// batch. Every δ, dW and db the page shows must be explain's numbers.
    /// </summary>
    [ChromiumFact]
    public async Task StepViewShowsExplainersDeltaDwAndDbForTheSameSeedNetworkAndBatch()
    {
        var (expected, rows) = ExplainFirstBatch(Hash);
        Assert.True(expected.AllPassed);

        var page = await fixture.OpenAsync(Hash);
        await page.ClickAsync("#step");
        await page.WaitForSelectorAsync("#step-view", new() { Timeout = 30_000 });
        Assert.Contains($"training rows {string.Join(", ", rows)}", await page.InnerTextAsync("#step-view"));
        Assert.StartsWith("✓ all", await page.InnerTextAsync("#check-summary"));

        var names = expected.Backward.Select(s => s.Name).ToArray();
        Assert.Equal(names.Length + 1, await page.Locator(".stage-button").CountAsync());
        int checkedValues = 0;
        for (int i = 0; i < names.Length; i++)
        {
            await page.ClickAsync($"#stage-{i}");
            await page.WaitForSelectorAsync($"#stage-values[data-name='{names[i]}']");
            var want = expected.Backward[i];
            Assert.Equal(want.ShapeText, await page.InnerTextAsync(".stage-card .shape"));
            var cells = page.Locator("#stage-values td");
            var shown = await cells.AllInnerTextsAsync();
            var full = await cells.EvaluateAllAsync<string[]>("cells => cells.map(c => c.dataset.value)");
            var values = want.Values.ToDoubleArray();
            Assert.Equal(values.Length, shown.Count);
            double scale = values.Max(Math.Abs) + 1e-300;
            for (int j = 0; j < values.Length; j++)
            {
                // Six significant digits on screen; every digit in data-value (the WebAssembly runtime's tanh and exp may differ from this machine's in the last bits).
                Assert.True(Math.Abs(PageTests.Number(shown[j]) - values[j]) <= 5e-6 * Math.Abs(values[j]) + 1e-12, $"{want.Name}[{j}]: page {shown[j]}, explain {values[j]}");
                Assert.True(Math.Abs(double.Parse(full[j], CultureInfo.InvariantCulture) - values[j]) <= 1e-12 * scale, $"{want.Name}[{j}]: page {full[j]}, explain {values[j]:R}");
                checkedValues++;
            }
            // The layer being computed is highlighted on the network drawing.
            Assert.True(await page.Locator("div.node.hl").CountAsync() > 0, $"no layer highlighted at {want.Name}");
            if (want.Name.StartsWith("dW", StringComparison.Ordinal))
                Assert.Equal("0.15", await page.GetAttributeAsync(want.Name == "dW[1]" ? "#edge-2-0-0" : "#edge-1-0-0", "stroke-opacity"));
        }
        // δ[3], dW[3], db[3], da[2], δ[2], dW[2], db[2], da[1], δ[1], dW[1], db[1] of a 2-4-2-1 network on 10 rows.
        Assert.Equal(10 + 2 + 1 + 20 + 20 + 8 + 2 + 40 + 40 + 8 + 4, checkedValues);

        await page.ClickAsync($"#stage-{names.Length}");
        string update = await page.InnerTextAsync("#stage-card");
        Assert.Contains("W ← W − α dW", update);
        Assert.StartsWith("✓", await page.InnerTextAsync("#compiled-check"));
        Assert.Contains("Loss on this batch: before", await page.InnerTextAsync("#loss-before-after"));
        await Screenshots.SaveAsync(page, "playground-step");

        // Hover: a neuron's formula with the selected example's numbers and its δ; an edge's weight, dW and update.
        await page.HoverAsync("#neuron-1-0");
        string neuron = await page.InnerTextAsync("#hover-info");
        Assert.Contains("z₁[1] = Σᵢ W[1]₁ᵢ aᵢ[0] + b₁[1]", neuron);
        Assert.Contains("a₁[1] = tanh(z)", neuron);
        Assert.Contains("dZ₁[1] in the last step", neuron); // the course's name for δ
        await page.HoverAsync("#edge-2-0-0", new() { Force = true });
        string edge = await page.InnerTextAsync("#hover-info");
        Assert.Contains("dW from the last step", edge);
        double dw = expected.Step("dW[2]").Values.ToDoubleArray()[0];
        Assert.Contains(dw.ToString("G6", CultureInfo.InvariantCulture), edge);
        await Screenshots.SaveAsync(page, "playground-hover", ".network");
    }

    /// <summary>
    /// The forward-mode view shows <c>explain --mode forward</c>'s counts: checked against figures worked out by hand,
    /// and against <see cref="Explainer"/>'s forward-mode scheme run here on the same network and batch.
    /// </summary>
    [ChromiumFact]
    public async Task ForwardModeViewCountsTheNetworkOnScreen()
    {
        const string hash = "seed=1";
        var page = await fixture.OpenAsync(hash);
        await page.ClickAsync("#forward-toggle");
        await page.WaitForSelectorAsync("#forward-counts", new() { Timeout = 30_000 });
        var backprop = await page.Locator("#count-backprop td").AllInnerTextsAsync();
        var forward = await page.Locator("#count-forward td").AllInnerTextsAsync();
        var layerMacs = await page.Locator("#forward-counts td.layer-macs").AllInnerTextsAsync();

        // By hand, as ForwardModeBuilder counts: 2-4-2-1, m = 10, P = 4·3 + 2·5 + 1·3 = 25; tangent blocks of layers
        // 1, 2, 3 have 12, 10 and 3 columns (weights and biases). Forward pass 10·(8 + 8 + 2) = 180 multiply-adds.
        // Backpropagation's derivatives, per example: dW[3] 2, db[3] 1, da[2] 2, ⊙ g′ 2; dW[2] 8, db[2] 2, da[1] 8, ⊙ g′ 4;
        // dW[1] 8, db[1] 4: 41, so 410, 590 in all. Forward mode, per example (the new block of each layer is placed, not
        // multiplied): layer 1 scales 4 rows × 12 by g′ = 48; layer 2 multiplies W[2] (2×4) into the layer-1 block, 2·4·12 = 96,
        // and scales 2 rows × (12 + 10) = 44: 140; layer 3 multiplies W[3] (1×2) into blocks 1 and 2, 2·(12 + 10) = 44; combining
        // ∂L/∂z[3] with 1 row × 25 = 25; so 480 + 1,400 + 440 + 250 = 2,570, 2,750 in all.
        // Numbers held: backpropagation keeps a[0] (20), z and a of every layer 2·10·(4 + 2 + 1) = 140, one error matrix
        // 10·4 = 40 and the gradient 25: 225. Forward mode holds at most layer 1's tangents 4·12 = 48 and layer 2's
        // 2·(12 + 10) = 44 per example, 10·92 = 920, and the gradient 25: 945.
        Assert.Contains("P = 25", await page.InnerTextAsync(".forward-body"));
        Assert.Equal(["reverse (backprop)", "180", "410", "590", "225"], backprop);
        Assert.Equal(["forward (tangents)", "180", "2,570", "2,750", "945"], forward);
        Assert.Equal(["480", "1,400", "440"], layerMacs);

        // The same figures as the library's scheme for the same network and batch: the page must not count on its own.
        var fm = ExplainFirstBatch(hash, new ExplainOptions { ForwardMode = true }).Explanation.ForwardMode!;
        string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        string[] Row(ModeCost c) => [c.Mode, N(c.ForwardMultiplyAdds), N(c.DerivativeMultiplyAdds), N(c.TotalMultiplyAdds), N(c.PeakNumbers)];
        Assert.Equal(Row(fm.Costs[0]), backprop);
        Assert.Equal(Row(fm.Costs[1]), forward);
        Assert.Equal(fm.Layers.Select(l => N(l.MultiplyAdds)), layerMacs);
        var tangents = fm.Layers.SelectMany(l => l.Tangents).ToArray();
        var carried = await page.Locator("#forward-counts td.tangent").AllInnerTextsAsync();
        var numbers = await page.Locator("#forward-counts td.tangent-numbers").AllInnerTextsAsync();
        Assert.Equal(tangents.Select(t => $"{t.Name} ({string.Join(", ", t.Shape)})"), carried);
        Assert.Equal(tangents.Select(t => N(t.Numbers)), numbers);
        Assert.Contains($"P = {N(fm.Parameters)}", await page.InnerTextAsync(".forward-body"));
        Assert.Equal(fm.Answer, await page.InnerTextAsync("#forward-answer"));
        Assert.StartsWith("✓", await page.InnerTextAsync("#forward-check"));
        await Screenshots.SaveAsync(page, "playground-forward-mode", "#forward-mode");

        // The animation of the gradient flowing back marks the layers in turn.
        await page.ClickAsync("#animate");
        await page.WaitForSelectorAsync("path.edge.flow", new() { State = Microsoft.Playwright.WaitForSelectorState.Attached, Timeout = 5_000 });
    }
}
