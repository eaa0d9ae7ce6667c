using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Backprop.Data;
using Backprop.Playground.Engine;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.AspNetCore.Components.Web;

namespace Backprop.Playground.Pages;

/// <summary>What the mouse is over: a neuron (Layer, Neuron) or an edge (Layer, Neuron ← From).</summary>
public readonly record struct HoverTarget(int Layer, int Neuron, int From, bool IsEdge);

/// <summary>
/// The page: controls bound to <see cref="PlaygroundState"/> (kept in the URL hash), a <see cref="Session"/>
/// that trains, and the drawing loop (train, then hand the numbers to playground.js, once per frame).
/// </summary>
public partial class Playground : ComponentBase, IDisposable
{
    private PlaygroundState State = new();
    private Session? Session;
    private CsvData? _csv;
    private string? _csvError;
    private string _csvTarget = "";
    private HashSet<string> _csvFeatures = new();
    private string? _mapX, _mapY;
    private bool _playing, _loaded, _layoutDirty = true, _showForward;
    private int _selectedPoint;
    private HoverTarget? _hover;
    private int _stage = -1;
    private int _highlightLayer;
    private string? _benchResult;
    private bool _disposed;

    private IEnumerable<string> CsvChosen => _csv is null ? [] : _csv.Columns.Where(c => c != _csvTarget && _csvFeatures.Contains(c));

    protected override async Task OnInitializedAsync()
    {
        await Js.Load();
        string hash = Js.GetHash();
        State = PlaygroundState.FromHash(hash);
        if (!hash.Contains("seed=", StringComparison.Ordinal))
            State.Seed = ((ulong)Random.Shared.NextInt64(0, 1_000_000)).ToString(CultureInfo.InvariantCulture);
        Rebuild();
        _loaded = true;
        if (hash.Contains("bench", StringComparison.Ordinal)) _ = RunBench();
    }

    protected override void OnAfterRender(bool firstRender)
    {
        if (Session is null || !_loaded) return;
        if (_layoutDirty)
        {
            _layoutDirty = false;
            Js.SetLayout(JsonSerializer.Serialize(new
            {
                grid = Engine.Session.Grid,
                sizes = Session.Sizes,
                inputNodes = Session.Data.InputNodes.Count,
                outputWidth = Session.OutputWidth,
                multiclass = Session.Task == TaskKind.Multiclass,
            }));
            var inputs = new float[Session.Data.InputNodes.Count * Engine.Session.Grid * Engine.Session.Grid];
            for (int f = 0; f < Session.Data.InputNodes.Count; f++) Session.Data.InputNodes[f].Grid.CopyTo(inputs, f * Engine.Session.Grid * Engine.Session.Grid);
            Js.DrawInputs(inputs);
        }
        DrawAll();
    }

    /// <summary>A new data set and network from the state (controls that change either call this).</summary>
    private void Rebuild()
    {
        _playing = false;
        _stage = -1;
        _highlightLayer = 0;
        _hover = null;
        _csvError = null;
        TrainingData data;
        if (_csv is not null)
        {
            try
            {
                data = _csv.Build(_csvTarget, [.. CsvChosen], _mapX, _mapY, State.PercTrainData, State.SeedValue, Engine.Session.Grid);
            }
            catch (BackpropException e)
            {
                _csvError = e.Message;
                return;
            }
        }
        else
        {
            data = TrainingData.FromPlane(PlaneData.Generate(State.CurrentDataset, State.Noise, State.PercTrainData, State.SeedValue), State, Engine.Session.Grid);
        }
        Session = new Session(State, data);
        _selectedPoint = 0;
        _layoutDirty = true;
        Js.SetHash(State.ToHash());
    }

    private void Change(Action<PlaygroundState> change)
    {
        change(State);
        Rebuild();
    }

    /// <summary>View-only settings: redraw, keep training.</summary>
    private void SetView(Action<PlaygroundState> change)
    {
        change(State);
        Js.SetHash(State.ToHash());
    }

    private void SetLearningRate(object? value)
    {
        State.LearningRate = double.Parse((string)value!, CultureInfo.InvariantCulture);
        Session?.SetLearningRate(State.LearningRate);
        Js.SetHash(State.ToHash());
    }

    private void SetRegularization(string kind, double rate)
    {
        State.Regularization = kind;
        State.RegularizationRate = rate;
        Session?.SetRegularization(kind, rate);
        Js.SetHash(State.ToHash());
    }

    private void SetSpeed(int speed)
    {
        State.Speed = speed;
        Js.SetHash(State.ToHash());
    }

    private void Reset() => Rebuild();

