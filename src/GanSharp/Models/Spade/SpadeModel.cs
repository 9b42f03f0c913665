using GanSharp.Kernels;
using GanSharp.Losses;
using GanSharp.Nn;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Models.Spade;

/// <summary>The generator step's loss terms (the reference's names) and the generated image.</summary>
/// <param name="Kld">KLD * lambda_kld, with the VAE only.</param>
/// <param name="Gan">The adversarial term, * lambda_gan.</param>
/// <param name="GanFeat">Feature matching * lambda_feat / num_D, unless switched off.</param>
/// <param name="Vgg">VGG perceptual loss * lambda_vgg, unless switched off.</param>
/// <param name="Fake">[N, 3, H, W] generated image (part of the graph).</param>
/// <param name="PredFake">D's outputs for the fake half, per scale.</param>
/// <param name="PredReal">D's outputs for the real half, per scale.</param>
public sealed record GeneratorLosses(Tensor? Kld, Tensor Gan, Tensor? GanFeat, Tensor? Vgg, Tensor Fake, Tensor[][] PredFake, Tensor[][] PredReal)
{
    /// <summary>The terms that are present, by the reference's names (KLD, GAN, GAN_Feat, VGG).</summary>
    public IReadOnlyList<(string Name, Tensor Value)> Named
    {
        get
        {
            var list = new List<(string, Tensor)>();
            if (Kld is not null) list.Add(("KLD", Kld));
            list.Add(("GAN", Gan));
            if (GanFeat is not null) list.Add(("GAN_Feat", GanFeat));
            if (Vgg is not null) list.Add(("VGG", Vgg));
            return list;
        }
    }

    /// <summary>The sum of the terms, the quantity G's optimizer minimises (the reference sums its dict).</summary>
    public Tensor Total()
    {
        var terms = Named;
        var total = terms[0].Value;
        for (int i = 1; i < terms.Count; i++) total = total.add(terms[i].Value);
        return total;
    }
}

/// <summary>The discriminator step's loss terms.</summary>
/// <param name="DFake">D's loss on the regenerated fake.</param>
/// <param name="DReal">D's loss on the real image.</param>
/// <param name="Fake">The regenerated fake (no graph).</param>
/// <param name="PredFake">D's outputs for the fake half, per scale.</param>
/// <param name="PredReal">D's outputs for the real half, per scale.</param>
public sealed record DiscriminatorLosses(Tensor DFake, Tensor DReal, Tensor Fake, Tensor[][] PredFake, Tensor[][] PredReal)
{
    /// <summary>The fake image as D saw it (after replay and the image transform).</summary>
    public Tensor? FakeInput { get; init; }

    /// <summary>The real image as D saw it (after the tricks' image transform): a gradient penalty on reals needs it.</summary>
    public Tensor? RealInput { get; init; }

    /// <summary>D_Fake and D_real, the reference's names.</summary>
    public IReadOnlyList<(string Name, Tensor Value)> Named => new[] { ("D_Fake", DFake), ("D_real", DReal) };

    public Tensor Total() => DFake.add(DReal);
}

/// <summary>
/// Hooks through which a recipe applies stabilisation tricks to what SPADE's D sees and is scored against. A null
/// member leaves the reference's computation exactly as it is (no extra op, no random draw).
/// </summary>
public sealed record SpadeDiscriminatorTricks
{
    /// <summary>Transforms the image part of D's real and fake inputs (instance noise, DiffAugment); the label channels are never touched.</summary>
    public Func<Tensor, Tensor>? Image { get; init; }

    /// <summary>
    /// D step only: swaps some [semantics; fake] pairs for stored ones (experience replay). Pairs, not fakes alone,
    /// because an old fake shown with today's label map would be a mismatch D could spot without judging realism.
    /// </summary>
    public Func<Tensor, Tensor>? FakePairs { get; init; }

    /// <summary>D step only: the per-sample (real, fake) targets of a batch of n, for soft and noisy labels.</summary>
    public Func<long, (Tensor Real, Tensor Fake)>? Targets { get; init; }
}

/// <summary>
/// The reference's Pix2PixModel: netG, netD, the optional VAE encoder netE and the VGG19 of the perceptual loss,
/// with the generator and discriminator losses of one training iteration. Tensors it returns live in the caller's
/// dispose scope (use one scope per step).
/// </summary>
public sealed class SpadeModel : IDisposable
{
    private readonly GanLoss ganLoss;

