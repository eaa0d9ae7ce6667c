namespace Backprop.Serialization;

/// <summary>
/// A model file that cannot be read or written: missing, truncated, corrupt, or using a feature Backprop
/// does not support. The message names the file and what is wrong with it.
/// </summary>
public sealed class ModelFileException : BackpropException
{
    public ModelFileException(string message) : base(message) { }
    public ModelFileException(string message, Exception inner) : base(message, inner) { }
}
