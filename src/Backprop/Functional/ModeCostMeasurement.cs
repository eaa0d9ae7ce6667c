using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Backprop.Functional;

/// <summary>The loss at the end of the measured MLP.</summary>
public enum MlpLoss
{
    /// <summary>Identity output, mean squared error against normal targets.</summary>
    MeanSquaredError,
    /// <summary>Logit output, binary cross-entropy against 0/1 targets.</summary>
    BinaryCrossEntropy,
}

/// <summary>What one way of differentiating cost: median wall time and bytes allocated per run.</summary>
/// <param name="Mode">"forward pass", "reverse-mode gradient", "forward-mode full gradient" or "forward gradient (1 estimate)".</param>
/// <param name="MedianMilliseconds">Median wall time of one run.</param>
/// <param name="AllocatedBytes">Median bytes allocated by one run.</param>
/// <param name="Passes">Calls of the loss function per run (forward mode runs ⌈P / directions per pass⌉).</param>
public sealed record ModeCost(string Mode, double MedianMilliseconds, long AllocatedBytes, int Passes);

/// <summary>The costs of the four modes on one network, and how well the gradients they give agree.</summary>
/// <param name="LayerSizes">Input, hidden and output sizes.</param>
/// <param name="BatchSize">Examples in the batch.</param>
/// <param name="ParameterCount">P, the number of weights and biases.</param>
/// <param name="Costs">Forward pass first (the baseline), then reverse mode, forward-mode full gradient, forward gradient.</param>
/// <param name="ForwardVsReverseMaxRelError">max |g_fwd − g_rev| / max |g_rev| between the two full gradients.</param>
/// <param name="ForwardGradientDirectionalRelError">|∇L·v (one JVP) − g_rev·v| relative to its size, for the estimate's v.</param>
public sealed record ModeCostReport(int[] LayerSizes, int BatchSize, int ParameterCount, IReadOnlyList<ModeCost> Costs,
    double ForwardVsReverseMaxRelError, double ForwardGradientDirectionalRelError)
{
    /// <summary>The cost of a mode relative to the plain forward pass (time, bytes).</summary>
    public (double Time, double Bytes) RelativeToForward(ModeCost cost)
    {
        var forward = Costs[0];
        return (cost.MedianMilliseconds / Math.Max(forward.MedianMilliseconds, 1e-9),
                cost.AllocatedBytes / (double)Math.Max(forward.AllocatedBytes, 1));
    }

    /// <summary>A fixed-width table, one row per mode.</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"MLP {string.Join("-", LayerSizes)}, batch {BatchSize}, P = {ParameterCount}"));
        sb.AppendLine($"{"mode",-32} {"passes",6} {"median ms",10} {"x fwd",8} {"MB alloc",10} {"x fwd",8}");
        foreach (var c in Costs)
        {
            var (t, b) = RelativeToForward(c);
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{c.Mode,-32} {c.Passes,6} {c.MedianMilliseconds,10:F3} {t,8:F1} {c.AllocatedBytes / 1048576.0,10:F2} {b,8:F1}"));
        }
        sb.Append(string.Create(CultureInfo.InvariantCulture,
            $"forward-mode vs reverse gradient: max rel diff {ForwardVsReverseMaxRelError:E1}; forward gradient ∇L·v vs reverse: rel diff {ForwardGradientDirectionalRelError:E1}"));
        return sb.ToString();
    }
}

/// <summary>
/// Measures, on one MLP and one random batch, what each way of getting derivatives costs (math.md §4):
/// a plain forward pass (the baseline), one reverse-mode gradient, the forward-mode full gradient
/// (P directions) and one forward-gradient estimate (one direction). Backs <c>backprop modes</c>.
/// </summary>
/// <remarks>
/// The network is built from tensors only: layer l has W (n_l, n_{l−1}) and b (n_l), z = a·Wᵀ + b, ReLU
/// on hidden layers. Memory is reported as bytes allocated during a run
/// (<see cref="GC.GetTotalAllocatedBytes(bool)"/> deltas): every tensor is a fresh array, so this is
/// the total size of the values, tangents and graph a mode creates, an upper bound on its peak that
/// grows the same way. Times are medians over repeats after one warm-up run.
/// </remarks>
public static class ModeCostMeasurement
{
    /// <summary>Measures the four modes; see the class remarks.</summary>
    /// <param name="layerSizes">Input size, hidden sizes, output size (at least two entries).</param>
    /// <param name="batchSize">Examples in the random batch.</param>
    /// <param name="loss">The loss at the output.</param>
    /// <param name="repeats">Timed runs per mode (after one warm-up); the median is reported.</param>
    /// <param name="seed">Seed for the weights, the batch and the forward-gradient directions.</param>
    /// <param name="dtype">Element type of parameters and data.</param>
    /// <param name="directionsPerPass">Forward-mode batch of directions (0: <see cref="Transforms.DefaultDirectionsPerPass"/>).</param>
    public static ModeCostReport Measure(int[] layerSizes, int batchSize = 32, MlpLoss loss = MlpLoss.MeanSquaredError,
        int repeats = 5, ulong seed = 1, DType dtype = DType.Float32, int directionsPerPass = 0)
    {
        if (repeats < 1) throw new BackpropException($"ModeCostMeasurement: repeats must be at least 1; got {repeats}.");
        var problem = MlpProblem.Create(layerSizes, batchSize, loss, seed, dtype);
        int p = problem.ParameterCount;
        int perPass = directionsPerPass == 0 ? Transforms.DefaultDirectionsPerPass : directionsPerPass;
        var f = problem.Loss;
        var rng = new Rng(seed + 1);

        var costs = new List<ModeCost>
        {
            Time("forward pass", 1, repeats, () => f(problem.Parameters)),
            Time("reverse-mode gradient", 1, repeats, () => Transforms.Grad(f, problem.Parameters)),
            Time("forward-mode full gradient", (p + perPass - 1) / perPass, repeats, () => Transforms.FullGradientForwardMode(f, problem.Parameters, directionsPerPass)),
            Time("forward gradient (1 estimate)", 1, repeats, () => ForwardGradient.Estimate(f, problem.Parameters, rng)),
        };

        var check = Gradients(problem, directionsPerPass, rng);
        return new ModeCostReport((int[])layerSizes.Clone(), batchSize, p, costs, check.ForwardVsReverseMaxRelError, check.DirectionalRelError);
    }

