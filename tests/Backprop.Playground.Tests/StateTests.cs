using Backprop.Playground.Engine;
using Microsoft.Playwright;

namespace Backprop.Playground.Tests;

[Collection("playground")]
public sealed class StateTests(PlaygroundFixture fixture)
{
    // Every control away from its default, in the order the page writes the hash.
    private const string Shared = "activation=relu&batchSize=17&dataset=xor&regDataset=reg-gauss&learningRate=0.1&regularization=L2&regularizationRate=0.003" +
        "&noise=25&networkShape=3,5,2&seed=4242&showTestData=true&discretize=true&percTrainData=70" +
        "&x=true&y=false&xSquared=true&ySquared=false&xTimesY=true&sinX=false&sinY=true&problem=classification&initZero=true&hideText=true&speed=5";

    [ChromiumFact]
    public async Task ASharedUrlRestoresEveryControl()
    {
        var page = await fixture.OpenAsync(Shared);
        Assert.Equal("#" + Shared, await page.EvaluateAsync<string>("() => location.hash"));
        Assert.Equal("relu", await page.InputValueAsync("#activation"));
        Assert.Equal("0.1", await page.InputValueAsync("#learningRate"));
        Assert.Equal("L2", await page.InputValueAsync("#regularization"));
        Assert.Equal("0.003", await page.InputValueAsync("#regularizationRate"));
        Assert.Equal("classification", await page.InputValueAsync("#problem"));
        Assert.Equal("5", await page.InputValueAsync("#speed"));
        Assert.Equal("17", await page.InputValueAsync("#batchSize"));
        Assert.Equal("25", await page.InputValueAsync("#noise"));
        Assert.Equal("70", await page.InputValueAsync("#percTrainData"));
        Assert.Equal("4242", await page.InputValueAsync("#seed"));
        Assert.True(await page.IsCheckedAsync("#showTestData"));
        Assert.True(await page.IsCheckedAsync("#discretize"));
        Assert.True(await page.IsCheckedAsync("#initZero"));
        Assert.True(await page.IsCheckedAsync("#hideText"));
        Assert.Contains("selected", await page.GetAttributeAsync("#dataset-xor", "class"));
        Assert.Equal(3, await page.Locator("div.node[id^=neuron-1-]").CountAsync());
        Assert.Equal(5, await page.Locator("div.node[id^=neuron-2-]").CountAsync());
        Assert.Equal(2, await page.Locator("div.node[id^=neuron-3-]").CountAsync());
        bool[] features = [true, false, true, false, true, false, true];
        for (int f = 0; f < 7; f++)
            Assert.Equal(!features[f], (await page.GetAttributeAsync($"#input-{f}", "class"))!.Contains("off"));
        // 70 % of 500 points train.
        Assert.Contains("xor, noise 25, seed 4242", await page.InnerTextAsync(".source"));

        // A change made on the page goes into the URL, and that URL opens the same page elsewhere.
        await page.SelectOptionAsync("#activation", "sigmoid");
        await page.ClickAsync("#add-layer");
        string hash = await page.EvaluateAsync<string>("() => location.hash");
        Assert.Equal(PlaygroundState.FromHash(hash).ToHash(), hash.TrimStart('#'));
        var copy = await fixture.OpenAsync(hash.TrimStart('#'));
        Assert.Equal("sigmoid", await copy.InputValueAsync("#activation"));
        Assert.Equal("4 HIDDEN LAYERS", await copy.InnerTextAsync("#hidden-layers"));
        Assert.Equal(await page.InnerTextAsync("#train-loss"), await copy.InnerTextAsync("#train-loss"));
    }

    [ChromiumFact]
    public async Task ARegressionUrlOpensTheRegressionSet()
    {
        var page = await fixture.OpenAsync("problem=regression&regDataset=reg-gauss&seed=3");
        Assert.Equal("regression", await page.InputValueAsync("#problem"));
        Assert.Contains("selected", await page.GetAttributeAsync("#dataset-reg-gauss", "class"));
        Assert.Equal(2, await page.Locator("button.dataset").CountAsync());
        Assert.Contains("mean squared error", await page.InnerTextAsync(".source"));
    }
}