    /// <summary>Builds the networks on <paramref name="device"/> with the reference's xavier init (seed torch first).</summary>
    /// <param name="options">Architecture options.</param>
    /// <param name="lossOptions">Loss options.</param>
    /// <param name="vgg">VGG19 with torchvision weights; required unless the VGG loss is off. Owned by the caller.</param>
    /// <param name="device">Where to build; CPU when null.</param>
    /// <param name="buildDiscriminator">False for inference only (no netD, like the reference at test time).</param>
    public SpadeModel(SpadeModelOptions options, SpadeLossOptions lossOptions, Vgg19? vgg = null, Device? device = null,
        bool buildDiscriminator = true)
    {
        Options = options.Validate();
        LossOptions = lossOptions.Validate();
        if (!LossOptions.NoGanFeatLoss && Options.NoGanFeatLoss)
            throw new GanSharpException(ErrorKind.Usage,
                "Feature matching is on in the loss options but the discriminator was built with no_ganFeat_loss; set both the same way.");
        if (!LossOptions.NoVggLoss && vgg is null)
            throw new GanSharpException(ErrorKind.Usage,
                "The VGG loss needs VGG19 with torchvision's ImageNet weights; provide them or switch the VGG loss off (no_vgg_loss).");
        ganLoss = new GanLoss(LossOptions.GanMode);
        Vgg = LossOptions.NoVggLoss ? null : vgg;

        // Same construction order as the reference (G, D, E), each initialised right after it is built.
        NetG = new SpadeGenerator(Options, device);
        SpadeInit.XavierNormal(NetG, Options.InitVariance);
        if (buildDiscriminator)
        {
            // SPADE's own losses never differentiate D twice; SpadeRecipe turns this off for gradient penalties.
            NetD = new MultiscaleDiscriminator(Options, device) { SingleBackwardGemm = true };
            SpadeInit.XavierNormal(NetD, Options.InitVariance);
            // The reference's init_weights then re-initialises every child network (each NLayerDiscriminator is one):
            // the values are drawn twice, and a seeded build equals its weights only by doing the same.
            foreach (var sub in NetD.Discriminators) SpadeInit.XavierNormal(sub, Options.InitVariance);
        }
        if (Options.UseVae)
        {
            NetE = new ConvEncoder(Options, device);
            SpadeInit.XavierNormal(NetE, Options.InitVariance);
        }
    }

    public SpadeModelOptions Options { get; }
    public SpadeLossOptions LossOptions { get; }
    public SpadeGenerator NetG { get; }
    public MultiscaleDiscriminator? NetD { get; }
    public ConvEncoder? NetE { get; }
    public Vgg19? Vgg { get; }

    private MultiscaleDiscriminator D => NetD ?? throw new InvalidOperationException("This SpadeModel was built without a discriminator " +
        "(inference only).");

    /// <summary>Parameters for G's optimizer: netG's, then netE's (the reference trains E with G).</summary>
    public IEnumerable<Parameter> GeneratorParameters() =>
        NetE is null ? NetG.parameters() : NetG.parameters().Concat(NetE.parameters());

    /// <summary>Parameters for D's optimizer.</summary>
    public IEnumerable<Parameter> DiscriminatorParameters() => D.parameters();

    /// <summary>Training mode for G, D and E (spectral-norm power iterations, batch statistics). VGG stays in eval.</summary>
    public void Train(bool on = true)
    {
        if (on) ThawWeights();
        NetG.train(on);
        NetD?.train(on);
        NetE?.train(on);
        Vgg?.eval();
    }

    /// <summary>Evaluation mode: stored u/v and running statistics; nothing is updated by a forward.</summary>
    public void Eval() => Train(false);

    private WeightForms? frozen;

    /// <summary>
    /// Evaluation mode for a model that only generates from now on (<c>gansharp test</c>, the studio): what layers
    /// derive from their weights is made at the first <see cref="Generate"/> and reused by the next ones. Nothing may
    /// change the weights until <see cref="Train"/> (which thaws them).
    /// </summary>
    public void FreezeForInference()
    {
        Eval();
        frozen ??= new WeightForms();
    }

    /// <summary>How many derived weights the frozen model keeps (0 when not frozen).</summary>
    internal int FrozenForms => frozen?.Made ?? 0;

    private void ThawWeights()
    {
        frozen?.Dispose();
        frozen = null;
    }

