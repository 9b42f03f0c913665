using GanSharp.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Training;

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
                throw new GanSharpException(ErrorKind.Checkpoint, $"{Path} has no weights for net{slot.Name}: it was saved by a different " +
                    "configuration.");
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
                throw new GanSharpException(ErrorKind.Checkpoint, $"{Path} has no state for optimizer {name}: it was saved by a different " +
                    "configuration.");
            RunFolder.LoadOptimizerBytes(opt, bytes);
        }
    }

    public void RestoreRng() => torch.random.set_rng_state((Tensor)root["rng"]!);

    /// <summary>The logs' lengths when this state was saved (none for states of earlier versions).</summary>
    public IEnumerable<(string Log, long Length)> LogLengths =>
        root.GetValueOrDefault("logs") is Dictionary<object, object?> logs
            ? logs.Where(kv => kv.Key is string && kv.Value is long).Select(kv => ((string)kv.Key, (long)kv.Value!))
            : [];

    /// <summary>
    /// Refuses weights-only files that differ from the state's networks: a generator replaced after the checkpoint
    /// would otherwise be overwritten by the resumed run without a word. A missing file is fine (the next save
    /// writes it).
    /// </summary>
    public void CheckWeightFiles(RunFolder folder, string which)
    {
        var dicts = (Dictionary<object, object?>)root["nets"]!;
        foreach (var (key, value) in dicts)
        {
            if (key is not string net || value is not OrderedDict saved) continue;
            string path = folder.NetPath(which, net);
            if (!File.Exists(path)) continue;
            using var onDisk = PthReader.ReadStateDict(path);
            string? differs = onDisk.Count != saved.Count ? "its number of tensors" : null;
            foreach (var k in saved.Keys)
            {
                if (differs != null) break;
                var a = (Tensor)saved[k]!;
                if (!onDisk.TryGetValue((string)k, out var b)) differs = $"it has no {k}";
                else if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype
                    || !PthWriter.TensorBytes(a).AsSpan().SequenceEqual(PthWriter.TensorBytes(b))) differs = $"its {k}";
            }
            if (differs is null) continue;
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{path} is not the net{net} saved in {Path} ({differs} differs): it was replaced after iteration {(long)root["iteration"]!}. " +
                $"To continue from the replaced weights with fresh optimizer moments, delete {System.IO.Path.GetFileName(Path)}; to continue from " +
                    $"the checkpoint's own weights, delete or restore {System.IO.Path.GetFileName(path)}.");
        }
    }
}
