using Microsoft.Playwright;

namespace Backprop.Playground.Tests;

/// <summary>
/// Screenshots the tests take: always into the test output (screenshots/), and into docs/images when
/// BACKPROP_SCREENSHOTS=docs (how docs/playground.md's pictures are made).
/// </summary>
internal static class Screenshots
{
    public static async Task SaveAsync(IPage page, string name, string? selector = null)
    {
        byte[] png = selector is null
            ? await page.ScreenshotAsync(new() { FullPage = true })
            : await page.Locator(selector).ScreenshotAsync();
        string local = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(local);
        await File.WriteAllBytesAsync(Path.Combine(local, name + ".png"), png);
        if (Environment.GetEnvironmentVariable("BACKPROP_SCREENSHOTS") == "docs")
            await File.WriteAllBytesAsync(Path.Combine(PlaygroundFixture.RepositoryRoot, "docs", "images", name + ".png"), png);
    }
}
