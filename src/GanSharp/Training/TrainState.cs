using GanSharp.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Training;

/// <summary>Where a run stands: the epoch in progress, the next batch in it, and counters.</summary>
public sealed record TrainPosition(int Epoch, int BatchIndex, long Iteration, long EpochImages, double ElapsedSeconds);

/// <summary>
/// The run folder of the reference (<c>checkpoints/&lt;name&gt;/</c>): weights-only <c>{latest|N}_net_{G,D,E}.pth</c>
/// that PyTorch reads, plus our own <c>{latest|N}_state.pth</c> with everything exact resume needs (weights, optimizer
/// moments and steps, RNG state, data position, counters, recipe extras, options). The state file is written first
/// and alone holds a resumable point, so a run killed between any two writes still resumes from a consistent state.
/// </summary>
public sealed class RunFolder(string dir)
{
    public const string StateFormat = "gansharp-train-state";

    public string Dir { get; } = dir;

    public string NetPath(string which, string net) => Path.Combine(Dir, $"{which}_net_{net}.pth");

    public string StatePath(string which) => Path.Combine(Dir, $"{which}_state.pth");

    public string OptionsJsonPath => Path.Combine(Dir, "options.json");

    public string OptTxtPath => Path.Combine(Dir, "opt.txt");

    public string LossLogPath => Path.Combine(Dir, "loss_log.txt");

    public string StatsPath => Path.Combine(Dir, "stats.jsonl");

    public string WebDir => Path.Combine(Dir, "web");

    /// <summary>Saves the full training state, then the weights-only files.</summary>
    public void Save(
        string which,
        string family,
        IReadOnlyList<NetworkSlot> nets,
        IReadOnlyDictionary<string, OptimizerHelper> optimizers,
        TrainPosition position,
        Dictionary<object, object?> extra,
        string optionsJson)
    {
        Directory.CreateDirectory(Dir);
        var netDicts = new Dictionary<object, object?>();
        var weightDicts = new List<(string Name, StateDict Sd)>();
        try
        {
            foreach (var slot in nets)
            {
                var sd = StateDict.From(slot.Module);
                weightDicts.Add((slot.Name, sd));
                netDicts[slot.Name] = sd;
            }
            var optDicts = new Dictionary<object, object?>();
            foreach (var (name, opt) in optimizers)
            {
                using var ms = new MemoryStream();
                using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) opt.save_state_dict(w);
                optDicts[name] = torch.tensor(ms.ToArray());
            }
            var state = new Dictionary<object, object?>
            {
                ["format"] = StateFormat,
                ["version"] = 1L,
                ["family"] = family,
                ["epoch"] = (long)position.Epoch,
                ["batch_index"] = (long)position.BatchIndex,
                ["iteration"] = position.Iteration,
                ["epoch_images"] = position.EpochImages,
                ["elapsed_seconds"] = position.ElapsedSeconds,
                ["nets"] = netDicts,
                ["optimizers"] = optDicts,
                ["rng"] = torch.random.get_rng_state(),
                ["extra"] = extra,
                ["options"] = optionsJson,
            };
            PthWriter.Write(StatePath(which), state);
            foreach (var t in optDicts.Values.OfType<Tensor>()) t.Dispose();
            ((Tensor)state["rng"]!).Dispose();
            foreach (var (name, sd) in weightDicts) PthWriter.WriteStateDict(NetPath(which, name), sd);
            AtomicFile.WriteAllText(Path.Combine(Dir, "iter.txt"), $"{position.Epoch},{position.EpochImages}\n");
        }
        finally
        {
            foreach (var (_, sd) in weightDicts) sd.Dispose();
        }
    }

    /// <summary>The training state saved under <paramref name="which"/>; null when there is none.</summary>
    public LoadedState? TryLoad(string which)
    {
        string path = StatePath(which);
        if (!File.Exists(path)) return null;
        var root = PthReader.Read(path) as Dictionary<object, object?>;
        if (root is null || root.GetValueOrDefault("format") as string != StateFormat)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{path} is not a GanSharp training state: delete it or pick another --which-epoch.");
        return new LoadedState(path, root);
    }

    public bool HasState(string which) => File.Exists(StatePath(which));
}

/// <summary>A training state read back from disk.</summary>
public sealed class LoadedState(string path, Dictionary<object, object?> root)
{
    public string Path { get; } = path;

    public string Family => (string)root["family"]!;

    public string OptionsJson => (string)root["options"]!;

    public TrainPosition Position => new(
        (int)(long)root["epoch"]!,
        (int)(long)root["batch_index"]!,
        (long)root["iteration"]!,
        (long)root["epoch_images"]!,
        (double)root["elapsed_seconds"]!);

    public Dictionary<object, object?> Extra => root["extra"] as Dictionary<object, object?> ?? [];

    public void RestoreNetworks(IReadOnlyList<NetworkSlot> nets)
    {
        var dicts = (Dictionary<object, object?>)root["nets"]!;
        foreach (var slot in nets)
        {
            if (!dicts.TryGetValue(slot.Name, out var od) || od is not OrderedDict o)
                throw new GanSharpException(ErrorKind.Checkpoint, $"{Path} has no weights for net{slot.Name}: it was saved by a different configuration.");
            using var sd = new StateDict();
            foreach (var k in o.Keys) sd.Add((string)k, ((Tensor)o[k]!).alias());
            ModuleState.Load(slot.Module, sd, Path, "net" + slot.Name);
        }
    }

    public void RestoreOptimizers(IReadOnlyDictionary<string, OptimizerHelper> optimizers)
    {
        var dicts = (Dictionary<object, object?>)root["optimizers"]!;
        foreach (var (name, opt) in optimizers)
        {
            if (!dicts.TryGetValue(name, out var t) || t is not Tensor bytes)
                throw new GanSharpException(ErrorKind.Checkpoint, $"{Path} has no state for optimizer {name}: it was saved by a different configuration.");
            using var ms = new MemoryStream(bytes.bytes.ToArray());
            using var r = new BinaryReader(ms);
            opt.load_state_dict(r);
        }
    }

    public void RestoreRng() => torch.random.set_rng_state((Tensor)root["rng"]!);
}
