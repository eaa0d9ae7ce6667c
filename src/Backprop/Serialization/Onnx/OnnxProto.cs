using System.Buffers.Binary;

namespace Backprop.Serialization.Onnx;

// The ONNX messages an exported network uses, each encoding itself with the field numbers of
// onnx/onnx.proto3 (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto,
// TypeProto, TensorShapeProto, OperatorSetIdProto, StringStringEntryProto). Field numbers are
// written next to each field because they, not the names, are the file format.

/// <summary>TensorProto.DataType values used here.</summary>
internal enum OnnxDataType
{
    Float = 1,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Double = 11,
}

/// <summary>An initializer or constant (TensorProto): numeric data as little-endian raw_data, text as string_data.</summary>
internal sealed class OnnxTensor
{
    private OnnxTensor(string name, OnnxDataType type, long[] dims, byte[]? raw, string[]? strings)
    {
        Name = name;
        DataType = type;
        Dims = dims;
        _raw = raw;
        _strings = strings;
    }

    private readonly byte[]? _raw;
    private readonly string[]? _strings;

    public string Name { get; }
    public OnnxDataType DataType { get; }
    public long[] Dims { get; }

    public static OnnxTensor Float(string name, long[] dims, ReadOnlySpan<float> values)
    {
        CheckCount(name, dims, values.Length);
        var raw = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), values[i]);
        return new OnnxTensor(name, OnnxDataType.Float, dims, raw, null);
    }

    public static OnnxTensor Double(string name, long[] dims, ReadOnlySpan<double> values)
    {
        CheckCount(name, dims, values.Length);
        var raw = new byte[values.Length * sizeof(double)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(raw.AsSpan(i * sizeof(double)), values[i]);
        return new OnnxTensor(name, OnnxDataType.Double, dims, raw, null);
    }

    public static OnnxTensor Int64(string name, long[] dims, ReadOnlySpan<long> values)
    {
        CheckCount(name, dims, values.Length);
        var raw = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * sizeof(long)), values[i]);
        return new OnnxTensor(name, OnnxDataType.Int64, dims, raw, null);
    }

    public static OnnxTensor Strings(string name, long[] dims, string[] values)
    {
        CheckCount(name, dims, values.Length);
        return new OnnxTensor(name, OnnxDataType.String, dims, null, [.. values]);
    }

    /// <summary>Values in <paramref name="type"/> (float or double), converted from double.</summary>
    public static OnnxTensor Of(OnnxDataType type, string name, long[] dims, ReadOnlySpan<double> values)
    {
        switch (type)
        {
            case OnnxDataType.Double:
                return Double(name, dims, values);
            case OnnxDataType.Float:
            {
                var f = new float[values.Length];
                for (int i = 0; i < f.Length; i++) f[i] = (float)values[i];
                return Float(name, dims, f);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Only float and double tensors are converted from double.");
        }
    }

    private static void CheckCount(string name, long[] dims, int count)
    {
        long expected = 1;
        foreach (long d in dims) expected *= d;
        if (expected != count) throw new ArgumentException($"ONNX tensor '{name}' of shape ({string.Join(", ", dims)}) needs {expected} values, not {count}.");
    }

    public ProtoWriter Encode()
    {
        var w = new ProtoWriter();
        w.PackedInt64(1, Dims);                        // dims
        w.Int64(2, (int)DataType);                     // data_type
        if (_strings is not null)
        {
            foreach (var s in _strings) w.String(6, s); // string_data (bytes, UTF-8)
        }
        w.String(8, Name);                             // name
        if (_raw is not null) w.Bytes(9, _raw);        // raw_data
        return w;
    }
}

/// <summary>A node attribute (AttributeProto) of one of the kinds the exporter needs.</summary>
internal sealed class OnnxAttribute
{
    // AttributeProto.AttributeType
    private const int TypeFloat = 1, TypeInt = 2, TypeInts = 7;

    private readonly int _type;
    private readonly float _float;
    private readonly long[] _ints;

    private OnnxAttribute(string name, int type, float f, long[] ints)
    {
        Name = name;
        _type = type;
        _float = f;
        _ints = ints;
    }

    public string Name { get; }

    public static OnnxAttribute Int(string name, long value) => new(name, TypeInt, 0, [value]);
    public static OnnxAttribute Float(string name, float value) => new(name, TypeFloat, value, []);
    public static OnnxAttribute Ints(string name, params long[] values) => new(name, TypeInts, 0, values);

