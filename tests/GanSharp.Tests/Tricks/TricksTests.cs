using GanSharp.Losses;
using GanSharp.Nn;
using GanSharp.Training.Tricks;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Tests.Tricks;

[Collection("torch-global-rng")]
public class TricksTests
{
    // Two spinning intra-op threads on a shared 2-core machine are ~10x slower than one for these small nets.
    public TricksTests() => torch.set_num_threads(1);

    [Fact]
    public void SoftRealTargetsStayInTheirRange()
    {
        using var gen = new Generator(1);
        using var fixedT = DTargets.Real([1000], new TricksOptions { Smoothing = LabelSmoothing.Fixed, RealTarget = 0.9 }, gen);
        Assert.Equal(0.9f, fixedT.min().item<float>(), 6);
        Assert.Equal(0.9f, fixedT.max().item<float>(), 6);
        var uniform = new TricksOptions { Smoothing = LabelSmoothing.Uniform };
        using var real = DTargets.Real([10000], uniform, gen);
        using var fake = DTargets.Fake([10000], uniform, gen);
        Assert.InRange(real.min().item<float>(), 0.7f, 0.72f);
        Assert.InRange(real.max().item<float>(), 1.18f, 1.2f);
        Assert.InRange(real.mean().item<float>(), 0.94f, 0.96f);
        Assert.InRange(fake.min().item<float>(), 0f, 0.01f);
        Assert.InRange(fake.max().item<float>(), 0.29f, 0.3f);
        using var none = DTargets.Real([5], new TricksOptions(), gen);
        Assert.Equal(5f, none.sum().item<float>());
    }

    [Fact]
    public void NoisyLabelsSwapTheRequestedFraction()
    {
        using var gen = new Generator(2);
        var (r, f) = DTargets.For([20000], new TricksOptions { FlipFraction = 0.1 }, gen);
        // Swapped positions hold 0 in the real targets and 1 in the fake ones, at the same places.
        double flipped = 1 - r.mean().item<float>();
        Assert.InRange(flipped, 0.09, 0.11);
        Assert.Equal(20000f, r.sum().item<float>() + f.sum().item<float>());
        Assert.True(r.add(f).eq(1).all().item<bool>());
    }

    [Fact]
    public void InstanceNoiseStdDecaysLinearlyOrExponentiallyToZero()
    {
        var lin = new TricksOptions { InstanceNoise = 0.2, InstanceNoiseSteps = 1000 };
        Assert.Equal(0.2, InstanceNoise.Std(lin, 0), 12);
        Assert.Equal(0.1, InstanceNoise.Std(lin, 500), 12);
        Assert.Equal(0.02, InstanceNoise.Std(lin, 900), 12);
        Assert.Equal(0.0, InstanceNoise.Std(lin, 1000));
        var exp = lin with { InstanceNoiseDecay = NoiseDecay.Exponential };
        Assert.Equal(0.2 * Math.Exp(-2.5), InstanceNoise.Std(exp, 500), 12);
        Assert.Equal(0.0, InstanceNoise.Std(exp, 5000));
        using var gen = new Generator(3);
        using var x = zeros(200000);
        using var noisy = InstanceNoise.Apply(x, lin, 500, gen);
        Assert.InRange(noisy.std().item<float>(), 0.099f, 0.101f);
        Assert.Same(x, InstanceNoise.Apply(x, lin, 2000, gen));
    }

    [Fact]
    public void ReplayBufferSwapsOldFakesWithItsProbability()
    {
        using var gen = new Generator(4);
        using var buffer = new ReplayBuffer(capacity: 50, probability: 0.3);
        // Batch b holds the value b: a returned value below b is an old fake.
        int old = 0, total = 0;
        for (int b = 1; b <= 400; b++)
        {
            using var fakes = full([10, 2], (float)b);
            using var mixed = buffer.Mix(fakes, gen);
            var firstCol = mixed[.., 0].data<float>().ToArray();
            if (b <= 5)
            {
                Assert.All(firstCol, v => Assert.Equal(b, v));   // filling: everything passes through
                continue;
            }
            old += firstCol.Count(v => v < b);
            total += firstCol.Length;
        }
        Assert.Equal(50, buffer.Count);
        Assert.InRange((double)old / total, 0.27, 0.33);
    }

