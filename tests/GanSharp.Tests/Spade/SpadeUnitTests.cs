using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Nn;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Tests.Spade;

/// <summary>Small, value-checking tests of the SPADE building blocks, options and losses.</summary>
public class SpadeUnitTests
{
    private static readonly SpadeModelOptions Tiny = new() { LabelNc = 3, CropSize = 32, Ngf = 2, Ndf = 4, NoInstance = true };

    [Fact]
    public void SpectralNormDoesOnePowerIterationPerTrainingForwardAndNoneInEval()
    {
        manual_seed(3);
        using var conv = new SpectralNormConv2d(4, 5, 3, padding: 1);
        using var x = randn(1, 4, 6, 6);
        var w = conv.WeightOrig.detach().reshape(5, -1);
        var u0 = conv.WeightU.clone();
        var v0 = conv.WeightV.clone();

        conv.eval();
        using (var y = conv.call(x))
        {
            Assert.True(conv.WeightU.eq(u0).all().item<bool>() && conv.WeightV.eq(v0).all().item<bool>(), "eval must not update u, v");
            // Eval uses the stored vectors: sigma = u . W v.
            var sigma = u0.dot(w.mv(v0));
            using var expected = F.conv2d(x, conv.WeightOrig.detach() / sigma, conv.Bias!.detach(), padding: new long[] { 1, 1 });
            Assert.True(y.allclose(expected, rtol: 1e-5, atol: 1e-6));
        }

        conv.train();
        using (conv.call(x)) { }
        var v1 = F.normalize(w.t().mv(u0), dim: 0);
        var u1 = F.normalize(w.mv(v1), dim: 0);
        Assert.True(conv.WeightV.allclose(v1, rtol: 1e-5, atol: 1e-7));
        Assert.True(conv.WeightU.allclose(u1, rtol: 1e-5, atol: 1e-7));
        // A second training forward moves them again (one iteration each, not converged after one).
        using (conv.call(x)) { }
        Assert.False(conv.WeightU.allclose(u1, rtol: 0, atol: 1e-9));
    }

    [Fact]
    public void SpadeNormStringIsParsedLikeTheReference()
    {
        Assert.Equal(new SpadeNormSpec(true, ParamFreeNormKind.SyncBatch, 3), SpadeNormSpec.Parse("spectralspadesyncbatch3x3"));
        Assert.Equal(new SpadeNormSpec(false, ParamFreeNormKind.Instance, 5), SpadeNormSpec.Parse("spadeinstance5x5"));
        Assert.Equal(new SpadeNormSpec(false, ParamFreeNormKind.Batch, 1), SpadeNormSpec.Parse("spadebatch1x1"));
        var ex = Assert.Throws<GanSharpException>(() => SpadeNormSpec.Parse("spectralinstance"));
        Assert.Equal(ErrorKind.Usage, ex.Kind);
        Assert.Equal(new NonSpadeNormSpec(true, NonSpadeNormKind.Instance), NonSpadeNormSpec.Parse("spectralinstance", "norm_D"));
        Assert.Equal(new NonSpadeNormSpec(false, NonSpadeNormKind.None), NonSpadeNormSpec.Parse("none", "norm_D"));
    }

    [Fact]
    public void SyncBatchKeepsNumBatchesTrackedAtZeroAndUpdatesRunningStatsUnbiased()
    {
        using var sync = new ParamFreeNorm(ParamFreeNormKind.SyncBatch, 2);
        using var batch = new ParamFreeNorm(ParamFreeNormKind.Batch, 2);
        manual_seed(5);
        using var x = randn(3, 2, 4, 4) * 2 + 1;
        sync.train();
        batch.train();
        using (sync.call(x)) { }
        using (batch.call(x)) { }
        var buffers = sync.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        Assert.Equal(0L, buffers["num_batches_tracked"].item<long>());
        Assert.Equal(1L, batch.named_buffers().Single(b => b.name == "num_batches_tracked").buffer.item<long>());
        using var mean = x.mean(new long[] { 0, 2, 3 });
        using var varU = x.var(new long[] { 0, 2, 3 }, unbiased: true);
        Assert.True(buffers["running_mean"].allclose(mean * 0.1, atol: 1e-6));
        Assert.True(buffers["running_var"].allclose(varU * 0.1 + 0.9, atol: 1e-5));
    }

    [Fact]
    public void FusedGammaBetaEqualsSeparateConvolutions()
    {
        manual_seed(7);
        using var spade = new SpadeNorm(SpadeNormSpec.Parse("spadeinstance3x3"), 6, 4);
        SpadeInit.XavierNormal(spade, 0.5);
        using var x = randn(2, 6, 8, 8);
        using var seg = rand(2, 4, 16, 16);
        spade.FuseGammaBeta = true;
        using var fused = spade.call(x, seg);
        spade.FuseGammaBeta = false;
        using var plain = spade.call(x, seg);
        Assert.True(fused.allclose(plain, rtol: 1e-5, atol: 1e-6));
    }

