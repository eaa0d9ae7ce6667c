namespace Backprop.Playground.Engine;

/// <summary>
/// A set of points in the plane x₁, x₂ ∈ [−6, 6] with a label each: −1 or +1 for classification, a value
/// in [−1, 1] for regression. The rows are shuffled; the first <see cref="TrainCount"/> are for training.
/// </summary>
public sealed record PlanePoints(double[] X1, double[] X2, double[] Labels, int TrainCount)
{
    public int Count => Labels.Length;
}

/// <summary>
/// TensorFlow Playground's six data sets (its dataset.ts), with the same shapes, sizes and noise scales,
/// drawn from Backprop's seeded <see cref="Rng"/>: same seed, same points, in the browser and in a test.
/// </summary>
public static class PlaneData
{
    public const double Domain = 6;
    public const int ClassificationSamples = 500;
    public const int RegressionSamples = 1200;

    /// <param name="name">circle, xor, gauss, spiral, reg-plane or reg-gauss.</param>
    /// <param name="noisePercent">0 to 50, as the slider.</param>
    /// <param name="percTrain">Percentage of the points used for training.</param>
    public static PlanePoints Generate(string name, int noisePercent, int percTrain, ulong seed)
    {
        var rng = new Rng(seed);
        double noise = noisePercent / 100.0;
        var x1 = new List<double>();
        var x2 = new List<double>();
        var labels = new List<double>();
        void Add(double a, double b, double label) { x1.Add(a); x2.Add(b); labels.Add(label); }
        double Uniform(double lo, double hi) => lo + (hi - lo) * rng.NextDouble();

        switch (name)
        {
            case "circle":
            {
                const double radius = 5;
                double Label(double a, double b) => Math.Sqrt(a * a + b * b) < radius * 0.5 ? 1 : -1;
                for (int pass = 0; pass < 2; pass++)
                {
                    for (int i = 0; i < ClassificationSamples / 2; i++)
                    {
                        double r = pass == 0 ? Uniform(0, radius * 0.5) : Uniform(radius * 0.7, radius);
                        double angle = Uniform(0, 2 * Math.PI);
                        double a = r * Math.Sin(angle), b = r * Math.Cos(angle);
                        double na = Uniform(-radius, radius) * noise, nb = Uniform(-radius, radius) * noise;
                        Add(a, b, Label(a + na, b + nb));
                    }
                }
                break;
            }
            case "xor":
            {
                const double padding = 0.3;
                for (int i = 0; i < ClassificationSamples; i++)
                {
                    double a = Uniform(-5, 5); a += a > 0 ? padding : -padding;
                    double b = Uniform(-5, 5); b += b > 0 ? padding : -padding;
                    double na = Uniform(-5, 5) * noise, nb = Uniform(-5, 5) * noise;
                    Add(a, b, (a + na) * (b + nb) >= 0 ? 1 : -1);
                }
                break;
            }
            case "gauss":
            {
                // The variance grows from 0.5 (no noise) to 4 (noise 50).
                double variance = 0.5 + (4 - 0.5) * (noise / 0.5);
                double sd = Math.Sqrt(variance);
                for (int i = 0; i < ClassificationSamples / 2; i++) Add(2 + sd * rng.NextNormal(), 2 + sd * rng.NextNormal(), 1);
                for (int i = 0; i < ClassificationSamples / 2; i++) Add(-2 + sd * rng.NextNormal(), -2 + sd * rng.NextNormal(), -1);
                break;
            }
            case "spiral":
            {
                int n = ClassificationSamples / 2;
                for (int arm = 0; arm < 2; arm++)
                {
                    double deltaT = arm == 0 ? 0 : Math.PI;
                    for (int i = 0; i < n; i++)
                    {
                        double r = (double)i / n * 5;
                        double t = 1.75 * i / n * 2 * Math.PI + deltaT;
                        Add(r * Math.Sin(t) + Uniform(-1, 1) * noise, r * Math.Cos(t) + Uniform(-1, 1) * noise, arm == 0 ? 1 : -1);
                    }
                }
                break;
            }
            case "reg-plane":
            {
                for (int i = 0; i < RegressionSamples; i++)
                {
                    double a = Uniform(-Domain, Domain), b = Uniform(-Domain, Domain);
                    double na = Uniform(-Domain, Domain) * noise, nb = Uniform(-Domain, Domain) * noise;
                    Add(a, b, PlaneLabel(a + na, b + nb));
                }
                break;
            }
            case "reg-gauss":
            {
                for (int i = 0; i < RegressionSamples; i++)
                {
                    double a = Uniform(-Domain, Domain), b = Uniform(-Domain, Domain);
                    double na = Uniform(-Domain, Domain) * noise, nb = Uniform(-Domain, Domain) * noise;
                    Add(a, b, GaussLabel(a + na, b + nb));
                }
                break;
            }
            default:
                throw new BackpropException($"There is no playground data set called '{name}'; choose circle, xor, gauss, spiral, reg-plane or reg-gauss.");
        }

        // Shuffle (Fisher–Yates with the same generator), then the first percTrain % are for training.
        int count = labels.Count;
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        rng.Shuffle(order.AsSpan());
        var sx1 = new double[count];
        var sx2 = new double[count];
        var sl = new double[count];
        for (int i = 0; i < count; i++) { sx1[i] = x1[order[i]]; sx2[i] = x2[order[i]]; sl[i] = labels[order[i]]; }
        int train = (int)Math.Floor(count * percTrain / 100.0);
        return new PlanePoints(sx1, sx2, sl, train);
    }

    /// <summary>(x₁ + x₂) scaled from [−10, 10] to [−1, 1].</summary>
    private static double PlaneLabel(double a, double b) => (a + b) / 10;

    /// <summary>Six Gaussian bumps of alternating sign; the label is the strongest bump's value at the point.</summary>
    private static double GaussLabel(double a, double b)
    {
        ReadOnlySpan<double> bumps = [-4, 2.5, 1, 0, 2.5, -1, 4, 2.5, 1, -4, -2.5, -1, 0, -2.5, 1, 4, -2.5, -1];
        double label = 0;
        for (int i = 0; i < bumps.Length; i += 3)
        {
            double d = Math.Sqrt((a - bumps[i]) * (a - bumps[i]) + (b - bumps[i + 1]) * (b - bumps[i + 1]));
            double value = bumps[i + 2] * Math.Clamp(1 - d / 2, 0, 1);
            if (Math.Abs(value) > Math.Abs(label)) label = value;
        }
        return label;
    }
}
