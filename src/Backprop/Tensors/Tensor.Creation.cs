namespace Backprop;

public sealed partial class Tensor
{
    private static DType s_defaultDType = DType.Float32;
    private static readonly AsyncLocal<DType?> s_scopedDefaultDType = new();

    /// <summary>
    /// The dtype of tensors created without one (factories, <c>FromArray(double[])</c>, layers): float32,
    /// as in PyTorch (<c>torch.get_default_dtype()</c>). Setting it changes the whole process; for a
    /// block of code prefer <see cref="UseDefaultDType"/>, which is local to the calling flow.
    /// </summary>
    public static DType DefaultDType
    {
        get => s_scopedDefaultDType.Value ?? s_defaultDType;
        set => s_defaultDType = value;
    }

    /// <summary>Makes <paramref name="dtype"/> the default in this thread's flow (async-local) until the scope is disposed.</summary>
    public static DefaultDTypeScope UseDefaultDType(DType dtype)
    {
        var previous = s_scopedDefaultDType.Value;
        s_scopedDefaultDType.Value = dtype;
        return new DefaultDTypeScope(previous);
    }

    public readonly struct DefaultDTypeScope(DType? previous) : IDisposable
    {
        public void Dispose() => s_scopedDefaultDType.Value = previous;
    }

    public static Tensor Zeros(int[] shape, DType? dtype = null) => new((int[])shape.Clone(), dtype ?? DefaultDType);

    public static Tensor Ones(int[] shape, DType? dtype = null) => Full(shape, 1.0, dtype);

    public static Tensor Full(int[] shape, double value, DType? dtype = null)
    {
        var t = Zeros(shape, dtype);
        if (t.DType == DType.Float32) t.Span<float>().Fill((float)value);
        else t.Span<double>().Fill(value);
        return t;
    }

    public static Tensor ZerosLike(Tensor x) => new((int[])x.Dims.Clone(), x.DType);

    public static Tensor OnesLike(Tensor x) => Full(x.Dims, 1.0, x.DType);

    /// <summary>A tensor of rank 0 holding one value.</summary>
    public static Tensor Scalar(double value, DType? dtype = null) => Full([], value, dtype);

    /// <summary>A float32 tensor with a copy of <paramref name="values"/> in the given shape.</summary>
    public static Tensor FromArray(float[] values, params int[] shape)
    {
        CheckLength(values.Length, shape);
        return new Tensor(new Storage((float[])values.Clone()), 0, (int[])shape.Clone(), DType.Float32);
    }

    /// <summary>
    /// A tensor of <see cref="DefaultDType"/> (float32 unless changed) with the values in the given shape,
    /// as <c>torch.tensor</c> makes; pass a dtype (<c>FromArray(values, shape, DType.Float64)</c>) to keep
    /// float64 precision.
    /// </summary>
    public static Tensor FromArray(double[] values, params int[] shape) => FromArray(values, shape, DefaultDType);

    /// <summary>A tensor with a copy of <paramref name="values"/>, stored as <paramref name="dtype"/>.</summary>
    public static Tensor FromArray(double[] values, int[] shape, DType dtype)
    {
        CheckLength(values.Length, shape);
        return dtype == DType.Float64
            ? new Tensor(new Storage((double[])values.Clone()), 0, (int[])shape.Clone(), DType.Float64)
            : FromArray(Array.ConvertAll(values, v => (float)v), shape);
    }

    /// <summary>A matrix from a 2-D array, of <see cref="DefaultDType"/> unless a dtype is given.</summary>
    public static Tensor FromArray(double[,] values, DType? dtype = null)
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        var flat = new double[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                flat[i * cols + j] = values[i, j];
        return FromArray(flat, [rows, cols], dtype ?? DefaultDType);
    }

    /// <summary>Wraps an existing array without copying: the tensor and the array share memory.</summary>
    internal static Tensor Wrap(float[] values, int[] shape, int offset = 0) =>
        new(new Storage(values), offset, shape, DType.Float32);

    internal static Tensor Wrap(double[] values, int[] shape, int offset = 0) =>
        new(new Storage(values), offset, shape, DType.Float64);

    private static void CheckLength(int length, int[] shape)
    {
        int expected = ShapeUtil.Product(shape);
        if (expected != length)
            throw new ShapeException($"{length} values cannot fill shape {ShapeUtil.Format(shape)}, which holds {expected}.");
    }

    /// <summary>Samples from N(mean, std²); the same generator state gives the same values everywhere.</summary>
    public static Tensor RandomNormal(int[] shape, Rng rng, double mean = 0, double std = 1, DType? dtype = null)
    {
        var t = Zeros(shape, dtype);
        if (t.DType == DType.Float32)
        {
            var s = t.Span<float>();
            for (int i = 0; i < s.Length; i++) s[i] = (float)(mean + std * rng.NextNormal());
        }
        else
        {
            var s = t.Span<double>();
            for (int i = 0; i < s.Length; i++) s[i] = mean + std * rng.NextNormal();
        }
        return t;
    }

    public static Tensor RandomNormal(int[] shape, ulong seed, DType? dtype = null) =>
        RandomNormal(shape, new Rng(seed), 0, 1, dtype);

    /// <summary>Samples uniformly from [low, high).</summary>
    public static Tensor RandomUniform(int[] shape, Rng rng, double low = 0, double high = 1, DType? dtype = null)
    {
        var t = Zeros(shape, dtype);
        if (t.DType == DType.Float32)
        {
            var s = t.Span<float>();
            for (int i = 0; i < s.Length; i++) s[i] = (float)(low + (high - low) * rng.NextDouble());
        }
        else
        {
            var s = t.Span<double>();
            for (int i = 0; i < s.Length; i++) s[i] = low + (high - low) * rng.NextDouble();
        }
        return t;
    }

    public static Tensor RandomUniform(int[] shape, ulong seed, double low = 0, double high = 1, DType? dtype = null) =>
        RandomUniform(shape, new Rng(seed), low, high, dtype);

    /// <summary>The n×n identity matrix.</summary>
    public static Tensor Eye(int n, DType? dtype = null)
    {
        var t = Zeros([n, n], dtype);
        for (int i = 0; i < n; i++)
        {
            if (t.DType == DType.Float32) t.Span<float>()[i * n + i] = 1f;
            else t.Span<double>()[i * n + i] = 1.0;
        }
        return t;
    }

    /// <summary>0, 1, …, n−1 as a vector.</summary>
    public static Tensor Arange(int n, DType? dtype = null)
    {
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = i;
        return FromArray(values, [n], dtype ?? DefaultDType);
    }
}
