using GanSharp.Data;
using GanSharp.Interop;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Runs;
using GanSharp.Training;

namespace GanSharp.Tests.Spade;

[Collection("torch-global-rng")]
public class SpadeRunTests
{
    private static SpadeRunOptions Tiny(SyntheticDatasetInfo info, string checkpoints, long maxIterations) => new()
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
    };

    private static SyntheticDatasetInfo Data(TempDir dir) =>
        SyntheticDataset.Generate(dir.File("data"), new SyntheticOptions { TrainCount = 6, ValCount = 2, Width = 48, Height = 40, Seed = 2 });

    private static byte[][] Weights(string runDir, string which) =>
        new[] { "G", "D" }.SelectMany(n =>
        {
            using var sd = PthReader.ReadStateDict(Path.Combine(runDir, $"{which}_net_{n}.pth"));
            return sd.Entries.Select(kv => PthWriter.TensorBytes(kv.Value)).ToArray();
        }).ToArray();

    private static byte[] OptimizerBytes(string runDir)
    {
        var root = (Dictionary<object, object?>)PthReader.Read(Path.Combine(runDir, "latest_state.pth"))!;
        var opts = (Dictionary<object, object?>)root["optimizers"]!;
        return opts.Values.Cast<TorchSharp.torch.Tensor>().SelectMany(PthWriter.TensorBytes).ToArray();
    }

    [Fact]
    public void SpadeResumesBitForBitAcrossAnEpochBoundary()
    {
        using var dir = Fixtures.TempDir();
        var info = Data(dir);
        // 3 batches per epoch: 5 iterations straight vs 2, stop, resume, 3 more.
        var straight = Tiny(info, dir.File("a"), 5);
        SpadeRunner.Train(straight, new HashSet<string>(), CancellationToken.None, _ => { });
        var first = Tiny(info, dir.File("b"), 2);
        SpadeRunner.Train(first, new HashSet<string>(), CancellationToken.None, _ => { });
        var resumed = Tiny(info, dir.File("b"), 5) with { Run = first.Run with { MaxIterations = 5, ContinueTrain = true } };
        var r = SpadeRunner.Train(resumed, new HashSet<string> { "run.max_iterations", "run.continue_train" }, CancellationToken.None, _ => { });
        Assert.Equal(5, r.Position.Iteration);
        var a = Weights(dir.File("a/tiny"), "latest");
        var b = Weights(dir.File("b/tiny"), "latest");
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i]);
        Assert.Equal(OptimizerBytes(dir.File("a/tiny")), OptimizerBytes(dir.File("b/tiny")));

        // The run folder has the reference's files.
        Assert.True(File.Exists(dir.File("a/tiny/opt.txt")));
        Assert.True(File.Exists(dir.File("a/tiny/1_net_G.pth")));
        Assert.Contains("(epoch: 1, iters: 4, time:", File.ReadAllText(dir.File("a/tiny/loss_log.txt")));
        Assert.Contains("D_real:", File.ReadAllText(dir.File("a/tiny/loss_log.txt")));
        Assert.True(File.Exists(dir.File("a/tiny/web/index.html")));
    }

    [Fact]
    public void TestVerbRefusesMismatchedOptionsAndSynthesizesEveryMap()
    {
        using var dir = Fixtures.TempDir();
        var info = Data(dir);
        var train = Tiny(info, dir.File("ck"), 2);
        SpadeRunner.Train(train, new HashSet<string>(), CancellationToken.None, _ => { });

        var test = train with { Data = info.ValOptions() with { LoadSize = 32, CropSize = 32 }, Model = train.Model with { Ngf = 8 } };
        var e = Assert.Throws<GanSharpException>(() =>
            SpadeRunner.Test(test, new HashSet<string> { "model.ngf" }, dir.File("res"), false, CancellationToken.None, _ => { }));
        Assert.Equal(ErrorKind.Checkpoint, e.Kind);
        Assert.Contains("--ngf is 8", e.Message);
        Assert.Contains("with 2", e.Message);

        // Not typed: ngf comes from the checkpoint, so the same command without --ngf works.
        var notes = new List<string>();
        var outcome = SpadeRunner.Test(test, new HashSet<string>(), dir.File("res"), false, CancellationToken.None, notes.Add);
        Assert.Equal(2, outcome.Images);
        Assert.Equal("eval", outcome.NormMode);
        Assert.Contains(notes, n => n.Contains("eval mode", StringComparison.Ordinal));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(outcome.PageDir, "images", "synthesized_image"), "*.png").Length);
        var page = File.ReadAllText(outcome.IndexHtml);
        Assert.Contains("images/input_label/", page);
        var img = ImageIO.ReadRgb(Directory.GetFiles(Path.Combine(outcome.PageDir, "images", "synthesized_image"))[0]);
        Assert.Equal(32, img.Width);
    }

    [Fact]
    public void TestVerbSynthesizesWithARunFolderOfTheReference()
    {
        // A run folder as the NVlabs code leaves it: opt.txt (written by its TrainOptions for config A) and
        // latest_net_G.pth (config A's generator after one iteration), no options.json and no state of ours.
        using var dir = Fixtures.TempDir();
        string run = Directory.CreateDirectory(dir.File("ck/fixA")).FullName;
        File.Copy(Fixtures.Path("reference-opt", "fixA.opt.txt"), Path.Combine(run, "opt.txt"));
        // conv_img scaled by 500 so that the pictures span the whole range instead of 127/128 (ngf 1 at init gain
        // 0.02 outputs about +-0.004): the expected image is then tanh(500 x the reference's pre-tanh output).
        const float scale = 500;
        using (var sd = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_G_after.pth")))
        {
            sd["conv_img.weight"].mul_(scale);
            sd["conv_img.bias"].mul_(scale);
            PthWriter.WriteStateDict(Path.Combine(run, "latest_net_G.pth"), sd);
        }

        WriteConfigABatch(dir);
        var cli = new SpadeRunOptions
        {
            Data = DataOptions.Create(dir.File("label"), dir.File("img"), isTrain: false, dir.File("inst")) with { LoadSize = 64, CropSize = 64 },
            Model = new SpadeModelOptions { LabelNc = 13 },
            Run = new RunOptions { Name = "fixA", CheckpointsDir = dir.File("ck") },
        };
        var notes = new List<string>();
        var outcome = SpadeRunner.Test(cli, new HashSet<string>(), dir.File("res"), false, CancellationToken.None, notes.Add);
        Assert.Contains(notes, n => n.Contains("run of the NVlabs reference", StringComparison.Ordinal));
        Assert.Equal(2, outcome.Images);

        // Each synthesized image is the reference's own eval forward of that checkpoint (A_expected
        // G_eval_after_pretanh, through the scaled conv_img and tanh), to 8-bit quantisation.
        var exp = (Dictionary<object, object?>)PthReader.Read(Fixtures.SpadeTiny("A_expected.pth"))!;
        var expected = ((TorchSharp.torch.Tensor)exp["G_eval_after_pretanh"]!).mul(scale).tanh();
        Assert.True(expected.max().item<float>() - expected.min().item<float>() > 1, "the scaled output should span most of [-1, 1]");
        for (int i = 0; i < 2; i++)
        {
            var img = ImageIO.ReadRgb(Path.Combine(outcome.PageDir, "images", "synthesized_image", $"{i}.png"));
            var want = expected[i].permute(1, 2, 0).contiguous().data<float>().ToArray();
            double worst = 0;
            for (int k = 0; k < want.Length; k++) worst = Math.Max(worst, Math.Abs(img.Pixels[k] / 255.0 * 2 - 1 - want[k]));
            Assert.True(worst <= 2.0 / 255 + 1e-6, $"image {i}: {worst} from the reference's output");
        }

        // Weights without opt.txt (as NVlabs publishes them): the command line describes the networks, and a wrong
        // option is named by the keys that do not fit.
        File.Delete(Path.Combine(run, "opt.txt"));
        var typed = cli with
        {
            Data = cli.Data with { LabelNc = 5, ContainDontcareLabel = true },
            Model = SpadeParityTests.ConfigA,
        };
        notes.Clear();
        Assert.Equal(2, SpadeRunner.Test(typed, new HashSet<string>(), dir.File("res2"), false, CancellationToken.None, notes.Add).Images);
        Assert.Contains(notes, n => n.Contains("built from the command line's options", StringComparison.Ordinal));
        var e = Assert.Throws<GanSharpException>(() =>
            SpadeRunner.Test(typed with { Model = typed.Model with { Ngf = 2 } }, new HashSet<string>(), dir.File("res3"), false,
                CancellationToken.None, _ => { }));
        Assert.Contains("fc.weight is [16,7,3,3] in the file but [32,7,3,3]", e.Message);
    }

    // Config A's batch as files: labels with 255 = don't care in label/, instance ids in inst/, photos in img/.
    internal static void WriteConfigABatch(TempDir dir)
    {
        var batch = (Dictionary<object, object?>)PthReader.Read(Fixtures.SpadeTiny("A_batch.pth"))!;
        var raw = (TorchSharp.torch.Tensor)batch["label_raw"]!;
        var instance = (TorchSharp.torch.Tensor)batch["instance"]!;
        var image = (TorchSharp.torch.Tensor)batch["image"]!;
        foreach (var sub in new[] { "label", "inst", "img" }) Directory.CreateDirectory(dir.File(sub));
        for (int i = 0; i < raw.shape[0]; i++)
        {
            LabelIO.WritePng(new LabelMap(64, 64, raw[i, 0].data<long>().Select(v => (int)v).ToArray()), dir.File($"label/{i}.png"));
            LabelIO.WritePng(new LabelMap(64, 64, instance[i, 0].data<long>().Select(v => (int)v).ToArray()), dir.File($"inst/{i}.png"));
            var rgb = image[i].permute(1, 2, 0).add(1).mul(127.5).round().clamp(0, 255)
                .to(TorchSharp.torch.ScalarType.Byte).contiguous().data<byte>().ToArray();
            ImageIO.WritePng(new RgbImage(64, 64, rgb), dir.File($"img/{i}.png"));
        }
    }

    [Fact]
    public void ContinueTrainTakesARunFolderOfTheReference()
    {
        // An NVlabs run folder of config A: its opt.txt, weights and iter.txt (epoch 1, both images seen).
        using var dir = Fixtures.TempDir();
        WriteConfigABatch(dir);
        string run = Directory.CreateDirectory(dir.File("ck/fixA")).FullName;
        File.Copy(Fixtures.Path("reference-opt", "fixA.opt.txt"), Path.Combine(run, "opt.txt"));
        File.Copy(Fixtures.SpadeTiny("A_G_init.pth"), Path.Combine(run, "latest_net_G.pth"));
        File.Copy(Fixtures.SpadeTiny("A_D_init.pth"), Path.Combine(run, "latest_net_D.pth"));
        File.WriteAllText(Path.Combine(run, "iter.txt"), "1\n2\n");
        var cli = new SpadeRunOptions
        {
            Data = DataOptions.Create(dir.File("label"), dir.File("img"), isTrain: true, dir.File("inst")) with { NumWorkers = 0 },
            Model = new SpadeModelOptions { LabelNc = 13 },
            Run = new RunOptions { Name = "fixA", CheckpointsDir = dir.File("ck"), MaxIterations = 2 },
        };
        var given = new HashSet<string> { "data.label_dir", "data.image_dir", "data.instance_dir", "run.max_iterations" };

        // Without --continue-train the reference's weights would be overwritten: refused.
        var e = Assert.Throws<GanSharpException>(() => SpadeRunner.Train(cli, given, CancellationToken.None, _ => { }));
        Assert.Contains("holds a run of the NVlabs reference", e.Message);

        var notes = new List<string>();
        var result = SpadeRunner.Train(cli with { Run = cli.Run with { ContinueTrain = true } }, given, CancellationToken.None, notes.Add);
        Assert.Contains(notes, n => n.StartsWith("Continuing the NVlabs run", StringComparison.Ordinal));
        // iter.txt said the first epoch was done (one batch of 2 per epoch): one iteration, epoch 2's, so the run
        // stops where epoch 3 would begin.
        Assert.Equal(2, result.Position.Iteration);
        Assert.Equal((3, 0), (result.Position.Epoch, result.Position.BatchIndex));
        Assert.True(File.Exists(Path.Combine(run, "latest_state.pth")));

        // One Adam step from the reference's weights (TTUR: G lr 1e-4, D lr 4e-4 at beta1 = 0 moves every entry by at
        // most lr): the options and the weights both came from the folder.
        foreach (var (net, init, lr) in new[] { ("G", "A_G_init.pth", 1e-4), ("D", "A_D_init.pth", 4e-4) })
        {
            using var before = PthReader.ReadStateDict(Fixtures.SpadeTiny(init));
            using var after = PthReader.ReadStateDict(Path.Combine(run, $"latest_net_{net}.pth"));
            Assert.Equal(before.Keys, after.Keys);
            double moved = 0;
            foreach (var k in before.Keys.Where(k => !k.Contains("running_", StringComparison.Ordinal) && !k.EndsWith("_u", StringComparison.Ordinal)
                && !k.EndsWith("_v", StringComparison.Ordinal) && !k.EndsWith("tracked", StringComparison.Ordinal)))
                moved = Math.Max(moved, after[k].sub(before[k]).abs().max().item<float>());
            Assert.InRange(moved, lr * 0.5, lr * 1.001);
        }
    }

    [Fact]
    public void StartingOverAnExistingRunIsRefused()
    {
        using var dir = Fixtures.TempDir();
        var info = Data(dir);
        var train = Tiny(info, dir.File("ck"), 1);
        SpadeRunner.Train(train, new HashSet<string>(), CancellationToken.None, _ => { });
        var e = Assert.Throws<GanSharpException>(() => SpadeRunner.Train(train, new HashSet<string>(), CancellationToken.None, _ => { }));
        Assert.Contains("--continue-train", e.Message);
    }

    [Fact]
    public void VggLossWithoutWeightsStopsBeforeTraining()
    {
        using var dir = Fixtures.TempDir();
        var info = Data(dir);
        var train = Tiny(info, dir.File("ck"), 1) with { Loss = new SpadeLossOptions() };
        string? saved = Environment.GetEnvironmentVariable(SpadeRunner.VggEnvironmentVariable);
        Environment.SetEnvironmentVariable(SpadeRunner.VggEnvironmentVariable, null);
        try
        {
            var e = Assert.Throws<GanSharpException>(() => SpadeRunner.Train(train, new HashSet<string>(), CancellationToken.None, _ => { }));
            Assert.Contains("vgg19-dcbbb2b4.pth", e.Message);
            Assert.Contains("--no-vgg-loss", e.Message);
            Assert.False(File.Exists(dir.File("ck/tiny/latest_state.pth")));
        }
        finally
        {
            Environment.SetEnvironmentVariable(SpadeRunner.VggEnvironmentVariable, saved);
        }
    }
}

