using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop;

/// <summary>
/// A dense, row-major, contiguous n-dimensional array of <see cref="float"/> or <see cref="double"/>,
/// that can take part in automatic differentiation.
/// </summary>
/// <remarks>
/// A tensor is always contiguous: views are limited to runs of whole rows (<see cref="TensorOps.Rows"/>),
/// which is what mini-batching needs, and matrix products take transposed operands as flags instead
/// of strided views. That keeps every kernel a loop over spans.
///
/// Differentiation state (Autodiff/README in the docs): a tensor at <see cref="Level"/> 0 is a plain
/// value; at level k &gt; 0 it wraps <see cref="PrimalTensor"/> (the same value, one level down) with
/// either a tangent (forward mode) or a graph node (reverse mode) that belongs to level k. All
/// wrappers share the primal's storage, so reading values never walks the chain.
/// </remarks>
public sealed partial class Tensor
{
    internal readonly Storage Storage;
    internal readonly int Offset;
    internal readonly int[] Dims;

    /// <summary>The level of differentiation this tensor belongs to; 0 for a plain value.</summary>
    internal int Level;
    /// <summary>The same value without this level's derivative information (level &lt; <see cref="Level"/>).</summary>
    internal Tensor? PrimalTensor;
    /// <summary>Forward mode: d(this)/d(seed) at this level; null when this level is reverse mode.</summary>
    internal Tensor? TangentTensor;
    /// <summary>Reverse mode: the op that produced this tensor; null for a leaf.</summary>
    internal Node? Node;

    internal Tensor(Storage storage, int offset, int[] dims, DType dtype)
    {
        Storage = storage;
        Offset = offset;
        Dims = dims;
        DType = dtype;
        Length = ShapeUtil.Product(dims);
    }

    /// <summary>A new tensor that owns fresh zeroed memory.</summary>
    internal Tensor(int[] dims, DType dtype)
        : this(new Storage(Allocate(dims, dtype)), 0, dims, dtype)
    {
    }

    private static Array Allocate(int[] dims, DType dtype)
    {
        int length = ShapeUtil.Product(dims);
        try
        {
            return dtype == DType.Float32 ? new float[length] : new double[length];
        }
        catch (OutOfMemoryException e)
        {
            long bytes = (long)length * (dtype == DType.Float32 ? 4 : 8);
            throw new MemoryException($"out of memory: a {dtype.Name()} tensor of shape {ShapeUtil.Format(dims)} needs {MemoryException.Format(bytes)}, " +
                "more than this process can allocate. Use a smaller input, batch or network.", e);
        }
    }

    public DType DType { get; }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    public int Rank => Dims.Length;

    /// <summary>The size of each dimension, outermost first.</summary>
    public ReadOnlySpan<int> Shape => Dims;

    /// <summary>The size of dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Size(int axis) => Dims[ShapeUtil.NormalizeAxis(axis, Rank)];

    /// <summary>The accumulated gradient of a leaf after <see cref="Backward(bool)"/>; null before.</summary>
    /// <remarks>A gradient outlives the step that computed it, so a tensor assigned here is never handed back to the <see cref="TensorPool"/>.</remarks>
    public Tensor? Grad
    {
        get => _grad;
        set
        {
            TensorPool.MarkEscaped(value);
            _grad = value;
        }
    }

    private Tensor? _grad;

    /// <summary>
    /// Whether <see cref="Backward(bool)"/> computes a gradient for this tensor. Setting it on a plain
    /// tensor makes it a leaf of the eager graph (like PyTorch's <c>requires_grad_()</c>).
    /// </summary>
    public bool RequiresGrad
    {
        get => Level > 0 && TangentTensor is null;
        set
        {
            if (value == RequiresGrad) return;
            if (value)
            {
                if (Level != 0)
                    throw new BackpropException("RequiresGrad can only be set on a plain tensor; this one is already inside a forward-mode transform.");
                Level = Autodiff.EagerLevel;
                PrimalTensor = Detach();
            }
            else
            {
                if (Level != Autodiff.EagerLevel || Node is not null)
                    throw new BackpropException($"RequiresGrad can only be cleared on a leaf; this tensor was computed by '{Node?.Op.Name}'. Use Detach() to get a constant copy.");
                Level = 0;
                PrimalTensor = null;
            }
        }
    }

    /// <summary>True for tensors created by the user rather than computed by a recorded op.</summary>
    public bool IsLeaf => Node is null;

    /// <summary>The name of the op that produced this tensor in the graph, or null for a leaf.</summary>
    public string? GradFnName => Node?.Op.Name;

    /// <summary>The same values, cut from every graph and transform: a plain constant sharing memory.</summary>
    public Tensor Detach() => new(Storage, Offset, Dims, DType);

