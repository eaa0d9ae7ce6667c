using Backprop.Data;
using Backprop.Serialization;

namespace Backprop.Training;

/// <summary>
/// Resumable checkpoints of a whole <see cref="TrainingPipeline"/> run: which phase it is in (0: fitting
/// with early stopping, 1: the refit on training + validation rows, which also keeps the finished fit's
/// state under "fit."), the trainer's full state (<see cref="Trainer.CheckpointState"/>), and the
/// settings fingerprint that a resumed run must match. Only rank 0 of a distributed run writes.
/// </summary>
internal sealed class RunCheckpoints(TrainSettings settings, TabularData data)
{
    private const string Format = "backprop-run-checkpoint/1";
    private readonly string _fingerprint = settings.Fingerprint(data);

    /// <summary>A callback that runs <paramref name="onEpoch"/> and, every CheckpointEvery epochs, <paramref name="save"/>.</summary>
    public Action<EpochMetrics>? Every(Action<EpochMetrics>? onEpoch, Action<EpochMetrics> save)
    {
        if (settings.CheckpointEvery <= 0) return onEpoch;
        return m =>
        {
            if (m.Epoch % settings.CheckpointEvery == 0) save(m);
            onEpoch?.Invoke(m);
        };
    }

    public void Save(int phase, Dictionary<string, Tensor> state, Dictionary<string, Tensor>? finishedFit = null)
    {
        if (settings.Training.Communicator.Rank != 0) return;
        var all = new Dictionary<string, Tensor>(state, StringComparer.Ordinal);
        if (finishedFit is not null)
            foreach (var (k, v) in finishedFit) all["fit." + k] = v;
        all["pipeline.phase"] = Tensor.Scalar(phase, DType.Float64);
        ModelFile.WriteCheckpoint(settings.CheckpointPath!, all, new Dictionary<string, string>
        {
            ["format"] = Format,
            ["settings"] = _fingerprint,
        });
    }

    /// <summary>The checkpoint to resume, or null when not resuming.</summary>
    public (int Phase, Dictionary<string, Tensor> State)? LoadForResume()
    {
        if (!settings.Resume) return null;
        var path = settings.CheckpointPath!;
        if (!File.Exists(path)) throw new BackpropException($"cannot resume: the checkpoint '{path}' does not exist (it is written every --checkpoint-every epochs).");
        var file = SafeTensors.Read(path);
        var meta = file.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != Format)
            throw new BackpropException($"cannot resume from '{path}': it is not a training checkpoint written by backprop train.");
        var saved = meta.GetValueOrDefault("settings", "");
        if (saved != _fingerprint)
        {
            var now = _fingerprint.Split(';');
            var then = saved.Split(';');
            var differ = now.Where(x => !then.Contains(x)).ToArray();
            throw new BackpropException($"cannot resume from '{path}': it was written with other settings ({string.Join(", ", differ)} now; the checkpoint has {string.Join(", ", then.Where(x => !now.Contains(x)))}). Resume with the same options.");
        }
        var state = ModelFile.CheckpointTensors(file);
        int phase = (int)state["pipeline.phase"].Item();
        return (phase, state);
    }

    public static Dictionary<string, Tensor> Prefixed(IReadOnlyDictionary<string, Tensor> state, string prefix) =>
        state.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
             .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
}
