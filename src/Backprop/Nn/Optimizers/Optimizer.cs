namespace Backprop.Nn;

/// <summary>
/// Updates parameters from their gradients. One abstraction serves both kinds of optimizer:
/// <list type="bullet">
/// <item>First-order optimizers (<see cref="Sgd"/>, <see cref="Adam"/>, <see cref="AdamW"/>,
/// <see cref="RmsProp"/>) need one gradient per step. <see cref="Step()"/> uses the gradients already in
/// each parameter's <see cref="Tensor.Grad"/>; <see cref="Step(Func{Tensor}?)"/> with a closure first
/// calls it once (it computes the loss and calls Backward) and then updates.</item>
/// <item>Gradient-flow integrators (<see cref="Rk4GradientFlow"/>, <see cref="DormandPrince54"/>) need
/// the gradient at points of their own choosing, so they require the closure
/// (<see cref="RequiresClosure"/>) and call it several times per step, like PyTorch's LBFGS.</item>
/// </list>
/// A training loop written as <c>optimizer.Step(closure)</c> therefore runs with either kind.
/// The closure must evaluate the loss at the current parameter values, call Backward on it and return
/// it; it should clear gradients first (<c>model.ZeroGrad()</c>) so they do not accumulate.
/// </summary>
public abstract class Optimizer
{
    private readonly string[] _names;
    private readonly Tensor[] _parameters;
    private double _learningRate;

    protected Optimizer(IEnumerable<(string Name, Tensor Parameter)> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var names = new List<string>();
        var tensors = new List<Tensor>();
        var seenNames = new HashSet<string>(StringComparer.Ordinal);
        var seenTensors = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (name, parameter) in parameters)
        {
            string optimizerName = GetType().Name;
            if (parameter is null) throw new BackpropException($"{optimizerName}: parameter '{name}' is null.");
            if (!seenNames.Add(name)) throw new BackpropException($"{optimizerName}: two parameters are named '{name}'; names must be unique so state can be saved by name.");
            if (!seenTensors.Add(parameter)) throw new BackpropException($"{optimizerName}: parameter '{name}' is listed twice; it would be updated twice per step.");
            if (!parameter.IsLeaf) throw new BackpropException($"{optimizerName}: parameter '{name}' was computed by '{parameter.GradFnName}'; only leaf tensors can be optimised.");
            if (!parameter.RequiresGrad) throw new BackpropException($"{optimizerName}: parameter '{name}' does not require gradients; set RequiresGrad = true before creating the optimizer.");
            names.Add(name);
            tensors.Add(parameter);
        }
        if (tensors.Count == 0) throw new BackpropException($"{GetType().Name}: the parameter list is empty.");
        _names = [.. names];
        _parameters = [.. tensors];
        LearningRate = learningRate;
    }

    /// <summary>Names unnamed parameters by position, "0", "1", …, as PyTorch's optimizer state_dict does.</summary>
    protected static IEnumerable<(string Name, Tensor Parameter)> NameByPosition(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        int i = 0;
        foreach (var p in parameters) yield return ((i++).ToString(System.Globalization.CultureInfo.InvariantCulture), p);
    }

    /// <summary>Number of parameter tensors.</summary>
    public int ParameterCount => _parameters.Length;

    public string ParameterName(int index) => _names[index];

    public Tensor Parameter(int index) => _parameters[index];

    /// <summary>The step size η of the update rule (for gradient flows, the integration step h).</summary>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            if (!double.IsFinite(value) || value < 0)
                throw new BackpropException($"{GetType().Name}: the learning rate must be a finite number ≥ 0; got {value}.");
            _learningRate = value;
        }
    }

    /// <summary>Number of completed steps.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Whether <see cref="Step(Func{Tensor}?)"/> must be given a loss closure.</summary>
    public virtual bool RequiresClosure => false;

    /// <summary>One update from the gradients already accumulated in the parameters.</summary>
    public void Step() => Step(null);

    /// <summary>
    /// One update. With a closure, the optimizer calls it to get the loss and gradients (once for
    /// first-order optimizers, several times for gradient flows) and returns the loss at the starting
    /// point; without one, it uses the existing gradients and returns null.
    /// </summary>
    public abstract Tensor? Step(Func<Tensor>? lossClosure);

    /// <summary>
    /// Clears every parameter's gradient: drops it (the default, as PyTorch), or with
    /// <paramref name="setToNone"/> false zeroes it in place, so that a training loop reuses the memory.
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in _parameters) p.ZeroGrad(setToNone);
    }

    /// <summary>
    /// Everything needed to resume: "lr", "step", and per-parameter buffers named
    /// "&lt;parameter&gt;.&lt;buffer&gt;" ("0.weight.exp_avg"). The tensors are copies.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            ["lr"] = Tensor.Scalar(LearningRate, DType.Float64),
            ["step"] = Tensor.Scalar(StepCount, DType.Float64),
        };
        SaveState(new OptimizerStateWriter(state));
        return state;
    }

    /// <summary>
    /// Restores a <see cref="StateDict"/> taken from an optimizer of the same type over parameters of
    /// the same names and shapes. All or nothing: on a missing, extra or mis-shaped entry the state is
    /// left as it was and a BackpropException names the entry.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var before = StateDict();
        try
        {
            Load(state);
        }
        catch (BackpropException)
        {
            Load(before);
            throw;
        }
    }

    private void Load(IReadOnlyDictionary<string, Tensor> state)
    {
        var reader = new OptimizerStateReader(state, GetType().Name);
        LearningRate = reader.Scalar("lr");
        StepCount = checked((long)reader.Scalar("step"));
        LoadState(reader);
        reader.EnsureAllRead();
    }

    /// <summary>Writes the optimizer's own buffers and counters.</summary>
    protected abstract void SaveState(OptimizerStateWriter state);

    /// <summary>Reads back what <see cref="SaveState"/> wrote.</summary>
    protected abstract void LoadState(OptimizerStateReader state);

    /// <summary>A zeroed tensor of the parameter's shape and dtype, for per-parameter state.</summary>
    protected Tensor NewBufferLike(int index) => Tensor.ZerosLike(_parameters[index].Detach());

    /// <summary>The gradient of parameter <paramref name="index"/>, checked against the parameter; null if it has none.</summary>
    protected Tensor? GradientOf(int index)
    {
        var p = _parameters[index];
        var g = p.Grad;
        if (g is null) return null;
        if (g.DType != p.DType || !ShapeUtil.SameShape(g.Shape, p.Shape))
            throw new BackpropException($"{GetType().Name}: the gradient of '{_names[index]}' is {g.DType.Name()} {ShapeUtil.Format(g.Shape)} but the parameter is {p.DType.Name()} {ShapeUtil.Format(p.Shape)}.");
        return g;
    }
}

