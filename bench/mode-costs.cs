#:project ../src/Backprop/Backprop.csproj
// Prints the cost of each differentiation mode (math.md §4) for MLPs of growing size: the table in
// docs/forward-vs-reverse.md. A file-based app so that the benchmark project's Program.cs stays as it is.
//   dotnet run -c Release bench/mode-costs.cs [repeats]
using System.Globalization;
using Backprop;
using Backprop.Functional;

int repeats = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 7;
int[][] networks = [[8, 8, 1], [16, 16, 1], [16, 32, 1], [32, 32, 1], [32, 64, 1], [64, 64, 1]];
Console.WriteLine("| layers | P | forward ms | reverse ms (× fwd) | fwd-mode full ms (× fwd) | fwd gradient ms (× fwd) | forward MB | reverse MB (× fwd) | fwd-mode full MB (× fwd) | fwd-mode vs reverse |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
foreach (var layers in networks)
{
    var r = ModeCostMeasurement.Measure(layers, batchSize: 32, MlpLoss.MeanSquaredError, repeats, seed: 1, DType.Float32, directionsPerPass: 1 << 16);
    string T(int i) => i == 0 ? $"{r.Costs[0].MedianMilliseconds:F3}" : $"{r.Costs[i].MedianMilliseconds:F3} ({r.RelativeToForward(r.Costs[i]).Time:F1})";
    string M(int i) => i == 0 ? $"{r.Costs[0].AllocatedBytes / 1048576.0:F3}" : $"{r.Costs[i].AllocatedBytes / 1048576.0:F3} ({r.RelativeToForward(r.Costs[i]).Bytes:F1})";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {string.Join("-", layers)} | {r.ParameterCount} | {T(0)} | {T(1)} | {T(2)} | {T(3)} | {M(0)} | {M(1)} | {M(2)} | {r.ForwardVsReverseMaxRelError:E0} |"));
}
