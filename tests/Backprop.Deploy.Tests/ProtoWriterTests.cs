using Backprop.Serialization.Onnx;

namespace Backprop.Deploy.Tests;

/// <summary>The protobuf encoder against encodings worked out from the protobuf wire-format specification.</summary>
public sealed class ProtoWriterTests
{
    private static string Hex(ProtoWriter w) => Convert.ToHexString(w.WrittenSpan);

    [Theory]
    [InlineData(1, 0L, "0800")]
    [InlineData(1, 1L, "0801")]
    [InlineData(1, 150L, "089601")]                               // the specification's own example
    [InlineData(1, 300L, "08AC02")]
    [InlineData(2, 127L, "107F")]
    [InlineData(2, 128L, "108001")]
    [InlineData(16, 1L, "800101")]                                // field 16 needs a two-byte key
    [InlineData(1, -1L, "08FFFFFFFFFFFFFFFFFF01")]               // negative int64: ten bytes
    [InlineData(1, long.MaxValue, "08FFFFFFFFFFFFFFFF7F")]
    public void VarintFieldsEncodeAsTheSpecificationSays(int field, long value, string hex)
    {
        var w = new ProtoWriter();
        w.Int64(field, value);
        Assert.Equal(hex, Hex(w));
    }

    [Fact]
    public void StringsBytesFloatsAndMessagesAreLengthDelimitedOrFixed()
    {
        var w = new ProtoWriter();
        w.String(2, "testing");                                        // the specification's example
        Assert.Equal("120774657374696E67", Hex(w));

        w = new ProtoWriter();
        w.String(1, "é");                                              // UTF-8: two bytes
        Assert.Equal("0A02C3A9", Hex(w));

        w = new ProtoWriter();
        w.Float(2, 1.0f);                                              // wire type 5, little-endian
        Assert.Equal("150000803F", Hex(w));

        var inner = new ProtoWriter();
        inner.Int64(1, 150);
        w = new ProtoWriter();
        w.Message(3, inner);                                           // the specification's embedded example
        Assert.Equal("1A03089601", Hex(w));

        w = new ProtoWriter();
        w.PackedInt64(4, [3, 270, 86942]);                             // the specification's packed example
        Assert.Equal("2206038E029EA705", Hex(w));
    }

    [Fact]
    public void LargeMessagesGrowTheBuffer()
    {
        var payload = new byte[100_000];
        for (int i = 0; i < payload.Length; i++) payload[i] = (byte)i;
        var w = new ProtoWriter();
        w.Bytes(1, payload);
        var bytes = w.ToArray();
        Assert.Equal(3 + 1 + payload.Length, bytes.Length);             // key, three-byte length, payload
        Assert.Equal("0AA08D06", Convert.ToHexString(bytes.AsSpan(0, 4)));
        Assert.True(bytes.AsSpan(4).SequenceEqual(payload));
    }

    [Fact]
    public void TensorsCheckTheirShape()
    {
        Assert.Throws<ArgumentException>(() => OnnxTensor.Float("w", [2, 3], new float[5]));
        var t = OnnxTensor.Float("w", [1, 2], [1f, -2f]).Encode();
        // dims (packed 1, 2), data_type 1, name "w", raw_data of two little-endian floats.
        Assert.Equal("0A0201021001420177" + "4A08" + "0000803F000000C0", Hex(t));
    }
}
