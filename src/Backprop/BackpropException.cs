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
