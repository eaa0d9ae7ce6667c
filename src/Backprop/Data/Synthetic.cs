namespace Backprop.Data;

/// <summary>
/// A labelled 2-D point set: <see cref="Rows"/> points stored row-major in <see cref="X"/> (x at 2i,
/// y at 2i+1) with class <see cref="Labels"/>[i] in 0..<see cref="ClassCount"/>-1.
/// </summary>
public sealed record SyntheticSet(string Name, double[] X, int[] Labels, int ClassCount)
{
    public int Rows => Labels.Length;
    public const int Columns = 2;
    public static readonly IReadOnlyList<string> FeatureNames = ["x", "y"];

    public FeatureMatrix ToFeatureMatrix() => new(FeatureNames, X, Rows);
}

/// <summary>
/// Seeded 2-D teaching sets in the spirit of scikit-learn's make_moons / make_circles / make_blobs and the
/// TensorFlow Playground. <c>noise</c> is the standard deviation of Gaussian noise added to each
/// coordinate. Classes get n/k points each (the first n mod k classes one more), and the rows are shuffled
/// so that a split or a batch does not see one class first. Same arguments, same points, on any machine.
/// </summary>
public static class Synthetic
{
    public static readonly IReadOnlyList<string> Names = ["xor", "moons", "circles", "spirals", "blobs"];

    /// <summary>
    /// Builds a set by name (as the CLI spells it). <paramref name="classes"/> is the number of arms for
    /// spirals and of centres for blobs, and is ignored by the two-class sets.
    /// </summary>
    public static SyntheticSet Generate(string name, int n, double noise, ulong seed, int classes = 3) =>
        name.Trim().ToLowerInvariant() switch
        {
            "xor" => Xor(n, noise, seed),
            "moons" => Moons(n, noise, seed),
            "circles" => Circles(n, noise, seed),
            "spirals" or "spiral" => Spirals(n, classes, noise, seed),
            "blobs" => Blobs(n, classes, noise, seed),
            _ => throw new BackpropException($"There is no synthetic data set called '{name}'; choose one of {string.Join(", ", Names)}."),
        };

    /// <summary>
    /// Points uniform in [-1, 1]², kept 0.05 away from the axes (as the Playground pads them) so the clean
    /// set is separable; class 1 where x and y have opposite signs.
    /// </summary>
    public static SyntheticSet Xor(int n, double noise, ulong seed)
    {
        Check(n, noise, 2);
        var rng = new Rng(seed);
        var x = new double[2 * n];
        var labels = new int[n];
        const double pad = 0.05;
        for (int i = 0; i < n; i++)
        {
            // Alternate quadrants so both classes get n/2 points like the other sets.
            int label = i % 2;
            double a = pad + (1 - pad) * rng.NextDouble();
            double b = pad + (1 - pad) * rng.NextDouble();
            bool flip = rng.NextDouble() < 0.5;
            double px = flip ? -a : a;
            double py = (label == 1) == flip ? b : -b;
            Put(x, labels, i, px, py, label, noise, rng);
        }
        return Shuffled("xor", x, labels, 2, rng);
    }

    /// <summary>
    /// Two interleaving half circles (scikit-learn's make_moons): class 0 on (cos t, sin t), class 1 on
    /// (1 − cos t, 0.5 − sin t), t evenly spaced over [0, π].
    /// </summary>
    public static SyntheticSet Moons(int n, double noise, ulong seed)
    {
        Check(n, noise, 2);
        var rng = new Rng(seed);
        var x = new double[2 * n];
        var labels = new int[n];
        int nOuter = n / 2, nInner = n - nOuter;
        int row = 0;
        for (int i = 0; i < nOuter; i++, row++)
        {
            double t = Math.PI * Spacing(i, nOuter);
            Put(x, labels, row, Math.Cos(t), Math.Sin(t), 0, noise, rng);
        }
        for (int i = 0; i < nInner; i++, row++)
        {
            double t = Math.PI * Spacing(i, nInner);
            Put(x, labels, row, 1 - Math.Cos(t), 0.5 - Math.Sin(t), 1, noise, rng);
        }
        return Shuffled("moons", x, labels, 2, rng);
    }

