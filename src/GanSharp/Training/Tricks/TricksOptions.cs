using GanSharp.Options;

namespace GanSharp.Training.Tricks;

/// <summary>How D's real targets are softened (ganhacks §6).</summary>
public enum LabelSmoothing
{
    /// <summary>Real target 1.</summary>
    None,
    /// <summary>Real target fixed at <see cref="TricksOptions.RealTarget"/> (one-sided smoothing, e.g. 0.9).</summary>
    Fixed,
    /// <summary>
    /// Real target drawn per sample uniformly in [<see cref="TricksOptions.RealLow"/>, <see
    /// cref="TricksOptions.RealHigh"/>], fake in [0, <see cref="TricksOptions.FakeHigh"/>].
    /// </summary>
    Uniform,
}

/// <summary>How the instance-noise std falls to zero.</summary>
public enum NoiseDecay
{
    /// <summary>σ(t) = σ0 · (1 − t/T), zero from T on.</summary>
    Linear,
    /// <summary>σ(t) = σ0 · exp(−5 t/T) (below 1 % of σ0 at T), zero from T on.</summary>
    Exponential,
}

/// <summary>Which gradient penalty D's loss carries.</summary>
public enum PenaltyKind
{
    None,
    /// <summary>λ · E[(‖∇D(x̂)‖ − 1)²] on random interpolates of real and fake (WGAN-GP).</summary>
    WganGp,
    /// <summary>γ/2 · E[‖∇D(x)‖²] on real samples (R1), optionally lazy (every k steps, scaled by k).</summary>
    R1,
}

/// <summary>
/// Every stabilisation trick as a switch. Defaults are all "off", so a family trains as its paper says; a null
/// value means "the family's own default" (n_critic 5 for WGAN, λ = 10 for WGAN-GP, ...). Any recipe, SPADE
/// included, applies a trick through the one-call helpers of this namespace.
/// </summary>
public sealed record TricksOptions
{
    /// <summary>Soft real labels: none, fixed or uniform.</summary>
    public LabelSmoothing Smoothing { get; init; } = LabelSmoothing.None;

    /// <summary>The real target of <see cref="LabelSmoothing.Fixed"/>.</summary>
    public double RealTarget { get; init; } = 0.9;

    /// <summary>Lower bound of uniform real targets.</summary>
    public double RealLow { get; init; } = 0.7;

    /// <summary>Upper bound of uniform real targets.</summary>
    public double RealHigh { get; init; } = 1.2;

    /// <summary>Upper bound of uniform fake targets (0 keeps fake targets at 0).</summary>
    public double FakeHigh { get; init; } = 0.3;

    /// <summary>Fraction of D's targets swapped (real ↔ fake) per batch: noisy labels.</summary>
    public double FlipFraction { get; init; }

    /// <summary>Initial std of the Gaussian instance noise added to D's real and fake inputs (0 = off).</summary>
    public double InstanceNoise { get; init; }

    /// <summary>Decay shape of the instance noise.</summary>
    public NoiseDecay InstanceNoiseDecay { get; init; } = NoiseDecay.Linear;

    /// <summary>Iterations after which the instance noise is zero.</summary>
    public long InstanceNoiseSteps { get; init; } = 10_000;

    /// <summary>Capacity of the experience-replay buffer of old fakes (0 = off).</summary>
    public int ReplaySize { get; init; }

    /// <summary>Probability that a fake shown to D is swapped for an old one from the buffer.</summary>
    public double ReplayProb { get; init; } = 0.5;

    /// <summary>D steps per iteration (null = the family's default, 5 for WGAN/WGAN-GP).</summary>
    public int? DSteps { get; init; }

    /// <summary>G steps per iteration (null = 1).</summary>
    public int? GSteps { get; init; }

    /// <summary>G's learning rate (null = the family's default).</summary>
    public double? LrG { get; init; }

    /// <summary>D's learning rate (null = the family's default).</summary>
    public double? LrD { get; init; }

    /// <summary>Dropout probability in G's hidden layers, applied at train and test time (ganhacks §17; 0 = off).</summary>
    public double GDropout { get; init; }

    /// <summary>Sample z on the sphere of radius √dim instead of from N(0, I) (ganhacks §3).</summary>
    public bool SphereLatent { get; init; }

    /// <summary>Pass real and fake through D as one concatenated batch (shared BN statistics) instead of two.</summary>
    public bool JointBatch { get; init; }

    /// <summary>Append a minibatch standard-deviation feature before D's head.</summary>
    public bool MinibatchStd { get; init; }

    /// <summary>Spectral norm on G's layers.</summary>
    public bool SpectralNormG { get; init; }

    /// <summary>Spectral norm on D's layers.</summary>
    public bool SpectralNormD { get; init; }

    /// <summary>Gradient penalty added to D's loss (null = the family's default: WGAN-GP for wgan-gp/progan, none otherwise).</summary>
    public PenaltyKind? Penalty { get; init; }