    /// <summary>The three gradients on one problem and how well they agree, for tests and reports.</summary>
    public static (Tensor[] Reverse, Tensor[] ForwardMode, ForwardGradientEstimate Estimate, double ForwardVsReverseMaxRelError, double DirectionalRelError)
        Gradients(MlpProblem problem, int directionsPerPass, Rng rng)
    {
        var reverse = Transforms.Grad(problem.Loss, problem.Parameters);
        var (_, forward) = Transforms.FullGradientForwardMode(problem.Loss, problem.Parameters, directionsPerPass);
        var estimate = ForwardGradient.Estimate(problem.Loss, problem.Parameters, rng);

        double maxDiff = 0, maxRev = 0, dot = 0, dotScale = 0;
        for (int i = 0; i < reverse.Length; i++)
        {
            var r = reverse[i].ToDoubleArray();
            var fw = forward[i].ToDoubleArray();
            var v = estimate.Directions[i].ToDoubleArray();
            for (int j = 0; j < r.Length; j++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(r[j] - fw[j]));
                maxRev = Math.Max(maxRev, Math.Abs(r[j]));
                dot += r[j] * v[j];
                dotScale += Math.Abs(r[j] * v[j]);
            }
        }
        double directional = estimate.DirectionalDerivative.Item();
        return (reverse, forward, estimate, maxDiff / Math.Max(maxRev, 1e-300), Math.Abs(directional - dot) / Math.Max(dotScale, 1e-300));
    }

    private static ModeCost Time(string mode, int passes, int repeats, Action run)
    {
        run();
        var times = new double[repeats];
        var bytes = new long[repeats];
        for (int r = 0; r < repeats; r++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            long start = Stopwatch.GetTimestamp();
            run();
            times[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            bytes[r] = GC.GetTotalAllocatedBytes(precise: true) - before;
        }
        Array.Sort(times);
        Array.Sort(bytes);
        return new ModeCost(mode, times[repeats / 2], bytes[repeats / 2], passes);
    }
}

/// <summary>A fully connected network and a fixed random batch: the loss as a function of the parameters.</summary>
public sealed class MlpProblem
{
    private readonly Tensor _inputs;
    private readonly Tensor _targets;
    private readonly MlpLoss _loss;
    private readonly int _layers;

    private MlpProblem(Tensor[] parameters, Tensor inputs, Tensor targets, MlpLoss loss)
    {
        Parameters = parameters;
        _inputs = inputs;
        _targets = targets;
        _loss = loss;
        _layers = parameters.Length / 2;
    }

    /// <summary>W1, b1, W2, b2, …; W_l has shape (n_l, n_{l−1}), b_l shape (n_l).</summary>
    public Tensor[] Parameters { get; }

    public int ParameterCount => Parameters.Sum(t => t.Length);

    /// <summary>A network with He-scaled normal weights, zero biases, normal inputs and matching targets.</summary>
    public static MlpProblem Create(int[] layerSizes, int batchSize, MlpLoss loss, ulong seed, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(layerSizes);
        if (layerSizes.Length < 2 || layerSizes.Any(n => n < 1))
            throw new BackpropException($"An MLP needs at least an input and an output size, all positive; got [{string.Join(", ", layerSizes)}].");
        if (batchSize < 1) throw new BackpropException($"The batch size must be positive; got {batchSize}.");
        var rng = new Rng(seed);
        var parameters = new Tensor[2 * (layerSizes.Length - 1)];
        for (int l = 1; l < layerSizes.Length; l++)
        {
            parameters[2 * (l - 1)] = Tensor.RandomNormal([layerSizes[l], layerSizes[l - 1]], rng, 0, Math.Sqrt(2.0 / layerSizes[l - 1]), dtype);
            parameters[2 * (l - 1) + 1] = Tensor.Zeros([layerSizes[l]], dtype);
        }
        var inputs = Tensor.RandomNormal([batchSize, layerSizes[0]], rng, dtype: dtype);
        int outputs = layerSizes[^1];
        Tensor targets;
        if (loss == MlpLoss.MeanSquaredError) targets = Tensor.RandomNormal([batchSize, outputs], rng, dtype: dtype);
        else
        {
            var labels = new double[batchSize * outputs];
            for (int i = 0; i < labels.Length; i++) labels[i] = rng.NextDouble() < 0.5 ? 0 : 1;
            targets = Tensor.FromArray(labels, [batchSize, outputs], dtype);
        }
        return new MlpProblem(parameters, inputs, targets, loss);
    }

    /// <summary>The mean loss of the batch for the given parameters (same layout as <see cref="Parameters"/>).</summary>
    public Tensor Loss(Tensor[] parameters)
    {
        var a = _inputs;
        for (int l = 0; l < _layers; l++)
        {
            var z = a.MatMul(parameters[2 * l], transposeB: true) + parameters[2 * l + 1];
            a = l < _layers - 1 ? z.Relu() : z;
        }
        return _loss == MlpLoss.MeanSquaredError
            ? Losses.MeanSquaredError(a, _targets)
            : Losses.BinaryCrossEntropyWithLogits(a, _targets);
    }
}
