using System.Diagnostics;
using System.Globalization;
using System.Text;
using Backprop.Data;

namespace Backprop.Benchmarks;

/// <summary>
/// Peak memory of loading a large CSV: `-- csv-memory [rows] [columns] [folder]` writes a rows × columns file of
/// numbers with four decimals (19 features and a 0/1 target by default: 1,000,000 × 20, 158 MB, the size of the file in issue #10), then, each in a fresh
/// process, measures the peak resident set (VmHWM) above the process's resident set just before loading
/// for (1) DataTable.Load, (2) TabularData.Load, and (3) TabularData.Load plus Preprocessor.Fit and Transform
/// into the float32 tensor training uses; and prints each against the file's size (the goal: at most 2×).
/// </summary>
public static class CsvMemory
{
    public static void Run(string[] args)
    {
        int rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        int columns = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        string folder = args.Length > 2 ? args[2] : Path.GetTempPath();
        string path = Path.Combine(folder, $"csv-memory-{rows}x{columns}.csv");
        if (!File.Exists(path)) Generate(path, rows, columns);
        long size = new FileInfo(path).Length;
        Console.WriteLine($"file: {path}, {rows:N0} rows × {columns} columns, {size / 1e6:F1} MB");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, GC {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}");
        foreach (var mode in new[] { "table", "tabular", "preprocessed" })
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") start.ArgumentList.Add(typeof(CsvMemory).Assembly.Location);
            start.ArgumentList.Add("csv-memory-child");
            start.ArgumentList.Add(mode);
            start.ArgumentList.Add(path);
            using var child = Process.Start(start)!;
            string line = child.StandardOutput.ReadToEnd().Trim();
            child.WaitForExit();
            var parts = line.Split(' ');
            long baseline = long.Parse(parts[0], CultureInfo.InvariantCulture), peak = long.Parse(parts[1], CultureInfo.InvariantCulture);
            double seconds = double.Parse(parts[2], CultureInfo.InvariantCulture);
            long above = peak - baseline;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mode,-13} baseline {baseline / 1e6,6:F0} MB, peak {peak / 1e6,6:F0} MB, above baseline {above / 1e6,6:F0} MB = {(double)above / size:F2} × file, {seconds:F1} s"));
        }
    }

    public static void Child(string[] args)
    {
        string mode = args[0], path = args[1];
        long baseline = Status("VmRSS");
        var clock = Stopwatch.StartNew();
        switch (mode)
        {
            case "table":
                GC.KeepAlive(DataTable.Load(path));
                break;
            case "tabular":
                GC.KeepAlive(TabularData.Load(path, "y"));
                break;
            default:
                var data = TabularData.Load(path, "y");
                var all = Enumerable.Range(0, data.Rows).ToArray();
                var pre = Preprocessor.Fit(data, all);
                GC.KeepAlive(pre.Transform(data.Table, data.TableRows, DType.Float32));
                GC.KeepAlive(data);
                break;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{baseline} {Status("VmHWM")} {seconds}"));
    }

    // Linux /proc/self/status fields are in kB.
    private static long Status(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException($"/proc/self/status has no {field}");
    }

    private static void Generate(string path, int rows, int columns)
    {
        var rng = new Random(7);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        writer.Write(string.Join(",", Enumerable.Range(0, columns - 1).Select(c => $"x{c}")));
        writer.Write(",y\n");
        var sb = new StringBuilder();
        for (int r = 0; r < rows; r++)
        {
            sb.Clear();
            for (int c = 0; c < columns - 1; c++)
                sb.Append((rng.NextDouble() * 40 - 20).ToString("F4", CultureInfo.InvariantCulture)).Append(',');
            sb.Append(r % 2).Append('\n');
            writer.Write(sb);
        }
    }
}