    /// <summary>Penalty weight: λ of WGAN-GP or γ of R1 (null = the family's: 0.1 for wgan-gp on 2-D data, else 10).</summary>
    public double? PenaltyWeight { get; init; }

    /// <summary>Lazy R1: apply the penalty every k-th iteration, scaled by k (1 = every iteration).</summary>
    public int R1Interval { get; init; } = 1;

    /// <summary>DiffAugment policy on D's real and fake inputs: comma-separated color, translation, cutout (empty = off).</summary>
    public string DiffAugment { get; init; } = "";

    /// <summary>Adaptive augmentation target for r_t = E[sign(D(real))] (0 = fixed p = 1; StyleGAN2-ADA uses 0.6).</summary>
    public double AdaTarget { get; init; }

    /// <summary>Upper bound of the adaptive augmentation probability p.</summary>
    public double AdaPMax { get; init; } = 0.8;

    /// <summary>Images over which p can move by 1.</summary>
    public int AdaSpeedImages { get; init; } = 20_000;

    /// <summary>Iterations between p updates.</summary>
    public int AdaInterval { get; init; } = 4;

    /// <summary>
    /// Decay of the exponential moving average of G's weights used for sampling (0 = off, e.g. 0.999; null = the
    /// family's: 0.99 for wgan-gp on 2-D data, off otherwise).
    /// </summary>
    public double? EmaBeta { get; init; }

    /// <summary>Checks ranges; a user error is one sentence naming the flag.</summary>
    public void Validate()
    {
        static void Need(bool ok, string message)
        {
            if (!ok) throw new GanSharpException(ErrorKind.Usage, message);
        }
        Need(RealLow <= RealHigh, $"{TricksOptionSpecs.RealLow.Flag} {RealLow} must not exceed {TricksOptionSpecs.RealHigh.Flag} {RealHigh}.");
        Need(FakeHigh is >= 0 and < 1, $"{TricksOptionSpecs.FakeHigh.Flag} {FakeHigh} must lie in [0, 1).");
        Need(FlipFraction is >= 0 and <= 0.5, $"{TricksOptionSpecs.FlipFraction.Flag} {FlipFraction} must lie in [0, 0.5]: flipping more "
            + "than half teaches D the opposite.");
        Need(InstanceNoise >= 0, $"{TricksOptionSpecs.InstanceNoise.Flag} {InstanceNoise} must not be negative.");
        Need(InstanceNoiseSteps >= 1, $"{TricksOptionSpecs.InstanceNoiseSteps.Flag} {InstanceNoiseSteps} must be at least 1.");
        Need(ReplaySize >= 0, $"{TricksOptionSpecs.ReplaySize.Flag} {ReplaySize} must not be negative.");
        Need(ReplayProb is >= 0 and <= 1, $"{TricksOptionSpecs.ReplayProb.Flag} {ReplayProb} must lie in [0, 1].");
        Need(DSteps is null or >= 1, $"{TricksOptionSpecs.DSteps.Flag} {DSteps} must be at least 1.");
        Need(GSteps is null or >= 1, $"{TricksOptionSpecs.GSteps.Flag} {GSteps} must be at least 1.");
        Need(LrG is null or > 0, $"{TricksOptionSpecs.LrG.Flag} {LrG} must be positive.");
        Need(LrD is null or > 0, $"{TricksOptionSpecs.LrD.Flag} {LrD} must be positive.");
        Need(GDropout is >= 0 and < 1, $"{TricksOptionSpecs.GDropout.Flag} {GDropout} must lie in [0, 1).");
        Need(PenaltyWeight is null or >= 0, $"{TricksOptionSpecs.PenaltyWeight.Flag} {PenaltyWeight} must not be negative.");
        Need(R1Interval >= 1, $"{TricksOptionSpecs.R1Interval.Flag} {R1Interval} must be at least 1.");
        Need(AdaTarget is >= 0 and < 1, $"{TricksOptionSpecs.AdaTarget.Flag} {AdaTarget} must lie in [0, 1).");
        Need(AdaPMax is > 0 and <= 1, $"{TricksOptionSpecs.AdaPMax.Flag} {AdaPMax} must lie in (0, 1].");
        Need(AdaSpeedImages >= 1 && AdaInterval >= 1, $"{TricksOptionSpecs.AdaSpeedImages.Flag} and {TricksOptionSpecs.AdaInterval.Flag} "
            + "must be at least 1.");
        Need(EmaBeta is null or (>= 0 and < 1), $"{TricksOptionSpecs.EmaBeta.Flag} {EmaBeta} must lie in [0, 1), e.g. 0.999.");
        Tricks.DiffAugment.ParsePolicy(DiffAugment);
        Need(AdaTarget == 0 || DiffAugment.Length > 0, $"{TricksOptionSpecs.AdaTarget.Flag} needs {TricksOptionSpecs.DiffAugment.Flag} to "
            + "name the augmentations it steers.");
    }
}
