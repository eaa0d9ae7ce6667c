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

    /// <summary>
    /// The brackets around each matrix stretch to its height: a measuring script (added to a copy of the
    /// page only; the page itself has none) writes every bracket's and table's rendered height into the
    /// DOM, which headless Chromium dumps. Without a maths font the brackets stay one line high.
    /// </summary>
    [ChromiumFact]
    public void MatrixBracketsStretchToTheMatrixHeight()
    {
        var (x, y) = ExplainTestData.BreastCancerRows(0, 19, 30);
        var e = Explainer.Explain(ExplainTestData.RandomLayers(3, [30, 3, 1], ["relu", "sigmoid"]), ExplainTask.Binary, x, y,
            new ExplainOptions { FeatureNames = Enumerable.Range(0, 30).Select(i => $"f{i}").ToArray(), LearningRate = 0.1 });
        string html = e.ToHtml();
        Assert.Contains("DejaVu Math TeX Gyre", html);
        const string measure = """
            <pre id="measure"></pre><script>
            const out = [];
            for (const t of document.querySelectorAll('mtable')) {
              const open = t.previousElementSibling, close = t.nextElementSibling;
              if (!open || open.localName !== 'mo' || open.textContent !== '(') continue;
              out.push([t.querySelectorAll('mtr').length, t.getBoundingClientRect().height, open.getBoundingClientRect().height, close.getBoundingClientRect().height].join(','));
            }
            document.getElementById('measure').textContent = out.join(';');
            </script>
            """;
        string dir = Directory.CreateTempSubdirectory("backprop-brackets-").FullName;
        try
        {
            string file = System.IO.Path.Combine(dir, "measure.html");
            File.WriteAllText(file, html.Replace("</body>", measure + "</body>"));
            string dom = DumpDom(file, dir);
            var m = Regex.Match(dom, "<pre id=\"measure\">([^<]*)</pre>");
            Assert.True(m.Success && m.Groups[1].Value.Length > 0, "the measuring script wrote nothing");
            var rows = m.Groups[1].Value.Split(';').Select(r => r.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToList();
            var tall = rows.Where(r => r[0] >= 3).ToList();
            Assert.True(tall.Count >= 3, $"only {tall.Count} matrices of 3 or more rows measured");
            foreach (var r in tall)
            {
                Assert.True(r[1] > 20, $"a {r[0]}-row matrix is {r[1]} px high");
                Assert.True(r[2] >= 0.85 * r[1] && r[3] >= 0.85 * r[1], $"brackets {r[2]} and {r[3]} px high around a {r[0]}-row matrix {r[1]} px high: they did not stretch");
            }
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