    [Fact]
    public void SphereLatentHasRadiusSqrtDimAndSlerpKeepsTheSphere()
    {
        using var gen = new Generator(5);
        using var z = Latent.Sample(100, 16, sphere: true, gen);
        using var norms = z.norm(1);
        Assert.InRange(norms.min().item<float>(), 3.9999f, 4.0001f);
        Assert.InRange(norms.max().item<float>(), 3.9999f, 4.0001f);
        using var a = z[..10];
        using var b = z[10..20];
        using var t0 = Latent.Slerp(a, b, zeros(10));
        using var t1 = Latent.Slerp(a, b, ones(10));
        using var mid = Latent.Slerp(a, b, full(10, 0.5f));
        Assert.True(t0.allclose(a, 1e-4, 1e-4));
        Assert.True(t1.allclose(b, 1e-4, 1e-4));
        using var midNorm = mid.norm(1);
        Assert.InRange(midNorm.min().item<float>(), 3.999f, 4.001f);
        // A straight line would cut inside the sphere.
        using var line = (a + b) / 2;
        Assert.True(line.norm(1).max().item<float>() < 3.99f);
    }

    [Fact]
    public void WganGpAndR1EqualTheirHandComputedValues()
    {
        // D(x) = a·x has gradient a everywhere: GP = λ(‖a‖ − 1)², R1 = γ/2·‖a‖².
        using var a = tensor(new[] { 3f, 4f });   // ‖a‖ = 5
        Tensor D(Tensor x) => x.matmul(a);
        using var real = randn(8, 2);
        using var fake = randn(8, 2);
        using var gp = GradientPenalty.Wgangp(D, real, fake, 10);
        Assert.Equal(160f, gp.item<float>(), 3);
        using var r1 = GradientPenalty.R1(D, real, 10);
        Assert.Equal(125f, r1.item<float>(), 3);
        Assert.Null(GradientPenalty.LazyR1(D, real, 10, interval: 4, iteration: 3));
        using var lazy = GradientPenalty.LazyR1(D, real, 10, interval: 4, iteration: 8)!;
        Assert.Equal(500f, lazy.item<float>(), 3);
    }

    [Fact]
    public void GradientPenaltyBackPropagatesIntoTheWeights()
    {
        // D(x) = w·x: GP = λ(‖w‖ − 1)², dGP/dw = 2λ(‖w‖ − 1)·w/‖w‖ = 2·10·4·(3, 4)/5 = (48, 64).
        var w = tensor(new[] { 3f, 4f }).requires_grad_(true);
        Tensor D(Tensor x) => x.matmul(w);
        using var gp = GradientPenalty.Wgangp(D, randn(4, 2), randn(4, 2), 10);
        gp.backward();
        var g = w.grad!.data<float>().ToArray();
        Assert.Equal(48f, g[0], 3);
        Assert.Equal(64f, g[1], 3);
    }

    [Fact]
    public void SeparateBatchesNormaliseRealAndFakeAlone()
    {
        using var bn = nn.BatchNorm1d(1, affine: false);
        var seen = new List<long>();
        Tensor D(Tensor x)
        {
            seen.Add(x.shape[0]);
            return bn.call(x);
        }
        using var real = full([6, 1], 2f) + arange(6).view(6, 1) * 0.1f;
        using var fake = full([4, 1], -2f) + arange(4).view(4, 1) * 0.1f;
        var (r, f) = DiscriminatorPass.Run(D, real, fake, joint: false);
        Assert.Equal([6L, 4L], seen);
        Assert.Equal(0f, r.mean().item<float>(), 4);   // all-real statistics
        Assert.Equal(0f, f.mean().item<float>(), 4);
        seen.Clear();
        var (rj, fj) = DiscriminatorPass.Run(D, real, fake, joint: true);
        Assert.Equal([10L], seen);
        Assert.True(rj.mean().item<float>() > 0.7f);      // shared statistics keep real above fake
        Assert.True(fj.mean().item<float>() < -0.7f);
        Assert.Equal(6, rj.shape[0]);
        Assert.Equal(4, fj.shape[0]);
    }

