using System.Numerics.Tensors;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>
/// A network together with everything needed to use it on raw CSV rows: the task, the feature names in
/// order, the standardisation fitted on the training split, the class labels, and (for regression) the
/// scaling of the target.
/// </summary>
public sealed class TrainedModel
{
    public required Sequential Network { get; init; }
    public required TaskKind Task { get; init; }
    public required int[] Hidden { get; init; }
    public required Activation Activation { get; init; }
    public required IReadOnlyList<string> FeatureNames { get; init; }
    public required string TargetName { get; init; }
    public required Standardizer Inputs { get; init; }
    /// <summary>Class labels in class-index order (empty for regression).</summary>
    public IReadOnlyList<string> ClassLabels { get; init; } = [];
    /// <summary>Regression targets are trained standardised: y = mean + scale · output.</summary>
    public double TargetMean { get; init; }
    public double TargetScale { get; init; } = 1;
    /// <summary>Free-form facts about the run (seed, optimizer, epochs, test metrics), kept in the model file.</summary>
    public Dictionary<string, string> TrainingInfo { get; init; } = new(StringComparer.Ordinal);

    public int ClassCount => ClassLabels.Count;
    public DType DType => Network.Parameters().First().DType;

    /// <summary>Raw feature rows → standardised input tensor of the network's dtype.</summary>
    public Tensor PrepareInputs(FeatureMatrix raw)
    {
        if (raw.Columns != FeatureNames.Count)
            throw new DataException($"The model expects {FeatureNames.Count} features ({string.Join(", ", FeatureNames)}) but got {raw.Columns}.");
        var standardized = Inputs.Transform(raw.Values);
        return Tensor.FromArray(standardized, [raw.Rows, raw.Columns], DType);
    }

    /// <summary>The network's raw outputs (logits, or standardised values for regression).</summary>
    public Tensor Outputs(FeatureMatrix raw)
    {
        using var _ = Autodiff.NoGrad();
        return Network.Forward(PrepareInputs(raw));
    }

    /// <summary>Predictions for raw rows: class probabilities and the most likely class, or values.</summary>
    public Predictions Predict(FeatureMatrix raw) => Interpret(Outputs(raw));

    /// <summary>Turns raw outputs into predictions in the data's own units and labels.</summary>
    public Predictions Interpret(Tensor outputs)
    {
        int rows = outputs.Size(0);
        var o = outputs.ToDoubleArray();
        switch (Task)
        {
            case TaskKind.Regression:
                return new Predictions(Task, o.Select(v => TargetMean + TargetScale * v).ToArray(), null, null);
            case TaskKind.Binary:
            {
                var probs = new double[rows * 2];
                var classes = new int[rows];
                for (int i = 0; i < rows; i++)
                {
                    // σ(z) computed from the logit, in double, so saturated logits give exactly 0 or 1.
                    double p = 1 / (1 + Math.Exp(-o[i]));
                    probs[2 * i] = 1 - p;
                    probs[2 * i + 1] = p;
                    classes[i] = o[i] > 0 ? 1 : 0;
                }
                return new Predictions(Task, null, probs, classes);
            }
            default:
            {
                int k = outputs.Size(1);
                var probs = TaskHead.Activate(Task, outputs).ToDoubleArray();
                var classes = new int[rows];
                for (int i = 0; i < rows; i++) classes[i] = TensorPrimitives.IndexOfMax<double>(probs.AsSpan(i * k, k));
                return new Predictions(Task, null, probs, classes);
            }
        }
    }
}

/// <summary>
/// What a model predicts for a set of rows: values (regression), or class probabilities (rows × classes,
/// row-major) and the chosen class index per row.
/// </summary>
public sealed record Predictions(TaskKind Task, double[]? Values, double[]? Probabilities, int[]? Classes)
{
    public int Rows => Values?.Length ?? Classes!.Length;
}