    private void Regenerate()
    {
        State.Seed = ((ulong)Random.Shared.NextInt64(0, 1_000_000)).ToString(CultureInfo.InvariantCulture);
        Rebuild();
    }

    private void SelectDataset(string name)
    {
        _csv = null;
        if (State.IsRegression) State.RegDataset = name; else State.Dataset = name;
        Rebuild();
    }

    private void ToggleFeature(int feature)
    {
        if (_csv is not null) return;
        State.Features[feature] = !State.Features[feature];
        if (!State.Features.Any(f => f)) State.Features[feature] = true; // the network needs an input
        Rebuild();
    }

    private void AddLayer()
    {
        if (State.NetworkShape.Count >= PlaygroundState.MaxHiddenLayers) return;
        State.NetworkShape.Add(2);
        Rebuild();
    }

    private void RemoveLayer()
    {
        if (State.NetworkShape.Count == 0) return;
        State.NetworkShape.RemoveAt(State.NetworkShape.Count - 1);
        Rebuild();
    }

    private void ChangeNeurons(int layer, int delta)
    {
        int i = layer - 1;
        State.NetworkShape[i] = Math.Clamp(State.NetworkShape[i] + delta, 1, PlaygroundState.MaxNeurons);
        Rebuild();
    }

    // ---- CSV -------------------------------------------------------------------------------------

    private async Task OpenCsv(InputFileChangeEventArgs e)
    {
        _playing = false;
        try
        {
            using var reader = new StreamReader(e.File.OpenReadStream(maxAllowedSize: 64 * 1024 * 1024));
            string text = await reader.ReadToEndAsync();
            var csv = CsvData.Parse(text, e.File.Name);
            _csv = csv;
            _csvTarget = csv.DefaultTarget;
            _csvFeatures = new HashSet<string>(csv.Columns.Where(c => c != _csvTarget));
            _mapX = _mapY = null;
            Rebuild();
        }
        catch (BackpropException ex)
        {
            _csv = null;
            Session = Session ?? null;
            _csvError = ex.Message;
        }
    }

    private void CloseCsv()
    {
        _csv = null;
        Rebuild();
    }

    private void SetCsvTarget(string target)
    {
        _csvTarget = target;
        _csvFeatures = new HashSet<string>(_csv!.Columns.Where(c => c != target));
        _mapX = _mapY = null;
        Rebuild();
    }

    private void ToggleCsvFeature(string name, bool on)
    {
        if (on) _csvFeatures.Add(name); else _csvFeatures.Remove(name);
        Rebuild();
    }

    private void SetMapAxis(bool x, string name)
    {
        if (x) _mapX = name; else _mapY = name;
        Rebuild();
    }

    // ---- Training loop ---------------------------------------------------------------------------

    private async Task TogglePlay()
    {
        if (_playing) { _playing = false; return; }
        if (Session is null) return;
        _playing = true;
        _stage = -1;
        _highlightLayer = 0;
        await RunLoop(null);
    }

