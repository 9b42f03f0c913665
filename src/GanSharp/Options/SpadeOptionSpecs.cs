using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Training;
using Mode = GanSharp.Losses.AdversarialLoss;
using Upsamplings = GanSharp.Models.Spade.NumUpsamplingLayers;

namespace GanSharp.Options;

/// <summary>
/// The architecture options of <see cref="SpadeModelOptions"/> (all structural: a checkpoint fixes them). The data facts
/// the networks also depend on (label_nc, crop_size, ...) are data options (<see cref="DataOptionSpecs"/>).
/// </summary>
public static class ModelOptionSpecs
{
    public static OptionCatalog<SpadeModelOptions> Catalog { get; } = new();

    public static OptionSpec<SpadeModelOptions, int> Ngf { get; } = Catalog.Add("--ngf", x => x.Ngf, (x, v) => x with { Ngf = v },
        "Width of the generator's first layer (channels scale from 16*ngf down to ngf).", "ngf", structural: true);

    public static OptionSpec<SpadeModelOptions, int> Ndf { get; } = Catalog.Add("--ndf", x => x.Ndf, (x, v) => x with { Ndf = v },
        "Width of the discriminator's first layer.", "ndf", structural: true);

    public static OptionSpec<SpadeModelOptions, int> ZDim { get; } = Catalog.Add("--z-dim", x => x.ZDim, (x, v) => x with { ZDim = v },
        "Size of the latent vector of the VAE.", "z_dim", structural: true);

    public static OptionSpec<SpadeModelOptions, string> NormG { get; } = Catalog.Add("--norm-G", x => x.NormG, (x, v) => x with { NormG = v },
        "Generator norm: [spectral]spade{instance|batch|syncbatch}KxK.", "norm_G", ["--norm-g"], structural: true);

    public static OptionSpec<SpadeModelOptions, string> NormD { get; } = Catalog.Add("--norm-D", x => x.NormD, (x, v) => x with { NormD = v },
        "Discriminator norm: [spectral]{instance|batch|syncbatch|none}.", "norm_D", ["--norm-d"], structural: true);

    public static OptionSpec<SpadeModelOptions, string> NormE { get; } = Catalog.Add("--norm-E", x => x.NormE, (x, v) => x with { NormE = v },
        "Encoder norm: [spectral]{instance|batch|syncbatch|none}.", "norm_E", ["--norm-e"], structural: true);

    public static OptionSpec<SpadeModelOptions, Upsamplings> NumUpsamplingLayers { get; } = Catalog.Add("--num-upsampling-layers",
        x => x.NumUpsamplingLayers, (x, v) => x with { NumUpsamplingLayers = v },
        "normal (5 upsamplings), more (6) or most (7: larger outputs from the same latent grid).", "num_upsampling_layers",
        text: ValueTexts.Snake<Upsamplings>(), structural: true);

    public static OptionSpec<SpadeModelOptions, bool> UseVae { get; } = Catalog.Add("--use-vae", x => x.UseVae, (x, v) => x with { UseVae = v },
        "Train the style encoder (VAE) so outputs can take the style of a given photo.", "use_vae", structural: true);

    public static OptionSpec<SpadeModelOptions, int> NumD { get; } = Catalog.Add("--num-D", x => x.NumD, (x, v) => x with { NumD = v },
        "Number of discriminators at successively halved scales.", "num_D", ["--num-d"], structural: true);

    public static OptionSpec<SpadeModelOptions, int> NLayersD { get; } = Catalog.Add("--n-layers-D", x => x.NLayersD,
        (x, v) => x with { NLayersD = v }, "Layers of each discriminator.", "n_layers_D", ["--n-layers-d"], structural: true);

    public static OptionSpec<SpadeModelOptions, double> InitVariance { get; } = Catalog.Add("--init-variance", x => x.InitVariance,
        (x, v) => x with { InitVariance = v }, "Gain of the xavier-normal weight init.", "init_variance", structural: true);
}

/// <summary>The loss options of <see cref="SpadeLossOptions"/>.</summary>
internal static class LossOptionSpecs
{
    public static OptionCatalog<SpadeLossOptions> Catalog { get; } = new();

    public static OptionSpec<SpadeLossOptions, Mode> GanMode { get; } = Catalog.Add("--gan-mode", x => x.GanMode,
        (x, v) => x with { GanMode = v },
        "Adversarial loss: hinge, original (BCE), ls (least squares) or w (Wasserstein).", "gan_mode", text: ValueTexts.Snake<Mode>());

