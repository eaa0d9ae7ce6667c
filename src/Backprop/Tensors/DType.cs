namespace Backprop;

/// <summary>
/// Element type of a tensor. Float32 is the training default; Float64 is what gradient checks use,
/// because central differences in float32 are dominated by rounding.
/// </summary>
public enum DType
{
    Float32,
    Float64,
}

public static class DTypeExtensions
{
    public static int SizeInBytes(this DType dtype) => dtype == DType.Float32 ? 4 : 8;
    public static string Name(this DType dtype) => dtype == DType.Float32 ? "float32" : "float64";

    public static DType Parse(string text) => text.ToLowerInvariant() switch
    {
        "float32" or "f32" or "float" or "single" => DType.Float32,
        "float64" or "f64" or "double" => DType.Float64,
        _ => throw new BackpropException($"Unknown dtype '{text}': use float32 or float64."),
    };
}