    /// <summary>Trains State.Speed epochs, draws, waits for the next frame; until paused (or the bench's frames are done).</summary>
    private async Task RunLoop(BenchTimes? bench)
    {
        var session = Session;
        long frame = 0;
        while (_playing && !_disposed && ReferenceEquals(session, Session) && session is not null)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < State.Speed; i++) session.TrainEpoch();
            long t1 = Stopwatch.GetTimestamp();
            DrawAll();
            long t2 = Stopwatch.GetTimestamp();
            if (bench is not null) { bench.Train += t1 - t0; bench.Draw += t2 - t1; bench.Frames++; if (bench.Done) break; }
            if (++frame % 15 == 0) StateHasChanged(); // the +/− buttons, step view and hover panel; numbers are set directly below
            await Js.NextFrame();
        }
        StateHasChanged();
    }

    /// <summary>Heatmaps, edges, points, losses and the epoch counter: one call each into playground.js.</summary>
    private void DrawAll()
    {
        if (Session is null) return;
        Js.DrawFrame(Session.ComputeFrame(), State.Discretize);
        var step = Session.LastStep;
        if (_highlightLayer > 0 && step is not null) Js.SetEdges(HighlightedEdgeValues(step), _highlightLayer);
        else Js.SetEdges(Session.Weights(), 0);
        DrawPoints();
        var history = Session.History;
        var losses = new double[history.Count * 2];
        for (int i = 0; i < history.Count; i++) { losses[2 * i] = history[i].Train; losses[2 * i + 1] = history[i].Test; }
        Js.DrawLossChart(losses);
        Js.SetText("epoch", Session.Epoch.ToString("N0", CultureInfo.InvariantCulture));
        Js.SetText("test-loss", Fmt(Session.TestLoss));
        Js.SetText("train-loss", Fmt(Session.TrainLoss));
    }

    private string? _pointsDrawn;

    private void DrawPoints()
    {
        var d = Session!.Data;
        string key = $"{RuntimeHelpers(d)}:{State.ShowTestData}:{_selectedPoint}";
        if (key == _pointsDrawn) return;
        _pointsDrawn = key;
        var values = new double[d.TrainCount + d.TestCount];
        for (int i = 0; i < values.Length; i++)
        {
            double y = i < d.TrainCount ? d.TrainY[i] : d.TestY[i - d.TrainCount];
            values[i] = d.Task == TaskKind.Binary ? 2 * y - 1 : y;
        }
        Js.DrawPoints(JsonSerializer.Serialize(new
        {
            x = d.MapX, y = d.MapY, v = values, train = d.TrainCount, showTest = State.ShowTestData,
            multiclass = d.Task == TaskKind.Multiclass, selected = _selectedPoint,
            minX = d.MapMinX, maxX = d.MapMaxX, minY = d.MapMinY, maxY = d.MapMaxY,
        }));
    }

    private static int RuntimeHelpers(object o) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(o);

    /// <summary>Picks the point nearest the click as the example whose numbers the formulas show.</summary>
    private void SelectPoint(MouseEventArgs e)
    {
        if (Session is null) return;
        var d = Session.Data;
        double px = d.MapMinX + e.OffsetX / 300.0 * (d.MapMaxX - d.MapMinX);
        double py = d.MapMaxY - e.OffsetY / 300.0 * (d.MapMaxY - d.MapMinY);
        int best = 0;
        double bestDistance = double.MaxValue;
        int count = State.ShowTestData ? d.TrainCount + d.TestCount : d.TrainCount;
        for (int i = 0; i < count; i++)
        {
            double dist = (d.MapX[i] - px) * (d.MapX[i] - px) + (d.MapY[i] - py) * (d.MapY[i] - py);
            if (dist < bestDistance) { bestDistance = dist; best = i; }
        }
        _selectedPoint = best;
        DrawPoints();
    }

    // ---- Step view -------------------------------------------------------------------------------

    /// <summary>One mini-batch, explained: the page walks its backward pass stage by stage.</summary>
    private void StepOnce()
    {
        if (Session is null) return;
        _playing = false;
        Session.StepExplained();
        SetStage(0);
    }

    /// <summary>The stages: explain's backward steps (δ[L], dW[L], db[L], da[L−1], δ[L−1], …), then the update.</summary>
    private static int StageCount(ExplainedStep step) => step.Explanation.Backward.Count + 1;

    private void SetStage(int stage)
    {
        var step = Session?.LastStep;
        if (step is null) return;
        _stage = Math.Clamp(stage, 0, StageCount(step) - 1);
        _highlightLayer = StageLayer(step, _stage);
    }

    /// <summary>The layer a stage computes: l of δ[l], dW[l], db[l]; l + 1 for da[l] (it goes through W[l+1]); 0 for the update.</summary>
    private static int StageLayer(ExplainedStep step, int stage)
    {
        if (stage >= step.Explanation.Backward.Count) return 0;
        var name = step.Explanation.Backward[stage].Name;
        int open = name.IndexOf('['), close = name.IndexOf(']');
        int l = int.Parse(name[(open + 1)..close], CultureInfo.InvariantCulture);
        return name.StartsWith("da", StringComparison.Ordinal) ? l + 1 : l;
    }

    private bool Highlight(int layer)
    {
        var step = Session?.LastStep;
        if (step is null || _stage < 0 || _stage >= step.Explanation.Backward.Count) return false;
        var name = step.Explanation.Backward[_stage].Name;
        int l = StageLayer(step, _stage);
        return name.StartsWith("da", StringComparison.Ordinal) ? layer == l - 1 : layer == l;
    }

    /// <summary>Edge values during the step view: the highlighted layer's dW (explain's, shown), every other layer's weights.</summary>
    private double[] HighlightedEdgeValues(ExplainedStep step)
    {
        var all = new List<double>();
        for (int l = 1; l <= Session!.L; l++)
            all.AddRange(l == _highlightLayer ? step.Explanation.Step($"dW[{l}]").Values.ToDoubleArray() : step.WeightsAfter[l - 1]);
        return [.. all];
    }

    private async Task AnimateBackward()
    {
        if (Session is null) return;
        if (Session.LastStep is null) Session.StepExplained();
        _stage = -1;
        _highlightLayer = 0;
        StateHasChanged();
        await Js.AnimateBackward(Session.L, 700);
    }

    // ---- Hover -----------------------------------------------------------------------------------

    private void HoverNode(int layer, int neuron)
    {
        if (neuron < 0) return;
        _hover = new HoverTarget(layer, neuron, 0, false);
    }

    private void HoverEdge(int layer, int neuron, int from) => _hover = new HoverTarget(layer, neuron, from, true);

    // ---- Bench -----------------------------------------------------------------------------------

    private sealed class BenchTimes
    {
        public long Train, Draw, Frames;
        public long Start = Stopwatch.GetTimestamp();
        public double Seconds;
        public bool Done => Stopwatch.GetElapsedTime(Start).TotalSeconds >= Seconds;
    }

    /// <summary>
    /// #bench: trains and redraws the page's setup (TensorFlow Playground's default unless the hash says
    /// otherwise) for 1 s of warm-up and 5 s measured, and reports epochs/s and ms per frame.
    /// </summary>
    private async Task RunBench()
    {
        await Task.Yield();
        if (Session is null) return;
        _playing = true;
        await RunLoop(new BenchTimes { Seconds = 1 });
        if (Session is null) return;
        int epochs0 = Session.Epoch;
        var times = new BenchTimes { Seconds = 5 };
        _playing = true;
        await RunLoop(times);
        _playing = false;
        double seconds = Stopwatch.GetElapsedTime(times.Start).TotalSeconds;
        int epochs = Session.Epoch - epochs0;
        double ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency / Math.Max(1, times.Frames);
        _benchResult = string.Create(CultureInfo.InvariantCulture,
            $"bench: {string.Join("-", Session.Sizes)} {State.Activation}, {Session.Data.TrainCount} training points, batch {State.BatchSize}, {State.Speed} epoch(s)/frame: " +
            $"{epochs / seconds:F1} epochs/s, {seconds * 1000 / Math.Max(1, times.Frames):F1} ms per frame (train {ms(times.Train):F2} ms, evaluate + draw {ms(times.Draw):F2} ms), {epochs} epochs in {seconds:F1} s");
        Console.WriteLine(_benchResult);
        StateHasChanged();
    }

    public void Dispose() => _disposed = true;

    // ---- Formatting and geometry -----------------------------------------------------------------

    internal static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    internal static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
    internal static string Fmt(double? v) => v is double d && double.IsFinite(d) ? d.ToString("0.000", CultureInfo.InvariantCulture) : "—";
    /// <summary>Six significant digits, as explain prints.</summary>
    internal static string G(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    private static string DatasetLabel(string d) => d switch
    {
        "circle" => "◎ Circle",
        "xor" => "⊞ Exclusive or",
        "gauss" => "⁘ Gaussian",
        "spiral" => "@ Spiral",
        "reg-plane" => "▨ Plane",
        _ => "⁙ Multi gaussian",
    };

    private string Legend => Session is null ? "" : Session.Task switch
    {
        TaskKind.Binary => "Orange −1 (class 0), blue +1 (class 1); the map shows 2p − 1 of the network's probability p. White ring: training point; black ring: test point.",
        TaskKind.Multiclass => $"Colours: {string.Join(", ", Session.Data.ClassLabels.Select((c, i) => $"{c} {ClassColourName(i)}"))}; paler where the network is unsure.",
        _ => "Orange negative, blue positive; the map shows the network's output.",
    };

    private static string ClassColourName(int i) => new[] { "orange", "blue", "green", "red", "purple", "brown", "pink", "grey" }[i % 8];

    private int InputNodeOf(int column)
    {
        var nodes = Session!.Data.InputNodes;
        for (int f = 0; f < nodes.Count; f++) if (nodes[f].Column == column) return f;
        return 0;
    }

    private NetGeometry Geometry => new(Session!.Data.InputNodes.Count, Session.Sizes);

    /// <summary>Where nodes sit: columns 120 px apart, rows 48 px apart, 36 px nodes, 30 px for the buttons on top.</summary>
    internal readonly record struct NetGeometry(int InputNodes, int[] Sizes)
    {
        public const double Column = 120, Row = 48, Size = 36, Top = 34, LeftMargin = 70;
        public double Width => LeftMargin + (Sizes.Length - 1) * Column + Size + 10;
        public double Height => Top + Math.Max(InputNodes, Sizes.Skip(1).DefaultIfEmpty(1).Max()) * Row + 4;
        public (double X, double Y) Node(int layer, int index) => (LeftMargin + layer * Column, Top + index * Row);
        public (double X, double Y) Right(int layer, int index) { var (x, y) = Node(layer, index); return (x + Size, y + Size / 2); }
        public (double X, double Y) LeftEdge(int layer, int index) { var (x, y) = Node(layer, index); return (x, y + Size / 2); }
    }
}
