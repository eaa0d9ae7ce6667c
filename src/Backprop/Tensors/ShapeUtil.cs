namespace Backprop;

/// <summary>Shape arithmetic: products, broadcasting (NumPy rules), axes, formatting.</summary>
internal static class ShapeUtil
{
    public static int Product(ReadOnlySpan<int> dims)
    {
        long product = 1;
        foreach (int d in dims)
        {
            if (d < 0) throw new ShapeException($"A shape cannot have a negative size: {Format(dims)}.");
            product *= d;
            if (product > Array.MaxLength) throw new ShapeException($"Shape {Format(dims)} has more elements than an array can hold.");
        }
        return (int)product;
    }

    public static string Format(ReadOnlySpan<int> dims) => "(" + string.Join(", ", dims.ToArray()) + (dims.Length == 1 ? ",)" : ")");

    public static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    public static int NormalizeAxis(int axis, int rank)
    {
        int normalized = axis < 0 ? axis + rank : axis;
        if (normalized < 0 || normalized >= rank)
            throw new ShapeException($"Axis {axis} is out of range for a tensor of rank {rank}.");
        return normalized;
    }

    /// <summary>The broadcast shape of two shapes by NumPy's rules, or a ShapeException naming both.</summary>
    public static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string opName)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ShapeException($"{opName}: shapes {Format(a)} and {Format(b)} do not broadcast (dimension {i}: {da} vs {db}). Each dimension must match or be 1.");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    /// <summary>Whether <paramref name="from"/> broadcasts to exactly <paramref name="to"/>.</summary>
    public static bool BroadcastsTo(ReadOnlySpan<int> from, ReadOnlySpan<int> to)
    {
        if (from.Length > to.Length) return false;
        int lead = to.Length - from.Length;
        for (int i = 0; i < from.Length; i++)
            if (from[i] != 1 && from[i] != to[lead + i]) return false;
        return true;
    }

    public static int FlatIndex(ReadOnlySpan<int> dims, ReadOnlySpan<int> index)
    {
        if (index.Length != dims.Length)
            throw new ShapeException($"Index of rank {index.Length} for a tensor of shape {Format(dims)}.");
        int flat = 0;
        for (int i = 0; i < dims.Length; i++)
        {
            if ((uint)index[i] >= (uint)dims[i])
                throw new ShapeException($"Index {index[i]} is out of range for dimension {i} of shape {Format(dims)}.");
            flat = flat * dims[i] + index[i];
        }
        return flat;
    }

    /// <summary>Row-major strides of a contiguous tensor.</summary>
    public static int[] Strides(ReadOnlySpan<int> dims)
    {
        var strides = new int[dims.Length];
        int s = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= dims[i];
        }
        return strides;
    }

    /// <summary>The dims split around <paramref name="axis"/> as (outer, n, inner) for axis loops.</summary>
    public static (int Outer, int N, int Inner) AroundAxis(ReadOnlySpan<int> dims, int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= dims[i];
        for (int i = axis + 1; i < dims.Length; i++) inner *= dims[i];
        return (outer, dims[axis], inner);
    }

    public static int[] ReducedShape(ReadOnlySpan<int> dims, int axis, bool keepDims)
    {
        if (keepDims)
        {
            var kept = dims.ToArray();
            kept[axis] = 1;
            return kept;
        }
        var result = new int[dims.Length - 1];
        for (int i = 0, j = 0; i < dims.Length; i++)
            if (i != axis) result[j++] = dims[i];
        return result;
    }
}
