using GanSharp.Options;
using System.Diagnostics;
using GanSharp.Diagnostics;
using GanSharp.Reporting;
using GanSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Training;

/// <summary>What a progress display needs after each iteration (no device sync involved).</summary>
public sealed record TrainProgress(int Epoch, int TotalEpochs, int BatchIndex, int BatchesPerEpoch, long Iteration, long TotalIterations,
    double ElapsedSeconds);

/// <summary>How a run ended.</summary>
public sealed record TrainResult(TrainPosition Position, bool Completed, bool Interrupted, string? StoppedBy);

/// <summary>
/// The training loop shared by every family: per iteration it runs the recipe's phases (loss, backward, optimizer
/// step, after-step hook) under one dispose scope, handing a phase marked <see cref="TrainPhase.FreshBatch"/> the
/// source's next batch for each repetition after the first (the data position counts those batches); it schedules
/// learning rates per epoch, reports statistics at print intervals, writes sample pages, and saves resumable
/// checkpoints. It knows nothing about any family.
/// </summary>
internal sealed partial class Trainer<TBatch> : IDisposable where TBatch : IDisposable
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
        JoinRanks(recipe.Optimizers);
        foreach (var phase in recipe.Phases)
            if (!_optimizers.ContainsKey(phase.Optimizer))
                throw new InvalidOperationException($"phase {phase.Name} names optimizer {phase.Optimizer}, which the {recipe.Family} recipe does " +
                    "not define");
    }

    public StatsCollector Stats { get; }

    /// <summary>Where the trainer's own statistics state goes among the recipe's extras (recipes ignore keys they do not know).</summary>
    private const string NetworkStatisticsKey = "network_statistics";

    /// <summary>
    /// Runs at the end of every epoch, before its checkpoint (periodic evaluation such as FID/KID reports here); what it
    /// reports is flushed to the sinks at once.
    /// </summary>
    public Action<int, StatsCollector>? EpochEnd { get; set; }

    /// <summary>
    /// What the divergence message prescribes before "then resume with --continue-train": the runner passes the
    /// remedies in its own flags (SPADE's by default).
    /// </summary>
    public string DivergenceAdvice { get; init; } = Remedies.Summary(NonFiniteDetector.DetectorId);

    public RunFolder Folder => _folder;

    /// <summary>Text files of the run folder saved with every checkpoint unit (options.json, opt.txt), by file name.</summary>
    public IReadOnlyDictionary<string, string> RunFiles { get; init; } = new Dictionary<string, string>();

    /// <summary>Observers of every saved checkpoint (tests use it to simulate a crash between writes).</summary>
    public event Action<string>? Saved;

    public IReadOnlyDictionary<string, OptimizerHelper> Optimizers => _optimizers;

    private static OptimizerHelper CreateOptimizer(OptimizerSlot slot) => slot.Kind switch
    {
        OptimizerKind.Adam => torch.optim.Adam(slot.Parameters, slot.Lr, slot.Beta1, slot.Beta2, 1e-8, slot.WeightDecay),
        OptimizerKind.FusedAdam => new FusedAdam(slot.Parameters, slot.Lr, slot.Beta1, slot.Beta2, 1e-8, slot.WeightDecay),
        OptimizerKind.RmsProp => torch.optim.RMSProp(slot.Parameters, slot.Lr, 0.99, 1e-8, slot.WeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(slot), slot.Kind, "unknown optimizer kind"),
    };

    /// <summary>Restores everything from a saved state; returns the position to continue from.</summary>
    public TrainPosition Resume(LoadedState state)
    {
        if (state.Family != _recipe.Family)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{state.Path} was trained as family {state.Family}, not {_recipe.Family}: pass " +
                $"{FamilyOptionSpecs.Family.Flag} {state.Family} or start a new {RunOptionSpecs.Name.Flag}.");
        state.RestoreNetworks(_recipe.Networks);
        return RestoreRunState(state);
    }

    // Everything of a saved state but the networks (see RunFolder.RunState); returns its position.
    private TrainPosition RestoreRunState(LoadedState state)
    {
        state.RestoreOptimizers(_optimizers);
        _recipe.LoadExtraState(state.Extra);
        _networkStats.Load(state.Extra.GetValueOrDefault(NetworkStatisticsKey) as Dictionary<object, object?>);
        state.RestoreRng();
        return state.Position;
    }

    /// <summary>Trains from <paramref name="start"/> (a fresh run starts at epoch 1, batch 0).</summary>
    public TrainResult Run(TrainPosition start, CancellationToken token, Action<TrainProgress>? progress = null)
    {
        start = BroadcastState(start);
        var pass = new Pass(this, start);
        _lastFlush = start.Iteration;
        for (int epoch = start.Epoch; epoch <= _totalEpochs; epoch++)
        {
            SetLearningRates(epoch);
            if (RunEpoch(pass, epoch, token, progress) is { } stopped) return stopped;
            EndEpoch(pass, epoch);
        }
        return new TrainResult(pass.Position, Completed: true, Interrupted: false, StoppedBy: null);
    }

    // The counters of one call of Run: iteration, data position and clock.
    private sealed class Pass
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly double _elapsedBefore;

        public Pass(Trainer<TBatch> trainer, TrainPosition start)
        {
            _elapsedBefore = start.ElapsedSeconds;
            Start = start;
            Position = start;
            Iteration = start.Iteration;
            EpochImages = start.EpochImages;
            BatchSize = trainer._source.BatchSize;
            PerEpoch = trainer._source.BatchesPerEpoch;
            // Phases with FreshBatch read one batch per extra repetition: an iteration then takes several batches.
            ExtraPerIteration = trainer._recipe.Phases.Sum(p => p.ExtraBatches);
            long iterationsPerEpoch = (PerEpoch + ExtraPerIteration) / (1 + ExtraPerIteration);
            TotalIterations = (long)trainer._totalEpochs * iterationsPerEpoch;
            if (trainer._run.MaxIterations > 0) TotalIterations = Math.Min(TotalIterations, trainer._run.MaxIterations);
            Context = new StepContext(trainer.Stats);
            Pages = new WebPage(trainer._folder.WebDir, trainer._run.Name);
            Extras = new List<TBatch>(ExtraPerIteration);
        }

        public TrainPosition Start { get; }

        public TrainPosition Position { get; set; }

        public long Iteration { get; set; }

        public long EpochImages { get; set; }

        public int BatchSize { get; }

        public int PerEpoch { get; }

        public int ExtraPerIteration { get; }

        public long TotalIterations { get; }

        public StepContext Context { get; }

        public WebPage Pages { get; }

        public List<TBatch> Extras { get; }

        public double Elapsed() => _elapsedBefore + _clock.Elapsed.TotalSeconds;
    }

    // One epoch from the start position's batch (or 0); returns how the run stopped, or null when the epoch ran out.
    private TrainResult? RunEpoch(Pass pass, int epoch, CancellationToken token, Action<TrainProgress>? progress)
    {
        int index = epoch == pass.Start.Epoch ? pass.Start.BatchIndex : 0;
        if (epoch != pass.Start.Epoch) pass.EpochImages = 0;
        try
        {
            return RunBatches(pass, epoch, index, token, progress);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested && !_comm.IsDistributed)
        {
            // The stop came while the loader was waiting for a sample (Ctrl+C, or the demo's time budget running out
            // under load): it ends the run after the last whole iteration, as a stop between iterations does.
            foreach (var extra in pass.Extras) extra.Dispose();
            pass.Extras.Clear();
            SaveChecked("latest", pass.Position, pass.Iteration);
            return new TrainResult(pass.Position, Completed: false, Interrupted: true, StoppedBy: "user");
        }
    }

    private TrainResult? RunBatches(Pass pass, int epoch, int index, CancellationToken token, Action<TrainProgress>? progress)
    {
        using var batches = _source.Epoch(epoch, index).GetEnumerator();
        while (batches.MoveNext())
        {
            using var batch = batches.Current;
            if (_run.MaxIterations > 0 && pass.Iteration >= _run.MaxIterations)
            {
                pass.Position = new TrainPosition(epoch, index, pass.Iteration, pass.EpochImages, pass.Elapsed());
                Save("latest", pass.Position);
                return new TrainResult(pass.Position, Completed: false, Interrupted: false, StoppedBy: "max-iterations");
            }
            // The fresh batches of this iteration, read before the step's dispose scope opens (they are disposed with
            // the iteration). An epoch that runs out leaves the last repetitions its last batch.
            pass.Extras.Clear();
            while (pass.Extras.Count < pass.ExtraPerIteration && batches.MoveNext()) pass.Extras.Add(batches.Current);
            int read = 1 + pass.Extras.Count;
            try
            {
                Step(pass, epoch, batch);
            }
            finally
            {
                foreach (var extra in pass.Extras) extra.Dispose();
                pass.Extras.Clear();
            }
            index += read;
            if (AfterIteration(pass, epoch, index, read, batch, token, progress) is { } stopped) return stopped;
        }
        return null;
    }

    // The phases of one iteration under one dispose scope, then the recipe's diagnostics at log steps.
    private void Step(Pass pass, int epoch, TBatch batch)
    {
        var ctx = pass.Context;
        ctx.Epoch = epoch;
        ctx.Iteration = pass.Iteration;
        // Same test as the flush in AfterIteration, one iteration ahead: costly statistics are taken only in
        // iterations whose statistics are flushed, so the device syncs stay at log intervals.
        bool logStep = (pass.Iteration + 1) * pass.BatchSize % _run.PrintFreq < pass.BatchSize;
        ctx.IsLogStep = logStep;
        // See GcQuiet: no collection may free a TorchSharp Scalar while libtorch reads it.
        using (GcQuiet.Iteration())
        using (var scope = NewDisposeScope())
        {
            int next = 0;
            foreach (var phase in _recipe.Phases) next = RunPhase(phase, batch, pass.Extras, next, ctx, logStep);
            if (logStep && _recipe is IDiagnosticRecipe<TBatch> diagnostic)
            {
                using var _ = no_grad();
                diagnostic.ReportDiagnostics(batch, ctx);
            }
        }
    }

    // A phase's repetitions: loss, backward, optimizer step, after-step hook. Returns the next unused fresh batch.
    private int RunPhase(TrainPhase phase, TBatch batch, List<TBatch> extras, int next, StepContext ctx, bool logStep)
    {
        var opt = _optimizers[phase.Optimizer];
        var current = batch;
        for (int r = 0; r < phase.Repeat; r++)
        {
            if (r > 0 && phase.FreshBatch && next < extras.Count) current = extras[next++];
            ctx.Repetition = r;
            opt.zero_grad();
            LossAndBackward(phase, current, ctx);
            // Gradients exist only between backward and step: the family-agnostic hook.
            if (logStep && r == phase.Repeat - 1) _networkStats.Report(phase.Optimizer, Stats);
            opt.step();
            _recipe.AfterStep(phase, ctx);
        }
        return next;
    }

    // Counters, statistics flush, sample page, periodic checkpoint, progress and cancellation after an iteration.
    private TrainResult? AfterIteration(
        Pass pass, int epoch, int index, int read, TBatch batch, CancellationToken token, Action<TrainProgress>? progress)
    {
        pass.Iteration++;
        long iteration = pass.Iteration;
        int batchSize = pass.BatchSize;
        // Images of the epoch's data read so far (the data position), as the reference's epoch_iter.
        pass.EpochImages += (long)read * batchSize;
        long totalImages = iteration * batchSize;
        if (totalImages % _run.PrintFreq < batchSize)
        {
            var record = Stats.Flush(epoch, pass.EpochImages, iteration, pass.Elapsed());
            CheckFinite(record, _lastFlush, iteration);
            _lastFlush = iteration;
        }
        if (totalImages % _run.DisplayFreq < batchSize) WriteVisuals(pass.Pages, batch, epoch, pass.EpochImages);
        pass.Position = new TrainPosition(epoch, index, iteration, pass.EpochImages, pass.Elapsed());
        if (totalImages % _run.SaveLatestFreq < batchSize) SaveChecked("latest", pass.Position, iteration);
        progress?.Invoke(new TrainProgress(epoch, _totalEpochs, index, pass.PerEpoch, iteration, pass.TotalIterations, pass.Elapsed()));
        if (!StopRequested(token)) return null;
        SaveChecked("latest", pass.Position, iteration);
        return new TrainResult(pass.Position, Completed: false, Interrupted: true, StoppedBy: "user");
    }

    // The epoch's end: periodic evaluation (flushed at once) and the epoch's checkpoints.
    private void EndEpoch(Pass pass, int epoch)
    {
        long iteration = pass.Iteration;
        pass.Position = new TrainPosition(epoch + 1, 0, iteration, 0, pass.Elapsed());
        if (EpochEnd != null)
        {
            // Evaluation is rank 0's; the flush is every rank's, because it reduces over the ranks.
            if (_comm.IsRoot)
            {
                using var rng = KeepRngOnRoot();
                EpochEnd(epoch, Stats);
            }
            var record = Stats.Flush(epoch, pass.EpochImages, iteration, pass.Elapsed());
            CheckFinite(record, iteration, iteration);
        }
        if (epoch % _run.SaveEpochFreq == 0 || epoch == _totalEpochs)
        {
            SaveChecked("latest", pass.Position, iteration);
            Save(epoch.ToString(System.Globalization.CultureInfo.InvariantCulture), pass.Position);
        }
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
            $"training diverged: {NonFiniteDetector.Describe(term, value, sinceIteration, iteration)}; {checkpoint} — {DivergenceAdvice}, then " +
                $"resume with {RunOptionSpecs.ContinueTrain.Flag}.");
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
        if (!_comm.IsRoot) return;
        var extra = _recipe.ExtraState();
        extra[NetworkStatisticsKey] = _networkStats.State();
        _folder.Save(which, _recipe.Family, _recipe.Networks, _optimizers, position, extra, _optionsJson, RunFiles);
        foreach (var t in ((Dictionary<object, object?>)extra[NetworkStatisticsKey]!).Values.OfType<Tensor>()) t.Dispose();
        GcQuiet.AfterBulkWrite();
        Saved?.Invoke(which);
    }

    private void WriteVisuals(WebPage pages, TBatch batch, int epoch, long epochImages)
    {
        if (!_comm.IsRoot) return;
        using var rng = KeepRngOnRoot();
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
