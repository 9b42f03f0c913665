using System.Collections;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Nn;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GanSharp.Tests.Spade;

/// <summary>
/// Numeric parity with the unmodified NVlabs reference on CPU (Fixtures/spade-tiny, see its README for the
/// configurations, the order of operations and why the tolerances are what they are).
/// </summary>
public class SpadeParityTests
{
    private const double ForwardAtol = 1e-5;
    private const double LossRtol = 1e-5;
    private const double PreTanhRtol = 5e-2;
    private const double GLr = 1e-4;
    private const double DLr = 4e-4;

    private readonly ITestOutputHelper output;

    // Comparisons record failures instead of stopping at the first, so one run shows every group's figures.
    private readonly List<string> failures = new();

    private void Check(bool ok, string message)
    {
        if (!ok) failures.Add(message);
    }

    private void AssertNoFailures() => Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));

    public SpadeParityTests(ITestOutputHelper output) => this.output = output;

    /// <summary>Config A: label_nc 5 + don't-care + instance, crop 64, ngf 1, ndf 8, hinge, feature matching, no VGG.</summary>
    internal static readonly SpadeModelOptions ConfigA = new() {
        LabelNc = 5, ContainDontcareLabel = true, CropSize = 64, AspectRatio = 1, Ngf = 1, Ndf = 8, NumD = 2, NLayersD = 4,
    };

    /// <summary>Config B: as A with the VAE at crop 256.</summary>
    internal static readonly SpadeModelOptions ConfigB = new() {
        LabelNc = 5, ContainDontcareLabel = true, CropSize = 256, Ngf = 1, UseVae = true, ZDim = 256,
    };

    private static readonly SpadeLossOptions LossA = new() { GanMode = GanMode.Hinge, LambdaFeat = 10, NoVggLoss = true };

    // ---- helpers -------------------------------------------------------------------------------------------------

    /// <summary>Loads a reference state_dict one-to-one: same keys in the same order, same shapes and dtypes.</summary>
    internal static void LoadInto(nn.Module module, string fixture)
    {
        var ours = TorchStateDict.Entries(module);
        var theirs = TestPth.LoadStateDict(fixture);
        try {
            Assert.Equal(theirs.Select(e => e.Key), ours.Select(e => e.Key));
            using var _ = no_grad();
            for (int i = 0; i < ours.Count; i++) {
                Assert.True(theirs[i].Value.shape.SequenceEqual(ours[i].Value.shape), $"{fixture} {ours[i].Key}: shape differs");
                Assert.Equal(theirs[i].Value.dtype, ours[i].Value.dtype);
                ours[i].Value.copy_(theirs[i].Value);
            }
        } finally {
            foreach (var (_, t) in theirs) t.Dispose();
        }
    }

    private static double MaxAbs(Tensor a, Tensor b)
    {
        Assert.True(a.shape.SequenceEqual(b.shape), $"shape [{string.Join(",", a.shape)}] vs [{string.Join(",", b.shape)}]");
        using var d = (a.detach() - b).abs().max();
        return d.item<float>();
    }

    private double AssertClose(string what, Tensor actual, Tensor expected, double atol)
    {
        double diff = MaxAbs(actual, expected);
        output.WriteLine($"{what}: max |diff| = {diff:E2}");
        Check(diff <= atol, $"{what}: max |diff| {diff:E3} > {atol:E1}");
        return diff;
    }

    private void AssertLoss(string what, Tensor actual, double expected)
    {
        double a = actual.item<float>();
        double rel = Math.Abs(a - expected) / Math.Max(Math.Abs(expected), 1e-12);
        output.WriteLine($"{what}: ours {a:R} reference {expected:R} rel {rel:E2}");
        Check(rel <= LossRtol, $"{what}: {a} vs {expected} (rel {rel:E2})");
    }

    // Saturated eval outputs: equal sign for sign. Pre-tanh values reach ~1e13 and elements near zero are
    // differences of huge terms, so they are compared relatively with a floor at a 1e-4 of the largest magnitude:
    // |ours - ref| <= 5e-2 |ref| + 1e-4 max|ref|.
    private void AssertSaturated(string what, Tensor actual, Tensor preTanh, Tensor expected, Tensor expectedPreTanh)
    {
        using var scope = NewDisposeScope();
        Check(actual.sign().eq(expected.sign()).all().item<bool>(), $"{what}: signs differ from the reference");
        var scale = expectedPreTanh.abs().max();
        var diff = (preTanh - expectedPreTanh).abs();
        var bound = expectedPreTanh.abs().mul(PreTanhRtol).add(scale.mul(1e-4));
        double scaleRel = (diff.max() / scale).item<float>();
        output.WriteLine($"{what}: signs equal; pre-tanh max |diff| / max |ref| = {scaleRel:E2} (max |ref| {scale.item<float>():E2})");
        Check(diff.le(bound).all().item<bool>(), $"{what}: pre-tanh outside 5e-2 relative (+1e-4 of scale), max |diff| / max |ref| {scaleRel:E2}");
    }

    private static Tensor T(Dictionary<string, object?> d, string key) => (Tensor)d[key]!;

    private static double F64(Dictionary<string, object?> d, string key) => Convert.ToDouble(d[key]);

    private static void DisposeAll(Dictionary<string, object?> d)
    {
        foreach (var v in d.Values) if (v is Tensor t) t.Dispose();
    }

    // ---- tests ---------------------------------------------------------------------------------------------------

    [Fact]
    public void EveryFixtureStateDictLoadsOneToOne()
    {
        using (var g = new SpadeGenerator(ConfigA)) {
            LoadInto(g, "A_G_init.pth");
            LoadInto(g, "A_G_after.pth");
        }
        using (var d = new MultiscaleDiscriminator(ConfigA)) {
            LoadInto(d, "A_D_init.pth");
            LoadInto(d, "A_D_after.pth");
        }
        using (var g = new SpadeGenerator(ConfigB)) LoadInto(g, "B_G_init.pth");
        using (var e = new ConvEncoder(ConfigB)) LoadInto(e, "B_E_init.pth");
    }

    [Fact]
    public void ConfigA_OneFullIterationMatchesTheReference()
    {
        var batch = TestPth.LoadDict("A_batch.pth");
        var exp = TestPth.LoadDict("A_expected.pth");
        using var model = new SpadeModel(ConfigA, LossA);
        LoadInto(model.NetG, "A_G_init.pth");
        LoadInto(model.NetD!, "A_D_init.pth");
        var sem = T(batch, "input_semantics");
        var image = T(batch, "image");
        model.NetG.CapturePreTanh = true;

        // Eval forward of the init weights: saturated, and it must change no state.
        model.Eval();
        using (var scope = NewDisposeScope()) {
            var gEval = model.Generate(sem);
            AssertSaturated("G_eval", gEval, model.NetG.LastPreTanh!, T(exp, "G_eval"), T(exp, "G_eval_pretanh"));
        }
        model.Train();

        var gParams = model.GeneratorParameters().ToList();
        var dParams = model.DiscriminatorParameters().ToList();
        using var optG = optim.Adam(gParams, lr: GLr, beta1: 0.0, beta2: 0.9);
        using var optD = optim.Adam(dParams, lr: DLr, beta1: 0.0, beta2: 0.9);

        // G step.
        using (var scope = NewDisposeScope()) {
            optG.zero_grad();
            var g = model.ComputeGeneratorLoss(sem, image);
            AssertClose("G_train_fake", g.Fake, T(exp, "G_train_fake"), ForwardAtol);
            AssertClose("G_train_fake_pretanh", model.NetG.LastPreTanh!, T(exp, "G_train_fake_pretanh"), 1e-4);
            for (int s = 0; s < 2; s++) {
                for (int l = 0; l < 5; l++) {
                    AssertClose($"D_fake_s{s}_l{l}", g.PredFake[s][l], T(exp, $"D_fake_s{s}_l{l}"), ForwardAtol);
                    AssertClose($"D_real_s{s}_l{l}", g.PredReal[s][l], T(exp, $"D_real_s{s}_l{l}"), ForwardAtol);
                }
            }
            Assert.Equal(new[] { "GAN", "GAN_Feat" }, g.Named.Select(n => n.Name));
            AssertLoss("loss_G_GAN", g.Gan, F64(exp, "loss_G_GAN"));
            AssertLoss("loss_G_GAN_Feat", g.GanFeat!, F64(exp, "loss_G_GAN_Feat"));
            g.Total().backward();
            optG.step();
        }

        // D step, with the fake regenerated by the updated G in training mode.
        using (var scope = NewDisposeScope()) {
            optD.zero_grad();
            var d = model.ComputeDiscriminatorLoss(sem, image);
            AssertClose("Dstep_fake_image", d.Fake, T(exp, "Dstep_fake_image"), ForwardAtol);
            AssertClose("Dstep_fake_image_pretanh", model.NetG.LastPreTanh!, T(exp, "Dstep_fake_image_pretanh"), 1e-4);
            for (int s = 0; s < 2; s++) {
                for (int l = 0; l < 5; l++) {
                    AssertClose($"Dstep_fake_s{s}_l{l}", d.PredFake[s][l], T(exp, $"Dstep_fake_s{s}_l{l}"), ForwardAtol);
                    AssertClose($"Dstep_real_s{s}_l{l}", d.PredReal[s][l], T(exp, $"Dstep_real_s{s}_l{l}"), ForwardAtol);
                }
            }
            Assert.Equal(new[] { "D_Fake", "D_real" }, d.Named.Select(n => n.Name));
            AssertLoss("loss_D_Fake", d.DFake, F64(exp, "loss_D_Fake"));
            AssertLoss("loss_D_real", d.DReal, F64(exp, "loss_D_real"));
            d.Total().backward();
            optD.step();
        }

        CompareAfterState(model.NetG, "A_G_after.pth", "A_G_init.pth", GLr, IsZeroGradientG, "G");
        CompareAfterState(model.NetD!, "A_D_after.pth", "A_D_init.pth", DLr,
            k => k.EndsWith(".model4.0.bias", StringComparison.Ordinal), "D");
        CompareAdam(optG, gParams, model.NetG, "A_optG_after.pth", (IList)exp["optG_param_names"]!, IsZeroGradientG, "optG");
        CompareAdam(optD, dParams, model.NetD!, "A_optD_after.pth", (IList)exp["optD_param_names"]!, _ => false, "optD");

        DisposeAll(batch);
        DisposeAll(exp);
        AssertNoFailures();
    }

    // The biases whose gradient is mathematically zero in G (they feed only into a train-mode normalisation), per
    // the fixture README: fc.bias, conv_0/conv_1 biases except up_3.conv_1, and up_0..up_2 norm_s.mlp_beta.bias.
    private static bool IsZeroGradientG(string key) =>
        key == "fc.bias"
        || (key.EndsWith(".conv_0.bias", StringComparison.Ordinal))
        || (key.EndsWith(".conv_1.bias", StringComparison.Ordinal) && key != "up_3.conv_1.bias")
        || key is "up_0.norm_s.mlp_beta.bias" or "up_1.norm_s.mlp_beta.bias" or "up_2.norm_s.mlp_beta.bias";

    private void CompareAfterState(nn.Module module, string afterFixture, string initFixture, double lr, Func<string, bool> zeroGradient, string what)
    {
        var after = TestPth.LoadStateDict(afterFixture).ToDictionary(e => e.Key, e => e.Value);
        var init = TestPth.LoadStateDict(initFixture).ToDictionary(e => e.Key, e => e.Value);
        double maxParam = 0, maxUv = 0, maxStats = 0, maxNoise = 0;
        int noise = 0;
        foreach (var (key, ours) in TorchStateDict.Entries(module)) {
            var theirs = after[key];
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) {
                Assert.Equal(theirs.item<long>(), ours.item<long>());
            } else if (key.EndsWith("running_mean", StringComparison.Ordinal) || key.EndsWith("running_var", StringComparison.Ordinal)) {
                maxStats = Math.Max(maxStats, MaxAbs(ours, theirs));
                Check(MaxAbs(ours, theirs) <= 5e-5, $"{what} {key}: running stat off by {MaxAbs(ours, theirs):E2}");
            } else if (zeroGradient(key)) {
                // Adam on a float-noise gradient moves each entry by up to lr either way: check only the bound.
                noise++;
                double moved = MaxAbs(ours, init[key]);
                maxNoise = Math.Max(maxNoise, moved);
                Check(moved <= lr * 1.0001, $"{what} {key}: moved {moved:E2} > lr");
            } else if (key.EndsWith("weight_u", StringComparison.Ordinal) || key.EndsWith("weight_v", StringComparison.Ordinal)) {
                maxUv = Math.Max(maxUv, MaxAbs(ours, theirs));
                Check(MaxAbs(ours, theirs) <= ForwardAtol, $"{what} {key}: off by {MaxAbs(ours, theirs):E2}");
            } else {
                maxParam = Math.Max(maxParam, MaxAbs(ours, theirs));
                Check(MaxAbs(ours, theirs) <= ForwardAtol, $"{what} {key}: off by {MaxAbs(ours, theirs):E2}");
            }
        }
        output.WriteLine($"{what} after one iteration: params {maxParam:E2}, u/v {maxUv:E2}, running stats {maxStats:E2}, " +
                         $"{noise} zero-gradient tensors moved at most {maxNoise:E2}");
        if (what == "G") Assert.Equal(17, noise);
        foreach (var t in after.Values.Concat(init.Values)) t.Dispose();
    }

    private void CompareAdam(Adam opt, List<Parameter> parameters, nn.Module module, string fixture, IList names,
        Func<string, bool> zeroGradient, string what)
    {
        var file = TestPth.LoadDict(fixture);
        var state = (IDictionary)file["state"]!;
        var nameOf = module.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        Assert.Equal(names.Count, parameters.Count);
        var ours = opt.state_dict().State;
        double maxAvg = 0, maxSq = 0;
        for (int i = 0; i < parameters.Count; i++) {
            // The fixture indexes state by position in named_parameters(); ours follows the same order.
            Assert.Equal((string)names[i]!, nameOf[parameters[i].Handle]);
            var s = (IDictionary)state[i]!;
            var adam = (Adam.State)ours[i];
            Assert.Equal(1L, adam.step);
            Assert.Equal(1.0, ((Tensor)s["step"]!).item<float>());
            double dAvg = MaxAbs(adam.exp_avg, (Tensor)s["exp_avg"]!);
            double dSq = MaxAbs(adam.exp_avg_sq, (Tensor)s["exp_avg_sq"]!);
            maxAvg = Math.Max(maxAvg, dAvg);
            maxSq = Math.Max(maxSq, dSq);
            Check(dAvg <= ForwardAtol && dSq <= ForwardAtol, $"{what} {names[i]}: exp_avg {dAvg:E2}, exp_avg_sq {dSq:E2}");
        }
        output.WriteLine($"{what}: exp_avg max diff {maxAvg:E2}, exp_avg_sq max diff {maxSq:E2}");
        foreach (DictionaryEntry e in state)
            foreach (DictionaryEntry f in (IDictionary)e.Value!)
                if (f.Value is Tensor t) t.Dispose();
    }

    [Fact]
    public void ConfigA_EvalForwardOfTheAfterStateMatches()
    {
        var batch = TestPth.LoadDict("A_batch.pth");
        var exp = TestPth.LoadDict("A_expected.pth");
        using var g = new SpadeGenerator(ConfigA);
        LoadInto(g, "A_G_after.pth");
        g.eval();
        g.CapturePreTanh = true;
        using (no_grad()) {
            using var outImg = g.call(T(batch, "input_semantics"), null);
            AssertClose("G_eval_after", outImg, T(exp, "G_eval_after"), ForwardAtol);
            // Eval mode must not touch u/v or running statistics.
            LoadAndCompareUnchanged(g, "A_G_after.pth");
        }
        DisposeAll(batch);
        DisposeAll(exp);
        AssertNoFailures();
    }

    private static void LoadAndCompareUnchanged(nn.Module module, string fixture)
    {
        var theirs = TestPth.LoadStateDict(fixture).ToDictionary(e => e.Key, e => e.Value);
        foreach (var (key, ours) in TorchStateDict.Entries(module)) {
            using var eq = ours.eq(theirs[key]).all();
            Assert.True(eq.item<bool>(), $"{key} changed in an eval forward");
        }
        foreach (var t in theirs.Values) t.Dispose();
    }

    [Fact]
    public void ConfigB_EncoderAndGeneratorFromZMatch()
    {
        var batch = TestPth.LoadDict("B_batch.pth");
        var exp = TestPth.LoadDict("B_expected.pth");
        using var g = new SpadeGenerator(ConfigB);
        using var e = new ConvEncoder(ConfigB);
        LoadInto(g, "B_G_init.pth");
        LoadInto(e, "B_E_init.pth");
        var sem = T(batch, "input_semantics");
        var z = T(exp, "z");
        using (no_grad()) {
            e.eval();
            var (mu, logvar) = e.call(T(batch, "image"));
            AssertClose("mu", mu, T(exp, "mu"), ForwardAtol);
            AssertClose("logvar", logvar, T(exp, "logvar"), ForwardAtol);
            mu.Dispose();
            logvar.Dispose();

            g.CapturePreTanh = true;
            g.eval();
            using (var evalOut = g.call(sem, z))
                AssertSaturated("G_eval_from_z", evalOut, g.LastPreTanh!, T(exp, "G_eval_from_z"), T(exp, "G_eval_from_z_pretanh"));
            g.train();
            using var trainOut = g.call(sem, z);
            AssertClose("G_trainmode_from_z", trainOut, T(exp, "G_trainmode_from_z"), ForwardAtol);
        }
        DisposeAll(batch);
        DisposeAll(exp);
        AssertNoFailures();
    }
}