    public ProtoWriter Encode()
    {
        var w = new ProtoWriter();
        w.String(1, Name);                                    // name
        switch (_type)
        {
            case TypeFloat: w.Float(2, _float); break;        // f
            case TypeInt: w.Int64(3, _ints[0]); break;        // i
            case TypeInts: foreach (long v in _ints) w.Int64(8, v); break; // ints (unpacked, as onnx writes them)
        }
        w.Int64(20, _type);                                   // type
        return w;
    }
}

/// <summary>One operator application (NodeProto).</summary>
internal sealed record OnnxNode(string OpType, string Name, string[] Inputs, string[] Outputs, OnnxAttribute[] Attributes, string Domain = "", string Doc = "")
{
    public ProtoWriter Encode()
    {
        var w = new ProtoWriter();
        foreach (var i in Inputs) w.String(1, i);            // input
        foreach (var o in Outputs) w.String(2, o);           // output
        w.String(3, Name);                                   // name
        w.String(4, OpType);                                 // op_type
        foreach (var a in Attributes) w.Message(5, a.Encode()); // attribute
        if (Doc.Length > 0) w.String(6, Doc);                // doc_string
        if (Domain.Length > 0) w.String(7, Domain);          // domain
        return w;
    }
}

/// <summary>
/// A graph input or output (ValueInfoProto with a tensor TypeProto). A dimension is a fixed size, or
/// null for a symbolic one named by <see cref="OnnxValueInfo.SymbolicDim"/> (the batch).
/// </summary>
internal sealed record OnnxValueInfo(string Name, OnnxDataType ElementType, long?[] Shape, string Doc = "", string SymbolicDim = "N")
{
    public ProtoWriter Encode()
    {
        var shape = new ProtoWriter();
        foreach (var d in Shape)
        {
            var dim = new ProtoWriter();
            if (d is long size) dim.Int64(1, size);          // Dimension.dim_value
            else dim.String(2, SymbolicDim);                 // Dimension.dim_param
            shape.Message(1, dim);                           // TensorShapeProto.dim
        }
        var tensor = new ProtoWriter();
        tensor.Int64(1, (int)ElementType);                   // TypeProto.Tensor.elem_type
        tensor.Message(2, shape);                            // TypeProto.Tensor.shape
        var type = new ProtoWriter();
        type.Message(1, tensor);                             // TypeProto.tensor_type
        var w = new ProtoWriter();
        w.String(1, Name);                                   // name
        w.Message(2, type);                                  // type
        if (Doc.Length > 0) w.String(3, Doc);                // doc_string
        return w;
    }
}

/// <summary>A whole model (ModelProto with its GraphProto).</summary>
internal sealed class OnnxModel
{
    public required long IrVersion { get; init; }
    public required IReadOnlyList<(string Domain, long Version)> Opsets { get; init; }
    public required string ProducerName { get; init; }
    public required string ProducerVersion { get; init; }
    public required string GraphName { get; init; }
    public string Doc { get; init; } = "";
    public required IReadOnlyList<OnnxNode> Nodes { get; init; }
    public required IReadOnlyList<OnnxTensor> Initializers { get; init; }
    public required IReadOnlyList<OnnxValueInfo> Inputs { get; init; }
    public required IReadOnlyList<OnnxValueInfo> Outputs { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; init; } = [];

    public byte[] Encode()
    {
        var graph = new ProtoWriter();
        foreach (var n in Nodes) graph.Message(1, n.Encode());          // node
        graph.String(2, GraphName);                                      // name
        foreach (var t in Initializers) graph.Message(5, t.Encode());   // initializer
        if (Doc.Length > 0) graph.String(10, Doc);                       // doc_string
        foreach (var i in Inputs) graph.Message(11, i.Encode());        // input
        foreach (var o in Outputs) graph.Message(12, o.Encode());       // output

        var model = new ProtoWriter();
        model.Int64(1, IrVersion);                                       // ir_version
        model.String(2, ProducerName);                                   // producer_name
        model.String(3, ProducerVersion);                                // producer_version
        if (Doc.Length > 0) model.String(6, Doc);                        // doc_string
        model.Message(7, graph);                                         // graph
        foreach (var (domain, version) in Opsets)
        {
            var opset = new ProtoWriter();
            if (domain.Length > 0) opset.String(1, domain);              // OperatorSetIdProto.domain
            opset.Int64(2, version);                                     // OperatorSetIdProto.version
            model.Message(8, opset);                                     // opset_import
        }
        foreach (var (key, value) in Metadata)
        {
            var entry = new ProtoWriter();
            entry.String(1, key);                                        // StringStringEntryProto.key
            entry.String(2, value);                                      // StringStringEntryProto.value
            model.Message(14, entry);                                    // metadata_props
        }
        return model.ToArray();
    }
}
