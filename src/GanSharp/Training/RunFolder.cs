using GanSharp.Options;
using GanSharp.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Training;

/// <summary>
/// The run folder of the reference (<c>checkpoints/&lt;name&gt;/</c>): weights-only <c>{latest|N}_net_{G,D,E}.pth</c>
/// that PyTorch reads, plus our own <c>{latest|N}_state.pth</c> with everything exact resume needs (weights, optimizer
/// moments and steps, RNG state, data position, counters, recipe extras, options, log lengths).
/// </summary>
/// <remarks>
/// A checkpoint is one unit: the state, the weights-only files, <c>iter.txt</c>, the options files and
/// <c>{which}_checkpoint.json</c> of one iteration, or none of them. Every file is first written to a temporary
/// sibling and flushed; then <c>checkpoint.journal</c> (itself written by a rename, the commit point) lists the
/// renames, which follow; the journal is deleted last. A run killed before the commit point leaves the previous
/// checkpoint whole (its temporary files are removed by <see cref="Recover"/>); one killed after it is completed
/// by <see cref="Recover"/>, which every trainer runs when it takes the folder and which <c>test</c> waits for.
/// </remarks>
public sealed class RunFolder(string dir)
{
    public const string StateFormat = "gansharp-train-state";
    public const string JournalName = "checkpoint.journal";
    private const string JournalHeader = "gansharp-checkpoint-journal 1";

    /// <summary>The logs a resume rewinds to their length at the checkpoint, so a resumed log reads as an uninterrupted one.</summary>
    public static readonly string[] LogFiles = ["loss_log.txt", "stats.jsonl", "doctor_log.txt"];

    public string Dir { get; } = dir;

    public string NetPath(string which, string net) => Path.Combine(Dir, $"{which}_net_{net}.pth");

    public string StatePath(string which) => Path.Combine(Dir, $"{which}_state.pth");

    /// <summary>The checkpoint's manifest: iteration, epoch and files of the unit (what <c>test</c> names).</summary>
    public string ManifestPath(string which) => Path.Combine(Dir, $"{which}_checkpoint.json");

    public string JournalPath => Path.Combine(Dir, JournalName);

    public string OptionsJsonPath => Path.Combine(Dir, "options.json");

    public string OptTxtPath => Path.Combine(Dir, "opt.txt");

    public string LossLogPath => Path.Combine(Dir, "loss_log.txt");

    public string StatsPath => Path.Combine(Dir, "stats.jsonl");

    public string WebDir => Path.Combine(Dir, "web");

    /// <summary>
    /// Saves one checkpoint unit: the full training state, the weights-only files, iter.txt, the given text files
    /// (options.json, opt.txt) and the manifest. Refuses up front, with the space needed, when the disk cannot hold it.
    /// </summary>
    public void Save(
        string which,
        string family,
        IReadOnlyList<NetworkSlot> nets,
        IReadOnlyDictionary<string, OptimizerHelper> optimizers,
        TrainPosition position,
        Dictionary<object, object?> extra,
        string optionsJson,
        IReadOnlyDictionary<string, string>? texts = null)
    {
        using var faults = FaultPoints.Checkpoint();
        Directory.CreateDirectory(Dir);
        var netDicts = new Dictionary<object, object?>();
        var weightDicts = new List<(string Name, StateDict Sd)>();
        var pending = new List<(string Final, string Temp)>();
        Dictionary<object, object?>? run = null;
        try
        {
            foreach (var slot in nets)
            {
                var sd = StateDict.From(slot.Module);
                weightDicts.Add((slot.Name, sd));
                netDicts[slot.Name] = sd;
            }
            run = RunState(optimizers, position, extra);
            var logs = new Dictionary<object, object?>();
            foreach (var log in LogFiles)
            {
                string path = Path.Combine(Dir, log);
                if (File.Exists(path)) logs[log] = new FileInfo(path).Length;
            }
            var state = new Dictionary<object, object?> { ["format"] = StateFormat, ["version"] = 1L, ["family"] = family };
            foreach (var key in PositionKeys) state[key] = run[key];
            state["nets"] = netDicts;
            foreach (var key in new[] { "optimizers", "rng", "extra" }) state[key] = run[key];
            state["options"] = optionsJson;
            state["logs"] = logs;
            string advice = Advice(which);
            CheckSpace(which, weightDicts, (Dictionary<object, object?>)run["optimizers"]!, advice);
            WriteUnit(which, position, texts, state, weightDicts, pending, advice);
            pending.Clear();
        }
        finally
        {
            // Before the commit point nothing of the previous checkpoint has changed: the new files simply go.
            foreach (var (_, temp) in pending)
                if (File.Exists(temp)) File.Delete(temp);
            if (run != null) DisposeRunState(run);
            foreach (var (_, sd) in weightDicts) sd.Dispose();
        }
    }

