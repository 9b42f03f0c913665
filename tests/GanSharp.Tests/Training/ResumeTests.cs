using GanSharp.Data;
using GanSharp.Interop;
using GanSharp.Models.Mlp;
using GanSharp.Training;
using TorchSharp;

namespace GanSharp.Tests.Training;

[Collection("torch-global-rng")]
public class ResumeTests
{
    private static readonly MlpGanOptions Small = new() { Hidden = 16, LayersG = 2, LayersD = 2 };

    private static (byte[][] Weights, byte[][] Optim) RunFor(string dir, long iterations, int initSeed, bool resume)
    {
        torch.manual_seed(initSeed);
        using var recipe = new MlpGanRecipe(Small);
        var run = new RunOptions
        {
            Name = "r", CheckpointsDir = dir, Seed = 3, PrintFreq = 7 * 8, DisplayFreq = 1 << 30, SaveLatestFreq = 1 << 30,
            SaveEpochFreq = 1000, MaxIterations = iterations
        };
        var source = new Toy2DSource(Toy2DKind.Ring8, batchSize: 8, batchesPerEpoch: 10, seed: run.Seed);
        using var stats = new StatsCollector();
        using var trainer = new Trainer<PointBatch>(recipe, source, run, totalEpochs: 5, "{}", stats);
        var start = new TrainPosition(1, 0, 0, 0, 0);
        if (resume)
        {
            var state = trainer.Folder.TryLoad("latest") ?? throw new InvalidOperationException("no state");
            start = trainer.Resume(state);
        }
        else
        {
            torch.manual_seed(initSeed + 1000);
        }
        trainer.Run(start, CancellationToken.None);
        var weights = recipe.Networks.SelectMany(n => n.Module.state_dict().Values).Select(t => PthWriter.TensorBytes(t)).ToArray();
        var optim = trainer.Optimizers.Values.Select(o =>
        {
            using var ms = new MemoryStream();
            using (var w = new BinaryWriter(ms)) o.save_state_dict(w);
            return ms.ToArray();
        }).ToArray();
        return (weights, optim);
    }

    // A source whose 5th batch is never delivered: the stop arrives while the loader waits, as SpadeLoader.Take throws.
    private sealed class StopsWhileWaiting(IBatchSource<PointBatch> inner, CancellationTokenSource stop) : IBatchSource<PointBatch>
    {
        public int BatchesPerEpoch => inner.BatchesPerEpoch;

        public int BatchSize => inner.BatchSize;

        public IEnumerable<PointBatch> Epoch(int epoch, int startIndex)
        {
            int served = 0;
            foreach (var b in inner.Epoch(epoch, startIndex))
            {
                if (++served == 5)
                {
                    b.Dispose();
                    stop.Cancel();
                    stop.Token.ThrowIfCancellationRequested();
                }
                yield return b;
            }
        }
    }

    [Fact]
    public void AStopWhileTheLoaderWaitsEndsTheRunAfterTheLastWholeIteration()
    {
        using var dir = Fixtures.TempDir();
        torch.manual_seed(5);
        using var recipe = new MlpGanRecipe(Small);
        var run = new RunOptions
        {
            Name = "r", CheckpointsDir = dir.Root, Seed = 3, PrintFreq = 7 * 8, DisplayFreq = 1 << 30, SaveLatestFreq = 1 << 30,
            SaveEpochFreq = 1000, MaxIterations = 100,
        };
        using var stop = new CancellationTokenSource();
        var source = new StopsWhileWaiting(new Toy2DSource(Toy2DKind.Ring8, batchSize: 8, batchesPerEpoch: 10, seed: run.Seed), stop);
        using var stats = new StatsCollector();
        using var trainer = new Trainer<PointBatch>(recipe, source, run, totalEpochs: 5, "{}", stats);
        // Before the fix the OperationCanceledException left Run, and the CLI reported "stopped by the user" (exit 130)
        // even when only the demo's time budget had run out.
        var result = trainer.Run(new TrainPosition(1, 0, 0, 0, 0), stop.Token);
        Assert.True(result.Interrupted);
        Assert.Equal("user", result.StoppedBy);
        Assert.Equal(4, result.Position.Iteration);
        var saved = trainer.Folder.TryLoad("latest") ?? throw new InvalidOperationException("no latest checkpoint");
        Assert.Equal(4, trainer.Resume(saved).Iteration);
    }

    [Fact]
    public void StopAndResumeEqualsStraightRunBitForBit()
    {
        using var straight = Fixtures.TempDir();
        using var split = Fixtures.TempDir();
        var a = RunFor(straight.Root, 30, initSeed: 5, resume: false);
        RunFor(split.Root, 12, initSeed: 5, resume: false);
        // A different init proves that resume restores weights rather than re-creating them.
        var b = RunFor(split.Root, 30, initSeed: 77, resume: true);
        Assert.Equal(a.Weights.Length, b.Weights.Length);
        for (int i = 0; i < a.Weights.Length; i++) Assert.Equal(a.Weights[i], b.Weights[i]);
        for (int i = 0; i < a.Optim.Length; i++) Assert.Equal(a.Optim[i], b.Optim[i]);

        // ...and the run did train: weights moved away from their initial values.
        var init = RunFor(Fixtures.TempDir().Root, 0, initSeed: 5, resume: false);
        Assert.NotEqual(init.Weights[0], a.Weights[0]);
    }

    [Fact]
    public void RunKilledBetweenCheckpointWritesStillResumesExactly()
    {
        using var straight = Fixtures.TempDir();
        using var split = Fixtures.TempDir();
        var a = RunFor(straight.Root, 25, initSeed: 9, resume: false);
        RunFor(split.Root, 14, initSeed: 9, resume: false);
        // A kill after the state file but before the weights-only files leaves those missing (or stale),
        // and a kill inside a write leaves only a temporary file behind.
        string runDir = Path.Combine(split.Root, "r");
        File.Delete(Path.Combine(runDir, "latest_net_G.pth"));
        File.WriteAllText(Path.Combine(runDir, "latest_state.pth.123.deadbeef.tmp"), "partial");
        var b = RunFor(split.Root, 25, initSeed: 1, resume: true);
        for (int i = 0; i < a.Weights.Length; i++) Assert.Equal(a.Weights[i], b.Weights[i]);
    }

    [Fact]
    public void LearningRateFollowsTheReferenceLinearDecay()
    {
        var o = new OptimOptions { Lr = 0.0002, Niter = 2, NiterDecay = 4 };
        Assert.Equal(0.0002, o.BaseLrAt(1), 12);
        Assert.Equal(0.0002, o.BaseLrAt(3), 12);   // the first decayed epoch starts after epoch niter+1 ends
        Assert.Equal(0.00015, o.BaseLrAt(4), 12);
        Assert.Equal(0.00005, o.BaseLrAt(6), 12);
        var (g, d) = o.LearningRatesAt(6);
        Assert.Equal(0.000025, g, 12);
        Assert.Equal(0.0001, d, 12);
        Assert.Equal((0.0, 0.9), o.Betas);
        Assert.Equal((0.5, 0.999), (o with { NoTtur = true }).Betas);
    }
}

[CollectionDefinition("torch-global-rng", DisableParallelization = true)]
public class TorchGlobalRngCollection
{
}
