namespace Backprop.Data;

/// <summary>
/// Maps class labels (strings from the target column) to class indices 0..K-1 and back. The order is fixed
/// by sorting, so it does not depend on row order: if every label parses as a number, numerically (so "2"
/// comes before "10", and "1" and "1.0" are one class, written in shortest form), otherwise by ordinal
/// string comparison. The first label is class 0; for a binary
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
        if (IsNumeric)
        {
            // Numeric labels match by value: a file that writes 1.0 finds the class saved as "1".
            _byValue = new Dictionary<double, int>();
            for (int i = 0; i < _classes.Length; i++)
            {
                TryParseNumber(_classes[i], out double v);
                if (!_byValue.TryAdd(v, i))
                    throw new DataException($"The class labels '{_classes[_byValue[v]]}' and '{_classes[i]}' are the same number; every class label must be unique.");
            }
        }
    }

    private readonly Dictionary<double, int>? _byValue;

    /// <summary>Collects the distinct labels in <paramref name="labels"/> and orders them.</summary>
    public static LabelEncoder Fit(IEnumerable<string> labels)
    {
        var distinct = new HashSet<string>(labels, StringComparer.Ordinal).ToArray();
        bool numeric = distinct.Length > 0 && distinct.All(c => TryParseNumber(c, out _));
        if (numeric)
        {
            // Equal values written differently ("1" and "1.0") are one class, named in shortest form.
            var values = new SortedSet<double>(distinct.Select(c => { TryParseNumber(c, out double v); return v; }));
            distinct = [.. values.Select(Cells.Format)];
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

    public bool TryEncode(string label, out int index)
    {
        if (_index.TryGetValue(label, out index)) return true;
        if (_byValue is not null && TryParseNumber(label, out double v)) return _byValue.TryGetValue(v, out index);
        index = -1;
        return false;
    }

    public int Encode(string label)
    {
        if (TryEncode(label, out int index)) return index;
        throw new DataException($"The class label '{label}' was not seen in training; known classes are {string.Join(", ", _classes.Select(c => $"'{c}'"))}.");
    }

    public string Decode(int index)
    {
        if ((uint)index >= (uint)_classes.Length)
            throw new BackpropException($"Class index {index} is out of range; this encoder has {_classes.Length} classes (0..{_classes.Length - 1}).");
        return _classes[index];
    }

    internal static bool TryParseNumber(string text, out double value) =>
        Cells.TryParseNumber(text, out value) && double.IsFinite(value);
}
