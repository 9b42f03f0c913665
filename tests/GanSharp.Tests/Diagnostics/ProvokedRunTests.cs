using GanSharp.Data;
using GanSharp.Diagnostics;
using GanSharp.Models.Mlp;
using GanSharp.Reporting;
using GanSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Tests.Diagnostics;

/// <summary>Real short trainings of the 2-D ring GAN, provoked into failures.</summary>
[Collection("torch-global-rng")]
public class ProvokedRunTests
{
    private static RunOptions Run(string dir, long iterations, int printEvery, int saveEvery = 0) => new()
    {
        Name = "r",
        CheckpointsDir = dir,
        Seed = 3,
        PrintFreq = printEvery * 64,
        DisplayFreq = 1 << 30,
        SaveLatestFreq = saveEvery > 0 ? saveEvery * 64 : 1 << 30,
        SaveEpochFreq = 1000,
        MaxIterations = iterations,
    };

    [Fact]
    public void AStrongFastDiscriminatorIsDiagnosedAsOverpoweringGWithTheFirstAidKitRemediesInOrder()
    {
        using var tmp = Fixtures.TempDir();
        torch.manual_seed(11);
        // D with 8× G's width and 10× its learning rate.
        using var recipe = new MlpGanRecipe(new MlpGanOptions { Hidden = 16, HiddenD = 128, LayersG = 2, LayersD = 2, LrG = 1e-4, LrD = 1e-3 });
        var run = Run(tmp.Root, 600, printEvery: 20);
        using var stats = new StatsCollector();
        var doctor = new LiveDoctor(Path.Combine(run.RunDir, LiveDoctor.LogFileName)) { Kind = RunKind.Family };
        var printed = new List<DoctorWarning>();
        doctor.Warning += printed.Add;
        var all = new LatestStatsSink();
        stats.Subscribe(all);
        stats.Subscribe(doctor);
        stats.Subscribe(new JsonlSink(Path.Combine(tmp.Root, "stats.jsonl")));
        using var trainer = new Trainer<PointBatch>(recipe, new Toy2DSource(Toy2DKind.Ring8, 64, 100, run.Seed), run, 10, "{}", stats);
        trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None);