    private static readonly string[] PositionKeys = ["epoch", "batch_index", "iteration", "epoch_images", "elapsed_seconds"];

    /// <summary>
    /// A training state without the networks: the position, the optimizers' state, the torch generator and the extras,
    /// under the keys <see cref="LoadedState"/> reads. What it made (optimizer bytes, generator) goes with
    /// <see cref="DisposeRunState"/>; <paramref name="extra"/> stays the caller's.
    /// </summary>
    internal static Dictionary<object, object?> RunState(IReadOnlyDictionary<string, OptimizerHelper> optimizers, TrainPosition position,
        Dictionary<object, object?> extra)
    {
        var optDicts = new Dictionary<object, object?>();
        foreach (var (name, opt) in optimizers) optDicts[name] = OptimizerBytes(opt);
        return new Dictionary<object, object?>
        {
            ["epoch"] = (long)position.Epoch,
            ["batch_index"] = (long)position.BatchIndex,
            ["iteration"] = position.Iteration,
            ["epoch_images"] = position.EpochImages,
            ["elapsed_seconds"] = position.ElapsedSeconds,
            ["optimizers"] = optDicts,
            ["rng"] = torch.random.get_rng_state(),
            ["extra"] = extra,
        };
    }

    internal static void DisposeRunState(Dictionary<object, object?> run)
    {
        foreach (var t in ((Dictionary<object, object?>)run["optimizers"]!).Values.OfType<Tensor>()) t.Dispose();
        ((Tensor)run["rng"]!).Dispose();
    }

    private string Advice(string which) => HasState(which)
        ? $"free some space or move the run folder to another disk, then resume with {RunOptionSpecs.ContinueTrain.Flag}: the previous "
            + $"{which} checkpoint is intact."
        : $"free some space or choose {RunOptionSpecs.CheckpointsDir.Flag} on another disk, then run the command again.";

    private void WriteUnit(string which, TrainPosition position, IReadOnlyDictionary<string, string>? texts,
        Dictionary<object, object?> state, List<(string Name, StateDict Sd)> weightDicts, List<(string Final, string Temp)> pending, string advice)
    {
        void Add(string path, Action<Stream> write) => pending.Add((path, AtomicFile.WriteTemp(path, write, advice)));
        void AddText(string path, string text) => Add(path, s => s.Write(new System.Text.UTF8Encoding(false).GetBytes(text)));

        Add(StatePath(which), s => PthWriter.Write(s, state));
        foreach (var (name, sd) in weightDicts) Add(NetPath(which, name), s => PthWriter.Write(s, sd));
        AddText(Path.Combine(Dir, "iter.txt"), $"{position.Epoch},{position.EpochImages}\n");
        foreach (var (file, text) in texts ?? new Dictionary<string, string>()) AddText(Path.Combine(Dir, file), text);
        var manifest = new System.Text.Json.Nodes.JsonObject
        {
            ["which"] = which,
            ["iteration"] = position.Iteration,
            ["epoch"] = position.Epoch,
            ["epoch_images"] = position.EpochImages,
            ["files"] = new System.Text.Json.Nodes.JsonArray(
                pending.Select(p => (System.Text.Json.Nodes.JsonNode?)Path.GetFileName(p.Final)).ToArray()),
        };
        AddText(ManifestPath(which), manifest.ToJsonString() + "\n");
        Commit(pending);
    }

