namespace Backprop;

/// <summary>
/// The memory behind one or more tensors (views and autodiff wrappers share it). <see cref="Version"/>
/// counts in-place writes, so a backward pass can tell that a value it saved has since been changed.
/// </summary>
internal sealed class Storage(Array data)
{
    public readonly Array Data = data;
    public int Version;
}
