using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Backprop.Serialization;

/// <summary>
/// One named tensor of a safetensors file: its dtype, shape and elements in row-major (C) order, held as
/// a float[] (<see cref="DType.Float32"/>, "F32" in the file) or a double[] (<see cref="DType.Float64"/>, "F64").
/// </summary>
public sealed class TensorEntry
{
    private readonly int[] _shape;

    public TensorEntry(string name, float[] data, params int[] shape) : this(name, DType.Float32, shape, data, null, data?.Length ?? 0) { }

    public TensorEntry(string name, double[] data, params int[] shape) : this(name, DType.Float64, shape, null, data, data?.Length ?? 0) { }

    private TensorEntry(string name, DType dtype, int[] shape, float[]? f32, double[]? f64, long length)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (f32 is null && f64 is null) throw new ArgumentNullException("data");
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ShapeException($"Tensor '{name}' has shape [{string.Join(", ", shape)}]; dimensions cannot be negative.");
            count *= d;
            if (count > Array.MaxLength) throw new ShapeException($"Tensor '{name}' with shape [{string.Join(", ", shape)}] is too large for one array.");
        }
        if (count != length)
            throw new ShapeException($"Tensor '{name}' has shape [{string.Join(", ", shape)}], which holds {count} elements, but {length} values were given.");
        Name = name;
        DType = dtype;
        _shape = [.. shape];
        Float32 = f32;
        Float64 = f64;
    }

    /// <summary>A tensor from raw little-endian bytes, as stored in the file.</summary>
    public static TensorEntry FromBytes(string name, DType dtype, int[] shape, ReadOnlySpan<byte> littleEndian)
    {
        int size = dtype.SizeInBytes();
        if (littleEndian.Length % size != 0)
            throw new ShapeException($"Tensor '{name}': {littleEndian.Length} bytes is not a whole number of {dtype.Name()} values.");
        int count = littleEndian.Length / size;
        if (dtype == DType.Float32)
        {
            var data = new float[count];
            littleEndian.CopyTo(MemoryMarshal.AsBytes(data.AsSpan()));
            FromLittleEndian(data.AsSpan());
            return new TensorEntry(name, data, shape);
        }
        else
        {
            var data = new double[count];
            littleEndian.CopyTo(MemoryMarshal.AsBytes(data.AsSpan()));
            FromLittleEndian(data.AsSpan());
            return new TensorEntry(name, data, shape);
        }
    }

    public string Name { get; }
    public DType DType { get; }
    public IReadOnlyList<int> Shape => _shape;
    /// <summary>The elements when <see cref="DType"/> is Float32, else null.</summary>
    public float[]? Float32 { get; }
    /// <summary>The elements when <see cref="DType"/> is Float64, else null.</summary>
    public double[]? Float64 { get; }
    public int ElementCount => Float32?.Length ?? Float64!.Length;
    public long ByteLength => (long)ElementCount * DType.SizeInBytes();

    /// <summary>The safetensors dtype string: "F32" or "F64".</summary>
    public string DTypeCode => SafeTensors.Code(DType);

    /// <summary>The elements as doubles, whatever the stored dtype.</summary>
    public double[] ToDoubleArray() => Float64 is { } d ? [.. d] : [.. Float32!.Select(v => (double)v)];

    /// <summary>The elements as floats, whatever the stored dtype (rounding doubles).</summary>
    public float[] ToFloatArray() => Float32 is { } f ? [.. f] : [.. Float64!.Select(v => (float)v)];

    internal void WriteTo(Stream stream)
    {
        if (BitConverter.IsLittleEndian)
        {
            if (Float32 is { } f) stream.Write(MemoryMarshal.AsBytes(f.AsSpan()));
            else stream.Write(MemoryMarshal.AsBytes(Float64.AsSpan()));
            return;
        }
        Span<byte> buffer = stackalloc byte[8];
        if (Float32 is { } floats)
        {
            foreach (float v in floats) { BinaryPrimitives.WriteSingleLittleEndian(buffer, v); stream.Write(buffer[..4]); }
        }
        else
        {
            foreach (double v in Float64!) { BinaryPrimitives.WriteDoubleLittleEndian(buffer, v); stream.Write(buffer); }
        }
    }

    internal static void FromLittleEndian(Span<float> data)
    {
        if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(data), MemoryMarshal.Cast<float, int>(data));
    }

    internal static void FromLittleEndian(Span<double> data)
    {
        if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<double, long>(data), MemoryMarshal.Cast<double, long>(data));
    }
}
