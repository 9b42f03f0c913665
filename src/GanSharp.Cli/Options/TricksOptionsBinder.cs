using System.CommandLine;
using GanSharp.Training.Tricks;

namespace GanSharp.Cli.Options;

/// <summary>Every trick of <see cref="TricksOptions"/> as a System.CommandLine option (kebab-case), shared by all families.</summary>
public sealed class TricksOptionsBinder
{
    public Option<string> SoftLabels { get; } = FamilyOptionsBinder.Choice("--soft-labels", "none", ["none", "fixed", "uniform"],
        "Soft real labels for D (ganhacks 6): none, fixed (--real-target) or uniform (real in [--real-low, --real-high], fake in [0, --fake-high]).");

    public Option<double> RealTarget { get; } = Dbl("--real-target", 0.9, "Real target with --soft-labels fixed.");

    public Option<double> RealLow { get; } = Dbl("--real-low", 0.7, "Lower bound of uniform real targets.");

    public Option<double> RealHigh { get; } = Dbl("--real-high", 1.2, "Upper bound of uniform real targets.");

    public Option<double> FakeHigh { get; } = Dbl("--fake-high", 0.3, "Upper bound of uniform fake targets (0 keeps them at 0).");

    public Option<double> FlipLabels { get; } = Dbl("--flip-labels", 0, "Noisy labels: fraction of D's targets swapped real/fake each batch (ganhacks 6), e.g. 0.05.");

    public Option<double> InstanceNoise { get; } = Dbl("--instance-noise", 0, "Std of Gaussian noise added to D's real and fake inputs, decaying to 0 (ganhacks 13), e.g. 0.1.");

    public Option<string> InstanceNoiseDecay { get; } = FamilyOptionsBinder.Choice("--instance-noise-decay", "linear", ["linear", "exponential"],
        "Decay of the instance noise to zero: linear or exponential (exp(-5 t/T)).");

    public Option<long> InstanceNoiseSteps { get; } = new("--instance-noise-steps") { Description = "Iterations T after which the instance noise is zero.", DefaultValueFactory = _ => 10_000 };

    public Option<int> ReplaySize { get; } = new("--replay-size") { Description = "Experience replay (ganhacks 8): buffer of old fakes shown to D (0 = off), e.g. 512." };

    public Option<double> ReplayProb { get; } = Dbl("--replay-prob", 0.5, "Probability that a fake shown to D is swapped for a stored one.");

    public Option<int?> DSteps { get; } = new("--d-steps", "--n-critic") { Description = "D (critic) steps per iteration, each on a new real batch (default: 5 for wgan/wgan-gp, else 1)." };

    public Option<int?> GSteps { get; } = new("--g-steps") { Description = "G steps per iteration (default 1)." };

    public Option<double?> LrG { get; } = new("--lr-g") { Description = "G's learning rate (default: the family's, e.g. 2e-4 for dcgan, 5e-5 for wgan, 1e-4 for wgan-gp on images, 2e-3 for wgan-gp on 2-D data)." };

    public Option<double?> LrD { get; } = new("--lr-d") { Description = "D's learning rate (default: the family's); a separate lr per network is TTUR." };

    public Option<double> GDropout { get; } = Dbl("--g-dropout", 0, "Dropout in G's hidden layers at train and test time (ganhacks 17), e.g. 0.5.");

    public Option<bool> SphereLatent { get; } = new("--sphere-latent") { Description = "Sample z on the sphere of radius sqrt(z-dim) instead of N(0, I) (ganhacks 3)." };

    public Option<bool> JointBatch { get; } = new("--joint-batch") { Description = "Pass real and fake through D as one concatenated batch (shared BN statistics) instead of separate all-real and all-fake batches (ganhacks 4)." };

    public Option<bool> MinibatchStd { get; } = new("--minibatch-std") { Description = "Append a minibatch standard-deviation feature before D's head (ganhacks 15, ProGAN)." };

    public Option<bool> SpectralNormG { get; } = new("--spectral-norm-g") { Description = "Spectral normalisation on G's layers." };

    public Option<bool> SpectralNormD { get; } = new("--spectral-norm-d") { Description = "Spectral normalisation on D's layers." };

    public Option<string?> Penalty { get; } = new("--penalty") { Description = "Gradient penalty on D: none, wgan-gp (on interpolates) or r1 (on reals); default wgan-gp for wgan-gp/progan, none otherwise." };

    public Option<double?> PenaltyWeight { get; } = new("--penalty-weight") { Description = "Penalty weight: lambda of wgan-gp or gamma of r1 (default 10; 0.1 for wgan-gp on 2-D data, as the WGAN-GP toy code)." };

