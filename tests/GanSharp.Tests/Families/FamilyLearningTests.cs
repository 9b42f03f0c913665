using System.Globalization;
using GanSharp.Data;
using GanSharp.Diagnostics;
using GanSharp.Models;
using GanSharp.Models.AcGan;
using GanSharp.Runs;
using GanSharp.Training;
using GanSharp.Training.Tricks;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GanSharp.Tests.Families;

/// <summary>
/// Each family learns a known target with a fixed seed in seconds to a minute on a shared 2-core machine. The
/// thresholds are those the runs reach here with some margin; longer runs (see bench/FamiliesBench) do better.
/// </summary>
[Collection("torch-global-rng")]
public class FamilyLearningTests(ITestOutputHelper output)
{
    private static FamilyRunOptions Points(GanFamily family) => new()
    {
        Family = family,
        Data = FamilyData.Ring8,
        BatchSize = 128,
        BatchesPerEpoch = 1_000_000,
        Epochs = 1,
        Width = 64,
    };

    private static FamilyRunOptions Shapes(GanFamily family) => new()
    {
        Family = family,
        Data = FamilyData.Shapes32,
        BatchSize = 16,
        BatchesPerEpoch = 1_000_000,
        Epochs = 1,
        Width = 8,
        ZDim = 16,
        ProGanPhaseImages = 400,
    };

    private (int Modes, double Hq) TrainPoints(GanFamily family, TricksOptions tricks, long steps, FamilyRunOptions? options = null)
    {
        set_num_threads(1);
        using var dir = Fixtures.TempDir();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = FamilyTestKit.Train(options ?? Points(family), tricks, steps, dir.Root);
        output.WriteLine($"{family} ring8 {steps} steps: {r.Modes}/8 modes, {r.HighQuality:P1} high quality, {clock.Elapsed.TotalSeconds:F1} s");
        return (r.Modes, r.HighQuality);
    }

    private (double Init, double End) TrainShapes(GanFamily family, TricksOptions tricks, long steps)
    {
        set_num_threads(1);
        using var dir = Fixtures.TempDir();
        var f = Shapes(family);
        double init = FamilyTestKit.InitDistance(f, tricks);
        var r = FamilyTestKit.Train(f, tricks, steps, dir.Root);
        output.WriteLine($"{family} shapes32 {steps} steps: feature distance {init:F3} -> {r.FeatureDistance:F3}");
        return (init, r.FeatureDistance);
    }

    [Fact]
    public void MlpGanCoversRingModes()
    {
        // Reached here: 4/8 modes, 1.5 % high quality (an untrained G covers at most one mode).
        var (modes, hq) = TrainPoints(GanFamily.Mlp, new TricksOptions(), 800);
        Assert.True(modes >= 4, $"{modes} modes");
        Assert.True(hq >= 0.01, $"{hq:P1}");
    }

    [Fact]
    public void LsganCoversRingModes()
    {
        // Reached here: 8/8 modes, 29.8 % high quality.
        var (modes, hq) = TrainPoints(GanFamily.Lsgan, new TricksOptions(), 800);
        Assert.True(modes >= 7, $"{modes} modes");
        Assert.True(hq >= 0.2, $"{hq:P1}");
    }

    [Fact]
    public void WganCoversRingModes()
    {
        // Reached here: 7/8 modes, 0.5 % high quality (clipped critics are slow; the bench's 1000 steps do better).
        var (modes, hq) = TrainPoints(GanFamily.Wgan, new TricksOptions { LrG = 5e-4, LrD = 5e-4 }, 400);
        Assert.True(modes >= 6, $"{modes} modes");
        Assert.True(hq >= 0.002, $"{hq:P1}");
    }

    [Fact]
    public void WganGpCoversRingModes()
    {
        // wgan-gp's 2-D defaults (λ 0.1, Adam 2e-3 β (0.5, 0.9), 5 critic steps on fresh batches, samples from an EMA
        // 0.99 of G) with the toy code's batch of 256. The issue's bar: ≥ 7/8 modes, ≥ 50 % within 3 std of a centre.
        // Reached here: 8/8 modes, 71.5 % high quality in 22 s with the 2-core machine's load average at 12 (the
        // bench's settings reach 83.5 % at 1500 iterations; 5000 iterations reach 96.2 %, the data's own 98.9 %).
        var (modes, hq) = TrainPoints(GanFamily.WganGp, new TricksOptions(), 1000, Points(GanFamily.WganGp) with { BatchSize = 256 });
        Assert.True(modes >= 7, $"{modes} modes");
        Assert.True(hq >= 0.5, $"{hq:P1}");
    }

