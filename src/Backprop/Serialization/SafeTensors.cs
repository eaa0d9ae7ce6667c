using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Backprop.IO;

namespace Backprop.Serialization;

/// <summary>The tensors and string metadata of a safetensors file; tensors ordered by name.</summary>
public sealed class SafeTensorsFile
{
    private readonly Dictionary<string, TensorEntry> _byName;

    public SafeTensorsFile(IEnumerable<TensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null, string source = "")
    {
        Source = source;
        Tensors = [.. tensors.OrderBy(t => t.Name, StringComparer.Ordinal)];
        _byName = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
        foreach (var t in Tensors)
        {
            if (!_byName.TryAdd(t.Name, t))
                throw new ModelFileException($"{Label}: the tensor name '{t.Name}' appears twice; every tensor needs a unique name.");
        }
        Metadata = new SortedDictionary<string, string>(
            metadata is null ? new Dictionary<string, string>() : new Dictionary<string, string>(metadata), StringComparer.Ordinal);
    }

    /// <summary>The file name it was read from, for messages; empty for one built in memory.</summary>
    public string Source { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyList<TensorEntry> Tensors { get; }

    public bool TryGet(string name, out TensorEntry tensor) => _byName.TryGetValue(name, out tensor!);

    /// <summary>The tensor called <paramref name="name"/>; a <see cref="ModelFileException"/> if there is none.</summary>
    public TensorEntry this[string name] => _byName.TryGetValue(name, out var t)
        ? t
        : throw new ModelFileException($"{Label} has no tensor named '{name}' (it has {string.Join(", ", Tensors.Take(20).Select(x => $"'{x.Name}'"))}{(Tensors.Count > 20 ? ", ..." : "")}); the file may come from a different model or version.");

    private string Label => Source.Length > 0 ? $"Model file '{Source}'" : "The tensor set";
}

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name to its dtype, shape and
/// [begin, end) byte offsets into the data that follows (plus an optional "__metadata__" object of
/// strings), then the raw little-endian tensor data. Backprop reads and writes F32 and F64.
/// Reading validates the whole header against the file size before allocating anything it describes,
/// and every problem is a <see cref="ModelFileException"/>.
/// </summary>
public static class SafeTensors
{
    /// <summary>The largest header accepted, as in the reference implementation.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    // The other dtypes of the format, so an unsupported one is named as such rather than as garbage.
    private static readonly HashSet<string> KnownOtherDTypes = new(StringComparer.Ordinal)
    {
        "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
        "I16", "U16", "F16", "BF16", "I32", "U32", "U64", "C64",
    };

    internal static string Code(DType dtype) => dtype == DType.Float32 ? "F32" : "F64";

    /// <summary>
    /// Writes <paramref name="tensors"/> (listed by name; data contiguous, F64 tensors first, then F32) and
    /// <paramref name="metadata"/> to <paramref name="path"/> through <see cref="AtomicFile"/>: into a
    /// temporary file in the same folder, flushed and fsynced, renamed over the target, then the folder
    /// fsynced, so a crash, a kill or a full disk never leaves a half-written model where a good one was.
    /// "-", devices and FIFOs are written straight through; a symlink's target is replaced.
    /// </summary>
    public static void Write(string path, IEnumerable<TensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var sorted = Prepare(tensors, metadata);
        try
        {
            AtomicFile.Write(path, stream =>
            {
                // Buffered (the tensors arrive in many small pieces, and a device is written unbuffered);
                // not disposed, which would close the writer's stream before its fsync.
                var buffered = new BufferedStream(stream, 1 << 16);
                WriteTo(buffered, sorted, metadata);
                buffered.Flush();
            });
        }
        catch (BackpropException e) when (e is not ModelFileException)
        {
            throw new ModelFileException($"cannot write model file: {e.Message}", e);
        }
    }

    /// <summary>The bytes <see cref="Write"/> would put in the file.</summary>
    public static byte[] Serialize(IEnumerable<TensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var sorted = Prepare(tensors, metadata);
        using var stream = new MemoryStream();
        WriteTo(stream, sorted, metadata);
        return stream.ToArray();
    }

