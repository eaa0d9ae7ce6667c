using System.Globalization;

namespace Backprop.Playground.Engine;

/// <summary>The seven input features of TensorFlow Playground, computed from a point (x₁, x₂).</summary>
public enum InputFeature { X1, X2, X1Squared, X2Squared, X1TimesX2, SinX1, SinX2 }

/// <summary>
/// Everything the controls set, with TensorFlow Playground's names and defaults, and its URL-hash form
/// (<c>#activation=tanh&amp;batchSize=10&amp;…</c>) so that a link reproduces the page.
/// </summary>
public sealed class PlaygroundState
{
    public static readonly double[] LearningRates = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
    public static readonly double[] RegularizationRates = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
    public static readonly string[] Activations = ["relu", "tanh", "sigmoid", "linear"];
    public static readonly string[] Regularizations = ["none", "L1", "L2"];
    public static readonly string[] ClassificationSets = ["circle", "xor", "gauss", "spiral"];
    public static readonly string[] RegressionSets = ["reg-plane", "reg-gauss"];
    public static readonly int[] Speeds = [1, 5, 20];
    public const int MaxHiddenLayers = 6;
    public const int MaxNeurons = 8;

    /// <summary>The URL names of the features, in <see cref="InputFeature"/> order (TensorFlow Playground's).</summary>
    public static readonly string[] FeatureKeys = ["x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY"];

    /// <summary>classification or regression.</summary>
    public string Problem { get; set; } = "classification";
    public string Dataset { get; set; } = "circle";
    public string RegDataset { get; set; } = "reg-plane";
    /// <summary>0 to 50 (percent of the data's scale), as TensorFlow Playground's slider.</summary>
    public int Noise { get; set; }
    /// <summary>10 to 90.</summary>
    public int PercTrainData { get; set; } = 50;
    /// <summary>1 to 30.</summary>
    public int BatchSize { get; set; } = 10;
    public double LearningRate { get; set; } = 0.03;
    public string Activation { get; set; } = "tanh";
    public string Regularization { get; set; } = "none";
    public double RegularizationRate { get; set; }
    /// <summary>Neurons per hidden layer, input side first (0 to 6 layers of 1 to 8).</summary>
    public List<int> NetworkShape { get; set; } = new() { 4, 2 };
    /// <summary>Which of the seven features feed the network.</summary>
    public bool[] Features { get; set; } = [true, true, false, false, false, false, false];
    public bool ShowTestData { get; set; }
    public bool Discretize { get; set; }
    public string Seed { get; set; } = "0";
    public bool InitZero { get; set; }
    public bool HideText { get; set; }
    /// <summary>Epochs trained per animation frame (1 is TensorFlow Playground's pace).</summary>
    public int Speed { get; set; } = 1;

    public bool IsRegression => Problem == "regression";

    /// <summary>The data set shown: the classification or the regression one.</summary>
    public string CurrentDataset => IsRegression ? RegDataset : Dataset;

    public PlaygroundState Clone()
    {
        var copy = (PlaygroundState)MemberwiseClone();
        copy.NetworkShape = new List<int>(NetworkShape);
        copy.Features = (bool[])Features.Clone();
        return copy;
    }

