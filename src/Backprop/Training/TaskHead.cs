using Backprop.Data;

namespace Backprop.Training;

/// <summary>
/// What the network's last layer means for each task (math.md §2): the loss on its raw outputs
/// (logits), and how those outputs become predictions.
/// </summary>
public static class TaskHead
{
    /// <summary>Width of the output layer: 1 for binary and regression, one logit per class otherwise.</summary>
    public static int Outputs(TaskKind task, int classCount) => task == TaskKind.Multiclass ? classCount : 1;

    /// <summary>
    /// binary: sigmoid + BCE on logits; multiclass: softmax + cross-entropy (targets one-hot);
    /// regression: identity + MSE as PyTorch's MSELoss. Each is the mean over the batch.
    /// </summary>
    public static Tensor Loss(TaskKind task, Tensor outputs, Tensor targets) => task switch
    {
        TaskKind.Binary => Losses.BinaryCrossEntropyWithLogits(outputs, targets),
        TaskKind.Multiclass => Losses.SoftmaxCrossEntropy(outputs, targets),
        TaskKind.Regression => Losses.MeanSquaredError(outputs, targets),
        _ => throw new ArgumentOutOfRangeException(nameof(task)),
    };

    /// <summary>
    /// The targets in the form <see cref="Loss"/> takes, one row per example: class indices as 0/1 of
    /// shape (n, 1) for binary, one-hot (n, classes) for multiclass, values (n, 1) for regression.
    /// </summary>
    public static Tensor Targets(TaskKind task, ReadOnlySpan<int> classIndices, ReadOnlySpan<double> values, int classCount, DType dtype)
    {
        switch (task)
        {
            case TaskKind.Multiclass:
                return Losses.OneHot(classIndices, classCount, dtype);
            case TaskKind.Binary:
            {
                var v = new double[classIndices.Length];
                for (int i = 0; i < v.Length; i++) v[i] = classIndices[i];
                return Tensor.FromArray(v, [v.Length, 1], dtype);
            }
            default:
                return Tensor.FromArray(values.ToArray(), [values.Length, 1], dtype);
        }
    }

    /// <summary>Probabilities of class 1 (binary), class probabilities (multiclass), or the values themselves.</summary>
    public static Tensor Activate(TaskKind task, Tensor outputs) => task switch
    {
        TaskKind.Binary => outputs.Sigmoid(),
        TaskKind.Multiclass => outputs.Softmax(-1),
        _ => outputs,
    };

    /// <summary>The name of the output activation, as the explanation and inspect commands show it.</summary>
    public static string OutputActivation(TaskKind task) => task switch
    {
        TaskKind.Binary => "sigmoid",
        TaskKind.Multiclass => "softmax",
        _ => "identity",
    };

    /// <summary>The name of the loss.</summary>
    public static string LossName(TaskKind task) => task switch
    {
        TaskKind.Binary => "binary cross-entropy (on logits)",
        TaskKind.Multiclass => "softmax cross-entropy",
        _ => "mean squared error",
    };
}