    [Fact]
    public void EmaAfterKUpdatesEqualsTheClosedForm()
    {
        using var live = nn.Linear(2, 1);
        using var shadow = nn.Linear(2, 1);
        using (no_grad())
        {
            foreach (var p in live.parameters()) p.fill_(1f);
            foreach (var p in shadow.parameters()) p.fill_(0f);
        }
        for (int k = 0; k < 10; k++) Ema.Update(shadow, live, 0.9);
        // s_k = v + (s_0 − v)·β^k = 1 − 0.9^10
        float expected = (float)(1 - Math.Pow(0.9, 10));
        foreach (var p in shadow.parameters()) Assert.True(p.allclose(full_like(p, expected), 1e-5, 1e-5));
    }

    [Fact]
    public void AdaptiveAugmentMovesTowardsItsTargetAndStaysBounded()
    {
        using var ada = new AdaptiveAugment(target: 0.6, pMax: 0.5, speedImages: 1000, interval: 2);
        // D is sure of every real (r_t = 1 > 0.6): p rises by 2·100/1000 = 0.2 per update until the bound.
        for (int i = 0; i < 4; i++)
        {
            using var confident = ones(100);
            ada.Accumulate(confident);
            ada.Step(100);
        }
        Assert.Equal(0.4, ada.P, 9);
        Assert.Equal(1.0, ada.LastRt, 9);
        for (int i = 0; i < 20; i++)
        {
            using var confident = ones(100);
            ada.Accumulate(confident);
            ada.Step(100);
        }
        Assert.Equal(0.5, ada.P, 9);   // bounded by p_max
        for (int i = 0; i < 4; i++)
        {
            using var unsure = -ones(100);
            ada.Accumulate(unsure);
            ada.Step(100);
        }
        Assert.Equal(0.1, ada.P, 9);   // r_t = −1 < 0.6: p falls
        var state = ada.State();
        using var restored = new AdaptiveAugment(0.6, 0.5, 1000, 2);
        restored.Load(state);
        Assert.Equal(ada.P, restored.P);
        for (int i = 0; i < 40; i++)
        {
            using var unsure = -ones(100);
            restored.Accumulate(unsure);
            restored.Step(100);
        }
        Assert.Equal(0.0, restored.P);   // bounded below by 0
    }

    [Fact]
    public void DiffAugmentKeepsShapeAndTranslationShiftsPixels()
    {
        using var gen = new Generator(6);
        using var x = rand(16, 3, 32, 32) * 2 - 1;
        using var all = DiffAugment.Apply(x, DiffAugment.ParsePolicy("color,translation,cutout"), 1.0, gen);
        Assert.Equal(x.shape, all.shape);
        using var cut = DiffAugment.Apply(ones(8, 3, 32, 32), AugmentPolicy.Cutout, 1.0, gen);
        // A 16×16 hole (clipped at borders): between 64 and 256 zero pixels per image and channel.
        var zerosPer = cut[.., 0].eq(0).sum([1, 2]).data<long>().ToArray();
        Assert.All(zerosPer, z => Assert.InRange(z, 64, 256));
        using var none = DiffAugment.Apply(x, AugmentPolicy.Translation, 0.0, gen);
        Assert.Same(x, none);
        // p = 0.5: about half the images change.
        using var half = DiffAugment.Apply(x, AugmentPolicy.Cutout, 0.5, gen);
        long changed = half.ne(x).flatten(1).any(1).sum().item<long>();
        Assert.InRange(changed, 3, 13);
        var ex = Assert.Throws<GanSharpException>(() => DiffAugment.ParsePolicy("color,zoom"));
        Assert.Contains("zoom", ex.Message);
        // Gradients flow through the augmentation to the input (needed for G's step).
        var xg = (rand(2, 3, 8, 8)).requires_grad_(true);
        DiffAugment.Apply(xg, DiffAugment.ParsePolicy("color,translation,cutout"), 1.0, gen).sum().backward();
        Assert.NotNull(xg.grad);
    }

