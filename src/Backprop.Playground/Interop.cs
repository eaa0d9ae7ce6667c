using System.Runtime.InteropServices;
using System.Runtime.InteropServices.JavaScript;

namespace Backprop.Playground;

/// <summary>
/// The drawing calls into wwwroot/js/playground.js. Arrays cross as memory views of .NET memory (no
/// serialisation): float32 heatmap values as bytes, weights and losses as doubles.
/// </summary>
internal static partial class Js
{
    public const string Module = "playground";

    public static Task Load() => JSHost.ImportAsync(Module, "../js/playground.js");

    [JSImport("setLayout", Module)] public static partial void SetLayout(string json);
    [JSImport("drawInputs", Module)] private static partial void DrawInputs([JSMarshalAs<JSType.MemoryView>] Span<byte> values);
    [JSImport("drawFrame", Module)] private static partial void DrawFrame([JSMarshalAs<JSType.MemoryView>] Span<byte> values, bool discretize);
    [JSImport("drawPoints", Module)] public static partial void DrawPoints(string json);
    [JSImport("setEdges", Module)] public static partial void SetEdges([JSMarshalAs<JSType.MemoryView>] Span<double> values, int highlight);
    [JSImport("drawLossChart", Module)] public static partial void DrawLossChart([JSMarshalAs<JSType.MemoryView>] Span<double> values);
    [JSImport("setText", Module)] public static partial void SetText(string id, string text);
    [JSImport("nextFrame", Module)] public static partial Task NextFrame();
    [JSImport("getHash", Module)] public static partial string GetHash();
    [JSImport("setHash", Module)] public static partial void SetHash(string hash);
    [JSImport("animateBackward", Module)] public static partial Task AnimateBackward(int layers, int milliseconds);
    [JSImport("now", Module)] public static partial double Now();

    public static void DrawInputs(float[] values) => DrawInputs(MemoryMarshal.AsBytes(values.AsSpan()));
    public static void DrawFrame(float[] values, bool discretize) => DrawFrame(MemoryMarshal.AsBytes(values.AsSpan()), discretize);
}
