namespace Backprop;

/// <summary>
/// The base of every error Backprop reports on purpose: bad input, shapes that do not fit, a corrupt
/// file, a graph used wrongly. The message says what is wrong, where, and how to fix it, so the CLI can
/// print it as one line without a stack trace.
/// </summary>
public class BackpropException : Exception
{
    public BackpropException(string message) : base(message) { }
    public BackpropException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Tensor shapes that do not fit the operation.</summary>
public sealed class ShapeException(string message) : BackpropException(message);

/// <summary>
/// An allocation Backprop makes (a tensor's storage) that the process cannot get: the message says
/// what needed how much, instead of the runtime's bare "Out of memory".
/// </summary>
public sealed class MemoryException(string message, Exception inner) : BackpropException(message, inner)
{
    /// <summary>Bytes in binary units: 512 B, 3.4 KiB, 3.35 GiB.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1) { value /= 1024; unit++; }
        return unit == 0
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{value:0.##} {units[unit]}");
    }
}
