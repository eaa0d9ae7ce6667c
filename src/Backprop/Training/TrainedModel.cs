using System.Numerics.Tensors;
using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>
/// A network together with everything needed to use it on raw CSV rows: the task, the preprocessing fitted
/// on the training split (columns by name, imputation, one-hot categories, standardisation), the class
/// labels, and (for regression) the scaling of the target.
/// </summary>
public sealed class TrainedModel
{
    public required Sequential Network { get; init; }
    public required TaskKind Task { get; init; }
    public required int[] Hidden { get; init; }
    public required Activation Activation { get; init; }
    /// <summary>From raw CSV columns to the network's inputs; the one place that does it.</summary>
    public required Preprocessor Preprocessing { get; init; }
    /// <summary>The network inputs' names (e.g. "age", "age (missing)", "colour=red").</summary>
    public IReadOnlyList<string> FeatureNames => Preprocessing.FeatureNames;
    public required string TargetName { get; init; }
    /// <summary>Class labels in class-index order (empty for regression).</summary>
    public IReadOnlyList<string> ClassLabels { get; init; } = [];
    /// <summary>Regression targets are trained standardised: y = mean + scale · output.</summary>
    public double TargetMean { get; init; }
    public double TargetScale { get; init; } = 1;
    /// <summary>Free-form facts about the run (seed, optimizer, epochs, test metrics), kept in the model file.</summary>
    public Dictionary<string, string> TrainingInfo { get; init; } = new(StringComparer.Ordinal);

    public int ClassCount => ClassLabels.Count;
    public DType DType => Network.Parameters().First().DType;

    /// <summary>Rows of a table → the network's input tensor, through <see cref="Preprocessing"/> (columns found by name).</summary>
    public Tensor PrepareInputs(DataTable table, ReadOnlySpan<int> rows, TransformCounts? counts = null) =>
        Preprocessing.Transform(table, rows, DType, counts);

    /// <summary>Numeric feature rows (named columns) → the network's input tensor.</summary>
    public Tensor PrepareInputs(FeatureMatrix raw) => Preprocessing.Transform(DataTable.FromMatrix(raw, "features"), DType);

    /// <summary>The network's raw outputs (logits, or standardised values for regression).</summary>
    public Tensor Outputs(Tensor inputs)
    {
        using var _ = Autodiff.NoGrad();
        return Network.Forward(inputs);
    }

    public Tensor Outputs(FeatureMatrix raw) => Outputs(PrepareInputs(raw));

    /// <summary>Predictions for raw rows: class probabilities and the most likely class, or values.</summary>
    public Predictions Predict(FeatureMatrix raw) => Interpret(Outputs(raw));

    public Predictions Predict(DataTable table, ReadOnlySpan<int> rows, TransformCounts? counts = null) => Interpret(Outputs(PrepareInputs(table, rows, counts)));

    /// <summary>Turns raw outputs into predictions in the data's own units and labels.</summary>
    public Predictions Interpret(Tensor outputs)
    {
        int rows = outputs.Size(0);
        var o = outputs.ToDoubleArray();
        for (int i = 0; i < o.Length; i++)
            if (!double.IsFinite(o[i])) throw new NonFiniteOutputException(i / Math.Max(1, outputs.Rank == 2 ? outputs.Size(1) : 1), o[i]);
        switch (Task)
        {
            case TaskKind.Regression:
            {
                var values = o.Select(v => TargetMean + TargetScale * v).ToArray();
                for (int i = 0; i < values.Length; i++)
                    if (!double.IsFinite(values[i])) throw new NonFiniteOutputException(i, values[i]);
                return new Predictions(Task, values, null, null);
            }
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

/// <summary>
/// The network gave a non-finite output (or a regression value overflowed when scaled back to the target's
/// units) for <see cref="Row"/> (0-based among the rows given); callers add the file and line.
/// </summary>
public sealed class NonFiniteOutputException(int row, double value)
    : BackpropException($"the network's output for row {row} is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}, not a finite number (its forward pass overflowed); the model or this row's values are far outside what it was trained on.")
{
    public int Row { get; } = row;
    public double Value { get; } = value;
}
