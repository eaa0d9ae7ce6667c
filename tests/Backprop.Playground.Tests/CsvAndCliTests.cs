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
            string text = "a,b,label\n1,2,x\n3,\"oops,y\n4,5,x\n"; // a quoted field that is never closed
            string path = Path.Combine(dir, "bad.csv");
            await File.WriteAllTextAsync(path, text);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = Program.Run(["train", path, "--target", "label", "--out", Path.Combine(dir, "model.safetensors")], stdout, stderr);
            Assert.NotEqual(0, code);
            string cli = stderr.ToString().Split('\n').Single(l => l.StartsWith("error:", StringComparison.Ordinal)).TrimEnd('\r');
            Assert.Contains("bad.csv", cli);

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
        using var process = StartCli("playground", "--port", "0", "--no-open");
        try
        {
            string line = (await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)))!;
            Assert.StartsWith("Backprop playground: http://localhost:", line);
            string address = line["Backprop playground: ".Length..];
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            var index = await http.GetAsync("/");
            Assert.Equal(System.Net.HttpStatusCode.OK, index.StatusCode);
            string html = await index.Content.ReadAsStringAsync();
            Assert.Contains("<title>Backprop playground</title>", html);
            // The script tag names the fingerprinted file (the import map also lists the plain name, which is no file).
            var script = System.Text.RegularExpressions.Regex.Match(html, "src=\"(_framework/blazor\\.webassembly[^\"]*\\.js)\"").Groups[1].Value;
            Assert.NotEqual("", script);
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

    private static Process StartCli(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll"), .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = AppContext.BaseDirectory,
        };
        return Process.Start(info)!;
    }

    [Fact]
    public async Task APortInUseIsOneErrorLine()
    {
        using var first = StartCli("playground", "--port", "0", "--no-open");
        try
        {
            string line = (await first.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)))!;
            string port = line.Split(':')[^1].TrimEnd('/');
            using var second = StartCli("playground", "--port", port, "--no-open");
            var stderr = second.StandardError.ReadToEndAsync();
            bool exited = second.WaitForExit(60_000);
            if (!exited) second.Kill(entireProcessTree: true);
            Assert.True(exited, "the second server did not stop on a port in use");
            Assert.Equal(1, second.ExitCode);
            string error = (await stderr).Trim();
            Assert.StartsWith($"error: --port {port}: cannot listen on localhost", error);
            Assert.Single(error.Split('\n'));
        }
        finally
        {
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }
    }
}
