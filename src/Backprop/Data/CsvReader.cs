using System.Text;

namespace Backprop.Data;

/// <summary>How the bytes of a CSV file are decoded.</summary>
public enum TextEncoding
{
    /// <summary>UTF-8 (the default); a byte order mark is skipped, invalid bytes are an error naming the line.</summary>
    Utf8,
    /// <summary>ISO-8859-1: every byte is one character; never fails.</summary>
    Latin1,
    /// <summary>UTF-16: little-endian unless a byte order mark says big-endian.</summary>
    Utf16,
    Utf16BigEndian,
}

/// <summary>How a CSV file is read.</summary>
public sealed record CsvOptions
{
    /// <summary>Null: the header line decides (a comma if it has one, else a semicolon, else a tab).</summary>
    public char? Delimiter { get; init; }
    public TextEncoding Encoding { get; init; } = TextEncoding.Utf8;
    /// <summary>A record longer than this many characters is refused (a file that is not CSV, or an unclosed quote).</summary>
    public int MaxRecordLength { get; init; } = 16 << 20;

    public static readonly CsvOptions Default = new();

    /// <summary>Parses the CLI spelling: utf-8, latin1, utf-16 (with or without a byte order mark), utf-16be.</summary>
    public static TextEncoding ParseEncoding(string text) => text.Trim().ToLowerInvariant() switch
    {
        "utf-8" or "utf8" => TextEncoding.Utf8,
        "latin1" or "latin-1" or "iso-8859-1" => TextEncoding.Latin1,
        "utf-16" or "utf16" or "utf-16le" => TextEncoding.Utf16,
        "utf-16be" or "utf16be" => TextEncoding.Utf16BigEndian,
        _ => throw new DataException($"--encoding: '{MessageText.Quote(text)}' is not an encoding; use utf-8 (default), latin1, utf-16 or utf-16be."),
    };
}

/// <summary>
/// Reads RFC 4180 CSV one record at a time from a stream, holding one record in memory: quoted fields with
/// doubled quotes, delimiters and line breaks inside quotes, CRLF, LF or CR line ends, a byte order mark.
/// Blank lines are skipped (as pandas does). Fields are exposed as spans into the record buffer, so numeric
/// cells are parsed without a string each. Decoding is strict: invalid UTF-8 and NUL characters are errors
/// that name the line, never replacement characters.
/// </summary>
public sealed class CsvReader : IDisposable
{
    private const int ByteChunk = 1 << 16;

    private readonly Stream _stream;
    private readonly string _source;
    private readonly int _maxRecord;
    private readonly byte[] _bytes = new byte[ByteChunk];
    private char[] _chars = new char[ByteChunk + 8];
    private Decoder _decoder = null!;
    private TextEncoding _encoding;
    private int _pos, _len;
    private bool _eof;
    private long _bytesRead;

    private char[] _record = new char[256];
    private int _recordLength;
    private int[] _starts = new int[16];
    private int[] _lengths = new int[16];
    private int _line = 1;

    /// <summary>Reads from <paramref name="stream"/>; <paramref name="source"/> names it in messages.</summary>
    public CsvReader(Stream stream, string source, CsvOptions? options = null)
    {
        options ??= CsvOptions.Default;
        _stream = stream;
        _source = source;
        _maxRecord = options.MaxRecordLength;
        _encoding = options.Encoding;
        StartDecoding();
        Delimiter = options.Delimiter ?? DetectDelimiter();
        if (Delimiter is '"' or '\r' or '\n')
            throw new DataException($"'{Printable(Delimiter)}' cannot be a CSV delimiter; use a comma, semicolon or tab.");
    }

    /// <summary>Opens a file, with messages for a directory, a missing file and an unreadable one.</summary>
    public static CsvReader Open(string path, CsvOptions? options = null) => new(OpenFile(path), Path.GetFileName(path), options);

