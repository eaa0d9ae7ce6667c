using NumericsTensor = System.Numerics.Tensors.Tensor;

namespace Backprop;

public sealed partial class Tensor
{
    /// <summary>A copy as a <see cref="System.Numerics.Tensors.Tensor{T}"/> of the same shape.</summary>
    public System.Numerics.Tensors.Tensor<T> ToNumericsTensor<T>() where T : unmanaged
    {
        var lengths = new nint[Rank];
        for (int i = 0; i < Rank; i++) lengths[i] = Dims[i];
        return NumericsTensor.Create(Span<T>().ToArray(), lengths);
    }

    /// <summary>A copy of a <see cref="System.Numerics.Tensors.Tensor{T}"/> (float or double).</summary>
    public static Tensor FromNumericsTensor<T>(System.Numerics.Tensors.Tensor<T> source) where T : unmanaged
    {
        var shape = new int[source.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = checked((int)source.Lengths[i]);
        var values = new T[checked((int)source.FlattenedLength)];
        source.FlattenTo(values);
        return values switch
        {
            float[] f => Wrap(f, shape),
            double[] d => Wrap(d, shape),
            _ => throw new BackpropException($"Backprop tensors hold float or double, not {typeof(T).Name}."),
        };
    }

    /// <summary>A float32 tensor with a copy of the span's values.</summary>
    public static Tensor FromSpan(ReadOnlySpan<float> values, params int[] shape) => FromArray(values.ToArray(), shape);

    /// <summary>A float64 tensor with a copy of the span's values (doubles given as a span keep their precision).</summary>
    public static Tensor FromSpan(ReadOnlySpan<double> values, params int[] shape) => FromArray(values.ToArray(), shape, DType.Float64);
}
