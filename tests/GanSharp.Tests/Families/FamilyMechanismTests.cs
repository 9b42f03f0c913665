using GanSharp.Data;
using GanSharp.Models;
using GanSharp.Models.Began;
using GanSharp.Models.ProGan;
using GanSharp.Runs;
using GanSharp.Training;
using GanSharp.Training.Tricks;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Tests.Families;

[Collection("torch-global-rng")]
public class FamilyMechanismTests
{
    // Two spinning intra-op threads on a shared 2-core machine are ~10x slower than one for these small nets.
    public FamilyMechanismTests() => torch.set_num_threads(1);

    private static readonly FamilyRunOptions SmallPoints = new()
    {
        Family = GanFamily.Dcgan, Data = FamilyData.Ring8, BatchSize = 16,
        BatchesPerEpoch = 50, Epochs = 1, Width = 16, Layers = 2
    };

    private static readonly FamilyRunOptions SmallShapes = new()
    {
        Family = GanFamily.Dcgan, Data = FamilyData.Shapes32, BatchSize = 8,
        BatchesPerEpoch = 50, Epochs = 1, Width = 8
    };

    [Fact]
    public void PhaseRepeatsGiveDStepsPerGStepAndGStepsPerDStep()
    {
        manual_seed(1);
        var inner = FamilyRegistry.CreateRecipe(SmallPoints with { Family = GanFamily.Wgan }, new TricksOptions { GSteps = 2 });
        using var recipe = new FamilyTestKit.CountingRecipe(inner);
        using var dir = Fixtures.TempDir();
        using var stats = new StatsCollector();
        var source = FamilyRunner.CreateSource(SmallPoints, 1);
        using var trainer = new Trainer<IGanBatch>(recipe, source, FamilyTestKit.Run(dir.Root, 3), 1, "{}", stats);
        trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None);
        Assert.Equal(15, recipe.Calls["D"]);   // n_critic 5 (WGAN's default) × 3 iterations
        Assert.Equal(6, recipe.Calls["G"]);    // --g-steps 2 × 3
    }

    [Fact]
    public void CriticStepsReadFreshRealBatchesAndThePositionCountsThem()
    {
        // 7 batches per epoch, n_critic 5: iteration 1 reads batches 0-4, iteration 2 batches 5 and 6 (the epoch's
        // end: its last critic steps keep batch 6), iteration 3 batches 0-4 of epoch 2.
        manual_seed(1);
        var f = SmallPoints with { Family = GanFamily.WganGp, BatchesPerEpoch = 7, Epochs = 2 };
        using var recipe = new FamilyTestKit.CountingRecipe(FamilyRegistry.CreateRecipe(f, new TricksOptions()));
        using var dir = Fixtures.TempDir();
        using var stats = new StatsCollector();
        var source = FamilyRunner.CreateSource(f, 1);
        using var trainer = new Trainer<IGanBatch>(recipe, source, FamilyTestKit.Run(dir.Root, 3), 2, "{}", stats);
        var result = trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None);
        float[] Batch(int epoch, int index)
        {
            using var b = source.Epoch(epoch, index).First();
            return b.Data.data<float>().ToArray();
        }
        var critic = recipe.Seen.Where(s => s.Phase == "D").Select(s => s.Data).ToList();
        var generator = recipe.Seen.Where(s => s.Phase == "G").Select(s => s.Data).ToList();
        Assert.Equal(15, critic.Count);
        Assert.Equal(5, critic.Take(5).Select(d => string.Join(",", d)).Distinct().Count());   // five different real batches
        for (int k = 0; k < 5; k++) Assert.Equal(Batch(1, k), critic[k]);
        Assert.Equal(Batch(1, 5), critic[5]);
        for (int k = 6; k < 10; k++) Assert.Equal(Batch(1, 6), critic[k]);
        for (int k = 0; k < 5; k++) Assert.Equal(Batch(2, k), critic[10 + k]);
        // G's step (and the iteration's statistics and visuals) has the iteration's first batch.
        Assert.Equal([Batch(1, 0), Batch(1, 5), Batch(2, 0)], generator);
        // The data position counts every batch read: a resume starts at batch 5 of epoch 2.
        Assert.Equal(new TrainPosition(2, 5, 3, 5 * 16, result.Position.ElapsedSeconds), result.Position);
    }

    [Fact]
    public void ResumeWithFreshCriticBatchesEqualsAStraightRun()
    {
        // 12 batches per epoch, n_critic 5: iterations read 5, 5 and 2 batches, so 4 iterations stop mid-epoch at
        // batch 5 of epoch 2. The EMA of G (wgan-gp's 2-D default) is part of the state too.
        var f = SmallPoints with { Family = GanFamily.WganGp, BatchesPerEpoch = 12, Epochs = 2 };
        var t = new TricksOptions();
        using var straight = Fixtures.TempDir();
        using var split = Fixtures.TempDir();
        var a = FamilyTestKit.Train(f, t, 6, straight.Root);
        FamilyTestKit.Train(f, t, 4, split.Root);
        var stopped = new RunFolder(Path.Combine(split.Root, "f")).TryLoad("latest")!.Position;
        Assert.Equal((2, 5, 4L), (stopped.Epoch, stopped.BatchIndex, stopped.Iteration));
        var b = FamilyTestKit.Train(f, t, 6, split.Root, resume: true);
        Assert.True(a.Train.Completed && b.Train.Completed);
        Assert.Equal(6, b.Train.Position.Iteration);
        foreach (var net in new[] { "G", "D", "G_ema" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(straight.Root, "f", $"latest_net_{net}.pth")),
                File.ReadAllBytes(Path.Combine(split.Root, "f", $"latest_net_{net}.pth")));
        }
    }

    [Fact]
    public void WganGpDefaultsDifferOnPointsAndImages()
    {
        // 2-D: the toy code's λ 0.1 and β1 0.5, Adam 2e-3, sampling from an EMA 0.99 of G; images: the paper's.
        using var points = (Models.Common.AdversarialRecipe)FamilyRegistry.CreateRecipe(SmallPoints with { Family = GanFamily.WganGp },
            new TricksOptions());
        Assert.Equal(0.99, points.EmaBeta);
        Assert.Equal(0.1, points.PenaltyWeight);
        Assert.Contains(points.Networks, n => n.Name == "G_ema");
        Assert.Equal((2e-3, 0.5, 0.9), (points.Optimizers[0].Lr, points.Optimizers[0].Beta1, points.Optimizers[0].Beta2));
        Assert.Equal(5, points.Phases[0].Repeat);
        Assert.True(points.Phases[0].FreshBatch);
        using var images = (Models.Common.AdversarialRecipe)FamilyRegistry.CreateRecipe(SmallShapes with { Family = GanFamily.WganGp },
            new TricksOptions());
        Assert.Equal(0.0, images.EmaBeta);
        Assert.Equal(10.0, images.PenaltyWeight);
        Assert.DoesNotContain(images.Networks, n => n.Name == "G_ema");
        Assert.Equal((1e-4, 0.0, 0.9), (images.Optimizers[0].Lr, images.Optimizers[0].Beta1, images.Optimizers[0].Beta2));
        // Flags still win over the family's defaults.
        using var off = (Models.Common.AdversarialRecipe)FamilyRegistry.CreateRecipe(SmallPoints with { Family = GanFamily.WganGp },
            new TricksOptions { EmaBeta = 0 });
        Assert.DoesNotContain(off.Networks, n => n.Name == "G_ema");
    }

    [Fact]
    public void LayerNormOfImageCriticsStartsAtIdentityAffine()
    {
        // TorchSharp 0.107's nn.GroupNorm leaves weight and bias uninitialised (zeros, 1e36 or NaN by turns), which
        // gave wgan-gp's image critic NaN outputs at init; DNormLayer sets them to 1 and 0 as PyTorch does.
        for (int i = 0; i < 20; i++)
        {
            using var norm = (TorchSharp.Modules.GroupNorm)Models.Common.NetParts.DNormLayer(DNorm.Layer, 32, maps: true)!;
            Assert.True(norm.weight!.eq(1).all().item<bool>());
            Assert.True(norm.bias!.eq(0).all().item<bool>());
        }
        manual_seed(7);
        using var recipe = FamilyRegistry.CreateRecipe(SmallShapes with { Family = GanFamily.WganGp }, new TricksOptions());
        using var x = rand(4, 3, 32, 32) * 2 - 1;
        using var d = ((nn.Module<Tensor, Tensor>)recipe.Networks.Single(n => n.Name == "D").Module).call(x);
        Assert.True(d.isfinite().all().item<bool>());
        Assert.True(d.abs().max().item<float>() < 100);
    }

    [Fact]
    public void WganClipsCriticWeightsAfterEveryCriticStep()
    {
        using var dir = Fixtures.TempDir();
        manual_seed(2);
        using var recipe = FamilyRegistry.CreateRecipe(SmallPoints with { Family = GanFamily.Wgan, WeightClip = 0.01 },
            new TricksOptions { LrD = 0.1 });
        using var stats = new StatsCollector();
        using var trainer = new Trainer<IGanBatch>(recipe, FamilyRunner.CreateSource(SmallPoints, 1), FamilyTestKit.Run(dir.Root, 2), 1, "{}", stats);
        trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None);
        var d = recipe.Networks.Single(n => n.Name == "D").Module;
        float max = d.parameters().Max(p => p.abs().max().item<float>());
        Assert.Equal(0.01f, max, 6);
    }

    [Fact]
    public void ProGanScheduleGrowsWithFadeIn()
    {
        Assert.Equal((4, 1.0), ProGanSchedule.At(0, 1000, 4));
        Assert.Equal((4, 1.0), ProGanSchedule.At(999, 1000, 4));
        Assert.Equal((8, 0.25), ProGanSchedule.At(1250, 1000, 4));   // fading in 8×8
        Assert.Equal((8, 1.0), ProGanSchedule.At(2500, 1000, 4));    // stabilising 8×8
        Assert.Equal((16, 0.5), ProGanSchedule.At(3500, 1000, 4));
        Assert.Equal((32, 0.0), ProGanSchedule.At(5000, 1000, 4));
        Assert.Equal((32, 1.0), ProGanSchedule.At(7000, 1000, 4));
        Assert.Equal((32, 1.0), ProGanSchedule.At(1_000_000, 1000, 4));
        Assert.Equal((32, 0.5), ProGanSchedule.At(1500, 1000, 16));
    }

    [Fact]
    public void ProGanNetworksProduceEveryResolutionAndFadeContinuously()
    {
        manual_seed(3);
        using var g = new ProGanGenerator(8, 8, 0);
        using var d = new ProGanDiscriminator(8, 0);
        using var z = randn(4, 8);
        using var y = empty(0, dtype: ScalarType.Int64);
        foreach (int res in new[] { 4, 8, 16, 32 })
        {
            g.Resolution = res;
            g.Alpha = 1;
            d.Alpha = 1;
            using var x = g.call(z, y);
            Assert.Equal([4L, 3L, res, res], x.shape);
            Assert.Equal([4L, 1L], d.call(x).shape);
        }
        // α = 0 gives exactly the upsampled output of the previous resolution.
        g.Resolution = 8;
        g.Alpha = 0;
        using var faded = g.call(z, y);
        g.Resolution = 4;
        g.Alpha = 1;
        using var low = g.call(z, y);
        using var up = nn.functional.interpolate(low, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);   // forward only: same values
        Assert.True(faded.allclose(up, 1e-5, 1e-5));
    }

    [Fact]
    public void ProGanResumeRestoresResolutionAndAlphaFromTheState()
    {
        using var dir = Fixtures.TempDir();
        var f = SmallShapes with { Family = GanFamily.ProGan, ProGanPhaseImages = 16 };
        FamilyTestKit.Train(f, new TricksOptions(), 3, dir.Root);   // the third step (images 16..23) starts fading in 8×8 at α = 0
        var state = new RunFolder(Path.Combine(dir.Root, "f")).TryLoad("latest")!;
        Assert.Equal(8L, Convert.ToInt64(state.Extra["progan_resolution"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0.0, Convert.ToDouble(state.Extra["progan_alpha"], System.Globalization.CultureInfo.InvariantCulture), 9);
        using var recipe = (ProGanRecipe)FamilyRegistry.CreateRecipe(f, new TricksOptions());
        recipe.LoadExtraState(state.Extra);
        Assert.Equal(8, recipe.Resolution);
        Assert.Equal(0.0, recipe.Alpha);
        Assert.Equal([2L, 3L, 32L, 32L], recipe.Sample(2).shape);
    }

    [Fact]
    public void BeganOnImagesRefusesGeneratorSwitchesItsGeneratorLacks()
    {
        var f = SmallShapes with { Family = GanFamily.Began };
        var e = Assert.Throws<GanSharpException>(() => FamilyRegistry.CreateRecipe(f, new TricksOptions { SpectralNormG = true }));
        Assert.Contains("--spectral-norm-g", e.Message);
        Assert.Throws<GanSharpException>(() => FamilyRegistry.CreateRecipe(f, new TricksOptions { GDropout = 0.5 }));
        // On 2-D data G is the DCGAN MLP, which has both.
        using var points = FamilyRegistry.CreateRecipe(SmallPoints with { Family = GanFamily.Began },
            new TricksOptions { SpectralNormG = true, GDropout = 0.5 });
    }

    [Fact]
    public void BeganReportsConvergenceMeasureAndMovesK()
    {
        using var dir = Fixtures.TempDir();
        manual_seed(4);
        var f = SmallPoints with { Family = GanFamily.Began, BeganLambdaK = 0.01 };
        using var recipe = (BeganRecipe)FamilyRegistry.CreateRecipe(f, new TricksOptions());
        using var stats = new StatsCollector();
        var sink = new LatestStatsSink();
        stats.Subscribe(sink);
        var run = FamilyTestKit.Run(dir.Root, 10) with { PrintFreq = 16 };
        using var trainer = new Trainer<IGanBatch>(recipe, FamilyRunner.CreateSource(f, 1), run, 1, "{}", stats);
        trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None);
        Assert.Equal(10, sink.All.Count);   // one record per step, each with M and k
        Assert.All(sink.All, r => Assert.True(r.Values["M"] > 0));
        // k_1 = clip(0 + λ_k(γ·L(x) − L(G(z))), 0, 1): check the first step against its own losses.
        var first = sink.All[0].Values;
        double expectedK = Math.Clamp(0.01 * (0.5 * first["D_real"] - first["D_fake"]), 0, 1);
        Assert.Equal(expectedK, first["k"], 6);
        double m = first["D_real"] + Math.Abs(0.5 * first["D_real"] - first["D_fake"]);
        Assert.Equal(m, first["M"], 6);
        Assert.InRange(recipe.K, 0, 1);
    }

    [Fact]
    public void ResumeWithStatefulTricksEqualsAStraightRun()
    {
        // Replay buffer, ADA's p and G's EMA all live in the state: a split run must end bit for bit where a straight one does.
        var f = SmallShapes with { Family = GanFamily.Dcgan };
        var t = new TricksOptions
        {
            ReplaySize = 12, ReplayProb = 0.5, DiffAugment = "color,translation,cutout", AdaTarget = 0.6, AdaInterval = 1,
            AdaSpeedImages = 40, EmaBeta = 0.9, InstanceNoise = 0.1, Smoothing = LabelSmoothing.Uniform, FlipFraction = 0.1
        };
        using var straight = Fixtures.TempDir();
        using var split = Fixtures.TempDir();
        FamilyTestKit.Train(f, t, 6, straight.Root);
        FamilyTestKit.Train(f, t, 3, split.Root);
        FamilyTestKit.Train(f, t, 6, split.Root, resume: true);
        byte[][] Weights(string root)
        {
            var dir = Path.Combine(root, "f");
            return new[] { "G", "D", "G_ema" }.Select(n => File.ReadAllBytes(Path.Combine(dir, $"latest_net_{n}.pth"))).ToArray();
        }
        var a = Weights(straight.Root);
        var b = Weights(split.Root);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i]);
        var sa = new RunFolder(Path.Combine(straight.Root, "f")).TryLoad("latest")!.Extra;
        var sb = new RunFolder(Path.Combine(split.Root, "f")).TryLoad("latest")!.Extra;
        var adaA = (Dictionary<object, object?>)sa["ada"]!;
        var adaB = (Dictionary<object, object?>)sb["ada"]!;
        Assert.Equal(adaA["p"], adaB["p"]);
        Assert.InRange(Convert.ToDouble(adaA["p"], System.Globalization.CultureInfo.InvariantCulture), 0.0, 0.8);
    }

    [Fact]
    public void AcGanGeneratesTheRequestedClassOnTheRing()
    {
        // Covered by the learning test; here: the conditional G's output depends on the class.
        manual_seed(5);
        using var recipe = (Models.AcGan.AcGanRecipe)FamilyRegistry.CreateRecipe(SmallPoints with { Family = GanFamily.AcGan }, new TricksOptions());
        manual_seed(6);
        using var a = recipe.SampleClasses(zeros(4, dtype: ScalarType.Int64));
        manual_seed(6);
        using var b = recipe.SampleClasses(ones(4, dtype: ScalarType.Int64));
        Assert.False(a.allclose(b));
        Assert.Equal([4L, 2L], a.shape);
    }

    [Fact]
    public void UsageErrorsAreOneSentenceNamingTheFlag()
    {
        var ex = Assert.Throws<GanSharpException>(
            () => (FamilyRunOptions.Default with { Family = GanFamily.ProGan, Data = FamilyData.Ring8 }).Validate());
        Assert.Contains("--data shapes32", ex.Message);
        var ex2 = Assert.Throws<GanSharpException>(
            () => FamilyRegistry.CreateRecipe(SmallShapes with { Family = GanFamily.WganGp, Norm = DNorm.Batch }, new TricksOptions()));
        Assert.Contains("--norm", ex2.Message);
        using var dir = Fixtures.TempDir();
        var ex3 = Assert.Throws<GanSharpException>(() => FamilyTestKit.Train(SmallPoints, new TricksOptions { DiffAugment = "color" }, 1, dir.Root));
        Assert.Equal(ErrorKind.Usage, ex3.Kind);
    }

    [Fact]
    public void Shapes32IsDeterministicInRangeAndDistanceSeparatesSets()
    {
        using var g1 = new Generator(9);
        using var g2 = new Generator(9);
        var (a, la) = Shapes32Source.Sample(64, g1);
        var (b, _) = Shapes32Source.Sample(64, g2);
        Assert.True(a.eq(b).all().item<bool>());
        Assert.Equal([64L, 3L, 32L, 32L], a.shape);
        Assert.True(a.min().item<float>() >= -1f && a.max().item<float>() <= 1f);
        Assert.Equal(4, la.unique().Item1.shape[0]);
        using var g3 = new Generator(10);
        var (c, _) = Shapes32Source.Sample(64, g3);
        double same = Shapes32Source.FeatureDistance(a, c);
        double noise = Shapes32Source.FeatureDistance(a, rand(64, 3, 32, 32) * 2 - 1);
        Assert.True(noise > 10 * same, $"noise {noise} vs another real sample {same}");
    }
}