    /// <summary>
    /// The reference's compute_generator_loss: fake = G(semantics[, z from E(image)]), D on [fake; real] as one batch,
    /// then GAN, GAN_Feat, VGG (and KLD). Call <c>Total().backward()</c> and step G's optimizer afterwards.
    /// </summary>
    /// <param name="semantics">[N, semantic_nc, H, W].</param>
    /// <param name="image">[N, 3, H, W] real image in [-1, 1].</param>
    /// <param name="tricks">Optional trick hooks; only <see cref="SpadeDiscriminatorTricks.Image"/> applies to G's step.</param>
    public GeneratorLosses ComputeGeneratorLoss(Tensor semantics, Tensor image, SpadeDiscriminatorTricks? tricks = null)
    {
        var (fake, kld) = GenerateFake(semantics, image, computeKld: true);
        Tensor[][] predFake, predReal;
        // D's weights get no gradient from G's loss (the reference computes it and zeroes it before D's step):
        // leaving them out of this graph saves D's weight-gradient work; every value is unchanged.
        var dParams = D.parameters().Select(p => (Param: p, Was: p.requires_grad)).ToList();
        foreach (var (p, _) in dParams) p.requires_grad = false;
        try
        {
            var view = tricks?.Image;
            (predFake, predReal) = view is null
                ? Discriminate(semantics, fake, semantics, image)
                : Discriminate(semantics, view(fake), semantics, view(image));
        }
        finally
        {
            foreach (var (p, was) in dParams) p.requires_grad = was;
        }

        var gan = ganLoss.Compute(predFake, targetIsReal: true, forDiscriminator: false);
        if (LossOptions.LambdaGan != 1.0) gan = gan.mul(LossOptions.LambdaGan);
        Tensor? feat = LossOptions.NoGanFeatLoss ? null : FeatureMatchingLoss.Compute(predFake, predReal, LossOptions.LambdaFeat);
        Tensor? vgg = Vgg is null ? null : VggLoss.Compute(Vgg, fake, image).mul(LossOptions.LambdaVgg);
        return new GeneratorLosses(kld, gan, feat, vgg, fake, predFake, predReal);
    }

    /// <summary>
    /// The reference's compute_discriminator_loss: the fake is regenerated with the current G in its current mode
    /// under no_grad (in training mode this is one more power iteration and running-stat update in G), then D on
    /// [fake; real]; D_Fake and D_real. Call <c>Total().backward()</c> and step D's optimizer afterwards.
    /// </summary>
    /// <param name="semantics">[N, semantic_nc, H, W].</param>
    /// <param name="image">[N, 3, H, W] real image in [-1, 1].</param>
    /// <param name="tricks">Optional trick hooks (image transform, replay of pairs, soft/noisy targets).</param>
    public DiscriminatorLosses ComputeDiscriminatorLoss(Tensor semantics, Tensor image, SpadeDiscriminatorTricks? tricks = null)
    {
        Tensor fake;
        using (no_grad()) fake = GenerateFake(semantics, image, computeKld: false).Fake.detach();
        Tensor fakeSemantics = semantics, fakeImage = fake;
        if (tricks?.FakePairs is { } replay)
        {
            var pairs = replay(cat(new[] { semantics, fake }, 1));
            long c = semantics.shape[1];
            fakeSemantics = pairs.narrow(1, 0, c);
            fakeImage = pairs.narrow(1, c, pairs.shape[1] - c);
        }
        var realImage = image;
        if (tricks?.Image is { } view)
        {
            fakeImage = view(fakeImage);
            realImage = view(image);
        }
        var (predFake, predReal) = Discriminate(fakeSemantics, fakeImage, semantics, realImage);
        Tensor dFake, dReal;
        if (tricks?.Targets is { } targets)
        {
            var (tReal, tFake) = targets(image.shape[0]);
            dFake = ganLoss.ComputeForDiscriminator(predFake, tFake);
            dReal = ganLoss.ComputeForDiscriminator(predReal, tReal);
        }
        else
        {
            dFake = ganLoss.Compute(predFake, targetIsReal: false, forDiscriminator: true);
            dReal = ganLoss.Compute(predReal, targetIsReal: true, forDiscriminator: true);
        }
        return new DiscriminatorLosses(dFake, dReal, fake, predFake, predReal) { RealInput = realImage, FakeInput = fakeImage };
    }

    /// <summary>
    /// D's score of each sample, the sum of every scale's prediction map: [N]. Gradient penalties differentiate it
    /// with respect to the image (the label map is a fixed condition).
    /// </summary>
    public Tensor DiscriminatorScore(Tensor semantics, Tensor image)
    {
        var outs = D.call(DiscriminatorInput(semantics, image));
        Tensor? total = null;
        foreach (var scale in outs)
        {
            var s = scale[^1].flatten(1).sum(1);
            total = total is null ? s : total.add(s);
        }
        return total!;
    }