    /// <summary>
    /// Two concentric circles (scikit-learn's make_circles): class 0 on the unit circle, class 1 on a circle
    /// of radius <paramref name="factor"/>, angles evenly spaced.
    /// </summary>
    public static SyntheticSet Circles(int n, double noise, ulong seed, double factor = 0.5)
    {
        Check(n, noise, 2);
        if (!(factor > 0 && factor < 1))
            throw new BackpropException($"The circles' radius factor is {factor}; it must be between 0 and 1 (exclusive), e.g. 0.5.");
        var rng = new Rng(seed);
        var x = new double[2 * n];
        var labels = new int[n];
        int nOuter = n / 2, nInner = n - nOuter;
        int row = 0;
        for (int i = 0; i < nOuter; i++, row++)
        {
            double t = 2 * Math.PI * i / nOuter;
            Put(x, labels, row, Math.Cos(t), Math.Sin(t), 0, noise, rng);
        }
        for (int i = 0; i < nInner; i++, row++)
        {
            double t = 2 * Math.PI * i / nInner;
            Put(x, labels, row, factor * Math.Cos(t), factor * Math.Sin(t), 1, noise, rng);
        }
        return Shuffled("circles", x, labels, 2, rng);
    }

    /// <summary>
    /// <paramref name="arms"/> interleaved spiral arms around the origin, arm j rotated by 2πj/arms; along
    /// an arm the radius grows from 0.05 to 1 while the angle turns 1.5 times around (3π).
    /// </summary>
    public static SyntheticSet Spirals(int n, int arms, double noise, ulong seed)
    {
        if (arms < 2) throw new BackpropException($"A spiral set needs at least 2 arms, not {arms}.");
        Check(n, noise, arms);
        var rng = new Rng(seed);
        var x = new double[2 * n];
        var labels = new int[n];
        int row = 0;
        for (int arm = 0; arm < arms; arm++)
        {
            int count = n / arms + (arm < n % arms ? 1 : 0);
            for (int i = 0; i < count; i++, row++)
            {
                double s = Spacing(i, count);
                double r = 0.05 + 0.95 * s;
                double t = 2 * Math.PI * arm / arms + 3 * Math.PI * s;
                Put(x, labels, row, r * Math.Cos(t), r * Math.Sin(t), arm, noise, rng);
            }
        }
        return Shuffled("spirals", x, labels, arms, rng);
    }

    /// <summary>
    /// Gaussian blobs with standard deviation <paramref name="noise"/> around <paramref name="centers"/>
    /// centres spaced evenly on the unit circle, the whole ring turned by a seeded random angle. (Unlike
    /// make_blobs, the centres never land on top of each other; a noise of about 0.2–0.4 makes them touch.)
    /// </summary>
    public static SyntheticSet Blobs(int n, int centers, double noise, ulong seed)
    {
        if (centers < 2) throw new BackpropException($"A blob set needs at least 2 centres (classes), not {centers}.");
        Check(n, noise, centers);
        var rng = new Rng(seed);
        double turn = 2 * Math.PI * rng.NextDouble();
        var x = new double[2 * n];
        var labels = new int[n];
        int row = 0;
        for (int c = 0; c < centers; c++)
        {
            double a = turn + 2 * Math.PI * c / centers;
            double cx = Math.Cos(a), cy = Math.Sin(a);
            int count = n / centers + (c < n % centers ? 1 : 0);
            for (int i = 0; i < count; i++, row++) Put(x, labels, row, cx, cy, c, noise, rng);
        }
        return Shuffled("blobs", x, labels, centers, rng);
    }

    private static void Check(int n, double noise, int classes)
    {
        if (n < classes)
            throw new BackpropException($"A synthetic set with {classes} classes needs at least {classes} points, not {n}.");
        if (!(noise >= 0) || double.IsInfinity(noise))
            throw new BackpropException($"The noise is {noise}; it is a standard deviation and must be 0 or a positive number (e.g. 0.1).");
    }

    // Evenly spaced in [0, 1], both ends included (numpy's linspace(0, 1, count)).
    private static double Spacing(int i, int count) => count == 1 ? 0 : (double)i / (count - 1);

    private static void Put(double[] x, int[] labels, int row, double px, double py, int label, double noise, Rng rng)
    {
        x[2 * row] = px + (noise > 0 ? noise * rng.NextNormal() : 0);
        x[2 * row + 1] = py + (noise > 0 ? noise * rng.NextNormal() : 0);
        labels[row] = label;
    }

    private static SyntheticSet Shuffled(string name, double[] x, int[] labels, int classes, Rng rng)
    {
        int n = labels.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        rng.Shuffle(order.AsSpan());
        var sx = new double[x.Length];
        var sl = new int[n];
        for (int i = 0; i < n; i++)
        {
            sx[2 * i] = x[2 * order[i]];
            sx[2 * i + 1] = x[2 * order[i] + 1];
            sl[i] = labels[order[i]];
        }
        return new SyntheticSet(name, sx, sl, classes);
    }
}
