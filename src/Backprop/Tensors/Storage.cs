namespace Backprop;

/// <summary>
/// The memory behind one or more tensors (views and autodiff wrappers share it). <see cref="Version"/>
/// counts in-place writes, so a backward pass can tell that a value it saved has since been changed.
/// </summary>
/// <remarks>
/// Memory taken from the <see cref="TensorPool"/> inside a scope is handed back when the scope ends:
/// <see cref="Data"/> then becomes <see cref="ReleasedData"/>, whose type matches no dtype, so every read
/// through <see cref="Tensor"/>'s spans fails with an error that says why instead of returning values that
/// now belong to another tensor. A storage put somewhere that outlives the scope (a parameter's
/// <see cref="Tensor.Grad"/>) is marked <see cref="Escaped"/> and keeps its memory.
/// </remarks>
internal sealed class Storage(Array data)
{
    /// <summary>The stand-in for the memory of a released storage: a byte array, which no dtype reads.</summary>
    internal static readonly Array ReleasedData = Array.Empty<byte>();

    public Array Data = data;
    public int Version;
    /// <summary>Leased from the pool by the current scope: handed back when that scope ends, unless <see cref="Escaped"/>.</summary>
    public bool Pooled;
    /// <summary>Referenced from somewhere that outlives the scope it was made in; the pool leaves it alone.</summary>
    public bool Escaped;

    public bool Released => ReferenceEquals(Data, ReleasedData);
}
