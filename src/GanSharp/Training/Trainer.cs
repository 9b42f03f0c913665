using GanSharp.Runtime;
using System.Diagnostics;
using GanSharp.Diagnostics;
using GanSharp.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Training;

/// <summary>What a progress display needs after each iteration (no device sync involved).</summary>
public sealed record TrainProgress(int Epoch, int TotalEpochs, int BatchIndex, int BatchesPerEpoch, long Iteration, long TotalIterations, double ElapsedSeconds);

/// <summary>How a run ended.</summary>
public sealed record TrainResult(TrainPosition Position, bool Completed, bool Interrupted, string? StoppedBy);

/// <summary>
/// The training loop shared by every family: per iteration it runs the recipe's phases (loss, backward, optimizer
/// step, after-step hook) under one dispose scope, handing a phase marked <see cref="TrainPhase.FreshBatch"/> the
/// source's next batch for each repetition after the first (the data position counts those batches); it schedules learning rates per epoch, reports statistics at
/// print intervals, writes sample pages, and saves resumable checkpoints. It knows nothing about any family.
/// </summary>
public sealed class Trainer<TBatch> : IDisposable where TBatch : IDisposable
{
    private readonly IGanRecipe<TBatch> _recipe;
    private readonly IBatchSource<TBatch> _source;
    private readonly RunOptions _run;
    private readonly int _totalEpochs;
    private readonly string _optionsJson;
    private readonly Dictionary<string, OptimizerHelper> _optimizers = new(StringComparer.Ordinal);
    private readonly RunFolder _folder;
    private readonly NetworkStatistics _networkStats;
    private long _lastFlush;

    public Trainer(IGanRecipe<TBatch> recipe, IBatchSource<TBatch> source, RunOptions run, int totalEpochs, string optionsJson, StatsCollector stats)
    {
        _recipe = recipe;
        _source = source;
        _run = run;
        _totalEpochs = totalEpochs;
        _optionsJson = optionsJson;
        Stats = stats;
        _folder = new RunFolder(run.RunDir);
        foreach (var slot in recipe.Optimizers) _optimizers[slot.Name] = CreateOptimizer(slot);
        _networkStats = new NetworkStatistics(recipe.Networks, recipe.Optimizers);
        foreach (var phase in recipe.Phases)
            if (!_optimizers.ContainsKey(phase.Optimizer))
                throw new InvalidOperationException($"phase {phase.Name} names optimizer {phase.Optimizer}, which the {recipe.Family} recipe does not define");
    }

    public StatsCollector Stats { get; }

    /// <summary>Where the trainer's own statistics state goes among the recipe's extras (recipes ignore keys they do not know).</summary>
    private const string NetworkStatisticsKey = "network_statistics";

    /// <summary>
    /// Runs at the end of every epoch, before its checkpoint (periodic evaluation such as FID/KID reports here); what it
    /// reports is flushed to the sinks at once.
    /// </summary>
    public Action<int, StatsCollector>? EpochEnd { get; set; }

    /// <summary>Whose flags the divergence message prescribes: SPADE's or the families'.</summary>
    public RunKind Kind { get; init; } = RunKind.Spade;

    public RunFolder Folder => _folder;

    /// <summary>Text files of the run folder saved with every checkpoint unit (options.json, opt.txt), by file name.</summary>
    public IReadOnlyDictionary<string, string> RunFiles { get; init; } = new Dictionary<string, string>();

    /// <summary>Observers of every saved checkpoint (tests use it to simulate a crash between writes).</summary>
    public event Action<string>? Saved;

    public IReadOnlyDictionary<string, OptimizerHelper> Optimizers => _optimizers;

    private static OptimizerHelper CreateOptimizer(OptimizerSlot slot) => slot.Kind switch
    {
        OptimizerKind.Adam => torch.optim.Adam(slot.Parameters, slot.Lr, slot.Beta1, slot.Beta2, 1e-8, slot.WeightDecay),
        OptimizerKind.RmsProp => torch.optim.RMSProp(slot.Parameters, slot.Lr, 0.99, 1e-8, slot.WeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(slot), slot.Kind, "unknown optimizer kind"),
    };

    /// <summary>Restores everything from a saved state; returns the position to continue from.</summary>
    public TrainPosition Resume(LoadedState state)
    {
        if (state.Family != _recipe.Family)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{state.Path} was trained as family {state.Family}, not {_recipe.Family}: pass --family {state.Family} or start a new --name.");
        state.RestoreNetworks(_recipe.Networks);
        state.RestoreOptimizers(_optimizers);
        _recipe.LoadExtraState(state.Extra);
        _networkStats.Load(state.Extra.GetValueOrDefault(NetworkStatisticsKey) as Dictionary<object, object?>);
        state.RestoreRng();
        return state.Position;
    }

