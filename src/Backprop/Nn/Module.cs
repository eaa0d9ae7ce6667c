using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text;
using Backprop.IO;
using Backprop.Serialization;

namespace Backprop.Nn;

/// <summary>Marks a tensor field or auto-property of a <see cref="Module"/> as a buffer (state that is saved but not trained, e.g. BatchNorm's running mean).</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class BufferAttribute : Attribute;

/// <summary>Keeps a tensor or module field or auto-property of a <see cref="Module"/> out of its parameters, buffers and children (a cache, a shared constant).</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class NotRegisteredAttribute : Attribute;

/// <summary>
/// A piece of a network in PyTorch's style: a function of one tensor that owns parameters, buffers and
/// submodules, all found by name.
/// </summary>
/// <remarks>
/// <para>Registration. A module's members are found by reflection, once per type: every instance field
/// and auto-property (public or not) of type <see cref="Tensor"/> is a parameter (a buffer with
/// <see cref="BufferAttribute"/>), of a <see cref="Module"/> type a submodule, and of an array or list of
/// modules a numbered list of submodules ("blocks.0", "blocks.1", …, PyTorch's <c>ModuleList</c>).
/// Members with <see cref="NotRegisteredAttribute"/> and null values are skipped. Names are the member
/// names in snake_case without leading underscores (<c>RunningMean</c> → <c>running_mean</c>,
/// <c>_encoder</c> → <c>encoder</c>). <see cref="RegisterParameter"/>, <see cref="RegisterBuffer"/> and
/// <see cref="RegisterModule"/> add members under a name of your choosing (Sequential's "0", "1", …).</para>
/// <para>Order. Within one module: members of base classes before those of derived classes, each class's
/// members in declaration order, then explicitly registered members in the order registered. Like
/// PyTorch's <c>named_parameters()</c>, a module lists its own parameters first and then each child's,
/// depth first, with dotted names ("encoder.0.weight"). A tensor reached twice is listed once.</para>
/// </remarks>
public abstract class Module
{
    private List<(string Name, MemberKind Kind, object? Value)>? _registered;

    /// <summary>Applies the module to a batch.</summary>
    public abstract Tensor Forward(Tensor x);

    /// <summary>Whether the module is in training mode (the default); Dropout and BatchNorm behave differently in evaluation mode.</summary>
    public bool Training { get; private set; } = true;

    // ---- registration ------------------------------------------------------------------------------

    /// <summary>Adds a trainable tensor under <paramref name="name"/> and returns it (RequiresGrad is set).</summary>
    protected Tensor RegisterParameter(string name, Tensor parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        parameter.RequiresGrad = true;
        Register(name, MemberKind.Parameter, parameter);
        return parameter;
    }

