using System.Globalization;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>The setting a diverged run most likely needs changed.</summary>
public enum DivergenceCause
{
    /// <summary>The learning rate (for a gradient-flow optimizer: its integration step).</summary>
    LearningRate,
    /// <summary>The weight decay, too large for the learning rate.</summary>
    WeightDecay,
    /// <summary>The inputs themselves: non-finite, or too large for the arithmetic.</summary>
    Inputs,
}

/// <summary>
/// Training produced a NaN or infinite loss. The message names the op (or update) that made the value
/// and the setting most likely responsible, rather than always "lower the learning rate"; the
/// command line adds the option's name from <see cref="Cause"/>.
/// </summary>
public sealed class DivergenceException(string message, string? opName, DivergenceCause cause) : BackpropException(message)
{
    /// <summary>The op that made the first non-finite value, when replaying the batch found it.</summary>
    public string? OpName { get; } = opName;
    public DivergenceCause Cause { get; } = cause;
}

/// <summary>Works out where a non-finite loss came from and which setting to blame.</summary>
internal static class Divergence
{
    /// <summary>Inputs beyond this magnitude overflow float32 arithmetic soon (a square of 1e19 is already ∞).</summary>
    private const double ExtremeInput = 1e15;

    public static DivergenceException Diagnose(int epoch, double loss, Tensor x, Optimizer optimizer,
        IReadOnlyList<(string Name, Tensor Parameter)> parameters, Func<NonFiniteException?> replay)
    {
        var ic = CultureInfo.InvariantCulture;
        string where = string.Create(ic, $"training diverged in epoch {epoch}: the loss became {loss}");
        double lr = optimizer.LearningRate;
        string optimizerName = optimizer.GetType().Name;

        var (inputMax, inputsFinite) = MaxAbs(x);
        string? badParameter = parameters.FirstOrDefault(p => !MaxAbs(p.Parameter).Finite).Name;
        string? op = null;
        string what;
        if (!inputsFinite) what = "the inputs of the batch hold a non-finite value";
        else if (badParameter is not null) what = $"the optimizer's update ({optimizerName}) left the weights '{badParameter}' non-finite";
        else if (replay() is { } e) { op = e.OpName; what = e.Message; }
        else what = "replaying the batch at the current weights gave finite values, so the blow-up happened inside the optimizer's step";

        double weightDecay = optimizer switch { Sgd s => s.WeightDecay, RmsProp r => r.WeightDecay, Adam a => a.WeightDecay, _ => 0 };
        DivergenceCause cause;
        string advice;
        if (!inputsFinite || inputMax > ExtremeInput)
        {
            cause = DivergenceCause.Inputs;
            advice = inputsFinite
                ? string.Create(ic, $"the inputs reach {inputMax:G3}, too large for {(x.DType == DType.Float32 ? "float32" : "float64")} arithmetic; rescale the data or make it less extreme")
                : "the data holds values that are infinite in the network's dtype; make them smaller or remove them";
        }
        else if (optimizer is GradientFlowOptimizer)
        {
            cause = DivergenceCause.LearningRate;
            advice = string.Create(ic, $"the integration step {lr:G4} is too large for {optimizerName}'s gradient flow (its stages overshoot); lower the step, e.g. to {lr / 10:G3}");
        }
        else if (weightDecay > 0 && weightDecay * lr > 1 && optimizer is not AdamW)
        {
            cause = DivergenceCause.WeightDecay;
            advice = string.Create(ic, $"weight decay {weightDecay:G4} times learning rate {lr:G4} is {weightDecay * lr:G3}, above 1, so each step overshoots zero and the weights grow; lower the weight decay below {1 / lr:G3}");
        }
        else
        {
            cause = DivergenceCause.LearningRate;
            advice = string.Create(ic, $"lower the learning rate (now {lr:G4}), or check the data for extreme values");
        }
        return new DivergenceException($"{where}; {what}. Most likely cause: {advice}.", op, cause);
    }

    private static (double Max, bool Finite) MaxAbs(Tensor t)
    {
        double max = 0;
        var values = t.Detach().ToDoubleArray();
        foreach (var v in values)
        {
            if (!double.IsFinite(v)) return (double.PositiveInfinity, false);
            max = Math.Max(max, Math.Abs(v));
        }
        return (max, true);
    }
}