    /// <summary>Trains from <paramref name="start"/> (a fresh run starts at epoch 1, batch 0).</summary>
    public TrainResult Run(TrainPosition start, CancellationToken token, Action<TrainProgress>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        double elapsedBefore = start.ElapsedSeconds;
        double Elapsed() => elapsedBefore + clock.Elapsed.TotalSeconds;
        long iteration = start.Iteration;
        long epochImages = start.EpochImages;
        int batchSize = _source.BatchSize;
        int perEpoch = _source.BatchesPerEpoch;
        // Phases with FreshBatch read one batch per extra repetition: an iteration then takes several batches.
        int extraPerIteration = _recipe.Phases.Sum(p => p.ExtraBatches);
        long iterationsPerEpoch = (perEpoch + extraPerIteration) / (1 + extraPerIteration);
        long totalIterations = (long)_totalEpochs * iterationsPerEpoch;
        if (_run.MaxIterations > 0) totalIterations = Math.Min(totalIterations, _run.MaxIterations);
        var ctx = new StepContext(Stats);
        var pages = new WebPage(_folder.WebDir, _run.Name);
        TrainPosition position = start;
        _lastFlush = start.Iteration;
        var extras = new List<TBatch>(extraPerIteration);

        for (int epoch = start.Epoch; epoch <= _totalEpochs; epoch++)
        {
            SetLearningRates(epoch);
            int index = epoch == start.Epoch ? start.BatchIndex : 0;
            if (epoch != start.Epoch) epochImages = 0;
            using var batches = _source.Epoch(epoch, index).GetEnumerator();
            while (batches.MoveNext())
            {
                using (var batch = batches.Current)
                {
                    if (_run.MaxIterations > 0 && iteration >= _run.MaxIterations)
                    {
                        position = new TrainPosition(epoch, index, iteration, epochImages, Elapsed());
                        Save("latest", position);
                        return new TrainResult(position, Completed: false, Interrupted: false, StoppedBy: "max-iterations");
                    }
                    // The fresh batches of this iteration, read before the step's dispose scope opens (they are
                    // disposed with the iteration). An epoch that runs out leaves the last repetitions its last batch.
                    extras.Clear();
                    while (extras.Count < extraPerIteration && batches.MoveNext()) extras.Add(batches.Current);
                    int read = 1 + extras.Count;
                    try
                    {
                        ctx.Epoch = epoch;
                        ctx.Iteration = iteration;
                        // Same test as the flush below, one iteration ahead: costly statistics are taken only in
                        // iterations whose statistics are flushed, so the device syncs stay at log intervals.
                        bool logStep = (iteration + 1) * batchSize % _run.PrintFreq < batchSize;
                        ctx.IsLogStep = logStep;
                        // See GcQuiet: no collection may free a TorchSharp Scalar while libtorch reads it.
                        using (GcQuiet.Iteration())
                        using (var scope = NewDisposeScope())
                        {
                            int next = 0;
                            foreach (var phase in _recipe.Phases)
                            {
                                var opt = _optimizers[phase.Optimizer];
                                var current = batch;
                                for (int r = 0; r < phase.Repeat; r++)
                                {
                                    if (r > 0 && phase.FreshBatch && next < extras.Count) current = extras[next++];
                                    ctx.Repetition = r;
                                    opt.zero_grad();
                                    var loss = _recipe.Loss(phase, current, ctx);
                                    loss.backward();
                                    // Gradients exist only between backward and step: the family-agnostic hook.
                                    if (logStep && r == phase.Repeat - 1) _networkStats.Report(phase.Optimizer, Stats);
                                    opt.step();
                                    _recipe.AfterStep(phase, ctx);
                                }
                            }
                            if (logStep && _recipe is IDiagnosticRecipe<TBatch> diagnostic)
                            {
                                using var _ = no_grad();
                                diagnostic.ReportDiagnostics(batch, ctx);
                            }
                        }
                    }
                    finally
                    {
                        foreach (var extra in extras) extra.Dispose();
                        extras.Clear();
                    }
                    iteration++;
                    index += read;
                    // Images of the epoch's data read so far (the data position), as the reference's epoch_iter.
                    epochImages += (long)read * batchSize;
                    long totalImages = iteration * batchSize;
                    if (totalImages % _run.PrintFreq < batchSize)
                    {
                        var record = Stats.Flush(epoch, epochImages, iteration, Elapsed());
                        CheckFinite(record, _lastFlush, iteration);
                        _lastFlush = iteration;
                    }
                    if (totalImages % _run.DisplayFreq < batchSize)
                        WriteVisuals(pages, batch, epoch, epochImages);
                    position = new TrainPosition(epoch, index, iteration, epochImages, Elapsed());
                    if (totalImages % _run.SaveLatestFreq < batchSize) SaveChecked("latest", position, iteration);
                    progress?.Invoke(new TrainProgress(epoch, _totalEpochs, index, perEpoch, iteration, totalIterations, Elapsed()));
                    if (token.IsCancellationRequested)
                    {
                        SaveChecked("latest", position, iteration);
                        return new TrainResult(position, Completed: false, Interrupted: true, StoppedBy: "user");
                    }
                }
            }
            position = new TrainPosition(epoch + 1, 0, iteration, 0, Elapsed());
            if (EpochEnd != null)
            {
                EpochEnd(epoch, Stats);
                var record = Stats.Flush(epoch, epochImages, iteration, Elapsed());
                CheckFinite(record, iteration, iteration);
            }
            if (epoch % _run.SaveEpochFreq == 0 || epoch == _totalEpochs)
            {
                SaveChecked("latest", position, iteration);
                Save(epoch.ToString(System.Globalization.CultureInfo.InvariantCulture), position);
            }
        }
        return new TrainResult(position, Completed: true, Interrupted: false, StoppedBy: null);
    }

