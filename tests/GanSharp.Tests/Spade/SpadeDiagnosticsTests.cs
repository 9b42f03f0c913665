using GanSharp.Diagnostics;
using GanSharp.Interop;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Nn;
using GanSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Tests.Spade;

/// <summary>
/// SPADE's diagnostics against an independent computation: a fresh copy of the networks per chunk (so also the
/// claim that every chunk starts from the training state), the metrics written out by hand.
/// </summary>
[Collection("torch-global-rng")]
public class SpadeDiagnosticsTests
{
    private const int Classes = 3;
    private const double LambdaVgg = 2.5;

    private static SpadeModelOptions TinyModel(bool vae = false) => new()
    {
        LabelNc = Classes, NoInstance = true, CropSize = 32, Ngf = 2, Ndf = 4, NumD = 2, NLayersD = 2, UseVae = vae, ZDim = 8,
    };

    private static DiagnosticPairs RandomPairs(int n, int seed)
    {
        manual_seed(seed);
        using var labels = randint(0, Classes, [n, 32, 32]);
        using var oneHot = nn.functional.one_hot(labels, Classes);
        var semantics = oneHot.permute(0, 3, 1, 2).to_type(ScalarType.Byte).contiguous();
        var images = rand([n, 3, 32, 32]) * 2 - 1;
        return new DiagnosticPairs(semantics, images);
    }

    private static Vgg19 TinyVgg()
    {
        manual_seed(4);
        var vgg = new Vgg19();
        SpadeInit.XavierNormal(vgg, 1.0);
        vgg.eval();
        return vgg;
    }

    private static SpadeModel Model(bool vae, Vgg19? vgg, int seed = 7)
    {
        manual_seed(seed);
        var model = new SpadeModel(TinyModel(vae), new SpadeLossOptions { NoVggLoss = vgg is null, LambdaVgg = LambdaVgg }, vgg);
        model.Train(true);
        return model;
    }

    // A second model with the networks' current weights and buffers, in training mode.
    private static SpadeModel Copy(SpadeModel of, Vgg19? vgg)
    {
        var m = Model(of.Options.UseVae, vgg, seed: 99);
        using (var g = StateDict.From(of.NetG)) ModuleState.Load(m.NetG, g, "test", "netG");
        using (var d = StateDict.From(of.NetD!)) ModuleState.Load(m.NetD!, d, "test", "netD");
        if (of.NetE is not null)
            using (var e = StateDict.From(of.NetE)) ModuleState.Load(m.NetE!, e, "test", "netE");
        return m;
    }

    private static byte[][] StateBytes(SpadeModel m) =>
        new nn.Module?[] { m.NetG, m.NetD, m.NetE }.OfType<nn.Module>().SelectMany(net =>
        {
            using var sd = StateDict.From(net);
            return sd.Keys.Select(k => PthWriter.TensorBytes(sd[k])).ToArray();
        }).ToArray();

    private static double Item(Tensor t) => t.to_type(ScalarType.Float64).item<double>();

