namespace Backprop.Cli;

/// <summary>
/// An animated GIF89a writer: indexed frames with one global palette of up to 256 colours, LZW
/// compressed (the variable-length-code scheme of the GIF specification, codes of 3 to 12 bits), looping
/// forever. Small on purpose: it is what `demo --animate` needs and adds no dependency.
/// </summary>
internal sealed class GifEncoder
{
    private readonly int _width, _height;
    private readonly byte[] _palette;
    private readonly int _paletteBits;
    private readonly MemoryStream _out = new();

    /// <param name="palette">RGB triples; at most 256 colours.</param>
    public GifEncoder(int width, int height, IReadOnlyList<(byte R, byte G, byte B)> palette)
    {
        if (width < 1 || height < 1 || width > 65535 || height > 65535) throw new ArgumentOutOfRangeException(nameof(width), "A GIF is 1 to 65535 pixels on each side.");
        if (palette.Count is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(palette), "A GIF palette has 1 to 256 colours.");
        _width = width;
        _height = height;
        _paletteBits = 1;
        while ((1 << _paletteBits) < palette.Count) _paletteBits++;
        _palette = new byte[3 << _paletteBits];
        for (int i = 0; i < palette.Count; i++)
        {
            _palette[3 * i] = palette[i].R;
            _palette[3 * i + 1] = palette[i].G;
            _palette[3 * i + 2] = palette[i].B;
        }
        WriteAscii("GIF89a");
        Short(width);
        Short(height);
        _out.WriteByte((byte)(0x80 | 0x70 | (_paletteBits - 1))); // global table, 8-bit colour resolution, its size
        _out.WriteByte(0); // background colour index
        _out.WriteByte(0); // square pixels
        _out.Write(_palette);
        // NETSCAPE2.0 extension: loop forever.
        _out.Write([0x21, 0xFF, 0x0B]);
        WriteAscii("NETSCAPE2.0");
        _out.Write([0x03, 0x01, 0x00, 0x00, 0x00]);
    }

    /// <param name="pixels">width × height palette indices, row by row from the top.</param>
    /// <param name="delayCentiseconds">How long the frame shows, in hundredths of a second.</param>
    public void AddFrame(ReadOnlySpan<byte> pixels, int delayCentiseconds)
    {
        if (pixels.Length != _width * _height) throw new ArgumentException($"A frame has {_width * _height} pixels, not {pixels.Length}.", nameof(pixels));
        // Graphic control extension: no transparency, leave the frame in place, the delay.
        _out.Write([0x21, 0xF9, 0x04, 0x04]);
        Short(Math.Clamp(delayCentiseconds, 0, 65535));
        _out.Write([0x00, 0x00]);
        // Image descriptor: the whole canvas, no local palette, not interlaced.
        _out.WriteByte(0x2C);
        Short(0);
        Short(0);
        Short(_width);
        Short(_height);
        _out.WriteByte(0);
        int minCodeSize = Math.Max(2, _paletteBits);
        _out.WriteByte((byte)minCodeSize);
        var data = Lzw(pixels, minCodeSize);
        for (int i = 0; i < data.Length; i += 255)
        {
            int n = Math.Min(255, data.Length - i);
            _out.WriteByte((byte)n);
            _out.Write(data, i, n);
        }
        _out.WriteByte(0);
    }

    /// <summary>The finished file: the frames and the trailer.</summary>
    public byte[] ToArray()
    {
        var bytes = _out.ToArray();
        Array.Resize(ref bytes, bytes.Length + 1);
        bytes[^1] = 0x3B;
        return bytes;
    }

    /// <summary>
    /// LZW with GIF's conventions: a clear code first, codes growing by one bit when the next code to be
    /// assigned no longer fits (the decoder lags one code behind, hence "greater than"), a clear code and
    /// a fresh table when 4096 codes are used, codes packed least significant bit first.
    /// </summary>
    internal static byte[] Lzw(ReadOnlySpan<byte> pixels, int minCodeSize)
    {
        int clear = 1 << minCodeSize, end = clear + 1;
        var table = new Dictionary<int, int>(4096);
        int codeSize = minCodeSize + 1, next = end + 1;
        var bits = new BitWriter();
        bits.Write(clear, codeSize);
        if (pixels.Length == 0)
        {
            bits.Write(end, codeSize);
            return bits.ToArray();
        }
        int prefix = pixels[0];
        for (int i = 1; i < pixels.Length; i++)
        {
            int k = pixels[i];
            int key = (prefix << 8) | k;
            if (table.TryGetValue(key, out int code))
            {
                prefix = code;
                continue;
            }
            bits.Write(prefix, codeSize);
            if (next < 4096)
            {
                table[key] = next++;
                if (next > (1 << codeSize) && codeSize < 12) codeSize++;
            }
            else
            {
                bits.Write(clear, codeSize);
                table.Clear();
                codeSize = minCodeSize + 1;
                next = end + 1;
            }
            prefix = k;
        }
        bits.Write(prefix, codeSize);
        bits.Write(end, codeSize);
        return bits.ToArray();
    }

    private sealed class BitWriter
    {
        private readonly List<byte> _bytes = [];
        private int _buffer, _count;

        public void Write(int code, int size)
        {
            _buffer |= code << _count;
            _count += size;
            while (_count >= 8)
            {
                _bytes.Add((byte)_buffer);
                _buffer >>= 8;
                _count -= 8;
            }
        }

        public byte[] ToArray()
        {
            if (_count > 0) _bytes.Add((byte)_buffer);
            _buffer = _count = 0;
            return [.. _bytes];
        }
    }

    private void Short(int v)
    {
        _out.WriteByte((byte)v);
        _out.WriteByte((byte)(v >> 8));
    }

    private void WriteAscii(string s)
    {
        foreach (char c in s) _out.WriteByte((byte)c);
    }
}
