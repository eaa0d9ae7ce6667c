using System.Globalization;
using Microsoft.Playwright;

namespace Backprop.Playground.Tests;

[Collection("playground")]
public sealed class PageTests(PlaygroundFixture fixture)
{
    internal static double Number(string text) => double.Parse(text.Replace("−", "-"), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>Counts the canvas's pixels that are not the background (a heatmap that was drawn has thousands).</summary>
    internal static Task<int> PaintedPixels(IPage page, string selector) => page.EvalOnSelectorAsync<int>(selector,
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }");

    [ChromiumFact]
    public async Task PageLoadsWithTensorFlowPlaygroundsDefaultSetup()
    {
        var page = await fixture.OpenAsync("seed=1");
        Assert.Equal("Backprop playground", await page.TitleAsync());
        // 2 inputs, hidden 4-2, one output: 2·4 + 4·2 + 2·1 edges, 4 + 2 + 1 neurons.
        Assert.Equal(18, await page.Locator("path.edge").CountAsync());
        Assert.Equal(7, await page.Locator("div.node[id^=neuron-]").CountAsync());
        Assert.Equal(7, await page.Locator("div.node.input").CountAsync());
        Assert.Equal(5, await page.Locator("div.node.input.off").CountAsync());
        Assert.Equal(50 * 50, await PaintedPixels(page, "#output-map"));
        Assert.True(await PaintedPixels(page, "#output-points") > 100, "the data points are drawn");
        Assert.Contains("never uploaded", await page.InnerTextAsync(".privacy"));
        Assert.Equal("0", await page.InnerTextAsync("#epoch"));
        double loss0 = Number(await page.InnerTextAsync("#train-loss"));
        Assert.InRange(loss0, 0.3, 2);

        // Play trains: the epoch counter moves and the edges get weights as colours.
        await page.ClickAsync("#play");
        await page.WaitForFunctionAsync("() => parseInt(document.getElementById('epoch').textContent.replace(/,/g, '')) >= 20", null, new() { Timeout = 60_000 });
        await page.ClickAsync("#play");
        await Screenshots.SaveAsync(page, "playground-default");
        Assert.NotNull(await page.GetAttributeAsync("#edge-1-0-0", "stroke"));
        Assert.True(Number(await page.InnerTextAsync("#train-loss")) < loss0, "training lowers the loss");
    }
}