    [Theory]
    [InlineData(32, 1.0, NumUpsamplingLayers.Normal, 32, 32)]
    [InlineData(128, 2.0, NumUpsamplingLayers.More, 64, 128)]
    [InlineData(128, 1.0, NumUpsamplingLayers.Most, 128, 128)]
    [InlineData(96, 1.0, NumUpsamplingLayers.Normal, 96, 96)]
    public void GeneratorWorksAtAnyValidCropSize(int crop, double aspect, NumUpsamplingLayers ups, int h, int w)
    {
        var opt = Tiny with { CropSize = crop, AspectRatio = aspect, NumUpsamplingLayers = ups };
        Assert.Equal((h, w), opt.OutputSize);
        manual_seed(1);
        using var g = new SpadeGenerator(opt);
        using var seg = zeros(1, opt.SemanticNc, h, w);
        seg[.., 0] = 1;
        using var _ = no_grad();
        using var y = g.call(seg, null);
        Assert.Equal(new long[] { 1, 3, h, w }, y.shape);
        Assert.True(y.abs().max().item<float>() <= 1f);
    }

    [Fact]
    public void CropNotDivisibleByTheUpsamplingFactorIsAUsageError()
    {
        var ex = Assert.Throws<GanSharpException>(() => new SpadeGenerator(Tiny with { CropSize = 100 }));
        Assert.Equal(ErrorKind.Usage, ex.Kind);
        Assert.Contains("crop_size 100", ex.Message);
        Assert.Contains("multiple of 32", ex.Message);
        Assert.Throws<GanSharpException>(() => new SpadeGenerator(Tiny with { CropSize = 32, AspectRatio = 4 }));
    }

    [Theory]
    [InlineData(64, 128, 5)]
    [InlineData(256, 256, 6)]
    public void EncoderWorksBelowCrop256(int crop, long inputSize, int convs)
    {
        var opt = Tiny with { CropSize = crop, UseVae = true, ZDim = 8 };
        manual_seed(2);
        using var e = new ConvEncoder(opt);
        Assert.Equal(inputSize, e.InputSize);
        Assert.Equal(convs, e.named_children().Count(c => c.name.StartsWith("layer", StringComparison.Ordinal)));
        using var img = rand(2, 3, crop, crop) * 2 - 1;
        var (mu, logvar) = e.call(img);
        Assert.Equal(new long[] { 2, 8 }, mu.shape);
        Assert.Equal(new long[] { 2, 8 }, logvar.shape);
        mu.Dispose();
        logvar.Dispose();
    }

    [Fact]
    public void GanLossModesFollowTheReferenceFormulas()
    {
        using var a = tensor(new[] { 0.5f, -2f, 1.5f, 0f }).reshape(1, 1, 2, 2);
        using var b = tensor(new[] { -0.5f, 3f, 0f, 0.25f }).reshape(1, 1, 2, 2);
        var preds = new[] { new[] { a }, new[] { b } };
        float H(float[] xs, Func<float, float> f) => xs.Select(f).Average();
        float[] av = { 0.5f, -2f, 1.5f, 0f }, bv = { -0.5f, 3f, 0f, 0.25f };

        var hinge = new GanLoss(AdversarialLoss.Hinge);
        Assert.Equal((H(av, x => Math.Max(0, 1 - x)) + H(bv, x => Math.Max(0, 1 - x))) / 2,
            hinge.Compute(preds, true, true).item<float>(), 5);
        Assert.Equal((H(av, x => Math.Max(0, 1 + x)) + H(bv, x => Math.Max(0, 1 + x))) / 2,
            hinge.Compute(preds, false, true).item<float>(), 5);
        Assert.Equal(-(av.Average() + bv.Average()) / 2, hinge.Compute(preds, true, false).item<float>(), 5);
        Assert.Throws<ArgumentException>(() => hinge.Compute(preds, false, false));

        static float Softplus(float x) => (float)Math.Log(1 + Math.Exp(x));
        var original = new GanLoss(AdversarialLoss.Original);
        Assert.Equal((H(av, x => Softplus(-x)) + H(bv, x => Softplus(-x))) / 2, original.Compute(preds, true, false).item<float>(), 5);
        Assert.Equal((H(av, Softplus) + H(bv, Softplus)) / 2, original.Compute(preds, false, true).item<float>(), 5);

        var ls = new GanLoss(AdversarialLoss.Ls);
        Assert.Equal((H(av, x => (x - 1) * (x - 1)) + H(bv, x => (x - 1) * (x - 1))) / 2, ls.Compute(preds, true, true).item<float>(), 5);
        Assert.Equal((H(av, x => x * x) + H(bv, x => x * x)) / 2, ls.Compute(preds, false, true).item<float>(), 5);

        var w = new GanLoss(AdversarialLoss.W);
        Assert.Equal(-(av.Average() + bv.Average()) / 2, w.Compute(preds, true, true).item<float>(), 5);
        Assert.Equal((av.Average() + bv.Average()) / 2, w.Compute(preds, false, true).item<float>(), 5);
    }

