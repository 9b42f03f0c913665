using GanSharp.Losses;
using GanSharp.Models;
using GanSharp.Training;

namespace GanSharp.Options;

/// <summary>
/// The options of a family run (<see cref="FamilyRunOptions"/>); <c>train-family</c> adds the tricks
/// (<see cref="TricksOptionSpecs"/>) and the run folder (<see cref="RunOptionSpecs"/> with <see cref="RunOptions.Family"/>).
/// </summary>
public static class FamilyOptionSpecs
{
    /// <summary>Family names on the command line, from <see cref="FamilyRegistry"/>.</summary>
    public static IReadOnlyList<string> FamilyNames => FamilyRegistry.Names;

    public static OptionCatalog<FamilyRunOptions> Catalog { get; } = new();

    public static OptionSpec<FamilyRunOptions, GanFamily> Family { get; } = Catalog.Add("--family", x => x.Family,
        (x, v) => x with { Family = v },
        "The GAN family: mlp (plain GAN), dcgan, lsgan (least squares), wgan (weight clipping), wgan-gp (gradient penalty; on 2-D "
        + "data its defaults are the WGAN-GP toy code's lambda 0.1 and Adam betas (0.5, 0.9), with Adam 2e-3 and samples from an EMA "
        + "0.99 of G), began (auto-encoder D), progan (progressive growing, images), acgan (class-conditional).",
        text: ValueTexts.Named(FamilyRegistry.All.Select(e => (e.Name, e.Family)).ToArray()));

    public static OptionSpec<FamilyRunOptions, FamilyData> Data { get; } = Catalog.Add("--data", x => x.Data, (x, v) => x with { Data = v },
        "Training data: ring8 (8 Gaussians on a ring), grid25 (5x5 Gaussian grid), shapes32 (generated 32x32 coloured shapes, 4 classes).",
        text: ValueTexts.Named(("ring8", FamilyData.Ring8), ("grid25", FamilyData.Grid25), ("shapes32", FamilyData.Shapes32)));

    public static OptionSpec<FamilyRunOptions, int> BatchSize { get; } = Catalog.Add("--batch-size", x => x.BatchSize,
        (x, v) => x with { BatchSize = v }, "Samples per batch.");

    public static OptionSpec<FamilyRunOptions, int> BatchesPerEpoch { get; } = Catalog.Add("--batches-per-epoch", x => x.BatchesPerEpoch,
        (x, v) => x with { BatchesPerEpoch = v }, "Batches per epoch (the data are generated, so an epoch is a count).");

    public static OptionSpec<FamilyRunOptions, int> Epochs { get; } = Catalog.Add("--epochs", x => x.Epochs, (x, v) => x with { Epochs = v },
        "Epochs to train.");

    public static OptionSpec<FamilyRunOptions, int?> ZDim { get; } = Catalog.Add("--z-dim", x => x.ZDim, (x, v) => x with { ZDim = v },
        "Latent size (default 2 on 2-D data, 64 on images).");

    public static OptionSpec<FamilyRunOptions, int?> Width { get; } = Catalog.Add("--width", x => x.Width, (x, v) => x with { Width = v },
        "Hidden width of the MLPs or base channel count of the conv nets (default 128 / 32).");

    public static OptionSpec<FamilyRunOptions, int> Layers { get; } = Catalog.Add("--layers", x => x.Layers, (x, v) => x with { Layers = v },
        "Hidden layers of the MLPs on 2-D data.");

    public static OptionSpec<FamilyRunOptions, AdversarialLoss?> Loss { get; } = Catalog.Add("--loss", x => x.Loss,
        (x, v) => x with { Loss = v }, "Adversarial loss instead of the family's: original (non-saturating), ls, w, hinge.",
        text: ValueTexts.Named<AdversarialLoss?>(("original", AdversarialLoss.Original), ("ls", AdversarialLoss.Ls), ("w", AdversarialLoss.W),
            ("hinge", AdversarialLoss.Hinge)));

    public static OptionSpec<FamilyRunOptions, bool> Saturating { get; } = Catalog.Add("--saturating", x => x.Saturating,
        (x, v) => x with { Saturating = v },
        "Use the saturating minimax G loss log(1 - D(G(z))) with the original loss (ganhacks 2 says don't).");

    public static OptionSpec<FamilyRunOptions, DNorm?> Norm { get; } = Catalog.Add("--norm", x => x.Norm, (x, v) => x with { Norm = v },
        "D's normalisation: batch, instance, layer or none (default batch for dcgan/lsgan/wgan/acgan on images, layer for wgan-gp on "
        + "images, none on 2-D data).",
        text: ValueTexts.Named<DNorm?>(("batch", DNorm.Batch), ("instance", DNorm.Instance), ("layer", DNorm.Layer), ("none", DNorm.None)));

    public static OptionSpec<FamilyRunOptions, double> WeightClip { get; } = Catalog.Add("--weight-clip", x => x.WeightClip,
        (x, v) => x with { WeightClip = v }, "WGAN: clamp critic weights to [-c, c] after each critic step (0 = off).");

    public static OptionSpec<FamilyRunOptions, double> BeganGamma { get; } = Catalog.Add("--began-gamma", x => x.BeganGamma,
        (x, v) => x with { BeganGamma = v }, "BEGAN diversity ratio gamma = E[L(G(z))] / E[L(x)].");

    public static OptionSpec<FamilyRunOptions, double> BeganLambdaK { get; } = Catalog.Add("--began-lambda-k", x => x.BeganLambdaK,
        (x, v) => x with { BeganLambdaK = v }, "BEGAN proportional gain lambda_k of k_t.");

    public static OptionSpec<FamilyRunOptions, int> ProGanPhaseImages { get; } = Catalog.Add("--progan-phase-images", x => x.ProGanPhaseImages,
        (x, v) => x with { ProGanPhaseImages = v }, "ProGAN: images per fade-in phase and per stabilisation phase.");

    public static OptionSpec<FamilyRunOptions, int> ProGanStartResolution { get; } = Catalog.Add("--progan-start-resolution",
        x => x.ProGanStartResolution, (x, v) => x with { ProGanStartResolution = v },
        "ProGAN: starting resolution (4, 8 or 16), doubled up to 32.");

    public static OptionSpec<FamilyRunOptions, int> Threads { get; } = Catalog.Add("--threads", x => x.Threads,
        (x, v) => x with { Threads = v },
        "Threads for libtorch's parallel ops (0 = one per core); the small 2-D networks train fastest with 1, especially on a busy machine.");
}
