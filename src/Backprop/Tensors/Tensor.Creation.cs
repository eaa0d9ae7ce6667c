namespace Backprop;

public sealed partial class Tensor
{
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32) => new((int[])shape.Clone(), dtype);

    public static Tensor Ones(int[] shape, DType dtype = DType.Float32) => Full(shape, 1.0, dtype);

    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32)
    {
        var t = Zeros(shape, dtype);
        if (dtype == DType.Float32) t.Span<float>().Fill((float)value);
        else t.Span<double>().Fill(value);
        return t;
    }

    public static Tensor ZerosLike(Tensor x) => new((int[])x.Dims.Clone(), x.DType);

    public static Tensor OnesLike(Tensor x) => Full(x.Dims, 1.0, x.DType);

    /// <summary>A tensor of rank 0 holding one value.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32) => Full([], value, dtype);

    /// <summary>A float32 tensor with a copy of <paramref name="values"/> in the given shape.</summary>
    public static Tensor FromArray(float[] values, params int[] shape)
    {
        CheckLength(values.Length, shape);
        return new Tensor(new Storage((float[])values.Clone()), 0, (int[])shape.Clone(), DType.Float32);
    }

    /// <summary>A float64 tensor with a copy of <paramref name="values"/> in the given shape.</summary>
    public static Tensor FromArray(double[] values, params int[] shape)
    {
        CheckLength(values.Length, shape);
        return new Tensor(new Storage((double[])values.Clone()), 0, (int[])shape.Clone(), DType.Float64);
    }

    /// <summary>A tensor with a copy of <paramref name="values"/>, stored as <paramref name="dtype"/>.</summary>
    public static Tensor FromArray(double[] values, int[] shape, DType dtype) =>
        dtype == DType.Float64 ? FromArray(values, shape) : FromArray(Array.ConvertAll(values, v => (float)v), shape);

    /// <summary>A matrix from a 2-D array.</summary>
    public static Tensor FromArray(double[,] values, DType dtype = DType.Float64)
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        var flat = new double[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                flat[i * cols + j] = values[i, j];
        return FromArray(flat, [rows, cols], dtype);
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
    public static Tensor RandomNormal(int[] shape, Rng rng, double mean = 0, double std = 1, DType dtype = DType.Float32)
    {
        var t = Zeros(shape, dtype);
        if (dtype == DType.Float32)
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

    public static Tensor RandomNormal(int[] shape, ulong seed, DType dtype = DType.Float32) =>
        RandomNormal(shape, new Rng(seed), 0, 1, dtype);

    /// <summary>Samples uniformly from [low, high).</summary>
    public static Tensor RandomUniform(int[] shape, Rng rng, double low = 0, double high = 1, DType dtype = DType.Float32)
    {
        var t = Zeros(shape, dtype);
        if (dtype == DType.Float32)
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

    public static Tensor RandomUniform(int[] shape, ulong seed, double low = 0, double high = 1, DType dtype = DType.Float32) =>
        RandomUniform(shape, new Rng(seed), low, high, dtype);

    /// <summary>The n×n identity matrix.</summary>
    public static Tensor Eye(int n, DType dtype = DType.Float32)
    {
        var t = Zeros([n, n], dtype);
        for (int i = 0; i < n; i++)
        {
            if (dtype == DType.Float32) t.Span<float>()[i * n + i] = 1f;
            else t.Span<double>()[i * n + i] = 1.0;
        }
        return t;
    }

    /// <summary>0, 1, …, n−1 as a vector.</summary>
    public static Tensor Arange(int n, DType dtype = DType.Float32)
    {
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = i;
        return FromArray(values, [n], dtype);
    }
}