    private void SetLearningRates(int epoch)
    {
        var lrs = _recipe.LearningRates(epoch);
        foreach (var (name, opt) in _optimizers)
        {
            if (!lrs.TryGetValue(name, out double lr)) continue;
            foreach (var g in opt.ParamGroups) g.LearningRate = lr;
            Stats.Report("lr/" + name, lr);
        }
    }

    // The record has already reached the sinks (stats.jsonl, the live doctor) when this throws, so the log
    // shows the diverged values; the message names the term that went first, as the NaN detector does.
    private void CheckFinite(StatsRecord record, long sinceIteration, long iteration)
    {
        string? term = record.FirstNonFinite ?? record.Values.FirstOrDefault(kv => !double.IsFinite(kv.Value)).Key;
        if (term is null) return;
        var (since, until) = NonFiniteDetector.Interval(record, sinceIteration);
        ThrowDiverged(term, record.Values[term], since, until);
    }

    private void ThrowDiverged(string term, double value, long sinceIteration, long iteration)
    {
        string latest = _folder.StatePath("latest");
        string checkpoint = File.Exists(latest) ? $"the last good checkpoint {latest} is kept" : "no checkpoint was saved before it";
        throw new GanSharpException(ErrorKind.TrainingFailed,
            $"training diverged: {NonFiniteDetector.Describe(term, value, sinceIteration, iteration)}; {checkpoint} — {Remedies.Summary(NonFiniteDetector.DetectorId, kind: Kind)}, then resume with --continue-train.");
    }

    // A checkpoint of a diverged run would overwrite the last good one, so look before saving.
    private void SaveChecked(string which, TrainPosition position, long iteration)
    {
        if (Stats.FirstNonFinite() is { } bad)
            ThrowDiverged(bad.Name, bad.Value, bad.Iteration - 1 ?? _lastFlush, bad.Iteration ?? iteration);
        Save(which, position);
    }

    private void Save(string which, TrainPosition position)
    {
        var extra = _recipe.ExtraState();
        extra[NetworkStatisticsKey] = _networkStats.State();
        _folder.Save(which, _recipe.Family, _recipe.Networks, _optimizers, position, extra, _optionsJson, RunFiles);
        foreach (var t in ((Dictionary<object, object?>)extra[NetworkStatisticsKey]!).Values.OfType<Tensor>()) t.Dispose();
        GcQuiet.AfterBulkWrite();
        Saved?.Invoke(which);
    }

    private void WriteVisuals(WebPage pages, TBatch batch, int epoch, long epochImages)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var visuals = _recipe.Visuals(batch);
        pages.Add(epoch, epochImages, visuals.Select(v => (v.Name, Visuals.ToRgb(v.Image))).ToList());
    }

    public void Dispose()
    {
        foreach (var opt in _optimizers.Values) opt.Dispose();
        _optimizers.Clear();
        _networkStats.Dispose();
    }
}
