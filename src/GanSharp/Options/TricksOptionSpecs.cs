using GanSharp.Training.Tricks;

namespace GanSharp.Options;

/// <summary>Every trick of <see cref="TricksOptions"/>, shared by SPADE and all families.</summary>
public static class TricksOptionSpecs
{
    public static OptionCatalog<TricksOptions> Catalog { get; } = new();

    public static OptionSpec<TricksOptions, LabelSmoothing> Smoothing { get; } = Catalog.Add("--soft-labels", x => x.Smoothing,
        (x, v) => x with { Smoothing = v },
        "Soft real labels for D (ganhacks 6): none, fixed (--real-target) or uniform (real in [--real-low, --real-high], fake in "
        + "[0, --fake-high]).", text: ValueTexts.Snake<LabelSmoothing>());

    public static OptionSpec<TricksOptions, double> RealTarget { get; } = Catalog.Add("--real-target", x => x.RealTarget,
        (x, v) => x with { RealTarget = v }, "Real target with --soft-labels fixed.");

    public static OptionSpec<TricksOptions, double> RealLow { get; } = Catalog.Add("--real-low", x => x.RealLow,
        (x, v) => x with { RealLow = v }, "Lower bound of uniform real targets.");

    public static OptionSpec<TricksOptions, double> RealHigh { get; } = Catalog.Add("--real-high", x => x.RealHigh,
        (x, v) => x with { RealHigh = v }, "Upper bound of uniform real targets.");

    public static OptionSpec<TricksOptions, double> FakeHigh { get; } = Catalog.Add("--fake-high", x => x.FakeHigh,
        (x, v) => x with { FakeHigh = v }, "Upper bound of uniform fake targets (0 keeps them at 0).");

    public static OptionSpec<TricksOptions, double> FlipFraction { get; } = Catalog.Add("--flip-labels", x => x.FlipFraction,
        (x, v) => x with { FlipFraction = v }, "Noisy labels: fraction of D's targets swapped real/fake each batch (ganhacks 6), e.g. 0.05.");

    public static OptionSpec<TricksOptions, double> InstanceNoise { get; } = Catalog.Add("--instance-noise", x => x.InstanceNoise,
        (x, v) => x with { InstanceNoise = v },
        "Std of Gaussian noise added to D's real and fake inputs, decaying to 0 (ganhacks 13), e.g. 0.1.");

    public static OptionSpec<TricksOptions, NoiseDecay> InstanceNoiseDecay { get; } = Catalog.Add("--instance-noise-decay",
        x => x.InstanceNoiseDecay, (x, v) => x with { InstanceNoiseDecay = v },
        "Decay of the instance noise to zero: linear or exponential (exp(-5 t/T)).", text: ValueTexts.Snake<NoiseDecay>());

    public static OptionSpec<TricksOptions, long> InstanceNoiseSteps { get; } = Catalog.Add("--instance-noise-steps",
        x => x.InstanceNoiseSteps, (x, v) => x with { InstanceNoiseSteps = v }, "Iterations T after which the instance noise is zero.");

    public static OptionSpec<TricksOptions, int> ReplaySize { get; } = Catalog.Add("--replay-size", x => x.ReplaySize,
        (x, v) => x with { ReplaySize = v }, "Experience replay (ganhacks 8): buffer of old fakes shown to D (0 = off), e.g. 512.");

    public static OptionSpec<TricksOptions, double> ReplayProb { get; } = Catalog.Add("--replay-prob", x => x.ReplayProb,
        (x, v) => x with { ReplayProb = v }, "Probability that a fake shown to D is swapped for a stored one.");

    public static OptionSpec<TricksOptions, int?> DSteps { get; } = Catalog.Add("--d-steps", x => x.DSteps, (x, v) => x with { DSteps = v },
        "D (critic) steps per iteration, each on a new real batch (default: 5 for wgan/wgan-gp, else 1).", aliases: ["--n-critic"]);

    public static OptionSpec<TricksOptions, int?> GSteps { get; } = Catalog.Add("--g-steps", x => x.GSteps, (x, v) => x with { GSteps = v },
        "G steps per iteration (default 1).");

    public static OptionSpec<TricksOptions, double?> LrG { get; } = Catalog.Add("--lr-g", x => x.LrG, (x, v) => x with { LrG = v },
        "G's learning rate (default: the family's, e.g. 2e-4 for dcgan, 5e-5 for wgan, 1e-4 for wgan-gp on images, 2e-3 for wgan-gp "
        + "on 2-D data).");

    public static OptionSpec<TricksOptions, double?> LrD { get; } = Catalog.Add("--lr-d", x => x.LrD, (x, v) => x with { LrD = v },
        "D's learning rate (default: the family's); a separate lr per network is TTUR.");