    [Fact]
    public void MinibatchStdAppendsTheGroupStd()
    {
        using var m = new MinibatchStdDev(groupSize: 2);
        // Samples 0 and 2 form one group (std 1 per feature), 1 and 3 the other (std 0).
        using var x = tensor(new[] { 0f, 0f, 5f, 5f, 2f, 2f, 5f, 5f }).view(4, 2);
        using var y = m.call(x);
        Assert.Equal([4L, 3L], y.shape);
        var extra = y[.., 2].data<float>().ToArray();
        Assert.Equal(1f, extra[0], 3);
        Assert.Equal(0f, extra[1], 3);
        Assert.Equal(1f, extra[2], 3);
        Assert.Equal(0f, extra[3], 3);
        using var maps = m.call(randn(4, 3, 5, 5));
        Assert.Equal([4L, 4L, 5L, 5L], maps.shape);
    }

    [Fact]
    public void SpectralNormBringsTheLargestSingularValueToOne()
    {
        using var lin = nn.Linear(20, 10);
        using (no_grad()) lin.weight!.mul_(7);
        using var sn = new SpectralNormLite(lin);
        for (int i = 0; i < 30; i++) sn.call(randn(2, 20));
        var (_, s, _) = linalg.svd(lin.weight!.detach() / sn.Sigma());
        Assert.Equal(1f, s[0].item<float>(), 2);
        using var conv = new SpectralNormLite(nn.ConvTranspose2d(4, 6, 3));
        Assert.Equal([1L, 6L, 7L, 7L], conv.call(randn(1, 4, 5, 5)).shape);
    }

    [Fact]
    public void AdversarialLossesHaveTheirTextbookValues()
    {
        using var zero = zeros(4);
        Assert.Equal(Math.Log(2), Adversarial.DReal(zero, AdversarialLoss.Original).item<float>(), 5);
        Assert.Equal(Math.Log(2), Adversarial.G(zero, AdversarialLoss.Original).item<float>(), 5);
        Assert.Equal(-Math.Log(2), Adversarial.G(zero, AdversarialLoss.Original, saturating: true).item<float>(), 5);
        using var two = full(4, 2f);
        Assert.Equal(1f, Adversarial.DReal(two, AdversarialLoss.Ls).item<float>(), 5);
        Assert.Equal(4f, Adversarial.DFake(two, AdversarialLoss.Ls).item<float>(), 5);
        Assert.Equal(-2f, Adversarial.DReal(two, AdversarialLoss.W).item<float>(), 5);
        Assert.Equal(2f, Adversarial.DFake(two, AdversarialLoss.W).item<float>(), 5);
        Assert.Equal(0f, Adversarial.DReal(two, AdversarialLoss.Hinge).item<float>(), 5);
        Assert.Equal(3f, Adversarial.DFake(two, AdversarialLoss.Hinge).item<float>(), 5);
        // A flipped W target reverses the term's sign.
        Assert.Equal(2f, Adversarial.DReal(two, AdversarialLoss.W, zeros(4)).item<float>(), 5);
        // Soft target 0.9 with BCE: −0.9·log σ(0) − 0.1·log(1 − σ(0)) = log 2.
        Assert.Equal(Math.Log(2), Adversarial.DReal(zero, AdversarialLoss.Original, full(4, 0.9f)).item<float>(), 5);
    }

    [Fact]
    public void OptionsRejectOutOfRangeValuesInOneSentence()
    {
        var ex = Assert.Throws<GanSharpException>(() => new TricksOptions { FlipFraction = 0.7 }.Validate());
        Assert.Equal(ErrorKind.Usage, ex.Kind);
        Assert.Contains("--flip-labels", ex.Message);
        Assert.Throws<GanSharpException>(() => new TricksOptions { AdaTarget = 0.6 }.Validate());
        new TricksOptions { AdaTarget = 0.6, DiffAugment = "color" }.Validate();
    }
}