    /// <summary>The seed as the 64-bit number the generators use: a number as written, any other text hashed (FNV-1a).</summary>
    public ulong SeedValue
    {
        get
        {
            if (ulong.TryParse(Seed, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return n;
            ulong h = 14695981039346656037UL;
            foreach (char c in Seed) { h ^= c; h *= 1099511628211UL; }
            return h;
        }
    }

    /// <summary>The URL hash (without '#'): every control, TensorFlow Playground's keys.</summary>
    public string ToHash()
    {
        var parts = new List<string>
        {
            Pair("activation", Activation),
            Pair("batchSize", BatchSize),
            Pair("dataset", Dataset),
            Pair("regDataset", RegDataset),
            Pair("learningRate", LearningRate),
            Pair("regularization", Regularization),
            Pair("regularizationRate", RegularizationRate),
            Pair("noise", Noise),
            Pair("networkShape", string.Join(",", NetworkShape)),
            Pair("seed", Seed),
            Pair("showTestData", ShowTestData),
            Pair("discretize", Discretize),
            Pair("percTrainData", PercTrainData),
        };
        for (int f = 0; f < FeatureKeys.Length; f++) parts.Add(Pair(FeatureKeys[f], Features[f]));
        parts.Add(Pair("problem", Problem));
        parts.Add(Pair("initZero", InitZero));
        parts.Add(Pair("hideText", HideText));
        parts.Add(Pair("speed", Speed));
        return string.Join("&", parts);
    }

    // Commas stay readable (networkShape=4,2), as in TensorFlow Playground's links.
    private static string Pair(string key, object value) => key + "=" + Uri.EscapeDataString(value switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    }).Replace("%2C", ",", StringComparison.Ordinal);

    /// <summary>
    /// Reads a URL hash (with or without '#'). Keys it does not know are ignored, as TensorFlow Playground
    /// does; a value out of range is clamped or replaced by the default, so any link opens a working page.
    /// </summary>
    public static PlaygroundState FromHash(string? hash)
    {
        var s = new PlaygroundState();
        if (string.IsNullOrEmpty(hash)) return s;
        foreach (var part in hash.TrimStart('#').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0) continue;
            string key = part[..eq], value = Uri.UnescapeDataString(part[(eq + 1)..]);
            switch (key)
            {
                case "activation": if (Activations.Contains(value)) s.Activation = value; break;
                case "batchSize": s.BatchSize = Math.Clamp(Int(value, s.BatchSize), 1, 30); break;
                case "dataset": if (ClassificationSets.Contains(value)) s.Dataset = value; break;
                case "regDataset": if (RegressionSets.Contains(value)) s.RegDataset = value; break;
                case "learningRate": s.LearningRate = Nearest(LearningRates, Double(value, s.LearningRate)); break;
                case "regularization": if (Regularizations.Contains(value)) s.Regularization = value; break;
                case "regularizationRate": s.RegularizationRate = Nearest(RegularizationRates, Double(value, s.RegularizationRate)); break;
                case "noise": s.Noise = Math.Clamp(Int(value, s.Noise), 0, 50); break;
                case "networkShape":
                    s.NetworkShape = value.Length == 0 ? new List<int>() : value.Split(',')
                        .Select(v => Math.Clamp(Int(v, 1), 1, MaxNeurons)).Take(MaxHiddenLayers).ToList();
                    break;
                case "seed": if (value.Length > 0) s.Seed = value; break;
                case "showTestData": s.ShowTestData = value == "true"; break;
                case "discretize": s.Discretize = value == "true"; break;
                case "percTrainData": s.PercTrainData = Math.Clamp(Int(value, s.PercTrainData), 10, 90); break;
                case "problem": if (value is "classification" or "regression") s.Problem = value; break;
                case "initZero": s.InitZero = value == "true"; break;
                case "hideText": s.HideText = value == "true"; break;
                case "speed": s.Speed = Nearest(Speeds, Int(value, 1)); break;
                default:
                    int f = Array.IndexOf(FeatureKeys, key);
                    if (f >= 0) s.Features[f] = value == "true";
                    break;
            }
        }
        return s;
    }

    private static int Int(string v, int fallback) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : fallback;

    private static double Double(string v, double fallback) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : fallback;

    private static double Nearest(double[] choices, double v) => choices.MinBy(c => Math.Abs(Math.Log10(c + 1e-12) - Math.Log10(v + 1e-12)));

    private static int Nearest(int[] choices, int v) => choices.MinBy(c => Math.Abs(c - v));

    /// <summary>The feature's label as the page writes it.</summary>
    public static string FeatureLabel(InputFeature f) => f switch
    {
        InputFeature.X1 => "x₁",
        InputFeature.X2 => "x₂",
        InputFeature.X1Squared => "x₁²",
        InputFeature.X2Squared => "x₂²",
        InputFeature.X1TimesX2 => "x₁x₂",
        InputFeature.SinX1 => "sin(x₁)",
        _ => "sin(x₂)",
    };

    public static double FeatureValue(InputFeature f, double x1, double x2) => f switch
    {
        InputFeature.X1 => x1,
        InputFeature.X2 => x2,
        InputFeature.X1Squared => x1 * x1,
        InputFeature.X2Squared => x2 * x2,
        InputFeature.X1TimesX2 => x1 * x2,
        InputFeature.SinX1 => Math.Sin(x1),
        _ => Math.Sin(x2),
    };

    public override string ToString() => ToHash();
}
