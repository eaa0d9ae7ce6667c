using System.Globalization;

namespace Backprop.Data;

/// <summary>
/// Maps class labels (strings from the target column) to class indices 0..K-1 and back. The order is fixed
/// by sorting, so it does not depend on row order: if every label parses as a number, numerically (so "2"
/// comes before "10"), otherwise by ordinal string comparison. The first label is class 0; for a binary
/// task class 1 is the positive class.
/// </summary>
public sealed class LabelEncoder
{
    private readonly string[] _classes;
    private readonly Dictionary<string, int> _index;

    /// <summary>Restores an encoder from classes already in order (as saved with a model).</summary>
    public LabelEncoder(IEnumerable<string> classesInOrder)
    {
        _classes = [.. classesInOrder];
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _classes.Length; i++)
        {
            if (!_index.TryAdd(_classes[i], i))
                throw new DataException($"The class label '{_classes[i]}' is listed twice; every class label must be unique.");
        }
        IsNumeric = _classes.Length > 0 && _classes.All(c => TryParseNumber(c, out _));
    }

    /// <summary>Collects the distinct labels in <paramref name="labels"/> and orders them.</summary>
    public static LabelEncoder Fit(IEnumerable<string> labels)
    {
        var distinct = new HashSet<string>(labels, StringComparer.Ordinal).ToArray();
        bool numeric = distinct.Length > 0 && distinct.All(c => TryParseNumber(c, out _));
        if (numeric)
        {
            var values = distinct.Select(c => { TryParseNumber(c, out double v); return v; }).ToArray();
            var order = Enumerable.Range(0, distinct.Length).ToArray();
            // Equal values written differently ("1" and "1.0") stay distinct labels; ordinal order breaks the tie.
            Array.Sort(order, (a, b) =>
            {
                int byValue = values[a].CompareTo(values[b]);
                return byValue != 0 ? byValue : string.CompareOrdinal(distinct[a], distinct[b]);
            });
            string[] byNumber = [.. order.Select(i => distinct[i])];
            distinct = byNumber;
        }
        else
        {
            Array.Sort(distinct, StringComparer.Ordinal);
        }
        return new LabelEncoder(distinct);
    }

    public IReadOnlyList<string> Classes => _classes;
    public int Count => _classes.Length;
    /// <summary>True when every label is a number, so they were ordered numerically.</summary>
    public bool IsNumeric { get; }

    public bool TryEncode(string label, out int index) => _index.TryGetValue(label, out index);

    public int Encode(string label)
    {
        if (_index.TryGetValue(label, out int index)) return index;
        throw new DataException($"The class label '{label}' was not seen in training; known classes are {string.Join(", ", _classes.Select(c => $"'{c}'"))}.");
    }

    public string Decode(int index)
    {
        if ((uint)index >= (uint)_classes.Length)
            throw new BackpropException($"Class index {index} is out of range; this encoder has {_classes.Length} classes (0..{_classes.Length - 1}).");
        return _classes[index];
    }

    internal static bool TryParseNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
}
