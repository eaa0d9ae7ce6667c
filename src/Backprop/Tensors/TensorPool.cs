using System.Runtime.CompilerServices;

namespace Backprop;

/// <summary>
/// A caching allocator for the values ops compute, after PyTorch's: inside a <see cref="Scope"/>, every op
/// output takes its memory from a per-thread cache of arrays (by dtype and exact length) and gives it back
/// when the scope ends, so a training loop that runs one step per scope allocates its activations and
/// gradients once and then reuses them: no garbage collections, no zeroing of fresh large-object-heap
/// arrays every step.
/// </summary>
/// <remarks>
/// <para>What a scope's end does: every op output made inside the scope (and every view of it, and every
/// gradient the backward pass computed along the way) is released. Reading a released tensor throws a
/// <see cref="BackpropException"/> saying so; it never shows values that now belong to another tensor.
/// To keep a value beyond the scope, <see cref="Tensor.Clone"/> it (or read it with <see cref="Tensor.Item"/>,
/// <see cref="Tensor.ToDoubleArray"/>, …) inside the scope.</para>
/// <para>What survives a scope: tensors made by factories (<see cref="Tensor.Zeros"/>, <see cref="Tensor.FromArray(float[], int[])"/>,
/// <see cref="Tensor.Clone"/>, …), parameters, and anything assigned to a <see cref="Tensor.Grad"/>: the
/// gradient a backward pass accumulates into a leaf is copied or added in place, never a pooled temporary.</para>
/// <para>Why a scope rather than reference counts: .NET frees memory by garbage collection, so the engine
/// cannot see when the last reference to a tensor goes (PyTorch's allocator relies on refcounts for
/// that). TorchSharp uses the same kind of scope for the same reason. Without a scope nothing changes:
/// outputs are ordinary arrays that the GC collects.</para>
/// <para>Scopes nest and are per thread; they must be disposed in the reverse order of creation.</para>
/// </remarks>
public static class TensorPool
{
    [ThreadStatic] private static ThreadCache? t_cache;

    /// <summary>
    /// Most bytes of free arrays one thread's cache keeps (default 1 GiB); arrays handed back beyond it go
    /// to the garbage collector.
    /// </summary>
    public static long MaxCachedBytes { get; set; } = 1L << 30;

    /// <summary>Starts a scope on this thread: op outputs made until it is disposed come from the cache and go back to it.</summary>
    public static Scope BeginScope()
    {
        var cache = t_cache ??= new ThreadCache();
        cache.Depth++;
        return new Scope(cache, cache.Depth, cache.Leased.Count);
    }

    /// <summary>Whether a scope is open on this thread.</summary>
    public static bool IsActive => t_cache is { Depth: > 0 };

    /// <summary>Bytes of free arrays this thread's cache holds for reuse.</summary>
    public static long CachedBytes => t_cache?.CachedBytes ?? 0;

    /// <summary>Drops this thread's free arrays (PyTorch's <c>empty_cache</c>); tensors in open scopes are untouched.</summary>
    public static void ReleaseCached() => t_cache?.DropFree();

    /// <summary>An open scope; disposing it releases what it leased.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly ThreadCache? _cache;
        private readonly int _depth;
        private readonly int _firstLease;

        internal Scope(ThreadCache cache, int depth, int firstLease)
        {
            _cache = cache;
            _depth = depth;
            _firstLease = firstLease;
        }

        public void Dispose()
        {
            if (_cache is null) return;
            if (!ReferenceEquals(_cache, t_cache))
                throw new BackpropException("A TensorPool scope was disposed on another thread than the one that began it.");
            if (_cache.Depth != _depth)
                throw new BackpropException($"TensorPool scopes must be disposed in the reverse order they were begun: disposing the scope at depth {_depth} while depth {_cache.Depth} is open.");
            _cache.ReleaseFrom(_firstLease);
            _cache.Depth--;
        }
    }

    /// <summary>
    /// Memory for an op output of <paramref name="length"/> elements from the open scope's cache, or null
    /// when no scope is open (the caller allocates as usual). <paramref name="clear"/> zeroes reused
    /// memory; kernels that write every element pass false.
    /// </summary>
    internal static Storage? TryRent(int length, DType dtype, bool clear)
    {
        if (t_cache is not { Depth: > 0 } cache || length == 0) return null;
        Array data = dtype == DType.Float32 ? cache.Take<float>(length, clear) : cache.Take<double>(length, clear);
        var storage = new Storage(data) { Pooled = true };
        cache.Leased.Add(storage);
        return storage;
    }

    /// <summary>
    /// Marks the memory of <paramref name="t"/> (and of the values it wraps: primal and tangent at every
    /// level) as kept beyond the scope it was made in.
    /// </summary>
    internal static void MarkEscaped(Tensor? t)
    {
        while (t is not null)
        {
            t.Storage.Escaped = true;
            MarkEscaped(t.TangentTensor);
            t = t.PrimalTensor;
        }
    }

    internal sealed class ThreadCache
    {
        public int Depth;
        public readonly List<Storage> Leased = [];
        public long CachedBytes;
        private readonly Dictionary<int, Stack<float[]>> _floats = [];
        private readonly Dictionary<int, Stack<double[]>> _doubles = [];

        private Dictionary<int, Stack<T[]>> Free<T>() => typeof(T) == typeof(float)
            ? (Dictionary<int, Stack<T[]>>)(object)_floats
            : (Dictionary<int, Stack<T[]>>)(object)_doubles;

        public T[] Take<T>(int length, bool clear) where T : unmanaged
        {
            if (Free<T>().TryGetValue(length, out var stack) && stack.TryPop(out var array))
            {
                CachedBytes -= (long)length * Unsafe.SizeOf<T>();
                if (clear) Array.Clear(array);
                return array;
            }
            try
            {
                return clear ? new T[length] : GC.AllocateUninitializedArray<T>(length);
            }
            catch (OutOfMemoryException e)
            {
                throw new MemoryException($"out of memory: an op output of {length} {(typeof(T) == typeof(float) ? "float32" : "float64")} values " +
                    $"({MemoryException.Format((long)length * Unsafe.SizeOf<T>())}) cannot be allocated; " +
                    $"the tensor pool holds {MemoryException.Format(CachedBytes)} of free arrays. Use a smaller batch or network.", e);
            }
        }

        private void Give<T>(T[] array) where T : unmanaged
        {
            long bytes = (long)array.Length * Unsafe.SizeOf<T>();
            if (CachedBytes + bytes > MaxCachedBytes) return;
            var free = Free<T>();
            if (!free.TryGetValue(array.Length, out var stack)) free[array.Length] = stack = new Stack<T[]>();
            stack.Push(array);
            CachedBytes += bytes;
        }

        /// <summary>Hands back every storage leased since index <paramref name="first"/>, newest first.</summary>
        public void ReleaseFrom(int first)
        {
            for (int i = Leased.Count - 1; i >= first; i--)
            {
                var storage = Leased[i];
                storage.Pooled = false;
                if (storage.Escaped || storage.Released) continue;
                if (storage.Data is float[] f) Give(f);
                else if (storage.Data is double[] d) Give(d);
                storage.Data = Storage.ReleasedData;
            }
            Leased.RemoveRange(first, Leased.Count - first);
        }

        public void DropFree()
        {
            _floats.Clear();
            _doubles.Clear();
            CachedBytes = 0;
        }
    }
}
