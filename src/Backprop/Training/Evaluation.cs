using Backprop.Data;
using Backprop.Metrics;

namespace Backprop.Training;

/// <summary>
/// A model's metrics on one data set. Classification: loss (cross-entropy), accuracy, precision, recall
/// and F1 (of class 1 for binary, macro-averaged for multiclass), ROC AUC (binary) and the confusion
/// matrix. Regression: loss (MSE in the target's units), RMSE, MAE and R².
/// </summary>
public sealed record EvaluationReport
{
    public required TaskKind Task { get; init; }
    public required int Rows { get; init; }
    public required double Loss { get; init; }
    public double? Accuracy { get; init; }
    public double? Precision { get; init; }
    public double? Recall { get; init; }
    public double? F1 { get; init; }
    public double? RocAuc { get; init; }
    /// <summary>Why <see cref="RocAuc"/> is missing for a binary model (e.g. "undefined: only one class present").</summary>
    public string? RocAucNote { get; init; }
    public ConfusionMatrix? Confusion { get; init; }
    public double? Rmse { get; init; }
    public double? Mae { get; init; }
    public double? R2 { get; init; }

    /// <summary>The metrics as an ordered name → value list (for tables and JSON).</summary>
    public IReadOnlyList<(string Name, double Value)> Values()
    {
        var list = new List<(string, double)> { ("loss", Loss) };
        void Add(string name, double? v) { if (v is double d) list.Add((name, d)); }
        Add("accuracy", Accuracy);
        Add("precision", Precision);
        Add("recall", Recall);
        Add("f1", F1);
        Add("roc_auc", RocAuc);
        Add("rmse", Rmse);
        Add("mae", Mae);
        Add("r2", R2);
        return list;
    }
}

public static class Evaluation
{
    /// <summary>
    /// Evaluates <paramref name="model"/> on raw feature rows with known targets: class indices for
    /// classification, values in the target's units for regression.
    /// </summary>
    public static EvaluationReport Evaluate(TrainedModel model, FeatureMatrix features, int[]? classIndices, double[]? values) =>
        Evaluate(model, model.PrepareInputs(features), classIndices, values);

    /// <summary>As above, from the network's (preprocessed) input tensor.</summary>
    public static EvaluationReport Evaluate(TrainedModel model, Tensor inputs, int[]? classIndices, double[]? values)
    {
        var outputs = model.Outputs(inputs);
        var predictions = model.Interpret(outputs);
        int rows = inputs.Size(0);
        if (model.Task == TaskKind.Regression)
        {
            var actual = values ?? throw new DataException("Regression evaluation needs target values.");
            var predicted = predictions.Values!;
            return new EvaluationReport
            {
                Task = model.Task,
                Rows = rows,
                Loss = RegressionMetrics.Mse(actual, predicted),
                Rmse = RegressionMetrics.Rmse(actual, predicted),
                Mae = RegressionMetrics.Mae(actual, predicted),
                R2 = RegressionMetrics.R2(actual, predicted),
            };
        }
        var truth = classIndices ?? throw new DataException("Classification evaluation needs class labels.");
        var chosen = predictions.Classes!;
        var targets = TaskHead.Targets(model.Task, truth, [], model.ClassCount, outputs.DType);
        double loss = TaskHead.Loss(model.Task, outputs, targets).Item();
        if (!double.IsFinite(loss))
            throw new BackpropException($"The {TaskHead.LossName(model.Task)} over {rows} rows is {loss.ToString(System.Globalization.CultureInfo.InvariantCulture)}, not a finite number, although every output is finite; report this as a bug with the model and data.");
        var confusion = ConfusionMatrix.Compute(truth, chosen, model.ClassCount, model.ClassLabels);
        var prf = model.Task == TaskKind.Binary ? ClassificationMetrics.Binary(truth, chosen) : ClassificationMetrics.Macro(truth, chosen, model.ClassCount);
        double? auc = null;
        string? aucNote = null;
        if (model.Task == TaskKind.Binary)
        {
            var scores = new double[rows];
            for (int i = 0; i < rows; i++) scores[i] = predictions.Probabilities![2 * i + 1];
            int positives = truth.Count(t => t == 1);
            if (positives == 0 || positives == rows) aucNote = "undefined: only one class present";
            else auc = ClassificationMetrics.RocAuc(truth, scores);
        }
        return new EvaluationReport
        {
            Task = model.Task,
            Rows = rows,
            Loss = loss,
            Accuracy = ClassificationMetrics.Accuracy(truth, chosen),
            Precision = prf.Precision,
            Recall = prf.Recall,
            F1 = prf.F1,
            RocAuc = auc,
            RocAucNote = aucNote,
            Confusion = confusion,
        };
    }
}
