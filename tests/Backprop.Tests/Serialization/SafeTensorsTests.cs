using System.Buffers.Binary;
using System.Text;
using Backprop.Serialization;
using Backprop.Tests.Data;

namespace Backprop.Tests.Serialization;

public class SafeTensorsTests
{
    [Fact]
    public void RoundTripsFloatDoubleAndMetadataThroughAFile()
    {
        using var dir = new TempDir();
        string path = dir.File("model.safetensors");
        var rng = new Rng(1);
        float[] w = [.. Enumerable.Range(0, 12).Select(_ => (float)rng.NextNormal())];
        double[] b = [.. Enumerable.Range(0, 3).Select(_ => rng.NextNormal())];
        var metadata = new Dictionary<string, string> { ["format"] = "backprop", ["layers"] = "[{\"units\": 3}]", ["ünïcode"] = "✓ \"quoted\"" };
        SafeTensors.Write(path, [new TensorEntry("0.weight", w, 4, 3), new TensorEntry("0.bias", b, 3), new TensorEntry("scalar", [2.5f]), new TensorEntry("empty", Array.Empty<double>(), 0, 5)], metadata);

        var file = SafeTensors.Read(path);
        Assert.Equal(["0.bias", "0.weight", "empty", "scalar"], file.Tensors.Select(t => t.Name));
        Assert.Equal(metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal), file.Metadata);
        Assert.Equal(DType.Float32, file["0.weight"].DType);
        Assert.Equal([4, 3], file["0.weight"].Shape);
        Assert.Equal(w, file["0.weight"].Float32!);
        Assert.Equal(DType.Float64, file["0.bias"].DType);
        Assert.Equal(b, file["0.bias"].Float64!);
        Assert.Empty(file["scalar"].Shape);
        Assert.Equal([2.5f], file["scalar"].Float32!);
        Assert.Equal([0, 5], file["empty"].Shape);
        Assert.Empty(file["empty"].Float64!);
        Assert.Throws<ModelFileException>(() => file["1.weight"]);
        // Data starts 8-aligned and every tensor sits at a multiple of its element size (for mmap readers).
        byte[] raw = File.ReadAllBytes(path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(raw);
        Assert.Equal(0UL, headerLength % 8);
        using var header = System.Text.Json.JsonDocument.Parse(raw.AsMemory(8, (int)headerLength));
        foreach (var entry in header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
        {
            long begin = entry.Value.GetProperty("data_offsets")[0].GetInt64();
            Assert.Equal(0, begin % (entry.Value.GetProperty("dtype").GetString() == "F64" ? 8 : 4));
        }
    }

    [Fact]
    public void WritesTheHandComputedByteLayout()
    {
        byte[] bytes = SafeTensors.Serialize(
            [new TensorEntry("b", [0.5], 1), new TensorEntry("a", [1.0f, -2.0f], 2)],
            new Dictionary<string, string> { ["k"] = "v" });

        const string json = "{\"__metadata__\":{\"k\":\"v\"},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
            + "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
        Assert.Equal(133, json.Length);
        var expected = new List<byte> { 136, 0, 0, 0, 0, 0, 0, 0 };  // 133 rounded up to a multiple of 8
        expected.AddRange(Encoding.ASCII.GetBytes(json + "   "));
        // Header by name; data F64 first so every tensor is aligned to its element size.
        expected.AddRange(Convert.FromHexString("000000000000E03F"));  // b: 0.5 little-endian
        expected.AddRange(Convert.FromHexString("0000803F000000C0"));  // a: 1.0f, -2.0f little-endian
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void ReadsAFileWrittenInAnotherOrder()
    {
        // As Python's writer may produce: header keys and data not in name order, no metadata.
        byte[] file = Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            Convert.FromHexString("0000803F00000040"));
        var st = SafeTensors.Parse(file, "py.safetensors");
        Assert.Equal([1.0f], st["b"].Float32!);
        Assert.Equal([2.0f], st["w"].Float32!);
        Assert.Empty(st.Metadata);
    }

    [Fact]
    public void WriteReplacesAnExistingFileAndLeavesNoTemporaryFiles()
    {
        using var dir = new TempDir();
        string path = dir.File("m.safetensors", "old contents");
        SafeTensors.Write(path, [new TensorEntry("x", [1f], 1)]);
        SafeTensors.Write(path, [new TensorEntry("x", [2f], 1)]);
        Assert.Equal([2f], SafeTensors.Read(path)["x"].Float32!);
        Assert.Equal(["m.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void FailedWriteRemovesItsTemporaryFile()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "taken");
        Directory.CreateDirectory(path);  // the final rename cannot replace a directory
        var e = Assert.Throws<ModelFileException>(() => SafeTensors.Write(path, [new TensorEntry("x", [1f], 1)]));
        Assert.Contains("taken", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
        Assert.Throws<ModelFileException>(() => SafeTensors.Write(Path.Combine(dir.Path, "no", "such", "dir.safetensors"), [new TensorEntry("x", [1f], 1)]));
    }

    [Fact]
    public void WriterRejectsBadTensors()
    {
        Assert.Throws<ShapeException>(() => new TensorEntry("x", new float[5], 2, 3));
        Assert.Throws<ShapeException>(() => new TensorEntry("x", new float[0], -1));
        Assert.Throws<BackpropException>(() => SafeTensors.Serialize([new TensorEntry("x", [1f]), new TensorEntry("x", [2.0])]));
        Assert.Throws<BackpropException>(() => SafeTensors.Serialize([new TensorEntry("__metadata__", [1f])]));
    }

    [Fact]
    public void MissingFileIsAModelFileException()
    {
        var e = Assert.Throws<ModelFileException>(() => SafeTensors.Read("/nonexistent/model.safetensors"));
        Assert.Contains("does not exist", e.Message);
    }

    private const string A8 = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    public static TheoryData<string, byte[], string> CorruptFiles()
    {
        byte[] valid = SafeTensors.Serialize([new TensorEntry("a", [1f, 2f], 2), new TensorEntry("b", [3.0], 1)], new Dictionary<string, string> { ["k"] = "v" });
        var data = new TheoryData<string, byte[], string>
        {
            { "empty", [], "0 bytes long" },
            { "4 bytes", valid[..4], "4 bytes long" },
            { "7 bytes", valid[..7], "7 bytes long" },
            { "length only", valid[..8], "truncated: the header says" },
            { "cut in header", valid[..40], "truncated: the header says" },
            { "cut in data", valid[..^1], "run past the end of the data" },
            { "extra byte", [.. valid, 0], "stray bytes" },
            { "header length max", WithLength(valid, ulong.MaxValue), "over the 100000000-byte limit" },
            { "header length 2^63", WithLength(valid, 1UL << 63), "over the 100000000-byte limit" },
            { "header length just over cap", WithLength(valid, 100_000_001), "limit" },
            { "header length zero", WithLength(valid, 0), "too short" },
            { "header not JSON", Build("this is not json", []), "does not start with '{'" },
            { "header broken JSON", Build("{\"a\":{\"dtype\":", []), "not valid JSON" },
            { "header JSON trailing garbage", Build("{} x", []), "not valid JSON" },
            { "header JSON array", Build("[1, 2]", []), "does not start with '{'" },
            { "header not UTF-8", Build("{\"\u00ff\":1}", [], latin1: true), "UTF-8" },
            { "deep nesting", Build("{\"a\":" + new string('[', 500) + new string(']', 500) + "}", []), "not valid JSON" },
            { "entry not an object", Build("{\"a\":5}", []), "is a JSON number" },
            { "missing dtype", Build("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "no dtype" },
            { "unknown dtype", Build("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "unknown dtype 'F33'" },
            { "unsupported dtype", Build("{\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}", new byte[8]), "as BF16" },
            { "missing shape", Build("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", new byte[8]), "no shape" },
            { "negative dim", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", new byte[8]), "negative shape dimension -2" },
            { "fractional dim", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", new byte[8]), "not an integer" },
            { "dim too large for long", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,8]}}", new byte[8]), "not an integer" },
            { "element count overflow", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}", new byte[8]), "overflows" },
            { "byte size overflow", Build("{\"a\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,2147483647,1],\"data_offsets\":[0,8]}}", new byte[8]), "overflows" },
            { "shape/byte mismatch", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]), "needs 12 bytes" },
            { "offsets past end", Build("{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,999999]}}", new byte[512]), "tensor '0.weight' data_offsets [0, 999999] run past the end of the data (512 bytes)" },
            { "offsets reversed", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", new byte[8]), "end before they begin" },
            { "negative offset", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", new byte[8]), "non-negative integers" },
            { "three offsets", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", new byte[8]), "[begin, end] pair" },
            { "overlapping", Build("{" + A8 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]), "overlap" },
            { "same range twice", Build("{" + A8 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "overlap" },
            { "gap", Build("{" + A8 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", new byte[20]), "belong to no tensor" },
            { "uncovered tail", Build("{" + A8 + "}", new byte[12]), "stray bytes" },
            { "metadata not strings", Build("{\"__metadata__\":{\"k\":1}," + A8 + "}", new byte[8]), "metadata entry 'k'" },
            { "metadata not an object", Build("{\"__metadata__\":[]," + A8 + "}", new byte[8]), "'__metadata__' is a JSON array" },
            { "unpaired surrogate in name", Build("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", new byte[4]), "unpaired surrogate" },
            { "unpaired surrogate in metadata", Build("{\"__metadata__\":{\"k\":\"\\udc00\"}}", []), "unpaired surrogate" },
            { "duplicate tensor", Build("{" + A8 + "," + A8 + "}", new byte[8]), "twice" },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void CorruptFilesAreRejected(string name, byte[] bytes, string fragment)
    {
        var e = Assert.Throws<ModelFileException>(() => SafeTensors.Parse(bytes, "bad.safetensors"));
        Assert.Contains("bad.safetensors", e.Message);
        Assert.True(e.Message.Contains(fragment, StringComparison.Ordinal), $"{name}: message lacks \"{fragment}\": {e.Message}");
    }

    [Fact]
    public void CorruptFileOnDiskIsRejectedToo()
    {
        using var dir = new TempDir();
        string path = dir.File("cut.safetensors");
        byte[] valid = SafeTensors.Serialize([new TensorEntry("a", [1f, 2f], 2)]);
        File.WriteAllBytes(path, valid[..^3]);
        var e = Assert.Throws<ModelFileException>(() => SafeTensors.Read(path));
        Assert.Contains("cut.safetensors", e.Message);
    }

    [Fact]
    public void FuzzedFilesOnlyEverFailWithModelFileException()
    {
        byte[] valid = SafeTensors.Serialize(
            [new TensorEntry("0.weight", [1f, 2f, 3f, 4f, 5f, 6f], 2, 3), new TensorEntry("0.bias", [0.5, -0.5], 2), new TensorEntry("s", [7f])],
            new Dictionary<string, string> { ["task"] = "binary", ["features"] = "a,b,c" });
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        var rng = new Rng(2024);
        int rejected = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            byte[] bytes = [.. valid];
            int flips = 1 + rng.NextInt(4);
            for (int f = 0; f < flips; f++)
            {
                // Most flips land in the length prefix and header, where the parsing is.
                int at = rng.NextInt(4) == 0 ? rng.NextInt(bytes.Length) : rng.NextInt(headerEnd);
                bytes[at] = rng.NextInt(3) switch
                {
                    0 => (byte)(bytes[at] ^ (1 << rng.NextInt(8))),
                    1 => (byte)rng.NextInt(256),
                    _ => (byte)"{}[],:\"0123456789-e\\ud"[rng.NextInt(22)],
                };
            }
            if (rng.NextInt(3) == 0) bytes = bytes[..rng.NextInt(bytes.Length + 1)];
            try
            {
                SafeTensors.Parse(bytes, "fuzz.safetensors");
            }
            catch (ModelFileException)
            {
                rejected++;
            }
        }
        Assert.InRange(rejected, 1000, 3000);
    }

    private static byte[] Build(string header, byte[] data, bool latin1 = false)
    {
        byte[] h = latin1 ? Encoding.Latin1.GetBytes(header) : Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        return bytes;
    }

    private static byte[] WithLength(byte[] file, ulong length)
    {
        byte[] copy = [.. file];
        BinaryPrimitives.WriteUInt64LittleEndian(copy, length);
        return copy;
    }
}
