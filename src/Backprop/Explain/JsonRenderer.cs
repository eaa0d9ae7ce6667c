using System.Text.Encodings.Web;
using System.Text.Json;

namespace Backprop.Explain;

/// <summary>
/// {"header": {…}, "parameters": [step…], "forward": [step…], "backward": [step…], and when asked
/// "update": {…}, "entry": {…}, "forward_mode": {…}}, each step
/// {"name", "formula", "shape": {"operands", "result", "text"}, "values", "check": {…}}.
/// Values are nested row-major arrays in the chosen layout, except that dW[l] is (out, in) in every
/// layout and db[l] is a flat (out) vector, so both equal the gradients PyTorch reports for
/// nn.Linear's weight and bias. float32 values are written as the shortest text that round-trips to
/// the same float32.
/// </summary>
internal static class JsonRenderer
{
    public static string Render(MlpExplanation e, bool indented)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            Header(w, e);
            w.WritePropertyName("parameters");
            Steps(w, e.Parameters, e.DType);
            w.WritePropertyName("forward");
            Steps(w, e.Forward, e.DType);
            w.WritePropertyName("backward");
            Steps(w, e.Backward, e.DType);
            if (e.Update is { } u)
            {
                w.WriteStartObject("update");
                w.WriteNumber("learning_rate", u.LearningRate);
                w.WritePropertyName("steps");
                Steps(w, u.Steps, e.DType);
                Number(w, "loss_before", u.LossBefore);
                Number(w, "loss_after", u.LossAfter);
                Number(w, "predicted_change", u.PredictedChange);
                w.WriteBoolean("fell", u.Fell);
                Check(w, u.LossAfterCheck);
                w.WriteString("verdict", u.Verdict);
                w.WriteEndObject();
            }
            if (e.Entry is { } entry)
            {
                w.WriteStartObject("entry");
                w.WriteString("entry", entry.Entry);
                w.WriteString("formula", entry.Formula.Text);
                w.WriteNumber("scale", entry.Scale);
                w.WriteNumber("term_count", entry.TermCount);
                w.WriteStartArray("terms");
                foreach (var t in entry.Terms)
                {
                    w.WriteStartObject();
                    w.WriteNumber("example", t.Example);
                    w.WritePropertyName("path");
                    Ints(w, [.. t.Path]);
                    w.WriteStartArray("factors");
                    foreach (var f in t.Factors)
                    {
                        w.WriteStartObject();
                        w.WriteString("symbol", f.Symbol);
                        Number(w, "value", f.Value);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    Number(w, "product", t.Product);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("example_sums");
                foreach (var v in entry.ExampleSums) Number(w, v, DType.Float64);
                w.WriteEndArray();
                Number(w, "total", entry.Total);
                Number(w, "gradient", entry.Gradient);
                Check(w, entry.Check);
                w.WriteEndObject();
            }
            if (e.ForwardMode is { } fm)
            {
                w.WriteStartObject("forward_mode");
                w.WriteStartArray("layers");
                foreach (var layer in fm.Layers)
                {
                    w.WriteStartObject();
                    w.WriteNumber("layer", layer.Layer);
                    w.WriteString("formula", layer.Formula.Text);
                    w.WriteNumber("multiply_adds", layer.MultiplyAdds);
                    w.WriteStartArray("tangents");
                    foreach (var t in layer.Tangents)
                    {
                        w.WriteStartObject();
                        w.WriteString("name", t.Name);
                        w.WritePropertyName("shape_per_example");
                        Ints(w, t.Shape);
                        w.WriteNumber("numbers", t.Numbers);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteString("combine", fm.Combine.Text);
                w.WritePropertyName("gradients");
                Steps(w, fm.Gradients, DType.Float64);
                w.WriteStartArray("costs");
                foreach (var c in fm.Costs)
                {
                    w.WriteStartObject();
                    w.WriteString("mode", c.Mode);
                    w.WriteNumber("forward_multiply_adds", c.ForwardMultiplyAdds);
                    w.WriteNumber("derivative_multiply_adds", c.DerivativeMultiplyAdds);
                    w.WriteNumber("total_multiply_adds", c.TotalMultiplyAdds);
                    w.WriteNumber("peak_numbers", c.PeakNumbers);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteString("answer", fm.Answer);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Header(Utf8JsonWriter w, MlpExplanation e)
    {
        w.WriteStartObject("header");
        w.WriteString("network", e.Architecture);
        w.WritePropertyName("layer_sizes");
        Ints(w, [.. e.LayerSizes]);
        w.WriteStartArray("activations");
        foreach (var a in e.Activations) w.WriteStringValue(a);
        w.WriteEndArray();
        w.WriteString("task", e.Task.ToString().ToLowerInvariant());
        w.WriteString("loss", e.LossDescription);
        w.WriteNumber("m", e.BatchSize);
        if (e.Options.Rows is { } rows)
        {
            w.WritePropertyName("rows");
            Ints(w, [.. rows]);
        }
        else w.WriteNull("rows");
        if (e.Options.FeatureNames is { } names)
        {
            w.WriteStartArray("feature_names");
            foreach (var n in names) w.WriteStringValue(n);
            w.WriteEndArray();
        }
        else w.WriteNull("feature_names");
        w.WriteString("dtype", e.DType.Name());
        w.WriteString("preprocessing", e.Options.Preprocessing);
        w.WriteString("source", e.Options.Source);
        w.WriteString("convention", e.Options.Convention == ExplainConvention.Course ? "course" : "mean-in-delta");
        w.WriteString("layout", e.Layout == ExplainLayout.Columns ? "columns" : "rows");
        w.WriteBoolean("all_passed", e.AllPassed);
        w.WriteString("checks", e.CheckSummary);
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        w.WritePropertyName(name);
        Number(w, v, DType.Float64);
    }

    private static void Steps(Utf8JsonWriter w, IReadOnlyList<ExplainStep> steps, DType dtype)
    {
        w.WriteStartArray();
        foreach (var step in steps)
        {
            // db is (n, 1) in the columns layout; PyTorch's bias gradient is a flat (n) vector.
            var values = step.Name.StartsWith("db[", StringComparison.Ordinal) || step.Name.StartsWith("b[", StringComparison.Ordinal) ? step.Values.Reshape(-1) : step.Values;
            w.WriteStartObject();
            w.WriteString("name", step.Name);
            w.WriteString("symbol", step.Symbol.Text);
            if (step.ParameterName is { } pn) w.WriteString("pytorch_name", pn);
            w.WriteString("formula", step.Formula.Text);
            w.WriteStartObject("shape");
            w.WriteStartArray("operands");
            foreach (var s in step.OperandShapes) Ints(w, s);
            w.WriteEndArray();
            w.WritePropertyName("result");
            Ints(w, values.Shape.ToArray());
            w.WriteString("text", step.ShapeText);
            w.WriteEndObject();
            w.WritePropertyName("values");
            Values(w, values, dtype);
            Check(w, step.Check);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void Ints(Utf8JsonWriter w, int[] values)
    {
        w.WriteStartArray();
        foreach (int v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void Values(Utf8JsonWriter w, Tensor t, DType dtype)
    {
        var data = t.ToDoubleArray();
        var dims = t.Shape.ToArray();
        int pos = 0;
        void Write(int dim)
        {
            if (dim == dims.Length)
            {
                Number(w, data[pos++], dtype);
                return;
            }
            w.WriteStartArray();
            for (int i = 0; i < dims[dim]; i++) Write(dim + 1);
            w.WriteEndArray();
        }
        Write(0);
    }

    private static void Number(Utf8JsonWriter w, double v, DType dtype)
    {
        // JSON has no NaN or infinity; null marks them instead of failing the whole document.
        if (!double.IsFinite(v)) w.WriteNullValue();
        else if (dtype == DType.Float32) w.WriteNumberValue((float)v);
        else w.WriteNumberValue(v);
    }

    private static void Check(Utf8JsonWriter w, StepCheck c)
    {
        w.WriteStartObject("check");
        w.WriteString("mark", c.Mark);
        w.WriteBoolean("passed", c.Passed);
        Nullable(w, "engine_max_abs_error", c.EngineMaxAbsError);
        w.WriteNumber("engine_tolerance", c.EngineTolerance);
        Nullable(w, "finite_difference_max_abs_error", c.FiniteDifferenceMaxAbsError);
        w.WriteNumber("finite_difference_tolerance", c.FiniteDifferenceTolerance);
        w.WriteNumber("finite_difference_entries", c.FiniteDifferenceEntries);
        w.WriteNumber("entries", c.Entries);
        w.WriteEndObject();
    }

    private static void Nullable(Utf8JsonWriter w, string name, double? value)
    {
        if (value is double v && double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}
