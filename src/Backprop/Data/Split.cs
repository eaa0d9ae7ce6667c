namespace Backprop.Data;

/// <summary>Row indices of a train / validation / test split, each ascending.</summary>
public sealed record SplitIndices(int[] Train, int[] Validation, int[] Test);

/// <summary>
/// Seeded train / validation / test splits. The test set takes <c>testFraction</c> of all rows; the
/// validation set takes <c>validationFraction</c> of what remains; the rest is training. Counts are
/// rounded to the nearest row (halves up), and a positive fraction always gets at least one row.
/// The same seed and input give the same split on every machine (Backprop's own <see cref="Rng"/>).
/// </summary>
public static class Split
{
    /// <summary>Stratified for classification data, plain shuffled for regression.</summary>
    public static SplitIndices For(TabularData data, double testFraction, double validationFraction, ulong seed) =>
        data.ClassIndices is { } classes
            ? Stratified(classes, testFraction, validationFraction, seed)
            : Shuffled(data.Rows, testFraction, validationFraction, seed);

    /// <summary>A plain shuffled split of <paramref name="rows"/> rows.</summary>
    public static SplitIndices Shuffled(int rows, double testFraction, double validationFraction, ulong seed)
    {
        var (nTest, nVal) = Counts(rows, testFraction, validationFraction);
        var order = new int[rows];
        for (int i = 0; i < rows; i++) order[i] = i;
        new Rng(seed).Shuffle(order.AsSpan());
        return Make(train: order[(nTest + nVal)..], validation: order[nTest..(nTest + nVal)], test: order[..nTest]);
    }

    /// <summary>
    /// A split in which every class is divided in (nearly) the same proportions as the whole: the total
    /// test and validation counts are fixed first, then shared out among classes in proportion to their
    /// sizes by largest remainder (ties to the lower class index). Rows are shuffled within each class.
    /// </summary>
    public static SplitIndices Stratified(ReadOnlySpan<int> classes, double testFraction, double validationFraction, ulong seed)
    {
        int rows = classes.Length;
        var (nTest, nVal) = Counts(rows, testFraction, validationFraction);
        int classCount = 0;
        for (int i = 0; i < rows; i++)
        {
            if (classes[i] < 0) throw new BackpropException($"Row {i} has class index {classes[i]}; class indices must be 0 or more.");
            classCount = Math.Max(classCount, classes[i] + 1);
        }

        var members = new List<int>[classCount];
        for (int c = 0; c < classCount; c++) members[c] = [];
        for (int i = 0; i < rows; i++) members[classes[i]].Add(i);
        var sizes = members.Select(m => m.Count).ToArray();

        int[] testPerClass = Allocate(nTest, sizes);
        var remaining = sizes.Select((s, c) => s - testPerClass[c]).ToArray();
        int[] valPerClass = Allocate(nVal, remaining);

        var rng = new Rng(seed);
        var train = new List<int>(rows - nTest - nVal);
        var val = new List<int>(nVal);
        var test = new List<int>(nTest);
        for (int c = 0; c < classCount; c++)
        {
            var idx = members[c].ToArray();
            rng.Shuffle(idx.AsSpan());
            test.AddRange(idx.AsSpan(0, testPerClass[c]));
            val.AddRange(idx.AsSpan(testPerClass[c], valPerClass[c]));
            train.AddRange(idx.AsSpan(testPerClass[c] + valPerClass[c]));
        }
        return Make(train: [.. train], validation: [.. val], test: [.. test]);
    }

    private static (int Test, int Validation) Counts(int rows, double testFraction, double validationFraction)
    {
        if (!(testFraction >= 0 && testFraction < 1))
            throw new BackpropException($"The test fraction is {testFraction}; it must be at least 0 and below 1 (e.g. 0.25).");
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new BackpropException($"The validation fraction is {validationFraction}; it must be at least 0 and below 1 (e.g. 0.1 of the rows left after the test split).");
        int nTest = RoundCount(rows, testFraction);
        int nVal = RoundCount(rows - nTest, validationFraction);
        if (rows - nTest - nVal < 1)
            throw new BackpropException(
                $"Splitting {rows} rows into {nTest} test and {nVal} validation rows leaves none for training; use smaller fractions or more data.");
        return (nTest, nVal);
    }

    private static int RoundCount(int rows, double fraction)
    {
        int n = (int)Math.Floor(rows * fraction + 0.5);
        return fraction > 0 && n == 0 && rows > 1 ? 1 : Math.Min(n, rows);
    }

    // Largest-remainder (Hamilton) apportionment of total over groups of the given sizes.
    private static int[] Allocate(int total, int[] sizes)
    {
        long sum = sizes.Sum(s => (long)s);
        var share = new int[sizes.Length];
        if (total == 0 || sum == 0) return share;
        var remainders = new (double Remainder, int Group)[sizes.Length];
        int given = 0;
        for (int g = 0; g < sizes.Length; g++)
        {
            double exact = (double)total * sizes[g] / sum;
            share[g] = Math.Min((int)Math.Floor(exact), sizes[g]);
            given += share[g];
            remainders[g] = (exact - share[g], g);
        }
        var order = remainders
            .OrderByDescending(r => r.Remainder)
            .ThenBy(r => r.Group)
            .Select(r => r.Group)
            .ToArray();
        for (int k = 0; given < total; k = (k + 1) % order.Length)
        {
            int g = order[k];
            if (share[g] < sizes[g]) { share[g]++; given++; }
        }
        return share;
    }

    private static SplitIndices Make(int[] train, int[] validation, int[] test)
    {
        Array.Sort(train);
        Array.Sort(validation);
        Array.Sort(test);
        return new SplitIndices(train, validation, test);
    }
}