        var w = Assert.Single(printed, x => x.DetectorId == DetectorIds.DOverpowersG);
        Assert.Equal(
            ["--layers", "--lr-g", "--g-steps", "--soft-labels", "--spectral-norm-d", "--instance-noise", "--d-steps"],
            w.Prescription.Take(7).Select(r => r.Flag).ToArray());
        Assert.Equal("--soft-labels fixed --real-target 0.9", w.Prescription[3].CommandLine);
        Assert.True(all.All[^1].Values["D_acc"] > 0.85, $"D accuracy {all.All[^1].Values["D_acc"]}");
        string log = File.ReadAllText(Path.Combine(run.RunDir, LiveDoctor.LogFileName));
        Assert.Contains("D overpowering G: D accuracy ≥ 0.85 for 5 records", log);
        Assert.Contains("1. --layers 4", log);
        Assert.Equal(1, CountOccurrences(log, "D overpowering G: D accuracy"));
    }

    private static int CountOccurrences(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    [Fact]
    public void TheTrainerReportsNetworkAndDiscriminatorStatisticsAtLogStepsOnly()
    {
        using var tmp = Fixtures.TempDir();
        torch.manual_seed(5);
        using var recipe = new MlpGanRecipe(new MlpGanOptions { Hidden = 16, LayersG = 2, LayersD = 2 });
        using (var gen = new Generator(99)) recipe.HeldOutPoints = Toy2DSource.Sample(Toy2DKind.Ring8, 256, gen);
        using var stats = new StatsCollector();
        var sink = new LatestStatsSink();
        stats.Subscribe(sink);
        using var trainer = new Trainer<PointBatch>(recipe, new Toy2DSource(Toy2DKind.Ring8, 64, 100, 3), Run(tmp.Root, 30, printEvery: 10), 1, "{}",
            stats);
        trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None);

        Assert.Equal(3, sink.All.Count);
        var v = sink.All[^1].Values;
        foreach (var name in new[] { "GAN", "D_real", "D_Fake", "D_acc", "D_acc_real", "D_acc_fake", "D(x)", "D(G(z))", "r_t", "D_chance",
                     "grad/G", "grad/D", "grad/G/main.0", "grad/D/main.4", "weight/G", "weight/D", "sigma/D/main.0.weight", "sigma_max/G",
                         "sigma_max/D", "diversity", "diversity_real", "D_acc_heldout", "r_t_heldout" })
            Assert.True(v.ContainsKey(name), $"missing {name}; have {string.Join(", ", v.Keys)}");
        // The total is the norm over the blocks.
        double blocks = v.Where(kv => kv.Key.StartsWith("grad/D/", StringComparison.Ordinal)).Sum(kv => kv.Value * kv.Value);
        Assert.Equal(Math.Sqrt(blocks), v["grad/D"], 6);
        // Learning rates are reported when an epoch sets them, so they are in the epoch's first record.
        Assert.Equal(0.001, sink.All[0].Values["lr/G"], 12);
        Assert.Equal(2 * Math.Log(2), v["D_chance"], 12);
        Assert.Equal((v["D_acc_real"] + v["D_acc_fake"]) / 2, v["D_acc"], 9);
        Assert.Equal(v.Where(kv => kv.Key.StartsWith("sigma/D/", StringComparison.Ordinal)).Max(kv => kv.Value), v["sigma_max/D"], 9);
        // Fresh points from the same mixture: D cannot have memorised them differently from its training points.
        Assert.InRange(v["D_acc_real"] - v["D_acc_heldout"], -0.2, 0.2);
        // The ring's points are about 2.5 apart on average (8 modes on radius 2).
        Assert.InRange(v["diversity_real"], 2.3, 2.8);
    }

    [Fact]
    public void TakingStatisticsAtEveryIterationDoesNotChangeTheTraining()
    {
        byte[][] Train(int printEvery)
        {
            using var tmp = Fixtures.TempDir();
            torch.manual_seed(21);
            using var recipe = new MlpGanRecipe(new MlpGanOptions { Hidden = 16, LayersG = 2, LayersD = 2 });
            using var stats = new StatsCollector();
            using var trainer = new Trainer<PointBatch>(recipe, new Toy2DSource(Toy2DKind.Ring8, 64, 100, 3), Run(tmp.Root, 25, printEvery), 1, "{}",
                stats);
            trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None);
            return recipe.Networks.SelectMany(n => n.Module.state_dict().Values).Select(t => GanSharp.Interop.PthWriter.TensorBytes(t)).ToArray();
        }
        // Power iteration, diversity and D statistics draw no global random numbers and write no weights.
        var everyStep = Train(printEvery: 1);
        var never = Train(printEvery: 1 << 20);
        Assert.Equal(never.Length, everyStep.Length);
        for (int i = 0; i < never.Length; i++) Assert.Equal(never[i], everyStep[i]);
    }

    [Fact]
    public void ANaNInOneLossTermStopsTheRunNamingThatTermAndKeepsTheLastGoodCheckpoint()
    {
        using var tmp = Fixtures.TempDir();
        torch.manual_seed(5);
        using var inner = new MlpGanRecipe(new MlpGanOptions { Hidden = 16, LayersG = 2, LayersD = 2 });
        var recipe = new NaNAfter(inner, iteration: 12);
        // Flush every 8 iterations, save every 10: the KLD term goes NaN at iteration 12, every other term one
        // iteration later (G's weights are NaN after that step), and the flush at 16 sees them all.
        var run = Run(tmp.Root, 40, printEvery: 8, saveEvery: 10);
        using var stats = new StatsCollector();
        var doctor = new LiveDoctor(Path.Combine(run.RunDir, LiveDoctor.LogFileName));
        stats.Subscribe(doctor);
        Directory.CreateDirectory(run.RunDir);
        stats.Subscribe(new JsonlSink(Path.Combine(run.RunDir, "stats.jsonl")));
        using var trainer = new Trainer<PointBatch>(recipe, new Toy2DSource(Toy2DKind.Ring8, 64, 100, 3), run, 1, "{}", stats);

        var e = Assert.Throws<GanSharpException>(() => trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None));
        Assert.Equal(ErrorKind.TrainingFailed, e.Kind);
        // KLD is NaN from the 13th iteration on (its step context counts 12 done); the message names that iteration,
        // not only the flushes at 8 and 16 around it.
        Assert.Contains("KLD became NaN first, between iterations 12 and 13", e.Message);
        Assert.Contains("is kept", e.Message);
        Assert.Contains("--lr 0.0001", e.Message);
        Assert.Equal(10, trainer.Folder.TryLoad("latest")!.Position.Iteration);
        var w = Assert.Single(doctor.Warnings, x => x.DetectorId == DetectorIds.NonFinite);
        Assert.StartsWith("KLD became NaN first, between iterations 12 and 13", w.Evidence);

        // The doctor reads the crashed run and says the same.
        var report = DoctorReport.Write(run.RunDir);
        Assert.True(report.Diverged);
        var nan = report.Verdicts.Single(v => v.Detector.Id == DetectorIds.NonFinite);
        Assert.Equal(VerdictStatus.Fired, nan.Status);
        Assert.Equal(16, nan.Episodes[0].StartIteration);
        Assert.StartsWith("KLD became NaN first, between iterations 12 and 13", nan.Episodes[0].Evidence);
    }

    [Fact]
    public void AfterAResumeTheLiveDoctorAndTheTrainersErrorNameTheSameIterationsForANaN()
    {
        using var tmp = Fixtures.TempDir();
        torch.manual_seed(5);
        using var inner = new MlpGanRecipe(new MlpGanOptions { Hidden = 16, LayersG = 2, LayersD = 2 });
        var recipe = new NaNAfter(inner, iteration: 8);
        using (var stats = new StatsCollector())
        using (var first = new Trainer<PointBatch>(recipe, new Toy2DSource(Toy2DKind.Ring8, 64, 100, 3), Run(tmp.Root, 8, printEvery: 1), 1, "{}",
            stats))
            Assert.Equal("max-iterations", first.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None).StoppedBy);

        // As `--continue-train` does: a new process, so a new live doctor without the first part's records.
        var run = Run(tmp.Root, 40, printEvery: 1) with { ContinueTrain = true };
        using var stats2 = new StatsCollector();
        var doctor = new LiveDoctor(Path.Combine(run.RunDir, LiveDoctor.LogFileName));
        stats2.Subscribe(doctor);
        using var trainer = new Trainer<PointBatch>(recipe, new Toy2DSource(Toy2DKind.Ring8, 64, 100, 3), run, 1, "{}", stats2);
        var start = trainer.Resume(trainer.Folder.TryLoad("latest")!);
        Assert.Equal(8, start.Iteration);

        var e = Assert.Throws<GanSharpException>(() => trainer.Run(start, CancellationToken.None));
        // The 9th iteration is the first with a NaN; the 8th, the last one of the first part, was finite.
        Assert.Contains("KLD became NaN first, between iterations 8 and 9;", e.Message);
        var w = Assert.Single(doctor.Warnings, x => x.DetectorId == DetectorIds.NonFinite);
        Assert.StartsWith("KLD became NaN first, between iterations 8 and 9", w.Evidence);
        Assert.Equal(9, w.Iteration);
    }

    [Fact]
    public void ANaNFoundAtASaveBetweenFlushesNamesItsOwnIteration()
    {
        using var tmp = Fixtures.TempDir();
        torch.manual_seed(5);
        using var inner = new MlpGanRecipe(new MlpGanOptions { Hidden = 16, LayersG = 2, LayersD = 2 });
        // Flushes at 8 and 16, a save at 10: the save sees the NaN of the 10th iteration before any flush does.
        var run = Run(tmp.Root, 40, printEvery: 8, saveEvery: 10);
        using var stats = new StatsCollector();
        using var trainer = new Trainer<PointBatch>(new NaNAfter(inner, iteration: 9), new Toy2DSource(Toy2DKind.Ring8, 64, 100, 3), run, 1, "{}",
            stats);
        var e = Assert.Throws<GanSharpException>(() => trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None));
        Assert.Contains("KLD became NaN first, between iterations 9 and 10;", e.Message);
        Assert.Contains("no checkpoint was saved before it", e.Message);
    }

    /// <summary>Adds a KL-like term to G's loss that becomes NaN from a given iteration on.</summary>
    private sealed class NaNAfter(MlpGanRecipe inner, long iteration) : IGanRecipe<PointBatch>
    {
        public string Family => inner.Family;
        public IReadOnlyList<NetworkSlot> Networks => inner.Networks;
        public IReadOnlyList<OptimizerSlot> Optimizers => inner.Optimizers;
        public IReadOnlyList<TrainPhase> Phases => inner.Phases;
        public IReadOnlyDictionary<string, double> LearningRates(int epoch) => inner.LearningRates(epoch);

        public Tensor Loss(TrainPhase phase, PointBatch batch, StepContext context)
        {
            var loss = inner.Loss(phase, batch, context);
            if (phase.Name != "G") return loss;
            var kld = loss.mul(context.Iteration >= iteration ? double.NaN : 0.0);
            context.Stats.Report("KLD", kld);
            return loss.add(kld);
        }

        public void AfterStep(TrainPhase phase, StepContext context) => inner.AfterStep(phase, context);
        public IReadOnlyList<(string Name, Tensor Image)> Visuals(PointBatch batch) => inner.Visuals(batch);
        public Dictionary<object, object?> ExtraState() => inner.ExtraState();
        public void LoadExtraState(Dictionary<object, object?> state) => inner.LoadExtraState(state);
        public void Dispose() { }
    }
}