    /// <summary>Adds a buffer (saved in the state dict, not trained) under <paramref name="name"/> and returns it.</summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        Register(name, MemberKind.Buffer, buffer);
        return buffer;
    }

    /// <summary>Adds a submodule under <paramref name="name"/> and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        Register(name, MemberKind.Child, module);
        return module;
    }

    private void Register(string name, MemberKind kind, object value)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.', StringComparison.Ordinal))
            throw new BackpropException($"{GetType().Name}: a member name must be non-empty and contain no '.'; got '{name}'.");
        _registered ??= [];
        foreach (var (existing, _, _) in Members())
            if (existing == name)
                throw new BackpropException($"{GetType().Name}: a member named '{name}' is already registered.");
        _registered.Add((name, kind, value));
    }

    private enum MemberKind { Parameter, Buffer, Child, ChildList }

    private sealed record Slot(string Name, MemberKind Kind, FieldInfo Field);

    private static readonly ConcurrentDictionary<Type, Slot[]> s_slots = new();

    /// <summary>The registrable fields of a module type, base classes first, each in declaration order (metadata order).</summary>
    private static Slot[] SlotsOf(Type type) => s_slots.GetOrAdd(type, static t =>
    {
        var chain = new List<Type>();
        for (var c = t; c is not null && c != typeof(Module); c = c.BaseType) chain.Add(c);
        chain.Reverse();
        var slots = new List<Slot>();
        foreach (var c in chain)
        {
            var fields = c.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);
            Array.Sort(fields, (a, b) => a.MetadataToken.CompareTo(b.MetadataToken));
            foreach (var f in fields)
            {
                MemberKind? kind = f.FieldType == typeof(Tensor) ? MemberKind.Parameter
                    : typeof(Module).IsAssignableFrom(f.FieldType) ? MemberKind.Child
                    : typeof(IEnumerable<Module>).IsAssignableFrom(f.FieldType) ? MemberKind.ChildList
                    : null;
                if (kind is null) continue;
                string memberName = f.Name;
                MemberInfo annotated = f;
                // An auto-property's backing field is "<Name>k__BackingField"; the attributes sit on the property.
                if (memberName.StartsWith('<') && memberName.IndexOf('>') is int close and > 0)
                {
                    memberName = memberName[1..close];
                    annotated = c.GetProperty(memberName, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly) ?? (MemberInfo)f;
                }
                if (annotated.IsDefined(typeof(NotRegisteredAttribute)) || f.IsDefined(typeof(NotRegisteredAttribute))) continue;
                if (kind == MemberKind.Parameter && (annotated.IsDefined(typeof(BufferAttribute)) || f.IsDefined(typeof(BufferAttribute))))
                    kind = MemberKind.Buffer;
                slots.Add(new Slot(SnakeCase(memberName), kind.Value, f));
            }
        }
        return [.. slots];
    });

    /// <summary>"RunningMean" → "running_mean", "_encoder" → "encoder", "fc1" → "fc1".</summary>
    internal static string SnakeCase(string name)
    {
        name = name.TrimStart('_');
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char ch = name[i];
            if (char.IsUpper(ch))
            {
                bool boundary = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1])
                    || (i + 1 < name.Length && char.IsUpper(name[i - 1]) && char.IsLower(name[i + 1])));
                if (boundary && sb.Length > 0 && sb[^1] != '_') sb.Append('_');
                sb.Append(char.ToLowerInvariant(ch));
            }
            else sb.Append(ch);
        }
        return sb.ToString();
    }

    /// <summary>This module's own members (not its children's) in registration order, nulls skipped.</summary>
    private IEnumerable<(string Name, MemberKind Kind, object Value)> Members()
    {
        foreach (var slot in SlotsOf(GetType()))
        {
            var value = slot.Field.GetValue(this);
            if (value is null) continue;
            if (slot.Kind == MemberKind.ChildList)
            {
                int i = 0;
                foreach (var child in (IEnumerable<Module>)value)
                {
                    if (child is not null) yield return ($"{slot.Name}.{i}", MemberKind.Child, child);
                    i++;
                }
            }
            else yield return (slot.Name, slot.Kind, value);
        }
        if (_registered is null) yield break;
        foreach (var (name, kind, value) in _registered)
            if (value is not null) yield return (name, kind, value);
    }

    /// <summary>Points every member of this module that holds <paramref name="old"/> (field, auto-property or explicit registration) at <paramref name="replacement"/>.</summary>
    private void ReplaceTensor(Tensor old, Tensor replacement)
    {
        foreach (var slot in SlotsOf(GetType()))
            if (slot.Kind is MemberKind.Parameter or MemberKind.Buffer && ReferenceEquals(slot.Field.GetValue(this), old))
                slot.Field.SetValue(this, replacement);
        for (int i = 0; _registered is not null && i < _registered.Count; i++)
            if (ReferenceEquals(_registered[i].Value, old))
                _registered[i] = (_registered[i].Name, _registered[i].Kind, replacement);
    }

    // ---- traversal ---------------------------------------------------------------------------------

    /// <summary>The direct submodules with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        foreach (var (name, kind, value) in Members())
            if (kind == MemberKind.Child) yield return (name, (Module)value);
    }

    /// <summary>The direct submodules.</summary>
    public IEnumerable<Module> Children() => NamedChildren().Select(c => c.Module);

    /// <summary>This module and every module below it, depth first, with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        return Walk(this, "", seen);

        static IEnumerable<(string, Module)> Walk(Module m, string prefix, HashSet<Module> seen)
        {
            if (!seen.Add(m)) yield break;
            yield return (prefix, m);
            foreach (var (name, child) in m.NamedChildren())
                foreach (var item in Walk(child, prefix.Length == 0 ? name : prefix + "." + name, seen))
                    yield return item;
        }
    }

    /// <summary>This module and every module below it.</summary>
    public IEnumerable<Module> Modules() => NamedModules().Select(m => m.Module);

    private IEnumerable<(string Name, Tensor Tensor)> NamedTensors(MemberKind wanted)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, module) in NamedModules())
            foreach (var (name, kind, value) in module.Members())
                if (kind == wanted && seen.Add((Tensor)value))
                    yield return (prefix.Length == 0 ? name : prefix + "." + name, (Tensor)value);
    }

    /// <summary>Every trainable tensor with its dotted name, in the order described on <see cref="Module"/>.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters() => NamedTensors(MemberKind.Parameter);

    /// <summary>The trainable tensors in the order of <see cref="NamedParameters"/>.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Every buffer (saved, not trained) with its dotted name.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers() => NamedTensors(MemberKind.Buffer);

    /// <summary>The buffers in the order of <see cref="NamedBuffers"/>.</summary>
    public IEnumerable<Tensor> Buffers() => NamedBuffers().Select(b => b.Buffer);

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount
    {
        get
        {
            long count = 0;
            foreach (var (_, parameter) in NamedParameters()) count += parameter.Length;
            return count;
        }
    }

    /// <summary>
    /// Clears every parameter's gradient: drops it (PyTorch's <c>zero_grad(set_to_none=True)</c>), or with
    /// <paramref name="setToNone"/> false zeroes it in place for the next backward pass to add into.
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var (_, parameter) in NamedParameters()) parameter.ZeroGrad(setToNone);
    }

    // ---- modes and dtype ---------------------------------------------------------------------------

    /// <summary>Sets training (true) or evaluation mode on this module and every module below it; returns this.</summary>
    public Module Train(bool training = true)
    {
        foreach (var m in Modules()) m.Training = training;
        return this;
    }

    /// <summary>Evaluation mode (<c>Train(false)</c>): Dropout passes values through, BatchNorm uses its running statistics.</summary>
    public Module Eval() => Train(false);

    /// <summary>
    /// Converts every parameter and buffer to <paramref name="dtype"/> in place (new tensors replace the
    /// old ones, so build optimizers afterwards, as in PyTorch); returns this.
    /// </summary>
    public Module To(DType dtype)
    {
        // One replacement per tensor, so a tensor shared by two members (or two modules) stays shared.
        var converted = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var module in Modules().ToArray())
            foreach (var (_, kind, value) in module.Members().ToArray())
            {
                if (kind is not (MemberKind.Parameter or MemberKind.Buffer)) continue;
                var t = (Tensor)value;
                if (t.DType == dtype) continue;
                if (!converted.TryGetValue(t, out var replacement))
                {
                    replacement = t.Detach().To(dtype);
                    if (kind == MemberKind.Parameter) replacement.RequiresGrad = true;
                    converted[t] = replacement;
                }
                module.ReplaceTensor(t, replacement);
            }
        return this;
    }

    // ---- state dicts -------------------------------------------------------------------------------

    /// <summary>
    /// Parameters and buffers by dotted name (PyTorch's <c>state_dict()</c>): detached tensors sharing
    /// the module's storage, parameters and buffers of each module in registration order.
    /// </summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, module) in NamedModules())
            foreach (var (name, kind, value) in module.Members())
                if (kind is MemberKind.Parameter or MemberKind.Buffer && seen.Add((Tensor)value))
                    state[prefix.Length == 0 ? name : prefix + "." + name] = ((Tensor)value).Detach();
        return state;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into this module's parameters and buffers (converted
    /// to each one's dtype). Entries of the wrong shape are always an error; with
    /// <paramref name="strict"/>, so are missing and unexpected names. The error lists every problem at
    /// once; nothing is copied unless all entries can be. Returns the names that were missing and
    /// unexpected (empty when strict).
    /// </summary>
    public StateDictLoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var misShaped = new List<string>();
        foreach (var (name, target) in own)
            if (state.TryGetValue(name, out var source) && !ShapeUtil.SameShape(source.Dims, target.Dims))
                misShaped.Add($"'{name}': the file has {ShapeUtil.Format(source.Dims)}, the model {ShapeUtil.Format(target.Dims)}");
        if (misShaped.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            var sb = new StringBuilder($"{GetType().Name}.LoadStateDict: the state does not fit this model");
            if (missing.Count > 0) sb.Append($"; missing {missing.Count}: ").Append(string.Join(", ", missing.Select(k => $"'{k}'")));
            if (strict && unexpected.Count > 0) sb.Append($"; unexpected {unexpected.Count}: ").Append(string.Join(", ", unexpected.Select(k => $"'{k}'")));
            if (misShaped.Count > 0) sb.Append($"; wrong shape {misShaped.Count}: ").Append(string.Join(", ", misShaped));
            sb.Append(". Build the same architecture the state was saved from");
            if (misShaped.Count == 0) sb.Append(", or pass strict: false to load the entries that match");
            sb.Append('.');
            throw new StateDictException(sb.ToString(), missing, strict ? unexpected : [], misShaped);
        }
        using (Autodiff.NoGrad())
        {
            foreach (var (name, target) in own)
                if (state.TryGetValue(name, out var source))
                {
                    target.CopyFrom(source.Detach().To(target.DType));
                }
        }
        return new StateDictLoadResult(missing, unexpected);
    }

    /// <summary>
    /// Writes <see cref="StateDict"/> as a safetensors file under PyTorch's names, atomically; PyTorch
    /// reads it with <c>model.load_state_dict(safetensors.torch.load_file(path))</c>.
    /// </summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = StateDict().Select(kv => kv.Value.DType == DType.Float32
            ? new TensorEntry(kv.Key, kv.Value.ToFloatArray(), kv.Value.Shape.ToArray())
            : new TensorEntry(kv.Key, kv.Value.ToDoubleArray(), kv.Value.Shape.ToArray()));
        AtomicFile.WriteAllBytes(path, SafeTensors.Serialize(entries, metadata));
    }

    /// <summary>
    /// Reads a safetensors state dict (from <see cref="Save"/> or PyTorch's <c>save_file(model.state_dict())</c>)
    /// into this module with <see cref="LoadStateDict"/>; returns this module.
    /// </summary>
    public Module Load(string path, bool strict = true)
    {
        var file = SafeTensors.Read(path);
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in file.Tensors)
            state[entry.Name] = entry.DType == DType.Float32
                ? Tensor.FromArray(entry.ToFloatArray(), entry.Shape.ToArray())
                : Tensor.FromArray(entry.ToDoubleArray(), entry.Shape.ToArray(), DType.Float64);
        try
        {
            LoadStateDict(state, strict);
        }
        catch (StateDictException e)
        {
            throw new StateDictException($"{Path.GetFileName(path)}: {e.Message}", e.Missing, e.Unexpected, e.WrongShape);
        }
        return this;
    }

    // ---- printing ----------------------------------------------------------------------------------

    /// <summary>The arguments shown inside the parentheses of <see cref="ToString"/> (PyTorch's <c>extra_repr</c>).</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>
    /// The module tree as PyTorch prints it: <c>Linear(in_features=4, out_features=3, bias=True)</c> for a
    /// leaf, and for a container each child on its own line as <c>(name): …</c>, indented by two spaces.
    /// </summary>
    public override string ToString()
    {
        var children = NamedChildren().ToList();
        string extra = ExtraRepr();
        string typeName = GetType().Name;
        int tick = typeName.IndexOf('`');
        if (tick >= 0) typeName = typeName[..tick];
        if (children.Count == 0) return $"{typeName}({extra})";
        var sb = new StringBuilder(typeName).Append("(\n");
        if (extra.Length > 0) sb.Append("  ").Append(extra.Replace("\n", "\n  ", StringComparison.Ordinal)).Append('\n');
        foreach (var (name, child) in children)
            sb.Append("  (").Append(name).Append("): ").Append(child.ToString().Replace("\n", "\n  ", StringComparison.Ordinal)).Append('\n');
        return sb.Append(')').ToString();
    }

    /// <summary>The architecture (as <see cref="ToString"/>) followed by every parameter's name, shape and size, and the total.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.AppendLine(ToString());
        var rows = new List<(string Name, string Shape, string Count)>();
        foreach (var (name, parameter) in NamedParameters())
            rows.Add((name, ShapeUtil.Format(parameter.Shape), parameter.Length.ToString("N0", CultureInfo.InvariantCulture)));
        if (rows.Count == 0)
        {
            sb.Append("No trainable parameters.");
            return sb.ToString();
        }
        int nameWidth = Math.Max(9, rows.Max(r => r.Name.Length));
        int shapeWidth = Math.Max(5, rows.Max(r => r.Shape.Length));
        sb.Append("parameter".PadRight(nameWidth)).Append("  ").Append("shape".PadRight(shapeWidth)).AppendLine("  count");
        foreach (var (name, shape, count) in rows)
            sb.Append(name.PadRight(nameWidth)).Append("  ").Append(shape.PadRight(shapeWidth)).Append("  ").AppendLine(count);
        sb.Append("total: ").Append(ParameterCount.ToString("N0", CultureInfo.InvariantCulture)).Append(" trainable parameters");
        return sb.ToString();
    }
}

/// <summary>What a non-strict <see cref="Module.LoadStateDict"/> left out (PyTorch's <c>_IncompatibleKeys</c>).</summary>
public sealed record StateDictLoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);

/// <summary>A state dict that does not fit a module; the message lists every missing, unexpected and mis-shaped entry.</summary>
public sealed class StateDictException(string message, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> wrongShape)
    : BackpropException(message)
{
    public IReadOnlyList<string> Missing { get; } = missing;
    public IReadOnlyList<string> Unexpected { get; } = unexpected;
    public IReadOnlyList<string> WrongShape { get; } = wrongShape;
}
