using System.Text.Encodings.Web;
using System.Text.Json;

namespace Backprop.Explain;

/// <summary>
/// {"forward": [step…], "backward": [step…]}, each step
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
            w.WritePropertyName("forward");
            Steps(w, e.Forward, e.DType);
            w.WritePropertyName("backward");
            Steps(w, e.Backward, e.DType);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Steps(Utf8JsonWriter w, IReadOnlyList<ExplainStep> steps, DType dtype)
    {
        w.WriteStartArray();
        foreach (var step in steps)
        {
            // db is (n, 1) in the columns layout; PyTorch's bias gradient is a flat (n) vector.
            var values = step.Name.StartsWith("db[", StringComparison.Ordinal) ? step.Values.Reshape(-1) : step.Values;
            w.WriteStartObject();
            w.WriteString("name", step.Name);
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
