using System.Text.RegularExpressions;

namespace Backprop.Tests.Explain;

/// <summary>Every relative link in README.md and docs/*.md resolves: the file exists, and a #anchor names one of its headings.</summary>
public partial class DocsLinkTests
{
    [Fact]
    public void EveryRelativeLinkResolvesToAFileAndHeading()
    {
        string root = ExplainTestData.RepoRoot();
        var pages = new[] { Path.Combine(root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md")).ToList();
        var broken = new List<string>();
        int checkedLinks = 0;
        foreach (var page in pages)
        {
            string text = StripCode(File.ReadAllText(page));
            foreach (Match m in Link().Matches(text))
            {
                string target = m.Groups["t"].Value.Trim();
                if (Regex.IsMatch(target, "^[a-z][a-z0-9+.-]*:", RegexOptions.IgnoreCase)) continue; // http:, mailto:
                checkedLinks++;
                string file = target.Split('#')[0];
                string? anchor = target.Contains('#') ? target[(target.IndexOf('#') + 1)..] : null;
                string resolved = file.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, Uri.UnescapeDataString(file)));
                if (!File.Exists(resolved) && !Directory.Exists(resolved))
                {
                    broken.Add($"{Path.GetFileName(page)}: {target} (no such file)");
                    continue;
                }
                if (anchor is not null && resolved.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !Anchors(File.ReadAllText(resolved)).Contains(anchor))
                    broken.Add($"{Path.GetFileName(page)}: {target} (no heading with that anchor)");
            }
        }
        Assert.True(checkedLinks > 5, $"only {checkedLinks} relative links found");
        Assert.True(broken.Count == 0, "broken links:\n" + string.Join("\n", broken));
        // The project's docs never point outside the repository to the team's shared notes.
        foreach (var page in pages) Assert.DoesNotContain("/work/shared", File.ReadAllText(page));
    }

    [Fact]
    public void AnchorsFollowGitHubsRules() =>
        Assert.Equal(["the-cost-argument-mathmd-4", "7-where-the-1m-goes-two-ways-to-write-the-same-backward-pass"],
            Anchors("## The cost argument ([math.md §4](math.md))\n## 7. Where the 1/m goes: two ways to write the same backward pass\n"));

    /// <summary>GitHub's heading anchors: lower case, link targets dropped, punctuation removed, spaces to hyphens, repeats numbered.</summary>
    internal static HashSet<string> Anchors(string markdown)
    {
        var result = new HashSet<string>();
        var seen = new Dictionary<string, int>();
        foreach (var line in StripCode(markdown).Split('\n'))
        {
            var h = Regex.Match(line, @"^#{1,6}\s+(.*?)\s*#*\s*$");
            if (!h.Success) continue;
            string text = Regex.Replace(h.Groups[1].Value, @"\[([^\]]*)\]\([^)]*\)", "$1").ToLowerInvariant();
            var slug = new System.Text.StringBuilder();
            foreach (char c in text)
                if (char.IsLetterOrDigit(c) || c is '-' or '_') slug.Append(c);
                else if (c == ' ') slug.Append('-');
            string s = slug.ToString();
            int n = seen.GetValueOrDefault(s);
            seen[s] = n + 1;
            result.Add(n == 0 ? s : $"{s}-{n}");
        }
        return result;
    }

    /// <summary>Fenced blocks, indented code lines and inline code hold no links.</summary>
    private static string StripCode(string markdown) =>
        InlineCode().Replace(Indented().Replace(Fence().Replace(markdown.Replace("\r\n", "\n"), ""), ""), "");

    [GeneratedRegex(@"^(    |\t).*$", RegexOptions.Multiline)]
    private static partial Regex Indented();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"(?<!!)\[[^\]]*\]\((?<t>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"```.*?```", RegexOptions.Singleline)]
    private static partial Regex Fence();
}
