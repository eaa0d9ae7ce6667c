using System.IO.Compression;
using System.Reflection.Metadata;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit.Abstractions;
using static Backprop.Deploy.Tests.DeployTestFiles;

namespace Backprop.Deploy.Tests;

/// <summary>
/// dotnet pack of the library and the tool into a temp folder (its own artifacts path, so the build the
/// other tests run from is untouched), the package contents and sizes, then dotnet tool install from
/// that folder alone and the installed tool running.
/// </summary>
public sealed class PackageTests(ITestOutputHelper log)
{
    private const long MaxInstalledBytes = 60L * 1024 * 1024;
    private static readonly Guid SourceLinkGuid = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    [Fact]
    public void PackedToolInstallsSmallAndRuns()
    {
        string rid = $"{(OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsMacOS() ? "osx" : "win")}-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
        var root = RepoRoot();
        var tmp = TempDir();
        var packages = Path.Combine(tmp, "packages");
        var artifacts = Path.Combine(tmp, "artifacts");

        // The tool is packed for this machine's platform only, to keep the test's time down; the
        // project packs linux-x64, linux-arm64, osx-arm64 and win-x64 by default.
        string Pack(string project, params string[] extra)
        {
            var result = Run("dotnet", ["pack", Path.Combine(root, "src", project, project + ".csproj"), "-c", "Release", "-o", packages, "--artifacts-path", artifacts, .. extra], tmp, 900);
            Assert.True(result.ExitCode == 0, result.Output + result.Error);
            Assert.DoesNotContain("missing a readme", result.Output);
            Assert.DoesNotContain("warning", result.Output, StringComparison.OrdinalIgnoreCase);
            return result.Output;
        }
        Pack("Backprop");
        Pack("Backprop.Cli", $"-p:ToolPackageRuntimeIdentifiers={rid}");

        // The library: managed code, XML docs, readme, licence, the commit it was built from, symbols.
        var library = Single(packages, "Backprop", "nupkg");
        using (var zip = ZipFile.OpenRead(library))
        {
            var names = zip.Entries.Select(e => e.FullName).ToArray();
            Assert.Contains("lib/net10.0/Backprop.dll", names);
            Assert.Contains("lib/net10.0/Backprop.xml", names);
            Assert.Contains("README.md", names);
            Assert.DoesNotContain(names, n => n.StartsWith("runtimes/", StringComparison.Ordinal) || n.EndsWith(".so", StringComparison.Ordinal) || n.EndsWith(".dylib", StringComparison.Ordinal));
            var nuspec = Nuspec(zip);
            Assert.Equal("Backprop", Meta(nuspec, "id"));
            Assert.Equal("README.md", Meta(nuspec, "readme"));
            Assert.Equal("MIT", Meta(nuspec, "license"));
            Assert.False(string.IsNullOrWhiteSpace(Meta(nuspec, "description")));
            var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToArray();
            Assert.Equal(["System.Numerics.Tensors"], dependencies);
            var commit = nuspec.Descendants().Single(e => e.Name.LocalName == "repository").Attribute("commit")?.Value;
            Assert.Matches("^[0-9a-f]{40}$", commit);
            log.WriteLine($"Backprop package: {new FileInfo(library).Length:N0} bytes, commit {commit}");
        }
        var symbols = Single(packages, "Backprop", "snupkg");
        using (var zip = ZipFile.OpenRead(symbols))
        {
            var pdb = zip.Entries.Single(e => e.FullName == "lib/net10.0/Backprop.pdb");
            using var stream = new MemoryStream();
            using (var s = pdb.Open()) s.CopyTo(stream);
            stream.Position = 0;
            using var provider = MetadataReaderProvider.FromPortablePdbStream(stream);
            var reader = provider.GetMetadataReader();
            bool sourceLink = reader.GetCustomDebugInformation(EntityHandle.ModuleDefinition)
                .Select(h => reader.GetGuid(reader.GetCustomDebugInformation(h).Kind)).Contains(SourceLinkGuid);
            // SourceLink maps files to URLs on the repository's host (GitHub, GitLab, Azure Repos, Bitbucket);
            // a clone without such a remote (none, or a local path, as in CI's fresh clone) has no URLs to give.
            string origin = Run("git", ["-C", root, "remote", "get-url", "origin"], tmp, 60).Output.Trim();
            bool hostedRemote = System.Text.RegularExpressions.Regex.IsMatch(origin,
                @"(github\.com|gitlab\.com|bitbucket\.org|dev\.azure\.com|visualstudio\.com)[:/]", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
            if (hostedRemote) Assert.True(sourceLink, $"the PDB carries no SourceLink map although the repository's remote is {origin}");
            log.WriteLine($"Backprop.pdb: SourceLink map {(sourceLink ? "present" : "absent (no remote on a SourceLink host)")}");
        }

        // The tool: a pointer package naming the platform packages, and this platform's package.
        var pointer = Single(packages, "Backprop.Cli", "nupkg");
        var platform = Single(packages, $"Backprop.Cli.{rid}", "nupkg");
        using (var zip = ZipFile.OpenRead(platform))
        {
            var names = zip.Entries.Select(e => e.FullName).ToArray();
            Assert.Contains("README.md", names);
            Assert.DoesNotContain(names, n => n.EndsWith(".pdb", StringComparison.Ordinal) && !n.EndsWith("Backprop.pdb", StringComparison.Ordinal) && !n.EndsWith("Backprop.Cli.pdb", StringComparison.Ordinal));
            Assert.DoesNotContain(names, n => n.Contains("/runtimes/", StringComparison.Ordinal)); // natives of other platforms
            Assert.Equal("README.md", Meta(Nuspec(zip), "readme"));
        }
        using (var zip = ZipFile.OpenRead(pointer)) Assert.Equal("README.md", Meta(Nuspec(zip), "readme"));
        log.WriteLine($"Backprop.Cli packages: pointer {new FileInfo(pointer).Length:N0} bytes, {rid} {new FileInfo(platform).Length:N0} bytes");

        // Install from the packed folder alone (a config that clears every other source) into a fresh
        // package cache, as the README says, and run the installed tool.
        var config = Path.Combine(tmp, "nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="packed" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        var tools = Path.Combine(tmp, "tools");
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(tmp, "nuget-cache") };
        var install = Run("dotnet", ["tool", "install", "--tool-path", tools, "--configfile", config, "Backprop.Cli"], tmp, 600, env);
        Assert.True(install.ExitCode == 0, install.Output + install.Error);
        long installed = new DirectoryInfo(tools).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        log.WriteLine($"installed in {tools}: {installed:N0} bytes ({installed / 1048576.0:F1} MiB; limit {MaxInstalledBytes / 1048576} MiB)");
        Assert.True(installed <= MaxInstalledBytes, $"the installed tool takes {installed:N0} bytes, more than {MaxInstalledBytes:N0}");

        var exe = Path.Combine(tools, OperatingSystem.IsWindows() ? "backprop.exe" : "backprop");
        var version = Run(exe, ["--version"], tmp, 120);
        Assert.True(version.ExitCode == 0, version.Error);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Output.Trim());
        // A plot needs this platform's SkiaSharp native library: it is in the package.
        var plot = Path.Combine(tmp, "curves.png");
        var train = Run(exe, ["train", DataFile("iris.csv"), "--target", "species", "--epochs", "3", "--out", Path.Combine(tmp, "m.safetensors"), "--plot", plot, "--json"], tmp, 300);
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.True(new FileInfo(plot).Length > 1000);
        Directory.Delete(tmp, recursive: true);
    }

    /// <summary>The one file in <paramref name="folder"/> named <paramref name="id"/>.VERSION.<paramref name="extension"/>.</summary>
    private static string Single(string folder, string id, string extension)
    {
        var pattern = new Regex("^" + Regex.Escape(id) + @"\.\d+\.\d+\.\d+[^/]*\." + extension + "$");
        var files = Directory.GetFiles(folder).Where(f => pattern.IsMatch(Path.GetFileName(f))).ToArray();
        Assert.True(files.Length == 1, $"expected one {id}.VERSION.{extension} in {folder}, found: {string.Join(", ", Directory.GetFiles(folder).Select(Path.GetFileName))}");
        return files[0];
    }

    private static XElement Nuspec(ZipArchive zip)
    {
        using var s = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XElement.Load(s);
    }

    private static string? Meta(XElement nuspec, string name) =>
        nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
}
