using System.Runtime.CompilerServices;

namespace Backprop.Nn;

/// <summary>
/// An optimizer whose update needs one gradient per step. The update runs in place on parameter
/// memory, one parameter at a time, as span kernels (TensorPrimitives) over state buffers allocated at
/// construction, so a step in steady state allocates nothing.
/// </summary>
public abstract class FirstOrderOptimizer : Optimizer
{
    private readonly float[][] _floatScratch;
    private readonly double[][] _doubleScratch;

    /// <summary>Allocates <paramref name="scratchSlots"/> parameter-sized temporaries per dtype, the most one update needs.</summary>
    protected FirstOrderOptimizer(IEnumerable<(string Name, Tensor Parameter)> parameters, double learningRate, int scratchSlots)
        : base(parameters, learningRate)
    {
        int maxFloat = 0, maxDouble = 0;
        for (int i = 0; i < ParameterCount; i++)
        {
            var p = Parameter(i);
            if (p.DType == DType.Float32) maxFloat = Math.Max(maxFloat, p.Length);
            else maxDouble = Math.Max(maxDouble, p.Length);
        }
        _floatScratch = new float[scratchSlots][];
        _doubleScratch = new double[scratchSlots][];
        for (int s = 0; s < scratchSlots; s++)
        {
            _floatScratch[s] = new float[maxFloat];
            _doubleScratch[s] = new double[maxDouble];
        }
    }

    /// <summary>
    /// Calls the closure (if any) once with gradients recorded, then updates every parameter that has a
    /// gradient; parameters without one are skipped, as in PyTorch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public sealed override Tensor? Step(Func<Tensor>? lossClosure)
    {
        Tensor? loss = lossClosure?.Invoke();
        using (Autodiff.NoGrad())
        {
            for (int i = 0; i < ParameterCount; i++)
            {
                var g = GradientOf(i);
                if (g is null) continue;
                var p = Parameter(i);
                if (p.DType == DType.Float32) Update(i, p.AsSpan<float>(), g.AsReadOnlySpan<float>());
                else Update(i, p.AsSpan<double>(), g.AsReadOnlySpan<double>());
            }
        }
        StepCount++;
        return loss;
    }

    /// <summary>Applies the update rule to parameter <paramref name="index"/> in place.</summary>
    protected abstract void Update(int index, Span<float> parameter, ReadOnlySpan<float> gradient);

    /// <inheritdoc cref="Update(int, Span{float}, ReadOnlySpan{float})"/>
    protected abstract void Update(int index, Span<double> parameter, ReadOnlySpan<double> gradient);

    /// <summary>A temporary of <paramref name="length"/> elements, shared by all parameters of the same dtype.</summary>
    protected Span<T> Scratch<T>(int slot, int length) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return ((T[])(object)_floatScratch[slot]).AsSpan(0, length);
        return ((T[])(object)_doubleScratch[slot]).AsSpan(0, length);
    }

    /// <summary>A state buffer's memory, without counting a version bump (nothing records these buffers in a graph).</summary>
    protected static Span<T> BufferSpan<T>(Tensor buffer) where T : unmanaged => buffer.Span<T>();
}