[Collection("torch-global-rng")]
public class SpadePeriodicEvaluationTests
{
    [Fact]
    public void FidAndKidAreReportedEveryEpochAndNeedTheWeights()
    {
        using var dir = Fixtures.TempDir();
        var info = SyntheticDataset.Generate(dir.File("data"), new SyntheticOptions
        {
            TrainCount = 4, ValCount = 1, Width = 40, Height = 40,
            Seed = 5
        });
        var options = new SpadeRunOptions
        {
            Data = info.TrainOptions() with { BatchSize = 2, LoadSize = 32, CropSize = 32, Seed = 1 },
            Model = new SpadeModelOptions { LabelNc = info.LabelNc, Ngf = 2, Ndf = 4, CropSize = 32, NLayersD = 2 },
            Loss = new SpadeLossOptions { NoVggLoss = true },
            Optim = new OptimOptions { Niter = 2 },
            Run = new RunOptions { Name = "ev", CheckpointsDir = dir.File("ck"), PrintFreq = 100, DisplayFreq = 100, SaveEpochFreq = 10 },
            EvalEvery = 1,
            EvalSamples = 3,
        };
        string? saved = Environment.GetEnvironmentVariable("GANSHARP_INCEPTION_WEIGHTS");
        Environment.SetEnvironmentVariable("GANSHARP_INCEPTION_WEIGHTS", null);
        try
        {
            var e = Assert.Throws<GanSharpException>(() => SpadeRunner.Train(options, new HashSet<string>(), CancellationToken.None, _ => { }));
            Assert.Contains("pt_inception-2015-12-05-6726825d.pth", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("GANSHARP_INCEPTION_WEIGHTS", saved);
        }

        // pytorch-fid's key layout with deterministic weights, through the same loading path as the real file.
        using (var source = new GanSharp.Evaluation.FidInceptionV3())
        {
            GanSharp.Evaluation.DeterministicWeights.Fill(source);
            using var sd = StateDict.From(source);
            PthWriter.WriteStateDict(dir.File("inception.pth"), sd);
        }
        var sink = new LatestStatsSink();
        SpadeRunner.Train(options with { InceptionWeights = dir.File("inception.pth"), Run = options.Run with { Name = "ev2" } },
            new HashSet<string>(), CancellationToken.None, _ => { }, sinks: [sink]);
        var evals = sink.All.Where(r => r.Values.ContainsKey("FID")).ToList();
        Assert.Equal(new[] { 1, 2 }, evals.Select(r => r.Epoch));
        Assert.All(evals, r =>
        {
            Assert.True(double.IsFinite(r.Values["FID"]) && r.Values["FID"] > 0, $"FID {r.Values["FID"]}");
            Assert.True(double.IsFinite(r.Values["KID"]));
        });
    }
}
