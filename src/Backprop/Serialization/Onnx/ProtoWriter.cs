using System.Buffers.Binary;
using System.Text;

namespace Backprop.Serialization.Onnx;

/// <summary>
/// The protocol-buffers wire format, as much of it as an ONNX file needs (protobuf's encoding guide):
/// each field is a key varint (field number &lt;&lt; 3 | wire type) followed by a varint (wire type 0), a
/// little-endian 32-bit value (type 5) or a length-delimited byte string (type 2, used for strings,
/// bytes, nested messages and packed repeated scalars). Fields are written in the order called;
/// protobuf readers accept any order. Hand-written so that exporting needs no protobuf package.
/// </summary>
internal sealed class ProtoWriter
{
    private const int WireVarint = 0;
    private const int WireFixed32 = 5;
    private const int WireLengthDelimited = 2;

    private byte[] _buffer = new byte[256];
    private int _length;

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public byte[] ToArray() => WrittenSpan.ToArray();

    /// <summary>An int32/int64/enum/bool field. Negative values take ten bytes (two's complement as uint64), as protobuf requires for int64.</summary>
    public void Int64(int field, long value)
    {
        Key(field, WireVarint);
        Varint(unchecked((ulong)value));
    }

    /// <summary>A float field (fixed32, little-endian IEEE 754).</summary>
    public void Float(int field, float value)
    {
        Key(field, WireFixed32);
        BinaryPrimitives.WriteSingleLittleEndian(Reserve(4), value);
    }

    /// <summary>A string field, UTF-8 encoded.</summary>
    public void String(int field, string value)
    {
        int count = Encoding.UTF8.GetByteCount(value);
        Key(field, WireLengthDelimited);
        Varint((ulong)count);
        Encoding.UTF8.GetBytes(value, Reserve(count));
    }

    /// <summary>A bytes field.</summary>
    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Key(field, WireLengthDelimited);
        Varint((ulong)value.Length);
        value.CopyTo(Reserve(value.Length));
    }

    /// <summary>An embedded message, already encoded by its own writer.</summary>
    public void Message(int field, ProtoWriter message) => Bytes(field, message.WrittenSpan);

    /// <summary>A packed repeated int64 field (one length-delimited run of varints).</summary>
    public void PackedInt64(int field, ReadOnlySpan<long> values)
    {
        var packed = new ProtoWriter();
        foreach (long v in values) packed.Varint(unchecked((ulong)v));
        Message(field, packed);
    }

    private void Key(int field, int wireType)
    {
        if (field <= 0) throw new ArgumentOutOfRangeException(nameof(field), field, "Protobuf field numbers start at 1.");
        Varint((ulong)field << 3 | (uint)wireType);
    }

    private void Varint(ulong value)
    {
        // Seven bits per byte, least significant group first, high bit set on all but the last byte.
        var span = Reserve(10);
        int n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[n++] = (byte)value;
        _length -= 10 - n;
    }

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            long wanted = Math.Max((long)_buffer.Length * 2, (long)_length + count);
            if (wanted > Array.MaxLength)
                throw new BackpropException($"The ONNX file would be larger than {Array.MaxLength} bytes; a single protobuf message cannot exceed 2 GB.");
            Array.Resize(ref _buffer, (int)wanted);
        }
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