    private static List<TensorEntry> Prepare(IEnumerable<TensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var sorted = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        for (int i = 0; i < sorted.Count; i++)
        {
            if (sorted[i].Name == MetadataKey)
                throw new BackpropException($"A tensor cannot be called '{MetadataKey}'; that key holds the file's metadata.");
            if (i > 0 && sorted[i].Name == sorted[i - 1].Name)
                throw new BackpropException($"Two tensors are called '{sorted[i].Name}'; every tensor in a file needs a unique name.");
        }
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                if (key is null || value is null)
                    throw new BackpropException("Metadata keys and values must be non-null strings.");
            }
        }
        return sorted;
    }

    private static void WriteTo(Stream stream, List<TensorEntry> sorted, IReadOnlyDictionary<string, string>? metadata)
    {
        byte[] header = BuildHeader(sorted, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var t in DataOrder(sorted)) t.WriteTo(stream);
    }

    // Data goes widest dtype first (F64, then F32), by name within a dtype, as the reference writer lays
    // it out: with the 8-aligned data start this keeps every tensor aligned to its element size, which
    // zero-copy (mmap) readers rely on. The header lists tensors by name either way.
    private static IEnumerable<TensorEntry> DataOrder(List<TensorEntry> sorted) =>
        sorted.OrderByDescending(t => t.DType.SizeInBytes()).ThenBy(t => t.Name, StringComparer.Ordinal);

    private static byte[] BuildHeader(List<TensorEntry> sorted, IReadOnlyDictionary<string, string>? metadata)
    {
        using var json = new MemoryStream();
        // Relaxed escaping keeps non-ASCII names readable; it still escapes quotes, backslashes and controls.
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    w.WriteString(key, value);
                w.WriteEndObject();
            }
            var begin = new Dictionary<string, long>(StringComparer.Ordinal);
            long offset = 0;
            foreach (var t in DataOrder(sorted))
            {
                begin[t.Name] = offset;
                offset += t.ByteLength;
            }
            foreach (var t in sorted)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DTypeCode);
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(begin[t.Name]);
                w.WriteNumberValue(begin[t.Name] + t.ByteLength);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces (JSON whitespace) so the data starts 8-byte aligned, as the reference writer does.
        int padded = (int)((json.Length + 7) / 8 * 8);
        while (json.Length < padded) json.WriteByte((byte)' ');
        return json.ToArray();
    }

    /// <summary>Reads and validates a safetensors file.</summary>
    public static SafeTensorsFile Read(string path)
    {
        string name = Path.GetFileName(path);
        if (Directory.Exists(path))
            throw new ModelFileException($"Model file '{path}' is a directory; pass the path of the .safetensors file.");
        if (!File.Exists(path))
            throw new ModelFileException($"Model file '{path}' does not exist; check the path or train and save a model first.");
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = RandomAccess.GetLength(handle);
            return ReadCore(name, length, (offset, destination) =>
            {
                int filled = 0;
                while (filled < destination.Length)
                {
                    int n = RandomAccess.Read(handle, destination[filled..], offset + filled);
                    if (n == 0)
                        throw new ModelFileException($"Model file '{name}' ended early while reading (was it changed while being read?); re-save or re-copy it.");
                    filled += n;
                }
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException($"Cannot read model file '{path}': {e.Message}", e);
        }
    }

    /// <summary>Validates and decodes safetensors bytes held in memory; <paramref name="source"/> names them in messages.</summary>
    public static SafeTensorsFile Parse(ReadOnlyMemory<byte> bytes, string source = "<memory>") =>
        ReadCore(source, bytes.Length, (offset, destination) => bytes.Span.Slice((int)offset, destination.Length).CopyTo(destination));

    private delegate void ReadAt(long offset, Span<byte> destination);

    // Int64: stored as I64 in the file (PyTorch's BatchNorm num_batches_tracked), read into a float64 entry.
    private sealed record Descriptor(string Name, DType DType, int[] Shape, long Begin, long End, bool Int64 = false);

    private static SafeTensorsFile ReadCore(string source, long fileLength, ReadAt readAt)
    {
        ModelFileException Bad(string what) => new($"Model file '{source}' is not a valid safetensors file: {what}");

        if (fileLength < 8)
            throw Bad($"it is {fileLength} bytes long, shorter than the 8-byte header length that starts every safetensors file (truncated, or not a model file).");
        Span<byte> prefix = stackalloc byte[8];
        readAt(0, prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        long available = fileLength - 8;
        if (headerLength > MaxHeaderBytes)
            throw Bad($"the header length is {headerLength} bytes, over the {MaxHeaderBytes}-byte limit (the file is {fileLength} bytes; it is corrupt or not a safetensors file).");
        if ((long)headerLength > available)
            throw Bad($"truncated: the header says {headerLength} bytes but the file has only {available} after the 8-byte length; re-save or re-copy it.");
        if (headerLength < 2)
            throw Bad($"the header is {headerLength} bytes, too short for the JSON object it must hold.");

        var header = new byte[headerLength];
        readAt(8, header);
        if (!Utf8.IsValid(header))
            throw Bad("the header is not valid UTF-8 text.");
        if (header[0] != (byte)'{')
            throw Bad("the header does not start with '{', so it is not the JSON object the format requires.");

        long bufferLength = available - (long)headerLength;
        long dataStart = 8 + (long)headerLength;
        var (descriptors, metadata) = ParseHeader(header, bufferLength, source, Bad);

        // Contiguity is checked in offset order: this proves the tensors neither overlap nor leave
        // unclaimed bytes, which the reference implementation requires too.
        var byOffset = descriptors.OrderBy(d => d.Begin).ThenBy(d => d.End).ThenBy(d => d.Name, StringComparer.Ordinal).ToList();
        long expected = 0;
        Descriptor? previous = null;
        foreach (var d in byOffset)
        {
            if (d.Begin < expected)
                throw Bad($"tensor '{d.Name}' data_offsets [{d.Begin}, {d.End}] overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End}].");
            if (d.Begin > expected)
                throw Bad($"there are {d.Begin - expected} bytes at data offset {expected} that belong to no tensor (before tensor '{d.Name}' at [{d.Begin}, {d.End}]).");
            expected = d.End;
            previous = d;
        }
        if (expected != bufferLength)
            throw Bad($"the data section is {bufferLength} bytes but the tensors cover only the first {expected}; the file has {bufferLength - expected} stray bytes at the end.");

        var tensors = new List<TensorEntry>(descriptors.Count);
        foreach (var d in descriptors)
        {
            int count = checked((int)((d.End - d.Begin) / d.DType.SizeInBytes()));
            if (d.Int64)
            {
                var raw = new long[count];
                readAt(dataStart + d.Begin, MemoryMarshal.AsBytes(raw.AsSpan()));
                var data = new double[count];
                for (int i = 0; i < count; i++)
                {
                    long v = BitConverter.IsLittleEndian ? raw[i] : BinaryPrimitives.ReverseEndianness(raw[i]);
                    if (Math.Abs(v) > (1L << 53))
                        throw new ModelFileException($"Model file '{source}' stores tensor '{d.Name}' as I64 with the value {v}, which a float64 cannot hold exactly; Backprop reads integer tensors only as counts and indices up to 2^53.");
                    data[i] = v;
                }
                tensors.Add(new TensorEntry(d.Name, data, d.Shape));
            }
            else if (d.DType == DType.Float32)
            {
                var data = new float[count];
                readAt(dataStart + d.Begin, MemoryMarshal.AsBytes(data.AsSpan()));
                TensorEntry.FromLittleEndian(data.AsSpan());
                tensors.Add(new TensorEntry(d.Name, data, d.Shape));
            }
            else
            {
                var data = new double[count];
                readAt(dataStart + d.Begin, MemoryMarshal.AsBytes(data.AsSpan()));
                TensorEntry.FromLittleEndian(data.AsSpan());
                tensors.Add(new TensorEntry(d.Name, data, d.Shape));
            }
        }
        return new SafeTensorsFile(tensors, metadata, source);
    }

    private static (List<Descriptor>, Dictionary<string, string>) ParseHeader(byte[] header, long bufferLength, string source, Func<string, ModelFileException> bad)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw bad($"the header is not valid JSON ({e.Message}).");
        }
        using (doc)
        {
            try
            {
                return InterpretHeader(doc, bufferLength, source, bad);
            }
            catch (InvalidOperationException)
            {
                // The parser accepts escapes such as "\ud800" that decode to no valid string; reading them throws.
                throw bad("the header has a string with an invalid \\u escape (an unpaired surrogate).");
            }
        }
    }

    private static (List<Descriptor>, Dictionary<string, string>) InterpretHeader(JsonDocument doc, long bufferLength, string source, Func<string, ModelFileException> bad)
    {
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw bad($"the header is a JSON {Kind(doc.RootElement)}, not the object of tensor entries the format requires.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var descriptors = new List<Descriptor>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            string name = property.Name;
            if (!seen.Add(name))
                throw bad($"the header lists '{name}' twice.");
            if (name == MetadataKey)
            {
                ParseMetadata(property.Value, metadata, bad);
                continue;
            }
            descriptors.Add(ParseEntry(name, property.Value, bufferLength, source, bad));
        }
        return (descriptors, metadata);
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, Func<string, ModelFileException> bad)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw bad($"'{MetadataKey}' is a JSON {Kind(value)}, not an object of strings.");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw bad($"metadata entry '{item.Name}' is a JSON {Kind(item.Value)}; metadata values must be strings.");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw bad($"metadata entry '{item.Name}' appears twice.");
        }
    }

    private static Descriptor ParseEntry(string name, JsonElement value, long bufferLength, string source, Func<string, ModelFileException> bad)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw bad($"the entry for tensor '{name}' is a JSON {Kind(value)}, not an object with dtype, shape and data_offsets.");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw bad($"tensor '{name}' has no dtype string.");
        string code = dtypeElement.GetString()!;
        // I64 (PyTorch's integer buffers such as BatchNorm's num_batches_tracked) is read as float64 values:
        // both are 8 bytes, so the size checks below hold as written.
        bool int64 = code == "I64";
        DType dtype = code switch
        {
            "F32" => DType.Float32,
            "F64" or "I64" => DType.Float64,
            _ when KnownOtherDTypes.Contains(code) =>
                throw new ModelFileException($"Model file '{source}' stores tensor '{name}' as {code}, a dtype Backprop cannot load; convert the tensors to F32 or F64 (in PyTorch: t.float() or t.double()) and save again."),
            _ => throw bad($"tensor '{name}' has the unknown dtype '{Shorten(code)}' (Backprop reads F32, F64 and I64)."),
        };

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw bad($"tensor '{name}' has no shape array.");
        int rank = shapeElement.GetArrayLength();
        if (rank > 64)
            throw bad($"tensor '{name}' has {rank} dimensions; that is not a real tensor.");
        var shape = new int[rank];
        long count = 1;
        int i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d))
                throw bad($"tensor '{name}' has shape dimension {i} = {Shorten(dim.GetRawText())}, which is not an integer.");
            if (d < 0)
                throw bad($"tensor '{name}' has a negative shape dimension {d} (dimension {i}).");
            if (d > int.MaxValue)
                throw bad($"tensor '{name}' has shape dimension {i} = {d}, larger than Backprop supports.");
            shape[i++] = (int)d;
            try { count = checked(count * d); }
            catch (OverflowException) { throw bad($"tensor '{name}' has shape [{ShapeText(shapeElement)}], whose element count overflows a 64-bit integer."); }
        }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw bad($"tensor '{name}' needs data_offsets as a [begin, end] pair of integers.");
        long[] be = new long[2];
        int k = 0;
        foreach (var o in offsets.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out be[k]) || be[k] < 0)
                throw bad($"tensor '{name}' data_offsets [{Shorten(offsets[0].GetRawText())}, {Shorten(offsets[1].GetRawText())}] are not two non-negative integers.");
            k++;
        }
        long begin = be[0], end = be[1];
        if (end < begin)
            throw bad($"tensor '{name}' data_offsets [{begin}, {end}] end before they begin.");
        if (end > bufferLength)
            throw bad($"tensor '{name}' data_offsets [{begin}, {end}] run past the end of the data ({bufferLength} bytes); the file is truncated or corrupt.");

        long bytes;
        try { bytes = checked(count * dtype.SizeInBytes()); }
        catch (OverflowException) { throw bad($"tensor '{name}' has shape [{ShapeText(shapeElement)}], whose byte size overflows a 64-bit integer."); }
        if (bytes != end - begin)
            throw bad($"tensor '{name}' has shape [{ShapeText(shapeElement)}] of {code}, which needs {bytes} bytes, but its data_offsets [{begin}, {end}] span {end - begin}.");
        if (count > Array.MaxLength)
            throw bad($"tensor '{name}' has {count} elements, more than one .NET array can hold.");
        return new Descriptor(name, dtype, shape, begin, end, int64);
    }

    private static string ShapeText(JsonElement shape) => string.Join(", ", shape.EnumerateArray().Select(d => d.GetRawText()));

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "value",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";
}