    /// <summary>Read-only view of the values.</summary>
    public ReadOnlySpan<T> AsReadOnlySpan<T>() where T : unmanaged => Span<T>();

    /// <summary>
    /// Writable view of the values. Taking it counts as an in-place write: a backward pass that saved
    /// this tensor before will refuse to use the changed value.
    /// </summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        Storage.Version++;
        return Span<T>();
    }

    /// <summary>The span without bumping the version: for kernels writing into fresh outputs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Span<T> Span<T>() where T : unmanaged
    {
        if (Storage.Data is T[] array) return new Span<T>(array, Offset, Length);
        throw WrongSpan(typeof(T));
    }

    private BackpropException WrongSpan(Type requested) => Storage.Released
        ? new BackpropException($"This {DType.Name()} tensor of shape {ShapeUtil.Format(Dims)} was computed inside a TensorPool scope that has ended, " +
            "and its memory went back to the pool. Read or Clone() the value inside the scope to keep it.")
        : new BackpropException($"This tensor holds {DType.Name()}, not {requested.Name}.");

    internal void MarkModified() => Storage.Version++;

    /// <summary>The element at a multi-index, converted to double (for display and tests, not loops).</summary>
    [IndexerName("Element")]
    public double this[params int[] index]
    {
        get
        {
            int flat = ShapeUtil.FlatIndex(Dims, index);
            return DType == DType.Float32 ? Span<float>()[flat] : Span<double>()[flat];
        }
    }

    /// <summary>The single value of a tensor with one element.</summary>
    public double Item()
    {
        if (Length != 1) throw new ShapeException($"Item() needs a tensor with one element; this one has shape {ShapeUtil.Format(Dims)}.");
        return DType == DType.Float32 ? Span<float>()[0] : Span<double>()[0];
    }

    /// <summary>A copy of the values, converted to double.</summary>
    public double[] ToDoubleArray()
    {
        var result = new double[Length];
        if (DType == DType.Float64) Span<double>().CopyTo(result);
        else
        {
            var src = Span<float>();
            for (int i = 0; i < src.Length; i++) result[i] = src[i];
        }
        return result;
    }

    /// <summary>A copy of the values, converted to float.</summary>
    public float[] ToFloatArray()
    {
        var result = new float[Length];
        if (DType == DType.Float32) Span<float>().CopyTo(result);
        else
        {
            var src = Span<double>();
            for (int i = 0; i < src.Length; i++) result[i] = (float)src[i];
        }
        return result;
    }

    /// <summary>A copy of the values in their own type (throws if <typeparamref name="T"/> is not this dtype).</summary>
    public T[] ToArray<T>() where T : unmanaged => Span<T>().ToArray();

    /// <summary>A plain tensor with its own copy of the values.</summary>
    public Tensor Clone()
    {
        var copy = new Tensor((int[])Dims.Clone(), DType);
        if (DType == DType.Float32) Span<float>().CopyTo(copy.Span<float>());
        else Span<double>().CopyTo(copy.Span<double>());
        return copy;
    }

    /// <summary>A plain tensor converted to <paramref name="dtype"/> (a copy even when it already is).</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return Clone();
        var result = new Tensor((int[])Dims.Clone(), dtype);
        if (dtype == DType.Float64)
        {
            var src = Span<float>();
            var dst = result.Span<double>();
            for (int i = 0; i < src.Length; i++) dst[i] = src[i];
        }
        else
        {
            var src = Span<double>();
            var dst = result.Span<float>();
            for (int i = 0; i < src.Length; i++) dst[i] = (float)src[i];
        }
        return result;
    }

    /// <summary>Copies <paramref name="source"/>'s values into this tensor in place (shapes must match).</summary>
    public void CopyFrom(Tensor source)
    {
        if (!ShapeUtil.SameShape(Dims, source.Dims))
            throw new ShapeException($"CopyFrom: source shape {ShapeUtil.Format(source.Dims)} does not match {ShapeUtil.Format(Dims)}.");
        if (DType != source.DType)
            throw new BackpropException($"CopyFrom: source is {source.DType.Name()} but this tensor is {DType.Name()}.");
        if (DType == DType.Float32) source.Span<float>().CopyTo(AsSpan<float>());
        else source.Span<double>().CopyTo(AsSpan<double>());
    }

    /// <summary>Sets every element to <paramref name="value"/> in place.</summary>
    public void Fill(double value)
    {
        if (DType == DType.Float32) AsSpan<float>().Fill((float)value);
        else AsSpan<double>().Fill(value);
    }

    internal static T Cast<T>(double value) where T : INumberBase<T> => T.CreateTruncating(value);
}