    [Fact]
    public void AcGanPutsEachClassOnItsOwnMode()
    {
        set_num_threads(1);
        using var dir = Fixtures.TempDir();
        var f = Points(GanFamily.AcGan);
        var run = FamilyTestKit.Run(dir.Root, 800);
        manual_seed(run.Seed);
        using var recipe = (AcGanRecipe)FamilyRegistry.CreateRecipe(f, new TricksOptions());
        using var stats = new StatsCollector();
        using var trainer = new Trainer<IGanBatch>(recipe, FamilyRunner.CreateSource(f, run.Seed), run, 1, "{}", stats);
        trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None);
        using var scope = NewDisposeScope();
        var classes = arange(8, dtype: ScalarType.Int64).repeat_interleave(250);
        var samples = recipe.SampleClasses(classes);
        var nearest = cdist(samples, Toy2DSource.Centers(Toy2DKind.Ring8)).argmin(1);
        double agree = nearest.eq(classes).to_type(ScalarType.Float32).mean().item<float>();
        var (modes, hq) = Toy2DSource.Score(Toy2DKind.Ring8, samples);
        output.WriteLine($"acgan ring8 800 steps: class → own mode {agree:P1}, {modes}/8 modes, {hq:P1} high quality");
        // Reached here: 33.1 % (chance is 12.5 %).
        Assert.True(agree >= 0.25, $"{agree:P1} of samples land on their class's mode (chance is 12.5 %)");
    }

    [Fact]
    public void DcganLearnsShapes()
    {
        // Reached here: 181.6 -> 88.4.
        var (init, end) = TrainShapes(GanFamily.Dcgan, new TricksOptions(), 250);
        Assert.True(end < 0.6 * init, $"{init} -> {end}");
    }

    // The intermittent NaN once seen here was libtorch's oneDNN convolution backward (see NativeSetup), now off.
    [Fact]
    public void ProGanLearnsShapesWhileGrowing()
    {
        // 100 iterations of 16 images: 4×4, then 8×8 fading in from image 400 on.
        var (init, end) = TrainShapes(GanFamily.ProGan, new TricksOptions(), 100);
        Assert.True(end < 0.7 * init, $"{init} -> {end}");
    }

    // Issue 22's bar, not reached (docs/FAMILIES.md, "Issue 22"): BEGAN collapses onto 0-1 ring modes on seeds 1-4 after
    // the audit's fixes (uniform z, simultaneous update, ELU G). Without the Skip (seed 1, 8 s): dcgan 8/8 and 7.8 %,
    // began 2/8 and 5.8 %. Kept so the bar can be checked with one command once a recipe reaches it: drop the Skip.
    [Fact(Skip = "issue 22 open: BEGAN reaches 0-1/8 ring modes (docs/FAMILIES.md)")]
    public void BeganCoversRingModes()
    {
        var (dcganModes, dcganHq) = TrainPoints(GanFamily.Dcgan, new TricksOptions(), 1000);
        var (modes, hq) = TrainPoints(GanFamily.Began, new TricksOptions(), 1000);
        Assert.True(modes >= 6, $"{modes} modes");
        Assert.True(hq >= dcganHq, $"began {hq:P1} high quality, dcgan {dcganHq:P1} ({dcganModes}/8 modes)");
    }

    /// <summary>Collects every stats record of a run (one per iteration when PrintFreq is the batch size).</summary>
    private sealed class RecordSink : IStatsSink
    {
        public List<StatsRecord> Records { get; } = [];

        public void OnStats(StatsRecord record) => Records.Add(record);
    }

    /// <summary>A BEGAN run on shapes32 with a record every <paramref name="logEvery"/> iterations: (feature distance at init, at the end,
    /// records).</summary>
    private (double Init, double End, List<StatsRecord> Records) TrainBeganShapes(long steps, TricksOptions tricks, int logEvery = 1, int seed = 1)
    {
        set_num_threads(1);
        using var dir = Fixtures.TempDir();
        var f = Shapes(GanFamily.Began);
        double init = FamilyTestKit.InitDistance(f, tricks, seed);
        var sink = new RecordSink();
        var run = FamilyTestKit.Run(dir.Root, steps, seed) with { PrintFreq = f.BatchSize * logEvery };
        var r = FamilyRunner.Train(f, tricks, run, CancellationToken.None, sinks: [sink]);
        output.WriteLine($"began shapes32 {steps} steps, seed {seed}: feature distance {init:F2} -> {r.FeatureDistance:F2}, k at the end " +
            $"{sink.Records[^1].Values["k"]:G3}");
        return (init, r.FeatureDistance, sink.Records);
    }

    private static double MeanM(IEnumerable<StatsRecord> records) => records.Average(r => r.Values["M"]);

    [Fact]
    public void BeganShapesDistanceFalls()
    {
        // The paper's G (its decoder's architecture), λ_k 0.05, z ~ U[-1, 1] and the simultaneous G/D update
        // (docs/FAMILIES.md, "BEGAN"). Reached here with seed 1: 230.21 -> 22.93, M 0.785 in the first quarter, 0.253
        // in the last; seeds 2, 3, 4: 199.28 -> 19.75 (M 0.744 -> 0.236), 225.02 -> 23.51 (0.663 -> 0.30), 202.19 ->
        // 27.55 (0.833 -> 0.34). With the DCGAN G and λ_k 0.001 seeds 3 and 4 ended at 170 and 234.
        var (init, end, records) = TrainBeganShapes(200, new TricksOptions());
        int quarter = records.Count / 4;
        double first = MeanM(records.Take(quarter)), last = MeanM(records.Skip(records.Count - quarter));
        output.WriteLine($"M: first quarter {first:F3}, last quarter {last:F3}");
        Assert.True(end <= init / 3, $"{init} -> {end}");
        Assert.True(last < first, $"M {first} in the first quarter, {last} in the last");
    }

    [Fact]
    public void BeganMDetectorStaysQuietOnAConvergingRun()
    {
        // The run of BeganShapesDistanceFalls: the feature distance falls to a tenth and M with it. Logged every 10
        // iterations (20 records): with a record per iteration the detector's 10-record window also flags the
        // rise of M around iterations 50-100, when k_t falls back to 0 and G catches up, before M falls for good.
        var (init, end, records) = TrainBeganShapes(200, new TricksOptions(), logEvery: 10);
        Assert.True(end <= init / 3, $"{init} -> {end}");
        var verdict = new BeganMDetector().Evaluate(new StatsSeries(records));
        Assert.Equal(VerdictStatus.Healthy, verdict.Status);
    }

    [Fact]
    public void BeganMDetectorFiresOnARunThatDoesNotConverge()
    {
        // D's learning rate 1e-8: the auto-encoder stays as initialised, so there is no equilibrium to reach; G drifts
        // on a fixed energy and the feature distance barely moves (measured 230.21 -> 196.33). M rises from 0.94 to
        // 1.04 over the 20 records: the detector's case. (The old case, Adam at 0.1 for both, no longer qualifies:
        // since the simultaneous update its M falls slowly from ~100 to ~85 while the images diverge to ~7e6.)
        var (init, end, records) = TrainBeganShapes(200, new TricksOptions { LrD = 1e-8 }, logEvery: 10);
        output.WriteLine("M: " + string.Join(" ", records.Select(r => r.Values["M"].ToString("G3", CultureInfo.InvariantCulture))));
        Assert.True(end > init / 2, $"{init} -> {end}");
        var verdict = new BeganMDetector().Evaluate(new StatsSeries(records));
        Assert.Equal(VerdictStatus.Fired, verdict.Status);
        output.WriteLine(verdict.Episodes[0].Evidence);
    }

    [Fact]
    public void DcganWithDiffAugmentAndEmaLearnsShapes()
    {
        var t = new TricksOptions { DiffAugment = "color,translation,cutout", AdaTarget = 0.6, EmaBeta = 0.9, Smoothing = LabelSmoothing.Fixed };
        // Reached here: 182.5 -> 149.0 after 150 iterations (augmentations slow the start, as expected).
        var (init, end) = TrainShapes(GanFamily.Dcgan, t, 150);
        Assert.True(end < 0.9 * init, $"{init} -> {end}");
    }
}
