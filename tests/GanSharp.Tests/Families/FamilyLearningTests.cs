using GanSharp.Data;
using GanSharp.Models.AcGan;
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
        var r = FamilyTestKit.Train(options ?? Points(family), tricks, steps, dir.Root);
        output.WriteLine($"{family} ring8 {steps} steps: {r.Modes}/8 modes, {r.HighQuality:P1} high quality");
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
        var (modes, hq) = TrainPoints(GanFamily.Mlp, new TricksOptions(), 800);
        Assert.True(modes >= 4, $"{modes} modes");
        Assert.True(hq >= 0.02, $"{hq:P1}");
    }

    [Fact]
    public void LsganCoversRingModes()
    {
        var (modes, hq) = TrainPoints(GanFamily.Lsgan, new TricksOptions(), 800);
        Assert.True(modes >= 4, $"{modes} modes");
        Assert.True(hq >= 0.02, $"{hq:P1}");
    }

    [Fact]
    public void WganCoversRingModes()
    {
        var (modes, hq) = TrainPoints(GanFamily.Wgan, new TricksOptions { LrG = 5e-4, LrD = 5e-4 }, 400);
        Assert.True(modes >= 4, $"{modes} modes");
        Assert.True(hq >= 0.005, $"{hq:P1}");
    }

    [Fact]
    public void WganGpCoversRingModes()
    {
        var (modes, hq) = TrainPoints(GanFamily.WganGp, new TricksOptions { LrG = 1e-3, LrD = 1e-3 }, 400);
        Assert.True(modes >= 5, $"{modes} modes");
        Assert.True(hq >= 0.02, $"{hq:P1}");
    }

    [Fact]
    public void BeganCoversRingModes()
    {
        // λ_k 0.01 instead of 0.001 so k_t reaches its equilibrium within the short run.
        var (modes, hq) = TrainPoints(GanFamily.Began, new TricksOptions(), 800, Points(GanFamily.Began) with { BeganLambdaK = 0.01 });
        Assert.True(modes >= 3, $"{modes} modes");
        Assert.True(hq >= 0.005, $"{hq:P1}");
    }

    [Fact]
    public void AcGanPutsEachClassOnItsOwnMode()
    {
        set_num_threads(1);
        using var dir = Fixtures.TempDir();
        var f = Points(GanFamily.AcGan);
        var run = FamilyTestKit.Run(dir.Root, 800);
        manual_seed(run.Seed);
        using var recipe = (AcGanRecipe)FamilyRunner.CreateRecipe(f, new TricksOptions());
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
        Assert.True(agree >= 0.5, $"{agree:P1} of samples land on their class's mode (chance is 12.5 %)");
    }

    [Fact]
    public void DcganLearnsShapes()
    {
        var (init, end) = TrainShapes(GanFamily.Dcgan, new TricksOptions(), 250);
        Assert.True(end < 0.5 * init, $"{init} -> {end}");
    }

    [Fact]
    public void WganGpLearnsShapes()
    {
        var (init, end) = TrainShapes(GanFamily.WganGp, new TricksOptions { LrG = 1e-3, LrD = 1e-3, DSteps = 2 }, 150);
        Assert.True(end < 0.5 * init, $"{init} -> {end}");
    }

    [Fact]
    public void ProGanLearnsShapesWhileGrowing()
    {
        var (init, end) = TrainShapes(GanFamily.ProGan, new TricksOptions(), 150);
        Assert.True(end < 0.5 * init, $"{init} -> {end}");
    }

    [Fact]
    public void BeganLearnsShapes()
    {
        var (init, end) = TrainShapes(GanFamily.Began, new TricksOptions(), 150);
        Assert.True(end < 0.5 * init, $"{init} -> {end}");
    }

    [Fact]
    public void DcganWithDiffAugmentAndEmaLearnsShapes()
    {
        var t = new TricksOptions { DiffAugment = "color,translation,cutout", AdaTarget = 0.6, EmaBeta = 0.9, Smoothing = LabelSmoothing.Fixed };
        var (init, end) = TrainShapes(GanFamily.Dcgan, t, 150);
        Assert.True(end < 0.5 * init, $"{init} -> {end}");
    }
}