    // The weights dominate a checkpoint: the state holds them once more, plus the optimizer moments.
    private void CheckSpace(string which, List<(string Name, StateDict Sd)> weights, Dictionary<object, object?> optimizers, string advice)
    {
        long bytes = 1 << 20;
        foreach (var (_, sd) in weights)
            foreach (var (_, t) in sd.Entries) bytes += 2 * t.NumberOfElements * t.ElementSize;
        foreach (var t in optimizers.Values.OfType<Tensor>()) bytes += t.NumberOfElements;
        long free = AtomicFile.FreeBytes(Dir);
        if (free >= 0 && free < bytes)
            throw AtomicFile.DiskFull(Dir, $"the {which} checkpoint", bytes, advice: advice);
    }

    private void Commit(List<(string Final, string Temp)> files)
    {
        var journal = new System.Text.StringBuilder(JournalHeader).Append('\n');
        foreach (var (final, temp) in files) journal.Append(Path.GetFileName(final)).Append('\t').Append(Path.GetFileName(temp)).Append('\n');
        AtomicFile.WriteAllText(JournalPath, journal.ToString());
        // Past the commit point the temporary files are the checkpoint: nothing may delete them any more.
        var names = files.Select(f => (Path.GetFileName(f.Final), Path.GetFileName(f.Temp))).ToList();
        files.Clear();
        FaultPoints.Reached("committed");
        RollForward(names);
    }

    private void RollForward(List<(string Final, string Temp)> files)
    {
        foreach (var (final, temp) in files)
        {
            string t = Path.Combine(Dir, temp);
            if (!File.Exists(t)) continue; // renamed before a crash
            File.Move(t, Path.Combine(Dir, final), overwrite: true);
            FaultPoints.Reached("renamed " + final);
        }
        File.Delete(JournalPath);
    }

    /// <summary>
    /// Takes the folder for a trainer: its <see cref="RunLock"/> (held until disposed), then <see cref="Recover"/>,
    /// whose notes go to <paramref name="notice"/>. Both runners start here, before they read any checkpoint.
    /// </summary>
    public RunLock TakeForTraining(Action<string>? notice = null)
    {
        var held = RunLock.Acquire(Dir);
        try
        {
            foreach (var n in Recover()) notice?.Invoke(n);
            return held;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>The refusal of a new run over a folder whose latest checkpoint it would overwrite.</summary>
    public GanSharpException HoldsARun() =>
        new(ErrorKind.Checkpoint, $"{Dir} already holds a run: pass {RunOptionSpecs.ContinueTrain.Flag} to resume it, or choose another "
            + $"{RunOptionSpecs.Name.Flag}.");

    /// <summary>
    /// Completes a checkpoint whose commit was interrupted and removes temporary files that killed writers left
    /// behind. Only the holder of the folder's <see cref="RunLock"/> calls it. Returns what it did, for a note.
    /// </summary>
    public IReadOnlyList<string> Recover()
    {
        var notes = new List<string>();
        if (!Directory.Exists(Dir)) return notes;
        if (File.Exists(JournalPath))
        {
            var files = ReadJournal();
            RollForward(files);
            notes.Add($"completed the checkpoint that was being saved when the last run stopped ({string.Join(", ", files.Select(f => f.Final))}).");
        }
        long freed = 0;
        int removed = 0;
        foreach (var dir in new[] { Dir, WebDir, Path.Combine(WebDir, "images") })
        {
            if (!Directory.Exists(dir)) continue;
            foreach (var file in Directory.EnumerateFiles(dir))
            {
                if (!AtomicFile.IsTempName(Path.GetFileName(file))) continue;
                freed += new FileInfo(file).Length;
                File.Delete(file);
                removed++;
            }
        }
        if (removed > 0) notes.Add($"removed {removed} temporary file{(removed == 1 ? "" : "s")} ({AtomicFile.Megabytes(freed)}) that an " +
            "interrupted save left behind.");
        return notes;
    }

    /// <summary>Whether a commit is in progress or was interrupted (readers wait for it or for recovery).</summary>
    public bool HasPendingCommit => File.Exists(JournalPath);

    private List<(string Final, string Temp)> ReadJournal()
    {
        var lines = File.ReadAllLines(JournalPath);
        if (lines.Length == 0 || lines[0] != JournalHeader)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{JournalPath} is not a GanSharp checkpoint journal: move it away and run the " +
                "command again.");
        var files = new List<(string, string)>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var parts = line.Split('\t');
            // The journal names files of this folder only; anything else is not ours to rename.
            if (parts.Length != 2 || !RunOptions.IsPlainName(parts[0]) || !RunOptions.IsPlainName(parts[1]) || !AtomicFile.IsTempName(parts[1])
                || !parts[1].StartsWith(parts[0] + ".", StringComparison.Ordinal))
                throw new GanSharpException(ErrorKind.Checkpoint, $"{JournalPath} has a line that is not a rename of this folder's checkpoint " +
                    $"('{line}'): move it away and run the command again.");
            files.Add((parts[0], parts[1]));
        }
        return files;
    }