    public Option<int> R1Interval { get; } = new("--r1-interval") { Description = "Lazy R1: apply the penalty every k iterations, scaled by k (1 = every iteration; StyleGAN2 uses 16).", DefaultValueFactory = _ => 1 };

    public Option<string> DiffAugment { get; } = new("--diff-augment") { Description = "DiffAugment on D's real and fake inputs (images): comma-separated color, translation, cutout.", DefaultValueFactory = _ => "" };

    public Option<double> AdaTarget { get; } = Dbl("--ada-target", 0, "Adaptive augmentation (StyleGAN2-ADA): target of r_t = E[sign(D(real))], e.g. 0.6 (0 = fixed p = 1).");

    public Option<double> AdaPMax { get; } = Dbl("--ada-p-max", 0.8, "Upper bound of the adaptive augmentation probability p.");

    public Option<int> AdaSpeedImages { get; } = new("--ada-speed-images") { Description = "Images over which p can move by 1.", DefaultValueFactory = _ => 20_000 };

    public Option<int> AdaInterval { get; } = new("--ada-interval") { Description = "Iterations between adjustments of p.", DefaultValueFactory = _ => 4 };

    public Option<double?> EmaBeta { get; } = new("--ema") { Description = "Exponential moving average of G's weights used for sampling, e.g. 0.999 (0 = off; default 0.99 for wgan-gp on 2-D data, off otherwise)." };

    public IReadOnlyList<Option> All =>
    [
        SoftLabels, RealTarget, RealLow, RealHigh, FakeHigh, FlipLabels, InstanceNoise, InstanceNoiseDecay, InstanceNoiseSteps,
        ReplaySize, ReplayProb, DSteps, GSteps, LrG, LrD, GDropout, SphereLatent, JointBatch, MinibatchStd, SpectralNormG,
        SpectralNormD, Penalty, PenaltyWeight, R1Interval, DiffAugment, AdaTarget, AdaPMax, AdaSpeedImages, AdaInterval, EmaBeta,
    ];

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>The tricks of a parse.</summary>
    public TricksOptions Bind(ParseResult p) => new()
    {
        Smoothing = p.GetValue(SoftLabels) switch
        {
            "fixed" => LabelSmoothing.Fixed,
            "uniform" => LabelSmoothing.Uniform,
            _ => LabelSmoothing.None,
        },
        RealTarget = p.GetValue(RealTarget),
        RealLow = p.GetValue(RealLow),
        RealHigh = p.GetValue(RealHigh),
        FakeHigh = p.GetValue(FakeHigh),
        FlipFraction = p.GetValue(FlipLabels),
        InstanceNoise = p.GetValue(InstanceNoise),
        InstanceNoiseDecay = p.GetValue(InstanceNoiseDecay) == "exponential" ? NoiseDecay.Exponential : NoiseDecay.Linear,
        InstanceNoiseSteps = p.GetValue(InstanceNoiseSteps),
        ReplaySize = p.GetValue(ReplaySize),
        ReplayProb = p.GetValue(ReplayProb),
        DSteps = p.GetValue(DSteps),
        GSteps = p.GetValue(GSteps),
        LrG = p.GetValue(LrG),
        LrD = p.GetValue(LrD),
        GDropout = p.GetValue(GDropout),
        SphereLatent = p.GetValue(SphereLatent),
        JointBatch = p.GetValue(JointBatch),
        MinibatchStd = p.GetValue(MinibatchStd),
        SpectralNormG = p.GetValue(SpectralNormG),
        SpectralNormD = p.GetValue(SpectralNormD),
        Penalty = p.GetValue(Penalty) switch
        {
            null => null,
            "none" => PenaltyKind.None,
            "wgan-gp" => PenaltyKind.WganGp,
            "r1" => PenaltyKind.R1,
            var other => throw new GanSharpException(ErrorKind.Usage, $"--penalty '{other}' is not a penalty: use none, wgan-gp or r1."),
        },
        PenaltyWeight = p.GetValue(PenaltyWeight),
        R1Interval = p.GetValue(R1Interval),
        DiffAugment = p.GetValue(DiffAugment) ?? "",
        AdaTarget = p.GetValue(AdaTarget),
        AdaPMax = p.GetValue(AdaPMax),
        AdaSpeedImages = p.GetValue(AdaSpeedImages),
        AdaInterval = p.GetValue(AdaInterval),
        EmaBeta = p.GetValue(EmaBeta),
    };

    private static Option<double> Dbl(string name, double value, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => value };
}