    public static OptionSpec<SpadeLossOptions, double> LambdaFeat { get; } = Catalog.Add("--lambda-feat", x => x.LambdaFeat,
        (x, v) => x with { LambdaFeat = v }, "Weight of the discriminator feature-matching loss.", "lambda_feat");

    public static OptionSpec<SpadeLossOptions, double> LambdaVgg { get; } = Catalog.Add("--lambda-vgg", x => x.LambdaVgg,
        (x, v) => x with { LambdaVgg = v }, "Weight of the VGG perceptual loss.", "lambda_vgg");

    public static OptionSpec<SpadeLossOptions, double> LambdaKld { get; } = Catalog.Add("--lambda-kld", x => x.LambdaKld,
        (x, v) => x with { LambdaKld = v }, "Weight of the VAE's KL divergence.", "lambda_kld");

    public static OptionSpec<SpadeLossOptions, double> LambdaGan { get; } = Catalog.Add("--lambda-gan", x => x.LambdaGan,
        (x, v) => x with { LambdaGan = v }, "Weight of G's adversarial loss (the reference fixes it at 1).", aliases: ["--lambda_gan"]);

    // Structural: without feature matching, D returns only its final prediction per scale.
    public static OptionSpec<SpadeLossOptions, bool> NoGanFeatLoss { get; } = Catalog.Add("--no-ganFeat-loss", x => x.NoGanFeatLoss,
        (x, v) => x with { NoGanFeatLoss = v }, "Train without the feature-matching loss.", "no_ganFeat_loss", ["--no-gan-feat-loss"],
        structural: true);

    public static OptionSpec<SpadeLossOptions, bool> NoVggLoss { get; } = Catalog.Add("--no-vgg-loss", x => x.NoVggLoss,
        (x, v) => x with { NoVggLoss = v }, "Train without the VGG perceptual loss (no VGG19 weights needed).", "no_vgg_loss");
}

/// <summary>The optimizer and schedule options of <see cref="OptimOptions"/>.</summary>
internal static class OptimOptionSpecs
{
    public static OptionCatalog<OptimOptions> Catalog { get; } = new();

    public static OptionSpec<OptimOptions, double> Lr { get; } = Catalog.Add("--lr", x => x.Lr, (x, v) => x with { Lr = v },
        "Initial Adam learning rate (TTUR gives G lr/2 and D lr*2).", "lr");

    public static OptionSpec<OptimOptions, double> Beta1 { get; } = Catalog.Add("--beta1", x => x.Beta1, (x, v) => x with { Beta1 = v },
        "Adam beta1 with --no-TTUR.", "beta1");

    public static OptionSpec<OptimOptions, double> Beta2 { get; } = Catalog.Add("--beta2", x => x.Beta2, (x, v) => x with { Beta2 = v },
        "Adam beta2 with --no-TTUR.", "beta2");

    public static OptionSpec<OptimOptions, bool> NoTtur { get; } = Catalog.Add("--no-TTUR", x => x.NoTtur, (x, v) => x with { NoTtur = v },
        "Same lr for G and D and betas (beta1, beta2) instead of TTUR.", "no_TTUR", ["--no-ttur"]);

    public static OptionSpec<OptimOptions, int> Niter { get; } = Catalog.Add("--niter", x => x.Niter, (x, v) => x with { Niter = v },
        "Epochs at the initial learning rate.", "niter");

    public static OptionSpec<OptimOptions, int> NiterDecay { get; } = Catalog.Add("--niter-decay", x => x.NiterDecay,
        (x, v) => x with { NiterDecay = v }, "Epochs of linear learning-rate decay to zero after --niter.", "niter_decay");

    public static OptionSpec<OptimOptions, double> LrScaleG { get; } = Catalog.Add("--lr-scale-g", x => x.LrScaleG,
        (x, v) => x with { LrScaleG = v }, "Extra factor on G's learning rate (a first-aid remedy; 1 = reference).");

    public static OptionSpec<OptimOptions, double> LrScaleD { get; } = Catalog.Add("--lr-scale-d", x => x.LrScaleD,
        (x, v) => x with { LrScaleD = v }, "Extra factor on D's learning rate (a first-aid remedy; 1 = reference).");
}