    /// <summary>
    /// Inference: G under no_grad in its current mode (call <see cref="Eval"/> first for the reference's test mode).
    /// With the VAE, z is taken as given, else encoded from <paramref name="image"/>, else drawn from N(0, 1).
    /// Noise comes from <paramref name="noise"/> when given: a seeded generator of the caller's own repeats whatever
    /// else in the process draws from torch's global one (the studio's requests, tests running side by side).
    /// </summary>
    public Tensor Generate(Tensor semantics, Tensor? z = null, Tensor? image = null, Generator? noise = null)
    {
        using var _ = no_grad();
        using var memo = frozen?.Use();
        if (!Options.UseVae) return NetG.call(semantics, null);
        using var scope = NewDisposeScope();
        if (z is null && image is not null)
        {
            var (mu, logvar) = NetE!.call(image);
            z = Reparameterize(mu, logvar, noise);
        }
        else if (z is null && noise is not null)
        {
            z = randn([semantics.shape[0], Options.ZDim], generator: noise, device: semantics.device);
        }
        return NetG.call(semantics, z).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One reference iteration outside the trainer (benchmarks, the plan probes): G step, then D step with the fake
    /// regenerated, under one dispose scope.
    /// </summary>
    public void ReferenceIteration(TorchSharp.Modules.OptimizerHelper optG, TorchSharp.Modules.OptimizerHelper optD, Tensor semantics, Tensor image)
    {
        using var quiet = GanSharp.Runtime.GcQuiet.Iteration();
        using var scope = NewDisposeScope();
        optG.zero_grad();
        ComputeGeneratorLoss(semantics, image).Total().backward();
        optG.step();
        optD.zero_grad();
        ComputeDiscriminatorLoss(semantics, image).Total().backward();
        optD.step();
    }

    /// <summary>z = mu + eps * exp(0.5 logvar), eps ~ N(0, 1).</summary>
    public static Tensor Reparameterize(Tensor mu, Tensor logvar, Generator? noise = null)
    {
        using var scope = NewDisposeScope();
        var std = logvar.mul(0.5).exp_();
        // Drawn in float32 whatever the model's precision, so that a float64 check of an iteration sees the noise
        // the float32 iteration (and the reference, from the same seed) drew.
        // Under mpirun drawn for the global batch, each rank keeping its samples' part (GlobalDraws); inference draws
        // from the caller's own generator.
        var eps = noise is not null
            ? randn(std.shape, dtype: ScalarType.Float32, device: std.device, generator: noise).to(std.dtype)
            : Distributed.GlobalDraws.Apply(std, s => s.dtype == ScalarType.Float32 ? randn_like(s)
                : randn(s.shape, dtype: ScalarType.Float32, device: s.device).to(s.dtype));
        return eps.mul_(std).add_(mu).MoveToOuterDisposeScope();
    }

    private (Tensor Fake, Tensor? Kld) GenerateFake(Tensor semantics, Tensor image, bool computeKld)
    {
        Tensor? z = null, kld = null;
        if (Options.UseVae)
        {
            var (mu, logvar) = NetE!.call(image);
            z = Reparameterize(mu, logvar);
            // The reference's KLD is a sum over the batch, not a mean: under mpirun each rank sums its part and the
            // gradients are averaged over the K ranks, so K times the part keeps the global batch's sum.
            if (computeKld) kld = KldLoss.Compute(mu, logvar).mul(LossOptions.LambdaKld * Distributed.Communicator.World.Size);
        }
        return (NetG.call(semantics, z), kld);
    }

    /// <summary>
    /// D's outputs for a fake and a real image under the same label map, passed as one batch (fake first) exactly as
    /// in a training step, without tricks: per scale, every layer's output for the fake half and the real half.
    /// </summary>
    public (Tensor[][] PredFake, Tensor[][] PredReal) DiscriminatePair(Tensor semantics, Tensor fake, Tensor real) =>
        Discriminate(semantics, fake, semantics, real);

    /// <summary>What D sees of one sample: the label map's channels, then the image's (tricks only ever change the latter).</summary>
    public static Tensor DiscriminatorInput(Tensor semantics, Tensor image) => cat(new[] { semantics, image }, 1);

    // Fake and real go through D as one batch (fake first) so that D's normalisation sees both, then are split.
    private (Tensor[][] Fake, Tensor[][] Real) Discriminate(Tensor fakeSemantics, Tensor fake, Tensor realSemantics, Tensor real)
    {
        var fakeConcat = DiscriminatorInput(fakeSemantics, fake);
        var realConcat = DiscriminatorInput(realSemantics, real);
        var both = cat(new[] { fakeConcat, realConcat }, 0); // [2N, semantic_nc + 3, H, W]
        var outs = D.call(both);
        long n = fake.shape[0];
        var predFake = outs.Select(scale => scale.Select(t => t.narrow(0, 0, n)).ToArray()).ToArray();
        var predReal = outs.Select(scale => scale.Select(t => t.narrow(0, n, t.shape[0] - n)).ToArray()).ToArray();
        return (predFake, predReal);
    }

    public void Dispose()
    {
        ThawWeights();
        NetG.Dispose();
        NetD?.Dispose();
        NetE?.Dispose();
    }
}