    private static void Close(double expected, double actual, string name) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-6 * Math.Max(1, Math.Abs(expected)), $"{name}: expected {expected}, got {actual}");

    // The reference computation of one held set: per chunk a fresh copy of the networks, G(label[, z]), L1 and VGG
    // against the photo weighted by chunk size, D on [fake; photo] and its real-half outputs.
    private static (double L1, double Vgg, Tensor Logits) ByHand(SpadeModel model, Vgg19? vgg, DiagnosticPairs pairs, int chunk, Tensor? eps)
    {
        double l1 = 0, perceptual = 0;
        var logits = new List<Tensor>();
        for (long i = 0; i < pairs.Count; i += chunk)
        {
            long n = Math.Min(chunk, pairs.Count - i);
            using var m = Copy(model, vgg);
            using var _ = no_grad();
            var sem = pairs.Semantics.narrow(0, i, n).to_type(ScalarType.Float32);
            var real = pairs.Images.narrow(0, i, n);
            Tensor? z = null;
            if (m.NetE is not null)
            {
                var (mu, logvar) = m.NetE.call(real);
                z = mu + eps!.narrow(0, i, n) * (0.5 * logvar).exp();
            }
            var fake = m.NetG.call(sem, z);
            l1 += Item((fake - real).abs().mean()) * n / pairs.Count;
            if (vgg is not null) perceptual += Item(VggLoss.Compute(vgg, fake, real)) * LambdaVgg * n / pairs.Count;
            var (_, predReal) = m.DiscriminatePair(sem, fake, real);
            logits.Add(cat(predReal.Select(s => s[^1].flatten()).ToArray()));
        }
        return (l1, perceptual, cat(logits.ToArray()));
    }

    private static double Accuracy(Tensor logits) => Item(logits.gt(0).to_type(ScalarType.Float64).mean());

    private static double Rt(Tensor logits) => Item(logits.sign().to_type(ScalarType.Float64).mean());

    [Fact]
    public void DiversityValidationAndHeldOutAccuracyEqualAnIndependentComputationAndChangeNoState()
    {
        using var vgg = TinyVgg();
        using var model = Model(vae: false, vgg);
        var train = RandomPairs(4, seed: 1);
        var val = RandomPairs(3, seed: 2);
        using var expectedTrainImages = train.Images.clone();
        // Chunks of 2 (the training batch size): 3 diversity maps and 3 held-out pairs are both split 2 + 1.
        using var diagnostics = new SpadeDiagnostics(train, val, diversitySamples: 3, valEvery: 5, chunk: 2, model.Options);
        using var stats = new StatsCollector();
        var ctx = new StepContext(stats) { Iteration = 0, IsLogStep = true };

        var before = StateBytes(model);
        using var rngBefore = torch.random.get_rng_state();
        diagnostics.Report(model, ctx, AdversarialLoss.Hinge);
        var r = stats.Flush(1, 2, 1, 0).Values;

        // Nothing training depends on moved: weights, spectral-norm vectors, running statistics, the global generator.
        var after = StateBytes(model);
        Assert.Equal(before.Length, after.Length);
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);
        using (var rngAfter = torch.random.get_rng_state()) Assert.Equal(rngBefore.data<byte>().ToArray(), rngAfter.data<byte>().ToArray());

        Assert.Equal(
            new[] { "D_acc_heldout", "D_acc_train", "diversity", "diversity_real", "r_t_heldout", "r_t_train", "val/L1", "val/VGG" },
            r.Keys.Order(StringComparer.Ordinal).ToArray());

        // Diversity: the fakes of the first 3 training maps, two chunks, against their 3 photos.
        Tensor fakes;
        using (var _ = no_grad())
        {
            using var m1 = Copy(model, vgg);
            using var m2 = Copy(model, vgg);
            fakes = cat(new[]
            {
                m1.NetG.call(train.Semantics.narrow(0, 0, 2).to_type(ScalarType.Float32), null),
                m2.NetG.call(train.Semantics.narrow(0, 2, 1).to_type(ScalarType.Float32), null),
            });
        }
        static double Mpd(Tensor x)
        {
            var flat = x.reshape(x.shape[0], -1).to_type(ScalarType.Float64);
            double sum = 0;
            long n = x.shape[0];
            for (long a = 0; a < n; a++)
                for (long b = 0; b < n; b++)
                    if (a != b) sum += Item((flat[a] - flat[b]).pow(2).sum().sqrt());
            return sum / (n * (n - 1));
        }
        Close(Mpd(fakes), r["diversity"], "diversity");
        Close(Mpd(expectedTrainImages.narrow(0, 0, 3)), r["diversity_real"], "diversity_real");
        Assert.True(r["diversity"] > 0);

        var (l1, perceptual, heldOut) = ByHand(model, vgg, val, 2, null);
        Close(l1, r["val/L1"], "val/L1");
        Close(perceptual, r["val/VGG"], "val/VGG");
        Close(Accuracy(heldOut), r["D_acc_heldout"], "D_acc_heldout");
        Close(Rt(heldOut), r["r_t_heldout"], "r_t_heldout");
        // Training side: the first 3 training pairs (as many as held out), scored the same way.
        var (_, _, trained) = ByHand(model, vgg, new DiagnosticPairs(train.Semantics.narrow(0, 0, 3), train.Images.narrow(0, 0, 3)), 2, null);
        Close(Accuracy(trained), r["D_acc_train"], "D_acc_train");
        Close(Rt(trained), r["r_t_train"], "r_t_train");

        // The next log steps: diversity every time, validation only once 5 iterations have passed.
        var due = new List<long>();
        for (long it = 1; it < 12; it++)
        {
            ctx.Iteration = it;
            ctx.IsLogStep = it % 2 == 0;
            if (!ctx.IsLogStep) continue;
            diagnostics.Report(model, ctx, AdversarialLoss.Hinge);
            var v = stats.Flush(1, 2, it + 1, 0).Values;
            Assert.True(v.ContainsKey("diversity"));
            if (v.ContainsKey("val/L1")) due.Add(it);
        }
        Assert.Equal([6L], due);
    }

    [Fact]
    public void WithTheVaeDiversityAcrossZAndValidationUseTheFixedPrivateDraws()
    {
        using var model = Model(vae: true, vgg: null);
        var train = RandomPairs(3, seed: 3);
        var val = RandomPairs(2, seed: 4);
        using var diagnostics = new SpadeDiagnostics(train, val, diversitySamples: 3, valEvery: 1, chunk: 3, model.Options);
        using var stats = new StatsCollector();
        using var rngBefore = torch.random.get_rng_state();
        diagnostics.Report(model, new StepContext(stats) { IsLogStep = true }, AdversarialLoss.Hinge);
        using (var rngAfter = torch.random.get_rng_state()) Assert.Equal(rngBefore.data<byte>().ToArray(), rngAfter.data<byte>().ToArray());
        var r = stats.Flush(1, 3, 1, 0).Values;
        Assert.False(r.ContainsKey("val/VGG"));

        // The private generator's draws, in order: z of the diversity batch, z across which one map varies, then the
        // VAE noise of the held-out and of the training-side pairs.
        using var gen = new Generator(SpadeDiagnostics.NoiseSeed);
        using var zDiversity = randn([3, 8], generator: gen);
        using var zOneMap = randn([3, 8], generator: gen);
        using var epsVal = randn([2, 8], generator: gen);
        using (var _ = no_grad())
        {
            using var m1 = Copy(model, null);
            using var across = m1.NetG.call(train.Semantics.to_type(ScalarType.Float32), zDiversity);
            using var sd = SampleDiversity.MeanPairwiseDistance(across);
            Close(Item(sd), r["diversity"], "diversity");
            using var m2 = Copy(model, null);
            using var oneMap = train.Semantics.narrow(0, 0, 1).expand(3, -1, -1, -1).to_type(ScalarType.Float32);
            using var overZ = m2.NetG.call(oneMap, zOneMap);
            using var dz = SampleDiversity.MeanPairwiseDistance(overZ);
            Close(Item(dz), r["diversity_z"], "diversity_z");
            // z matters in this G: three z for one map give three different images.
            Assert.True(r["diversity_z"] > 1e-4);
        }
        var (l1, _, heldOut) = ByHand(model, null, val, 3, epsVal);
        Close(l1, r["val/L1"], "val/L1");
        Close(Accuracy(heldOut), r["D_acc_heldout"], "D_acc_heldout");
    }
}
