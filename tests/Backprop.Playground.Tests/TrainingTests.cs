using Microsoft.Playwright;

namespace Backprop.Playground.Tests;

[Collection("playground")]
public sealed class TrainingTests(PlaygroundFixture fixture)
{
    private static async Task<double> PlayUntil(IPage page, string lossId, double below, int timeoutMs)
    {
        await page.ClickAsync("#play");
        try
        {
            await page.WaitForFunctionAsync($"b => parseFloat(document.getElementById('{lossId}').textContent) < b", below,
                new() { Timeout = timeoutMs, PollingInterval = 250 });
        }
        catch (TimeoutException)
        {
            // Report where it got to, then fail below.
        }
        await page.ClickAsync("#play");
        return PageTests.Number(await page.InnerTextAsync("#" + lossId));
    }

    [ChromiumFact]
    public async Task SpiralWithTwoHiddenLayersOfEightTrainsToATestLossBelowPointOne()
    {
        var page = await fixture.OpenAsync("dataset=spiral&networkShape=8,8&activation=tanh&learningRate=0.03&batchSize=10&x=true&y=true&xSquared=true&ySquared=true&xTimesY=true&sinX=true&sinY=true&seed=1&speed=20&showTestData=true");
        double start = PageTests.Number(await page.InnerTextAsync("#test-loss"));
        double loss = await PlayUntil(page, "test-loss", 0.1, 240_000);
        int epochs = int.Parse((await page.InnerTextAsync("#epoch")).Replace(",", ""));
        await Screenshots.SaveAsync(page, "playground-spiral");
        Assert.True(loss < 0.1, $"test loss {loss} after {epochs} epochs (it started at {start})");
    }

    [ChromiumFact]
    public async Task IrisCsvOpensAndTrains()
    {
        var page = await fixture.OpenAsync("seed=2&speed=5&networkShape=4");
        await page.SetInputFilesAsync("#csv-file", Path.Combine(PlaygroundFixture.RepositoryRoot, "data", "iris.csv"));
        await page.WaitForSelectorAsync("#csv-target", new() { Timeout = 30_000 });
        Assert.Equal("species", await page.InputValueAsync("#csv-target"));
        Assert.Equal(4, await page.Locator("input.csv-feature:checked").CountAsync());
        // Four inputs, three classes: the map shows two features and says the other two are held at their mean.
        Assert.Equal(4, await page.Locator("div.node.input").CountAsync());
        Assert.Equal(3, await page.Locator("div.node[id^=neuron-2-]").CountAsync());
        string note = await page.InnerTextAsync("#map-note");
        Assert.Contains("other 2 inputs", note);
        Assert.Contains("training mean", note);
        Assert.Contains("setosa", await page.InnerTextAsync(".legend"));
        double start = PageTests.Number(await page.InnerTextAsync("#test-loss"));
        double loss = await PlayUntil(page, "test-loss", 0.25, 120_000);
        await Screenshots.SaveAsync(page, "playground-iris");
        Assert.True(loss < 0.25, $"iris test loss {loss}, from {start}");
    }

    [ChromiumFact]
    public async Task BenchModeReportsEpochsPerSecondAndMillisecondsPerFrame()
    {
        var page = await fixture.OpenAsync("bench&seed=1");
        await page.WaitForSelectorAsync("#bench-result", new() { Timeout = 60_000 });
        string text = await page.InnerTextAsync("#bench-result");
        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots"));
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "screenshots", "bench.txt"), text);
        // The figure itself is recorded in docs/playground.md; a test only checks that the mode measures.
        var m = System.Text.RegularExpressions.Regex.Match(text, @"([0-9.]+) epochs/s, ([0-9.]+) ms per frame");
        Assert.True(m.Success, text);
        Assert.Contains("2-4-2-1 tanh, 250 training points, batch 10", text);
        Assert.True(double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, text);
        Assert.True(double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, text);
    }
}