    public static OptionSpec<TricksOptions, double> GDropout { get; } = Catalog.Add("--g-dropout", x => x.GDropout,
        (x, v) => x with { GDropout = v }, "Dropout in G's hidden layers at train and test time (ganhacks 17), e.g. 0.5.");

    public static OptionSpec<TricksOptions, bool> SphereLatent { get; } = Catalog.Add("--sphere-latent", x => x.SphereLatent,
        (x, v) => x with { SphereLatent = v }, "Sample z on the sphere of radius sqrt(z-dim) instead of N(0, I) (ganhacks 3).");

    public static OptionSpec<TricksOptions, bool> JointBatch { get; } = Catalog.Add("--joint-batch", x => x.JointBatch,
        (x, v) => x with { JointBatch = v },
        "Pass real and fake through D as one concatenated batch (shared BN statistics) instead of separate all-real and all-fake "
        + "batches (ganhacks 4).");

    public static OptionSpec<TricksOptions, bool> MinibatchStd { get; } = Catalog.Add("--minibatch-std", x => x.MinibatchStd,
        (x, v) => x with { MinibatchStd = v }, "Append a minibatch standard-deviation feature before D's head (ganhacks 15, ProGAN).");

    public static OptionSpec<TricksOptions, bool> SpectralNormG { get; } = Catalog.Add("--spectral-norm-g", x => x.SpectralNormG,
        (x, v) => x with { SpectralNormG = v }, "Spectral normalisation on G's layers.");

    public static OptionSpec<TricksOptions, bool> SpectralNormD { get; } = Catalog.Add("--spectral-norm-d", x => x.SpectralNormD,
        (x, v) => x with { SpectralNormD = v }, "Spectral normalisation on D's layers.");

    public static OptionSpec<TricksOptions, PenaltyKind?> Penalty { get; } = Catalog.Add("--penalty", x => x.Penalty,
        (x, v) => x with { Penalty = v },
        "Gradient penalty on D: none, wgan-gp (on interpolates) or r1 (on reals); default wgan-gp for wgan-gp/progan, none otherwise.",
        text: ValueTexts.Named<PenaltyKind?>(("none", PenaltyKind.None), ("wgan-gp", PenaltyKind.WganGp), ("r1", PenaltyKind.R1)));

    public static OptionSpec<TricksOptions, double?> PenaltyWeight { get; } = Catalog.Add("--penalty-weight", x => x.PenaltyWeight,
        (x, v) => x with { PenaltyWeight = v },
        "Penalty weight: lambda of wgan-gp or gamma of r1 (default 10; 0.1 for wgan-gp on 2-D data, as the WGAN-GP toy code).");

    public static OptionSpec<TricksOptions, int> R1Interval { get; } = Catalog.Add("--r1-interval", x => x.R1Interval,
        (x, v) => x with { R1Interval = v },
        "Lazy R1: apply the penalty every k iterations, scaled by k (1 = every iteration; StyleGAN2 uses 16).");

    public static OptionSpec<TricksOptions, string> DiffAugment { get; } = Catalog.Add("--diff-augment", x => x.DiffAugment,
        (x, v) => x with { DiffAugment = v ?? "" },
        "DiffAugment on D's real and fake inputs (images): comma-separated color, translation, cutout.");

    public static OptionSpec<TricksOptions, double> AdaTarget { get; } = Catalog.Add("--ada-target", x => x.AdaTarget,
        (x, v) => x with { AdaTarget = v },
        "Adaptive augmentation (StyleGAN2-ADA): target of r_t = E[sign(D(real))], e.g. 0.6 (0 = fixed p = 1).");

    public static OptionSpec<TricksOptions, double> AdaPMax { get; } = Catalog.Add("--ada-p-max", x => x.AdaPMax,
        (x, v) => x with { AdaPMax = v }, "Upper bound of the adaptive augmentation probability p.");

    public static OptionSpec<TricksOptions, int> AdaSpeedImages { get; } = Catalog.Add("--ada-speed-images", x => x.AdaSpeedImages,
        (x, v) => x with { AdaSpeedImages = v }, "Images over which p can move by 1.");

    public static OptionSpec<TricksOptions, int> AdaInterval { get; } = Catalog.Add("--ada-interval", x => x.AdaInterval,
        (x, v) => x with { AdaInterval = v }, "Iterations between adjustments of p.");

    public static OptionSpec<TricksOptions, double?> EmaBeta { get; } = Catalog.Add("--ema", x => x.EmaBeta, (x, v) => x with { EmaBeta = v },
        "Exponential moving average of G's weights used for sampling, e.g. 0.999 (0 = off; default 0.99 for wgan-gp on 2-D data, "
        + "off otherwise).");
}
