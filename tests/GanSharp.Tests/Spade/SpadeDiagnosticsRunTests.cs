using GanSharp.Data;
using GanSharp.Diagnostics;
using GanSharp.Interop;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Nn;
using GanSharp.Reporting;
using GanSharp.Runs;
using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Tests.Spade;

/// <summary>SPADE's diagnostics through the trainer: the schedule, the values, resume, and the detectors' verdicts.</summary>
[Collection("torch-global-rng")]
public class SpadeDiagnosticsRunTests
{
    private static SyntheticDatasetInfo Data(TempDir dir) =>
        SyntheticDataset.Generate(dir.File("data"), new SyntheticOptions { TrainCount = 6, ValCount = 3, Width = 48, Height = 40, Seed = 2 });

    // Batch 2 and a log line every 2 images: every iteration is a log step.
    private static SpadeRunOptions Tiny(SyntheticDatasetInfo info, string checkpoints, long maxIterations, bool validate) => new()
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
        ValLabelDir = validate ? info.ValLabelDir : null,
        ValImageDir = validate ? info.ValImageDir : null,
        ValInstanceDir = validate ? info.ValInstanceDir : null,
        ValEvery = 2,
        ValSamples = 3,
        DiversitySamples = validate ? 3 : 0,
    };

    private static byte[][] Weights(string runDir) =>
        new[] { "G", "D" }.SelectMany(n =>
        {
            using var sd = PthReader.ReadStateDict(Path.Combine(runDir, $"latest_net_{n}.pth"));
            return sd.Entries.Select(kv => PthWriter.TensorBytes(kv.Value)).ToArray();
        }).ToArray();

    private static List<StatsRecord> Train(SpadeRunOptions options, IReadOnlySet<string>? given = null, List<string>? notes = null)
    {
        var sink = new LatestStatsSink();
        SpadeRunner.Train(options, given ?? new HashSet<string>(), CancellationToken.None, n => notes?.Add(n), sinks: [sink]);
        return sink.All;
    }

    private static readonly string[] Diagnostic = ["diversity", "diversity_real", "val/L1", "D_acc_heldout", "r_t_heldout", "D_acc_train",
        "r_t_train"];

    [Fact]
    public void ARunWithAValFolderValidatesOnScheduleWithTheValuesOfAnIndependentComputation()
    {
        using var dir = Fixtures.TempDir();
        var info = Data(dir);
        // torchvision's key layout with deterministic weights, loaded through the same path as the real file.
        string vggPath = dir.File("vgg19.pth");
        manual_seed(4);
        using (var source = new Vgg19())
        {
            SpadeInit.XavierNormal(source, 1.0);
            using var sd = StateDict.From(source);
            PthWriter.WriteStateDict(vggPath, sd);
        }
        var options = Tiny(info, dir.File("ck"), 3, validate: true) with { Loss = new SpadeLossOptions(), VggWeights = vggPath };

        // Training uses the instance maps, so validation needs them too.
        var e = Assert.Throws<GanSharpException>(() => Train(options with { ValInstanceDir = null }));
        Assert.Contains("--val-instance-dir", e.Message);
        var e2 = Assert.Throws<GanSharpException>(() => Train(options with { ValLabelDir = null, ValImageDir = null, ValInstanceDir = null },
            new HashSet<string> { "val_every" }));
        Assert.Contains("--val-every 2 needs a held-out split", e2.Message);

        var notes = new List<string>();
        var records = Train(options, notes: notes);
        Assert.Contains(notes, n => n.StartsWith("Diagnostics: sample diversity of 3 fixed training label maps", StringComparison.Ordinal));
        Assert.Equal([1L, 2, 3], records.Select(r => r.Iteration));
        Assert.All(records, r => Assert.True(r.Values.ContainsKey("diversity") && r.Values.ContainsKey("diversity_real")));
        // Validation at the first log step, then at the first log step 2 iterations later.
        Assert.Equal([1L, 3], records.Where(r => r.Values.ContainsKey("val/VGG")).Select(r => r.Iteration));
        Assert.All(Diagnostic, name => Assert.True(records[2].Values.ContainsKey(name), name));

        // Recompute iteration 3's validation from the saved networks (the run stopped right after it): a fresh copy
        // per chunk of 2, G(label) against the photo, VGG × lambda_vgg 10, D's real half.
        string runDir = dir.File("ck/tiny");
        var saved = SpadeRunOptions.FromJson(File.ReadAllText(Path.Combine(runDir, "options.json")), "options.json");
        Assert.False(saved.Model.NoInstance);
        using var vgg = SpadeRunner.LoadVgg(saved)!;
        using var val = DiagnosticPairs.Load(saved.Data with
        {
            LabelDir = info.ValLabelDir,
            ImageDir = info.ValImageDir,
            InstanceDir = info.ValInstanceDir
        }, 3);
        double l1 = 0, perceptual = 0;
        var logits = new List<Tensor>();
        for (long i = 0; i < 3; i += 2)
        {
            long n = Math.Min(2, 3 - i);
            using var model = new SpadeModel(saved.Model, saved.Loss, vgg);
            using (var g = PthReader.ReadStateDict(Path.Combine(runDir, "latest_net_G.pth"))) ModuleState.Load(model.NetG, g, "G", "netG");
            using (var d = PthReader.ReadStateDict(Path.Combine(runDir, "latest_net_D.pth"))) ModuleState.Load(model.NetD!, d, "D", "netD");
            model.Train(true);
            using var _ = no_grad();
            var sem = val.Semantics.narrow(0, i, n).to_type(ScalarType.Float32);
            var real = val.Images.narrow(0, i, n);
            var fake = model.NetG.call(sem, null);
            l1 += (fake - real).abs().mean().to_type(ScalarType.Float64).item<double>() * n / 3;
            perceptual += VggLoss.Compute(vgg, fake, real).to_type(ScalarType.Float64).item<double>() * 10 * n / 3;
            var (_, predReal) = model.DiscriminatePair(sem, fake, real);
            logits.Add(cat(predReal.Select(s => s[^1].flatten()).ToArray()));
        }
        var last = records[2].Values;
        Assert.Equal(l1, last["val/L1"], 1e-6);
        Assert.Equal(perceptual, last["val/VGG"], 1e-5);
        using var all = cat(logits.ToArray());
        Assert.Equal(all.gt(0).to_type(ScalarType.Float64).mean().item<double>(), last["D_acc_heldout"], 1e-6);
        Assert.True(last["val/VGG"] > 0 && last["val/L1"] > 0);

        // The detectors that were "not logged" on SPADE runs now judge this one.
        var report = DoctorReport.Write(runDir);
        foreach (var id in new[] { DetectorIds.ModeCollapse, DetectorIds.PerceptualOverfit, DetectorIds.DMemorising })
            Assert.NotEqual(VerdictStatus.NotApplicable, report.Verdicts.Single(v => v.Detector.Id == id).Status);
        Assert.Contains(report.Plots, p => p.Group == "validation" && p.Series.Contains("val/VGG") && p.Series.Contains("VGG"));

        // The options are in options.json (snake_case) and opt.txt.
        string json = File.ReadAllText(Path.Combine(runDir, "options.json"));
        Assert.Contains("\"val_every\": 2", json);
        Assert.Contains("\"diversity_samples\": 3", json);
        Assert.Contains("val_label_dir", File.ReadAllText(Path.Combine(runDir, "opt.txt")));
    }

    [Fact]
    public void DiagnosticsLeaveTrainingBitIdenticalAndAResumedRunValidatesWhereAStraightOneDoes()
    {
        using var dir = Fixtures.TempDir();
        var info = Data(dir);
        // 3 batches per epoch: 5 iterations straight, with and without diagnostics, and 2 + resume + 3 with them.
        var plain = Train(Tiny(info, dir.File("off"), 5, validate: false));
        var straight = Train(Tiny(info, dir.File("a"), 5, validate: true));
        var first = Tiny(info, dir.File("b"), 2, validate: true);
        Train(first);
        // The diagnostics options come back from the checkpoint.
        var resumed = Train(Tiny(info, dir.File("b"), 5, validate: false) with { Run = first.Run with { MaxIterations = 5, ContinueTrain = true } },
            new HashSet<string> { "run.max_iterations", "run.continue_train" });

        Assert.DoesNotContain(plain, r => r.Values.ContainsKey("diversity"));
        var a = Weights(dir.File("a/tiny"));
        foreach (var other in new[] { Weights(dir.File("off/tiny")), Weights(dir.File("b/tiny")) })
        {
            Assert.Equal(a.Length, other.Length);
            for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], other[i]);
        }

        Assert.Equal([1L, 3, 5], straight.Where(r => r.Values.ContainsKey("val/L1")).Select(r => r.Iteration));
        Assert.Equal([3L, 5], resumed.Where(r => r.Values.ContainsKey("val/L1")).Select(r => r.Iteration));
        foreach (var r in resumed)
        {
            var s = straight.Single(x => x.Iteration == r.Iteration);
            foreach (var name in Diagnostic.Where(r.Values.ContainsKey))
                Assert.Equal(s.Values[name], r.Values[name]);
            Assert.Equal(s.Values["GAN"], r.Values["GAN"]);
        }
    }
}
