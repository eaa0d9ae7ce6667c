using System.Globalization;
using System.Text.RegularExpressions;
using Backprop.Cli;
using Backprop.Tests.Cli;

namespace Backprop.Tests.Explain;

/// <summary>The README's showcase works: `demo --dataset spirals --hidden 32,32` on held-out points, and its pictures.</summary>
public partial class DemoTests
{
    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    [InlineData(4UL)]
    public void SpiralsReachNinetyFivePercentOnTheTestPoints(ulong seed)
    {
        string dir = CliRunner.TempDir();
        var r = CliRunner.Run("demo", "--dataset", "spirals", "--hidden", "32,32", "--seed", seed.ToString(CultureInfo.InvariantCulture), "--plot", Path.Combine(dir, "s.png"));
        Assert.True(r.ExitCode == 0, r.Error);
        string output = Regex.Replace(r.Output, @"\s+", " ");
        double test = double.Parse(TestAccuracy().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(test >= 95, $"seed {seed}: test accuracy {test} %\n{r.Output}");
        // Three disjoint sets, the test points unseen until the end.
        Assert.Matches(@"\d+ training, \d+ validation, \d+ test points", output);
        Assert.Contains("key: . predicted class 0", r.Output);
    }

    [Fact]
    public void TheAnimationIsAValidLoopingGifOfTheBoundary()
    {
        string dir = CliRunner.TempDir();
        string gif = Path.Combine(dir, "b.gif");
        var r = CliRunner.Run("demo", "--dataset", "xor", "--epochs", "30", "--plot", Path.Combine(dir, "b.png"), "--animate", gif);
        Assert.True(r.ExitCode == 0, r.Error);
        var bytes = File.ReadAllBytes(gif);
        Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(bytes, 0, 6));
        Assert.Equal(0x3B, bytes[^1]);
        Assert.Contains("NETSCAPE2.0", System.Text.Encoding.ASCII.GetString(bytes));
        Assert.True(bytes.Length < 1_000_000, $"{bytes.Length} bytes is not a small GIF");
        var bad = CliRunner.Run("demo", "--animate", Path.Combine(dir, "b.png"), "--plot", Path.Combine(dir, "c.png"));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("not a .gif", bad.Error);
    }

    [Fact]
    public void LzwRoundTripsThroughAnIndependentDecoder()
    {
        var rng = new Random(3);
        foreach (int length in new[] { 1, 7, 300, 20_000 })
        {
            // Runs and noise, so the code table fills and resets (more than 4096 codes).
            var pixels = new byte[length];
            for (int i = 0; i < length; i++) pixels[i] = (byte)(i % 97 < 50 ? (i / 13) % 16 : rng.Next(16));
            var data = GifEncoder.Lzw(pixels, 4);
            Assert.Equal(pixels, Decode(data, 4, length));
        }
    }

    /// <summary>The GIF specification's LZW decoder, written from the decoder's side.</summary>
    private static byte[] Decode(byte[] data, int minCodeSize, int expected)
    {
        int clear = 1 << minCodeSize, end = clear + 1;
        var table = new List<byte[]>();
        void Reset()
        {
            table.Clear();
            for (int i = 0; i < clear; i++) table.Add([(byte)i]);
            table.Add([]);
            table.Add([]);
        }
        Reset();
        int size = minCodeSize + 1, bitPos = 0;
        int Read()
        {
            int v = 0;
            for (int b = 0; b < size; b++, bitPos++)
                if ((data[bitPos >> 3] >> (bitPos & 7) & 1) != 0) v |= 1 << b;
            return v;
        }
        var output = new List<byte>();
        byte[]? previous = null;
        while (bitPos + size <= data.Length * 8)
        {
            int code = Read();
            if (code == clear) { Reset(); size = minCodeSize + 1; previous = null; continue; }
            if (code == end) break;
            byte[] entry = code < table.Count ? table[code] : [.. previous!, previous![0]];
            output.AddRange(entry);
            if (previous is not null && table.Count < 4096)
            {
                table.Add([.. previous, entry[0]]);
                if (table.Count == 1 << size && size < 12) size++;
            }
            previous = entry;
        }
        Assert.Equal(expected, output.Count);
        return [.. output];
    }

    [GeneratedRegex(@"test accuracy (\d+(?:\.\d+)?) ?%")]
    private static partial Regex TestAccuracy();
}
