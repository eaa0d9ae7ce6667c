using System.Diagnostics;
using System.Text.RegularExpressions;
using Backprop.Explain;

namespace Backprop.Tests.Explain;

/// <summary>
/// A fact that needs Debian's chromium package (apt-get install -y chromium). Without /usr/bin/chromium
/// the test is reported as skipped with the reason, never as passed.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Path = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Path)) Skip = $"{Path} is not installed (apt-get install -y chromium); the HTML page cannot be rendered.";
    }
}

/// <summary>The HTML page renders in a real browser with its MathML equations, offline.</summary>
public partial class HtmlBrowserTests
{
    [ChromiumFact]
    public void ThePageRendersItsEquationsInHeadlessChromium()
    {
        var (x, y) = ExplainTestData.BreastCancerRows(0, 19);
        var e = Explainer.Explain(ExplainTestData.RandomLayers(3, [30, 3, 1], ["relu", "sigmoid"]), ExplainTask.Binary, x, y, new ExplainOptions { Convention = ExplainConvention.MeanInDelta });
        string html = e.ToHtml();
        string dir = Directory.CreateTempSubdirectory("backprop-explain-").FullName;
        try
        {
            string file = System.IO.Path.Combine(dir, "explain.html");
            File.WriteAllText(file, html);
            string dom = DumpDom(file, dir);

            // Each step has its formula and its values as MathML; the browser kept every <math> element.
            int mathInSource = MathOpen().Matches(html).Count;
            Assert.True(mathInSource >= 2 * e.Steps.Count(), $"only {mathInSource} <math> elements in the page");
            Assert.Equal(mathInSource, MathOpen().Matches(dom).Count);
            Assert.Contains("<mtable>", dom);
            // Key equations: z[1] = W[1] a[0] + b[1], dW[1] = δ[1] a[0]ᵀ, da[1] = W[2]ᵀ δ[2], and the ⊙ of δ[1].
            Assert.Contains("<msup><mi>z</mi><mrow><mo>[</mo><mn>1</mn><mo>]</mo></mrow></msup><mo>=</mo><msup><mi>W</mi><mrow><mo>[</mo><mn>1</mn><mo>]</mo></mrow></msup>", dom);
            Assert.Contains("<msup><mi>a</mi><mrow><mo>[</mo><mn>0</mn><mo>]</mo><mi>T</mi></mrow></msup>", dom);
            Assert.Contains("<msup><mi>W</mi><mrow><mo>[</mo><mn>2</mn><mo>]</mo><mi>T</mi></mrow></msup>", dom);
            Assert.Contains("<mo>⊙</mo>", dom);
            Assert.Contains("<mfrac>", dom);
            Assert.Contains("id=\"dW[1]\"", dom);
            Assert.Contains("✓", dom);
            // Self-contained: nothing to fetch, nothing to run.
            Assert.DoesNotContain("<script", html);
            Assert.DoesNotContain("http", html);
            Assert.DoesNotContain("<link", html);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string DumpDom(string file, string profileDir)
    {
        var psi = new ProcessStartInfo(ChromiumFactAttribute.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "--virtual-time-budget=10000",
                     $"--user-data-dir={System.IO.Path.Combine(profileDir, "profile")}", "file://" + file })
            psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish within 120 s");
        }
        Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    [GeneratedRegex("<math[ >]")]
    private static partial Regex MathOpen();
}