/// <summary>Collects an optimizer's state as named tensor copies.</summary>
public sealed class OptimizerStateWriter
{
    private readonly Dictionary<string, Tensor> _state;

    internal OptimizerStateWriter(Dictionary<string, Tensor> state) => _state = state;

    public void Scalar(string key, double value) => _state[key] = Tensor.Scalar(value, DType.Float64);

    public void Buffer(string key, Tensor buffer) => _state[key] = buffer.Clone();
}

/// <summary>Reads an optimizer's state back, checking that every entry exists, fits, and is used.</summary>
public sealed class OptimizerStateReader
{
    private readonly IReadOnlyDictionary<string, Tensor> _state;
    private readonly string _owner;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    internal OptimizerStateReader(IReadOnlyDictionary<string, Tensor> state, string owner)
    {
        _state = state;
        _owner = owner;
    }

    public bool Contains(string key) => _state.ContainsKey(key);

    public double Scalar(string key)
    {
        var t = Get(key);
        if (t.Length != 1) throw new BackpropException($"{_owner}.LoadStateDict: '{key}' should hold one value but has shape {ShapeUtil.Format(t.Shape)}.");
        return t.Item();
    }

    /// <summary>Copies the saved entry into <paramref name="target"/>, which must have the same shape and dtype.</summary>
    public void Buffer(string key, Tensor target)
    {
        var t = Get(key);
        if (t.DType != target.DType || !ShapeUtil.SameShape(t.Shape, target.Shape))
            throw new BackpropException($"{_owner}.LoadStateDict: '{key}' is {t.DType.Name()} {ShapeUtil.Format(t.Shape)} but this optimizer expects {target.DType.Name()} {ShapeUtil.Format(target.Shape)}.");
        target.CopyFrom(t);
    }

    private Tensor Get(string key)
    {
        if (!_state.TryGetValue(key, out var t))
            throw new BackpropException($"{_owner}.LoadStateDict: the state has no entry '{key}'. Was it saved from a {_owner} over the same parameters?");
        _read.Add(key);
        return t;
    }

    internal void EnsureAllRead()
    {
        if (_read.Count == _state.Count) return;
        var extra = _state.Keys.Where(k => !_read.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        throw new BackpropException($"{_owner}.LoadStateDict: unexpected entries {string.Join(", ", extra.Select(k => $"'{k}'"))}. Was the state saved from a different optimizer or model?");
    }
}