    /// <summary>
    /// Cuts the logs back to their length at <paramref name="state"/>'s checkpoint, so iterations redone after a resume
    /// are logged once; without a state (a new run where an earlier attempt stopped before its first checkpoint) the
    /// logs start empty, as that attempt left nothing to continue.
    /// </summary>
    public void RewindLogs(LoadedState? state)
    {
        var lengths = state?.LogLengths ?? LogFiles.Select(l => (l, 0L));
        foreach (var (log, length) in lengths)
        {
            string path = Path.Combine(Dir, log);
            if (!LogFiles.Contains(log) || !File.Exists(path) || new FileInfo(path).Length <= length) continue;
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
            fs.SetLength(length);
        }
    }

    /// <summary>The iteration and epoch of the checkpoint <paramref name="which"/>, from its manifest; null for older runs.</summary>
    public (long Iteration, int Epoch)? CheckpointPosition(string which)
    {
        try
        {
            if (!File.Exists(ManifestPath(which))) return null;
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(ManifestPath(which)));
            return ((long)node!["iteration"]!, (int)node["epoch"]!);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits (up to <paramref name="timeout"/>) for a live trainer to finish the commit in progress, or completes an
    /// interrupted one when no trainer holds the folder; for readers such as <c>test</c>.
    /// </summary>
    public void SettleForReading(TimeSpan timeout)
    {
        if (!HasPendingCommit) return;
        try
        {
            // No trainer holds the folder: the commit was interrupted, and completing it is the trainer's own recovery.
            using var held = TakeForTraining();
            return;
        }
        catch (GanSharpException e) when (e.Kind == ErrorKind.RunBusy)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (HasPendingCommit && clock.Elapsed < timeout) Thread.Sleep(50);
        }
    }

    /// <summary>The training state saved under <paramref name="which"/>; null when there is none.</summary>
    public LoadedState? TryLoad(string which)
    {
        string path = StatePath(which);
        if (!File.Exists(path)) return null;
        var root = PthReader.Read(path) as Dictionary<object, object?>;
        if (root is null || root.GetValueOrDefault("format") as string != StateFormat)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{path} is not a GanSharp training state: delete it or pick another "
                + $"{RunOptionSpecs.WhichEpoch.Flag}.");
        return new LoadedState(path, root);
    }

    public bool HasState(string which) => File.Exists(StatePath(which));

    /// <summary>An optimizer's state (moments, step counts) as a uint8 tensor, the form training states keep it in.</summary>
    internal static Tensor OptimizerBytes(OptimizerHelper opt)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) opt.save_state_dict(w);
        return torch.tensor(ms.ToArray());
    }

    /// <summary>Loads what <see cref="OptimizerBytes"/> gave.</summary>
    internal static void LoadOptimizerBytes(OptimizerHelper opt, Tensor bytes)
    {
        using var ms = new MemoryStream(bytes.bytes.ToArray());
        using var r = new BinaryReader(ms);
        opt.load_state_dict(r);
    }
}
