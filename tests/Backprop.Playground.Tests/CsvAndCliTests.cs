using System.Diagnostics;
using Backprop.Cli;

namespace Backprop.Playground.Tests;

[Collection("playground")]
public sealed class CsvAndCliTests(PlaygroundFixture fixture)
{
    [ChromiumFact]
    public async Task AMalformedCsvShowsTheSameOneLineErrorAsTheCli()
    {
        string dir = Directory.CreateTempSubdirectory("playground-csv").FullName;
        try
        {
            string text = "a,b,label\n1,2,x\n3,oops,y\n4,5,x\n";
            string path = Path.Combine(dir, "bad.csv");
            await File.WriteAllTextAsync(path, text);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = Program.Run(["train", path, "--target", "label", "--out", Path.Combine(dir, "model.safetensors")], stdout, stderr);
            Assert.NotEqual(0, code);
            string cli = stderr.ToString().Split('\n').Single(l => l.StartsWith("error:", StringComparison.Ordinal)).TrimEnd('\r');
            Assert.Contains("oops", cli);

            var page = await fixture.OpenAsync("seed=1");
            await page.SetInputFilesAsync("#csv-file", new Microsoft.Playwright.FilePayload { Name = "bad.csv", MimeType = "text/csv", Buffer = System.Text.Encoding.UTF8.GetBytes(text) });
            await page.WaitForSelectorAsync("#csv-error", new() { Timeout = 30_000 });
            Assert.Equal(cli, (await page.InnerTextAsync("#csv-error")).Trim());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>'backprop playground' as a user runs it: a process that prints the address and serves the page.</summary>
    [Fact]
    public async Task BackpropPlaygroundServesThePageOverHttp()
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll");
        var info = new ProcessStartInfo("dotnet", [cli, "playground", "--port", "0", "--no-open"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = AppContext.BaseDirectory,
        };
        using var process = Process.Start(info)!;
        try
        {
            var first = process.StandardOutput.ReadLineAsync();
            Assert.True(await Task.WhenAny(first, Task.Delay(60_000)) == first, "no address printed within 60 s: " + await process.StandardError.ReadToEndAsync());
            string line = (await first)!;
            Assert.StartsWith("Backprop playground: http://localhost:", line);
            string address = line["Backprop playground: ".Length..];
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            var index = await http.GetAsync("/");
            Assert.Equal(System.Net.HttpStatusCode.OK, index.StatusCode);
            string html = await index.Content.ReadAsStringAsync();
            Assert.Contains("<title>Backprop playground</title>", html);
            var script = System.Text.RegularExpressions.Regex.Match(html, "_framework/blazor\\.webassembly[^\"]*\\.js").Value;
            var js = await http.GetAsync("/" + script);
            Assert.Equal(System.Net.HttpStatusCode.OK, js.StatusCode);
            Assert.Equal("text/javascript", js.Content.Headers.ContentType?.MediaType);
            var wasm = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "playground", "wwwroot", "_framework"), "Backprop.*.wasm").Select(Path.GetFileName).First();
            var engine = await http.GetAsync("/_framework/" + wasm);
            Assert.Equal("application/wasm", engine.Content.Headers.ContentType?.MediaType);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/%2e%2e/%2e%2e/Backprop.Cli.dll")).StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/no-such-file.js")).StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public void APortInUseIsOneErrorLine()
    {
        using var first = Backprop.Cli.Commands.PlaygroundServer.Start(PlaygroundFixture.PublishedFolder, 0);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Program.Run(["playground", "--port", first.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--no-open"], stdout, stderr);
        Assert.Equal(1, code);
        Assert.StartsWith($"error: --port {first.Port}: cannot listen on localhost", stderr.ToString());
        Assert.Single(stderr.ToString().Trim().Split('\n'));
    }
}