    internal static Stream OpenFile(string path)
    {
        if (Directory.Exists(path))
            throw new DataException($"'{path}' is a directory, not a CSV file; pass the path of the .csv file itself.");
        if (!File.Exists(path) && !path.StartsWith("/dev/", StringComparison.Ordinal))
            throw new DataException($"Data file '{path}' does not exist; check the path (relative paths start at {Environment.CurrentDirectory}).");
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"Cannot read data file '{path}': {e.Message}");
        }
    }

    public string Source => _source;
    public char Delimiter { get; }
    /// <summary>Fields in the current record.</summary>
    public int FieldCount { get; private set; }
    /// <summary>The 1-based physical line on which the current record starts.</summary>
    public int Line { get; private set; }
    /// <summary>Bytes consumed from the stream so far (for progress).</summary>
    public long BytesRead => _bytesRead;

    /// <summary>Field <paramref name="i"/> of the current record, quotes removed, not trimmed.</summary>
    public ReadOnlySpan<char> Field(int i) => _record.AsSpan(_starts[i], _lengths[i]);

    /// <summary>Reads the next non-blank record; false at the end of the input.</summary>
    public bool Read()
    {
        // Skip blank lines.
        while (true)
        {
            int c = Peek();
            if (c < 0) return false;
            if (c == '\n') { _pos++; _line++; continue; }
            if (c == '\r') { _pos++; if (Peek() == '\n') _pos++; _line++; continue; }
            break;
        }
        Line = _line;
        _recordLength = 0;
        FieldCount = 0;
        while (true)
        {
            int start = _recordLength;
            int c = Peek();
            if (c == '"')
            {
                int quoteLine = _line;
                _pos++;
                while (true)
                {
                    c = Next();
                    if (c < 0)
                        throw new DataException(
                            $"{_source} line {quoteLine}: a quoted field (field {FieldCount + 1}) is never closed; add the closing '\"', and write a quote inside a quoted field as two quotes (\"\").");
                    if (c == '"')
                    {
                        if (Peek() == '"') { _pos++; Append('"'); continue; }
                        break;
                    }
                    if (c == '\n' || (c == '\r' && Peek() != '\n')) _line++;
                    Append((char)c);
                }
                c = Peek();
                if (c >= 0 && c != Delimiter && c != '\r' && c != '\n')
                    throw new DataException(
                        $"{_source} line {_line}: field {FieldCount + 1} has '{Printable((char)c)}' after its closing quote; a quoted field must end at a delimiter or the line end (write a literal quote as \"\").");
            }
            else
            {
                while (true)
                {
                    if (_pos >= _len && !Fill()) break;
                    // Copy a run of plain characters at once: the common case.
                    var span = _chars.AsSpan(_pos, _len - _pos);
                    int stop = span.IndexOfAny(Delimiter, '\r', '\n');
                    int take = stop < 0 ? span.Length : stop;
                    if (take > 0) { AppendSpan(span[..take]); _pos += take; }
                    if (stop >= 0) break;
                }
            }
            AddField(start, _recordLength - start);

            c = Peek();
            if (c < 0) return true;
            _pos++;
            if (c == Delimiter) continue;
            if (c == '\r' && Peek() == '\n') _pos++;
            _line++;
            return true;
        }
    }

    private void AddField(int start, int length)
    {
        if (FieldCount == _starts.Length)
        {
            Array.Resize(ref _starts, _starts.Length * 2);
            Array.Resize(ref _lengths, _lengths.Length * 2);
        }
        _starts[FieldCount] = start;
        _lengths[FieldCount] = length;
        FieldCount++;
    }

    private void Append(char c)
    {
        if (_recordLength == _record.Length) Grow(1);
        _record[_recordLength++] = c;
    }

    private void AppendSpan(ReadOnlySpan<char> chars)
    {
        if (_recordLength + chars.Length > _record.Length) Grow(chars.Length);
        chars.CopyTo(_record.AsSpan(_recordLength));
        _recordLength += chars.Length;
    }

    private void Grow(int extra)
    {
        long needed = (long)_recordLength + extra;
        if (needed > _maxRecord)
            throw new DataException(
                $"{_source} line {Line}: one record is longer than {_maxRecord:N0} characters; this does not look like a CSV file (or a quote is never closed).");
        Array.Resize(ref _record, (int)Math.Min(_maxRecord, Math.Max(needed, (long)_record.Length * 2)));
    }

    private int Peek()
    {
        if (_pos < _len) return _chars[_pos];
        return Fill() ? _chars[_pos] : -1;
    }

    private int Next()
    {
        if (_pos < _len) return _chars[_pos++];
        return Fill() ? _chars[_pos++] : -1;
    }

    private void StartDecoding()
    {
        // Read the first bytes to find a byte order mark; a BOM decides over the option.
        int n = ReadBytes(_bytes, 0, ByteChunk);
        int skip = 0;
        if (n >= 3 && _bytes[0] == 0xEF && _bytes[1] == 0xBB && _bytes[2] == 0xBF && _encoding == TextEncoding.Utf8) skip = 3;
        else if (n >= 2 && _bytes[0] == 0xFF && _bytes[1] == 0xFE && _encoding != TextEncoding.Latin1) { _encoding = TextEncoding.Utf16; skip = 2; }
        else if (n >= 2 && _bytes[0] == 0xFE && _bytes[1] == 0xFF && _encoding != TextEncoding.Latin1) { _encoding = TextEncoding.Utf16BigEndian; skip = 2; }
        Encoding encoding = _encoding switch
        {
            TextEncoding.Latin1 => Encoding.Latin1,
            TextEncoding.Utf16 => new UnicodeEncoding(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: true),
            TextEncoding.Utf16BigEndian => new UnicodeEncoding(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: true),
            _ => new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true),
        };
        _decoder = encoding.GetDecoder();
        if (n == 0) { _eof = true; return; }
        Decode(skip, n - skip, n < ByteChunk);
    }

    private bool Fill()
    {
        _pos = 0;
        _len = 0;
        while (_len == 0)
        {
            if (_eof) return false;
            int n = ReadBytes(_bytes, 0, ByteChunk);
            Decode(0, n, n == 0);
            if (n == 0) _eof = true;
        }
        return true;
    }

    private int ReadBytes(byte[] buffer, int offset, int count)
    {
        int total = 0;
        try
        {
            while (total < count)
            {
                int n = _stream.Read(buffer, offset + total, count - total);
                if (n == 0) break;
                total += n;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"Cannot read data file '{_source}' (line {_line}): {e.Message}");
        }
        _bytesRead += total;
        return total;
    }

    private void Decode(int offset, int count, bool flush)
    {
        if (_chars.Length < count + 8) _chars = new char[count + 8];
        try
        {
            _len = _decoder.GetChars(_bytes, offset, count, _chars, 0, flush);
        }
        catch (DecoderFallbackException e)
        {
            // Every character before this chunk has been parsed, so _line is the chunk's first line; '\n'
            // is one byte in UTF-8 and Latin-1 and never part of a multi-byte sequence.
            int upTo = Math.Clamp(e.Index, 0, count);
            int line = _line + _bytes.AsSpan(offset, upTo).Count((byte)'\n');
            string bytes = string.Join(" ", (e.BytesUnknown ?? []).Select(b => $"0x{b:X2}"));
            throw new DataException(_encoding == TextEncoding.Utf8
                ? $"{_source} line {line}: the bytes {bytes} are not valid UTF-8; the file is in another encoding. If it is Latin-1 (ISO-8859-1, Windows Western), pass --encoding latin1; if it is UTF-16, pass --encoding utf-16."
                : $"{_source} line {line}: the bytes {bytes} are not valid {EncodingName(_encoding)}; pass the file's encoding with --encoding (utf-8, latin1, utf-16 or utf-16be).");
        }
        _pos = 0;
        int nul = _chars.AsSpan(0, _len).IndexOf('\0');
        if (nul >= 0)
        {
            int line = _line + _chars.AsSpan(0, nul).Count('\n');
            // UTF-16 text of ASCII characters read as bytes: a NUL in every other position, and only there.
            int head = Math.Min(_len, 64), even = 0, odd = 0;
            for (int k = 0; k < head; k++) if (_chars[k] == '\0') { if (k % 2 == 0) even++; else odd++; }
            bool looksUtf16 = _encoding is TextEncoding.Utf8 or TextEncoding.Latin1 && head >= 8 && (even == 0) != (odd == 0) && 4 * (even + odd) >= head;
            throw new DataException(looksUtf16
                ? $"{_source} line {line}: the file contains NUL characters, as UTF-16 text read as {EncodingName(_encoding)} does; pass --encoding utf-16 (or utf-16be)."
                : $"{_source} line {line}: the file contains a NUL character, so it is binary data, not a CSV text file; check the path.");
        }
    }

    private static string EncodingName(TextEncoding e) => e switch
    {
        TextEncoding.Latin1 => "Latin-1",
        TextEncoding.Utf16 => "UTF-16 (little-endian)",
        TextEncoding.Utf16BigEndian => "UTF-16 (big-endian)",
        _ => "UTF-8",
    };

    private char DetectDelimiter()
    {
        bool inQuotes = false, semicolon = false, tab = false;
        for (int i = 0; i < _len; i++)
        {
            char c = _chars[i];
            if (c == '"') inQuotes = !inQuotes;
            else if (inQuotes) continue;
            else if (c == ',') return ',';
            else if (c == ';') semicolon = true;
            else if (c == '\t') tab = true;
            else if ((c == '\n' || c == '\r') && (semicolon || tab || i > 0)) break;
        }
        return semicolon ? ';' : tab ? '\t' : ',';
    }

    internal static string Printable(char c) => c switch
    {
        '\t' => "\\t",
        '\r' => "\\r",
        '\n' => "\\n",
        _ => c.ToString(),
    };

    public void Dispose() => _stream.Dispose();
}

/// <summary>Short quoting of values in messages, so a 10 MB cell is not echoed whole.</summary>
internal static class MessageText
{
    public static string Quote(ReadOnlySpan<char> value, int max = 60) =>
        value.Length <= max ? value.ToString() : string.Concat(value[..(max - 3)], "...");
}