    [Fact]
    public void FeatureMatchingSkipsThePredictionAndDividesByNumD()
    {
        using var f0 = ones(1, 2, 2, 2);
        using var r0 = zeros(1, 2, 2, 2);
        using var f1 = full(new long[] { 1, 1, 2, 2 }, 3f);
        using var r1 = ones(1, 1, 2, 2);
        using var pred = full(new long[] { 1, 1, 1, 1 }, 100f);
        var fake = new[] { new[] { f0, pred }, new[] { f1, pred } };
        var real = new[] { new[] { r0, r0 }, new[] { r1, r1 } };
        // (L1 = 1 at scale 0, 2 at scale 1) * 10 / 2; the prediction maps are never compared.
        using var loss = FeatureMatchingLoss.Compute(fake, real, 10);
        Assert.Equal(15f, loss.item<float>(), 5);
    }

    [Fact]
    public void KldIsMinusHalfTheSumAsInTheReference()
    {
        using var mu = tensor(new[] { 1f, -1f });
        using var logvar = tensor(new[] { 0f, (float)Math.Log(2) });
        // -0.5 * [(1 + 0 - 1 - 1) + (1 + ln2 - 1 - 2)]
        double expected = -0.5 * ((1 + 0 - 1 - 1) + (1 + Math.Log(2) - 1 - 2));
        Assert.Equal(expected, KldLoss.Compute(mu, logvar).item<float>(), 5);
    }

    [Fact]
    public void VggLossWeightsTheFiveSlicesAndReturnsZeroForIdenticalImages()
    {
        manual_seed(4);
        using var vgg = new Vgg19();
        SpadeInit.XavierNormal(vgg, 1.0);
        using var img = rand(1, 3, 32, 32) * 2 - 1;
        var feats = vgg.call(img);
        Assert.Equal(new[] { 64L, 128, 256, 512, 512 }, feats.Select(f => f.shape[1]));
        Assert.Equal(new[] { 32L, 16, 8, 4, 2 }, feats.Select(f => f.shape[2]));
        foreach (var f in feats) f.Dispose();
        using var same = VggLoss.Compute(vgg, img, img);
        Assert.Equal(0f, same.item<float>());
        using var other = rand(1, 3, 32, 32) * 2 - 1;
        using var loss = VggLoss.Compute(vgg, img, other);
        Assert.True(loss.item<float>() > 0);
        Assert.All(vgg.parameters(), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void VaeModelTrainsOneIterationWithNamedLossesAndLeaksNoTensors()
    {
        var opt = Tiny with { UseVae = true, ZDim = 8, CropSize = 32 };
        manual_seed(11);
        using var model = new SpadeModel(opt, new SpadeLossOptions { NoVggLoss = true, LambdaGan = 2 });
        Assert.NotNull(model.NetE);
        using var seg = zeros(2, opt.SemanticNc, 32, 32);
        seg[.., 1] = 1;
        using var img = rand(2, 3, 32, 32) * 2 - 1;
        var gParams = model.GeneratorParameters().ToList();
        Assert.Equal(model.NetG.parameters().Count() + model.NetE!.parameters().Count(), gParams.Count);
        using var optG = optim.Adam(gParams, lr: 1e-4, beta1: 0, beta2: 0.9);
        using var optD = optim.Adam(model.DiscriminatorParameters(), lr: 4e-4, beta1: 0, beta2: 0.9);
        model.Train();

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var scope = NewDisposeScope())
        {
            optG.zero_grad();
            var g = model.ComputeGeneratorLoss(seg, img);
            Assert.Equal(new[] { "KLD", "GAN", "GAN_Feat" }, g.Named.Select(n => n.Name));
            g.Total().backward();
            // G's step leaves no gradient on D (D is frozen while G's graph is built).
            Assert.All(model.DiscriminatorParameters(), p => Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0));
            optG.step();
        }
        using (var scope = NewDisposeScope())
        {
            optD.zero_grad();
            var d = model.ComputeDiscriminatorLoss(seg, img);
            Assert.Equal(new[] { "D_Fake", "D_real" }, d.Named.Select(n => n.Name));
            Assert.False(d.Fake.requires_grad);
            d.Total().backward();
            optD.step();
        }
        using (var scope = NewDisposeScope())
        {
            model.Eval();
            using var z = randn(2, 8);
            var y = model.Generate(seg, z);
            Assert.Equal(new long[] { 2, 3, 32, 32 }, y.shape);
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void VggLossWithoutWeightsIsAUsageError()
    {
        var ex = Assert.Throws<GanSharpException>(() => new SpadeModel(Tiny, new SpadeLossOptions()));
        Assert.Equal(ErrorKind.Usage, ex.Kind);
        Assert.Contains("no_vgg_loss", ex.Message);
    }
}
