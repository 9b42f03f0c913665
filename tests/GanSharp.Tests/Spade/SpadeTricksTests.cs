using GanSharp.Data;
using GanSharp.Interop;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Runs;
using GanSharp.Training;
using GanSharp.Training.Tricks;
using static TorchSharp.torch;

namespace GanSharp.Tests.Spade;

[Collection("torch-global-rng")]
public class SpadeTricksTests
{
    private static readonly SpadeModelOptions TinyModel = new()
    {
        LabelNc = 3, ContainDontcareLabel = false, NoInstance = true, CropSize = 32, Ngf = 2, Ndf = 4, NumD = 2, NLayersD = 2,
    };

    private static (Tensor Semantics, Tensor Image) FixedBatch()
    {
        manual_seed(21);
        var labels = randint(0, 3, [2, 32, 32]);
        var semantics = nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).to_type(ScalarType.Float32);
        var image = rand([2, 3, 32, 32]) * 2 - 1;
        return (semantics, image);
    }

    private static double[] Values(Tensor t) => t.detach().to_type(ScalarType.Float64).flatten().data<double>().ToArray();

    // The mean over D's scales of the mean of f over each scale's prediction map: GanLoss's reduction, by hand.
    private static double ByHand(Tensor[][] predictions, Func<double, double> f) =>
        predictions.Average(scale => Values(scale[^1]).Average(f));

    [Fact]
    public void SoftLabelsScoreHingeAsSignAndOriginalAsTarget()
    {
        var (semantics, image) = FixedBatch();
        var tricks = new TricksOptions { Smoothing = LabelSmoothing.Fixed, RealTarget = 0.9 };
        var hooks = new SpadeDiscriminatorTricks { Targets = n => DTargets.For([n], tricks) };

        manual_seed(5);
        using (var model = new SpadeModel(TinyModel, new SpadeLossOptions { NoVggLoss = true }))
        using (NewDisposeScope())
        {
            var d = model.ComputeDiscriminatorLoss(semantics, image, hooks);
            // Hinge: the real target 0.9 acts as the sign 2·0.9 − 1 = 0.8; the fake target 0 as −1.
            double real = ByHand(d.PredReal, p => Math.Max(0, 1 - 0.8 * p));
            double fake = ByHand(d.PredFake, p => Math.Max(0, 1 + p));
            Assert.Equal(real, d.DReal.item<float>(), 1e-5);
            Assert.Equal(fake, d.DFake.item<float>(), 1e-5);
            // The soft target really changed the value: the plain hinge on the same outputs differs.
            Assert.NotEqual(ByHand(d.PredReal, p => Math.Max(0, 1 - p)), real, 4);
        }

        manual_seed(5);
        using (var model = new SpadeModel(TinyModel, new SpadeLossOptions { NoVggLoss = true, GanMode = AdversarialLoss.Original }))
        using (NewDisposeScope())
        {
            var d = model.ComputeDiscriminatorLoss(semantics, image, hooks);
            // BCE with logits against t: softplus(p) − t·p, stably max(p, 0) − t·p + log(1 + e^−|p|).
            static double Bce(double p, double t) => Math.Max(p, 0) - t * p + Math.Log(1 + Math.Exp(-Math.Abs(p)));
            Assert.Equal(ByHand(d.PredReal, p => Bce(p, 0.9)), d.DReal.item<float>(), 1e-5);
            Assert.Equal(ByHand(d.PredFake, p => Bce(p, 0.0)), d.DFake.item<float>(), 1e-5);
        }
    }

    [Fact]
    public void InstanceNoiseHasTheDecayedStdOnTheImageAndLeavesTheLabelChannels()
    {
        var (semantics, image) = FixedBatch();
        var tricks = new TricksOptions { InstanceNoise = 0.2, InstanceNoiseSteps = 10, InstanceNoiseDecay = NoiseDecay.Linear };
        manual_seed(5);
        using var recipe = new SpadeRecipe(new SpadeModel(TinyModel, new SpadeLossOptions { NoVggLoss = true }), new OptimOptions(), tricks);
        using var scope = NewDisposeScope();

        // Linear decay: at step 5 of 10 the std is 0.2 · (1 − 5/10) = 0.1.
        manual_seed(8);
        var input = SpadeModel.DiscriminatorInput(semantics, recipe.DiscriminatorImage(image, 5));
        Assert.Equal(Values(semantics), Values(input.narrow(1, 0, 3)));
        var noise = Values(input.narrow(1, 3, 3) - image);
        double mean = noise.Average();
        double std = Math.Sqrt(noise.Sum(v => (v - mean) * (v - mean)) / (noise.Length - 1));
        Assert.InRange(mean, -0.006, 0.006);     // 6144 samples: 0.1/√6144 ≈ 0.0013 standard error
        Assert.InRange(std, 0.096, 0.104);

        // From step 10 on the noise is off and D sees the clean image itself.
        Assert.Equal(Values(image), Values(recipe.DiscriminatorImage(image, 10)));
    }

    private static SpadeRunOptions Tiny(SyntheticDatasetInfo info, string checkpoints, long maxIterations, TricksOptions tricks) => new()
    {
        Data = info.TrainOptions() with { BatchSize = 2, LoadSize = 36, CropSize = 32, NumWorkers = 2, Seed = 4 },
        Model = new SpadeModelOptions { LabelNc = info.LabelNc, Ngf = 2, Ndf = 4, CropSize = 32, NumD = 2, NLayersD = 2 },
        Loss = new SpadeLossOptions { NoVggLoss = true },
        Optim = new OptimOptions { Niter = 2, NiterDecay = 1 },
        Run = new RunOptions
        {
            Name = "tiny", CheckpointsDir = checkpoints, Seed = 11, PrintFreq = 2, DisplayFreq = 4, SaveLatestFreq = 1000,
            SaveEpochFreq = 1, MaxIterations = maxIterations
        },
        Tricks = tricks,
    };

    private static SyntheticDatasetInfo Data(TempDir dir) =>
        SyntheticDataset.Generate(dir.File("data"), new SyntheticOptions { TrainCount = 6, ValCount = 2, Width = 48, Height = 40, Seed = 2 });

    private static byte[][] Weights(string runDir, string which, params string[] nets) =>
        nets.SelectMany(n =>
        {
            using var sd = PthReader.ReadStateDict(Path.Combine(runDir, $"{which}_net_{n}.pth"));
            return sd.Entries.Select(kv => PthWriter.TensorBytes(kv.Value)).ToArray();
        }).ToArray();

    [Fact]
    public void SpadeWithAugmentAdaR1EmaAndReplayResumesBitForBit()
    {
        using var dir = Fixtures.TempDir();
        var info = Data(dir);
        var tricks = new TricksOptions
        {
            DiffAugment = "color,translation,cutout",
            AdaTarget = 0.6,
            AdaInterval = 1,
            AdaSpeedImages = 20,    // p moves by 0.1 per iteration, so its saved value matters
            Penalty = PenaltyKind.R1,
            PenaltyWeight = 1,
            R1Interval = 2,
            EmaBeta = 0.9,
            InstanceNoise = 0.1,
            Smoothing = LabelSmoothing.Fixed,
            FlipFraction = 0.25,
            ReplaySize = 3,
            DSteps = 2,
        };
        // 3 batches per epoch: 5 iterations straight vs 2, stop, resume, 3 more.
        SpadeRunner.Train(Tiny(info, dir.File("a"), 5, tricks), new HashSet<string>(), CancellationToken.None, _ => { });
        var first = Tiny(info, dir.File("b"), 2, tricks);
        SpadeRunner.Train(first, new HashSet<string>(), CancellationToken.None, _ => { });
        // The resumed command line names no trick: the tricks come from the checkpoint's options.
        var resumed = Tiny(info, dir.File("b"), 5, new TricksOptions()) with { Run = first.Run with { MaxIterations = 5, ContinueTrain = true } };
        var r = SpadeRunner.Train(resumed, new HashSet<string> { "run.max_iterations", "run.continue_train" }, CancellationToken.None, _ => { });
        Assert.Equal(5, r.Position.Iteration);

        var a = Weights(dir.File("a/tiny"), "latest", "G", "D", "G_ema");
        var b = Weights(dir.File("b/tiny"), "latest", "G", "D", "G_ema");
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i]);
        // The EMA copy is a copy of its own, not G.
        Assert.NotEqual(Weights(dir.File("a/tiny"), "latest", "G"), Weights(dir.File("a/tiny"), "latest", "G_ema"));
        Assert.Contains("\"diff_augment\": \"color,translation,cutout\"", File.ReadAllText(dir.File("b/tiny/options.json")));
        // ADA moved p and R1 ran (lazily): both appear in the statistics.
        string stats = File.ReadAllText(dir.File("a/tiny/stats.jsonl"));
        Assert.Contains("ada_p", stats);
        Assert.Contains("D_R1", stats);

        // `test` samples with the EMA generator when the run kept one.
        var notes = new List<string>();
        var test = first with { Data = info.ValOptions() with { LoadSize = 32, CropSize = 32 } };
        var outcome = SpadeRunner.Test(test, new HashSet<string>(), dir.File("res"), false, CancellationToken.None, notes.Add);
        Assert.Equal(2, outcome.Images);
        Assert.Contains(notes, n => n.Contains("G_ema", StringComparison.Ordinal));
    }

    [Fact]
    public void WganGpReplayUniformLabelsAndStepCountsTrainAndSeparateLrsFollowTheSchedule()
    {
        using var dir = Fixtures.TempDir();
        var info = Data(dir);
        var tricks = new TricksOptions
        {
            Penalty = PenaltyKind.WganGp, Smoothing = LabelSmoothing.Uniform, ReplaySize = 2, ReplayProb = 1, GSteps = 2, LrG = 1e-3, LrD = 3e-3,
        };
        var options = Tiny(info, dir.File("ck"), 2, tricks) with { Loss = new SpadeLossOptions { NoVggLoss = true, GanMode = AdversarialLoss.W } };
        var r = SpadeRunner.Train(options, new HashSet<string>(), CancellationToken.None, _ => { });
        Assert.Equal(2, r.Position.Iteration);
        string stats = File.ReadAllText(dir.File("ck/tiny/stats.jsonl"));
        Assert.Contains("D_GP", stats);
        Assert.DoesNotContain("NaN", stats);

        // --lr-g/--lr-d give epoch 1's rates; the linear decay (niter 2, niter_decay 1) then scales them as it scales --lr.
        manual_seed(5);
        using var recipe = new SpadeRecipe(new SpadeModel(TinyModel, new SpadeLossOptions { NoVggLoss = true }), options.Optim, tricks);
        Assert.Equal(1e-3, recipe.LearningRates(1)["G"], 12);
        Assert.Equal(3e-3, recipe.LearningRates(1)["D"], 12);
        double decay = options.Optim.LearningRatesAt(3).G / options.Optim.LearningRatesAt(1).G;
        Assert.Equal(1e-3 * decay, recipe.LearningRates(3)["G"], 12);
        Assert.Equal(["G", "D"], recipe.Phases.Select(p => p.Name));
        Assert.Equal(2, recipe.Phases[0].Repeat);
    }

    [Fact]
    public void TricksWithoutMeaningForSpadeAreRefusedWithOneSentence()
    {
        using var dir = Fixtures.TempDir();
        var info = Data(dir);
        var e = Assert.Throws<GanSharpException>(() =>
            SpadeRunner.Train(Tiny(info, dir.File("ck"), 1, new TricksOptions { MinibatchStd = true }), new HashSet<string>(), CancellationToken.None,
                _ => { }));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Equal("--minibatch-std does not apply to SPADE: its multiscale patch discriminator has no single head to append the feature to.",
            e.Message);
        Assert.False(Directory.Exists(dir.File("ck/tiny")));

        var sn = Assert.Throws<GanSharpException>(() => SpadeRecipe.CheckTricks(new TricksOptions { SpectralNormD = true }));
        Assert.StartsWith("--spectral-norm-d does not apply to SPADE", sn.Message);
        Assert.Throws<GanSharpException>(() => SpadeRecipe.CheckTricks(new TricksOptions { SphereLatent = true }));
        Assert.Throws<GanSharpException>(() => SpadeRecipe.CheckTricks(new TricksOptions { JointBatch = true }));
        Assert.Throws<GanSharpException>(() => SpadeRecipe.CheckTricks(new TricksOptions { GDropout = 0.5 }));
        SpadeRecipe.CheckTricks(new TricksOptions());
    }
}
