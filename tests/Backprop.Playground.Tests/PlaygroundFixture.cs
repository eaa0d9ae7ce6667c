using Backprop.Cli.Commands;
using Microsoft.Playwright;

namespace Backprop.Playground.Tests;

/// <summary>A fact that needs Debian's chromium (apt-get install -y chromium; .ci/run installs it). Without it the test is skipped and says why.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Path = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Path)) Skip = $"{Path} is not installed (apt-get install -y chromium); the playground cannot be loaded in a browser.";
    }
}

/// <summary>
/// One server and one browser for all the playground's browser tests: the published folder that the CLI
/// build put beside the tool (copied into this test's output), served by the CLI's own server on a free
/// port, and the system Chromium driven by Playwright.
/// </summary>
public sealed class PlaygroundFixture : IAsyncLifetime
{
    public static string PublishedFolder => System.IO.Path.Combine(AppContext.BaseDirectory, "playground", "wwwroot");

    private IPlaywright? _playwright;
    private PlaygroundServer? _server;

    public IBrowser Browser { get; private set; } = null!;
    public string BaseUrl => _server!.Address;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumFactAttribute.Path)) return;
        await EnsurePublishedAsync();
        if (!File.Exists(System.IO.Path.Combine(PublishedFolder, "index.html")))
            throw new InvalidOperationException($"The published playground is missing at {PublishedFolder}: build the solution (the CLI's build publishes it).");
        _server = PlaygroundServer.Start(PublishedFolder, 0);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumFactAttribute.Path, Args = ["--no-sandbox"] });
    }

    /// <summary>
    /// The CLI's build publishes the playground beside the tool and this project's build copies it. The
    /// solution's projects build in parallel, and another build of the CLI (referenced by another test
    /// project) may publish after that copy ran, leaving this output without the page. So wait for the
    /// CLI's publish to be complete (its stamp is written last) and copy the folder here if this copy is
    /// missing or older.
    /// </summary>
    private static async Task EnsurePublishedAsync()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(System.IO.Path.DirectorySeparatorChar));
        string framework = output.Name, configuration = output.Parent!.Name;
        var repo = output;
        while (repo is not null && !File.Exists(System.IO.Path.Combine(repo.FullName, "Backprop.sln"))) repo = repo.Parent;
        if (repo is null) return;
        string source = System.IO.Path.Combine(repo.FullName, "src", "Backprop.Cli", "bin", configuration, framework, "playground");
        string stamp = System.IO.Path.Combine(source, "published.stamp");
        bool Complete() => File.Exists(stamp) && File.Exists(System.IO.Path.Combine(source, "wwwroot", "index.html"));
        for (var deadline = DateTime.UtcNow.AddMinutes(5); !Complete() && DateTime.UtcNow < deadline;) await Task.Delay(500);
        if (!Complete()) return; // the check in InitializeAsync reports the missing page
        string target = System.IO.Path.Combine(AppContext.BaseDirectory, "playground");
        string targetStamp = System.IO.Path.Combine(target, "published.stamp");
        if (File.Exists(targetStamp) && File.Exists(System.IO.Path.Combine(PublishedFolder, "index.html")) &&
            File.GetLastWriteTimeUtc(targetStamp) >= File.GetLastWriteTimeUtc(stamp)) return;
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var destination = System.IO.Path.Combine(target, System.IO.Path.GetRelativePath(source, file));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(destination)!);
            File.Copy(file, destination, overwrite: true);
        }
    }

    /// <summary>A fresh page (own context) at the playground with <paramref name="hash"/>, after the app has drawn its first frame.</summary>
    public async Task<IPage> OpenAsync(string hash, int width = 1400, int height = 1000)
    {
        var context = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        page.Response += (_, r) => { if (r.Status >= 400) errors.Add($"HTTP {r.Status} {r.Url}"); };
        await page.GotoAsync(BaseUrl + "#" + hash);
        try
        {
            await page.WaitForSelectorAsync("#epoch", new() { Timeout = 30_000 });
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"The playground did not load within 120 s. Console errors: {string.Join(" | ", errors)}");
        }
        return page;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        _server?.Dispose();
    }

    /// <summary>The repository's root (the folder with Backprop.sln), for data/ and docs/.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Backprop.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Backprop.sln not found above " + AppContext.BaseDirectory);
        }
    }
}

[CollectionDefinition("playground")]
public sealed class PlaygroundCollection : ICollectionFixture<PlaygroundFixture>;
