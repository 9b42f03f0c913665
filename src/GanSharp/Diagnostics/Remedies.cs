namespace GanSharp.Diagnostics;

/// <summary>One change to try: a GanSharp flag with a suggested value, why it helps, and where the advice comes from.</summary>
/// <param name="Flag">The command-line flag (or a data-side action when the remedy is not a flag).</param>
/// <param name="Value">The suggested value, e.g. <c>0.9</c>; empty for a switch.</param>
/// <param name="Why">One or two sentences on why it helps.</param>
/// <param name="Source">The advice's origin: "first-aid kit #n" (the GauGAN first-aid kit's ordered list), "ganhacks n", or "GanSharp" for remedies outside those sources.</param>
public sealed record Remedy(string Flag, string Value, string Why, string Source)
{
    /// <summary>The flag and value as a user types them (or "action: what" for a remedy that is not a flag).</summary>
    public string CommandLine => Value.Length == 0 ? Flag : Flag.StartsWith("--", StringComparison.Ordinal) ? $"{Flag} {Value}" : $"{Flag}: {Value}";
}

/// <summary>What a dataset audit found (produced by the data tools; the doctor turns it into data-side advice).</summary>
/// <param name="Images">Training images audited.</param>
/// <param name="NearDuplicatePairs">Pairs of training images that are near-duplicates of each other.</param>
/// <param name="LeakedPairs">Pairs with one image in training and a near-duplicate in the validation/test split.</param>
public sealed record DataAuditSummary(int Images, int NearDuplicatePairs, int LeakedPairs);

/// <summary>
/// The one table of prescriptions: for each detector, the remedies in the order the sources give them (the GauGAN
/// first-aid kit's list first, then ganhacks by number, then GanSharp's own). Flag names live only here, so a renamed
/// flag is corrected in one place.
/// </summary>
public static class Remedies
{
    // The first-aid kit's "restore the balance" list, in its order (try them one after another).
    private static readonly Remedy LargerG = new("--ngf", "128",
        "A generator with more filters (64 → 128), or more G layers where the family has a depth option, can fit what D has learnt to detect.",
        "first-aid kit #1");
    private static readonly Remedy SlowerG = new("--lr-scale-g", "0.5",
        "A lower G learning rate explores the loss surface more carefully instead of overshooting; combine it with --g-steps 2 (two G updates per D update).",
        "first-aid kit #2");
    private static readonly Remedy MoreGSteps = new("--g-steps", "2",
        "Updating G twice per D update gives the slower G a chance to catch up with D.",
        "first-aid kit #2");
    private static readonly Remedy SoftLabels = new("--soft-real-label", "0.9",
        "With hard real labels D becomes over-confident and relies on a few features that G then exploits; 0.9, or a random label in [0.7, 1.2] (--soft-real-label 0.7,1.2), keeps it calibrated.",
        "first-aid kit #3, ganhacks 6");
    private static readonly Remedy SpectralNormD = new("--spectral-norm-d", "",
        "Spectral normalisation bounds D's Lipschitz constant so its gradients to G stay informative; the reference GauGAN uses it in both networks.",
        "first-aid kit #4");
    private static readonly Remedy InstanceNoise = new("--instance-noise", "0.1",
        "Real and fake data lie on low-dimensional manifolds that D separates perfectly; Gaussian noise on both D inputs (decayed over training) makes them overlap.",
        "first-aid kit #5, ganhacks 13");
    private static readonly Remedy LargerD = new("--ndf", "128",
        "Only once G has stopped improving: a stronger D gives better supervision, since G learns only from D's gradients.",
        "first-aid kit #6");
    private static readonly Remedy LowerVgg = new("--lambda-vgg", "5",
        "The perceptual loss keeps falling on training images while the adversarial loss is flat, so the net loss is reduced by over-fitting it; lower its weight (default 10).",
        "first-aid kit, other losses");
    private static readonly Remedy MoreData = new("data", "more and more varied images",
        "A small or repetitive data set (consecutive video frames) is memorised; the first-aid kit suggests thousands of varied examples for complex scenes.",
        "first-aid kit, data");
    private static readonly Remedy SplitByScene = new("data", "split train/test by scene or sequence",
        "Near-identical frames on both sides of the split make validation look good while the model over-fits.",
        "first-aid kit, data");
    private static readonly Remedy LowerLr = new("--lr", "0.0001",
        "Halving the base learning rate (default 0.0002) keeps updates from overshooting into huge weights.",
        "first-aid kit #2");
    private static readonly Remedy NormalizeInputs = new("data", "images in [-1, 1], tanh output",
        "Inputs outside the generator's output range make D's job trivial and gradients large.",
        "ganhacks 1");
    private static readonly Remedy LabelFlip = new("--label-flip", "0.05",
        "Occasionally swapping real and fake labels for D keeps it from becoming certain.",
        "ganhacks 6");
    private static readonly Remedy StopAndCheck = new("stop the run", "",
        "A D loss stuck at zero means something is broken: check the models and hyper-parameters before spending more compute.",
        "ganhacks 10");
    private static readonly Remedy NoLossGating = new("no loss-threshold gating", "",
        "Do not skip D updates when its loss is below a threshold (\"while lossD > A: train D\"); it rarely balances the game.",
        "ganhacks 11");
    private static readonly Remedy TrainDMore = new("--n-critic", "2",
        "More D updates per G update restore supervision when D has fallen behind.",
        "ganhacks 14");
    private static readonly Remedy CriticSteps = new("--n-critic", "5",
        "A WGAN critic must be near-optimal for its output to estimate the distance; 5 critic steps per G step is the paper's setting.",
        "GanSharp (WGAN paper)");
    private static readonly Remedy GradientPenalty = new("--gp", "10",
        "A gradient penalty keeps D (or the critic) 1-Lipschitz without clipping, so gradients and outputs cannot blow up.",
        "GanSharp (WGAN-GP)");
    private static readonly Remedy R1 = new("--r1", "10",
        "An R1 penalty on real images keeps D's gradients small where the data is.",
        "GanSharp (Mescheder et al.)");
    private static readonly Remedy DiffAugment = new("--diffaugment", "color,translation,cutout",
        "Differentiable augmentation of real and fake images stops D from memorising a small training set.",
        "GanSharp (DiffAugment)");
    private static readonly Remedy Ada = new("--ada", "",
        "Adaptive augmentation raises the augmentation strength until r_t falls back to 0.6.",
        "GanSharp (StyleGAN2-ADA)");
    private static readonly Remedy ResumeEarlier = new("--which-epoch", "the last epoch before the episode",
        "Resume from a checkpoint saved before the collapse rather than from the latest one.",
        "GanSharp");
    private static readonly Remedy BeganGamma = new("--began-gamma", "0.5",
        "A lower diversity ratio γ asks less of G's reconstruction and lets the equilibrium term k settle.",
        "GanSharp (BEGAN)");

    private static readonly Dictionary<string, Remedy[]> Table = new(StringComparer.Ordinal)
    {
        [DetectorIds.DOverpowersG] = [LargerG, SlowerG, MoreGSteps, SoftLabels, SpectralNormD, InstanceNoise, LargerD, StopAndCheck, NoLossGating],
        [DetectorIds.GWins] = [LargerD, TrainDMore],
        [DetectorIds.ExplodingGradients] = [LowerLr, SpectralNormD, GradientPenalty, R1],
        [DetectorIds.GFallsDRises] = [SoftLabels, SpectralNormD, LargerD, TrainDMore],
        [DetectorIds.NonFinite] = [LowerLr, SpectralNormD, NormalizeInputs, GradientPenalty],
        [DetectorIds.ModeCollapse] = [SoftLabels, SpectralNormD, InstanceNoise, LabelFlip],
        [DetectorIds.PerceptualOverfit] = [LowerVgg, MoreData, SplitByScene],
        [DetectorIds.DMemorising] = [SoftLabels, InstanceNoise, MoreData, DiffAugment, Ada],
        [DetectorIds.BeganMStalled] = [LowerLr, BeganGamma],
        [DetectorIds.WganCritic] = [LowerLr, CriticSteps, GradientPenalty],
        [DetectorIds.MetricJump] = [ResumeEarlier, LowerLr, SpectralNormD, DiffAugment],
    };

    /// <summary>The remedies for a detector, in the order to try them; empty for an unknown id.</summary>
    public static IReadOnlyList<Remedy> For(string detectorId) =>
        Table.TryGetValue(detectorId, out var list) ? list : [];

    /// <summary>The first few remedies as a short clause for one-sentence messages.</summary>
    public static string Summary(string detectorId, int count = 3)
    {
        var list = For(detectorId).Take(count).Select(r => r.CommandLine).ToList();
        return list.Count == 0 ? "see gansharp doctor" : "try " + string.Join(", then ", list);
    }

    /// <summary>Data-side advice for what a dataset audit found; empty when it found nothing.</summary>
    public static IReadOnlyList<Remedy> ForDataAudit(DataAuditSummary audit)
    {
        var list = new List<Remedy>();
        if (audit.NearDuplicatePairs > 0)
            list.Add(new Remedy("data", "remove near-duplicates",
                $"{audit.NearDuplicatePairs} near-duplicate pairs among {audit.Images} images: the set is smaller than it looks (like consecutive video frames) and D memorises it; deduplicate and count the effective size.",
                "first-aid kit, data"));
        if (audit.LeakedPairs > 0)
            list.Add(new Remedy("data", "split by scene or sequence",
                $"{audit.LeakedPairs} training images have a near-duplicate in the held-out split, so validation losses understate over-fitting; re-split so that no scene is on both sides.",
                "first-aid kit, data"));
        return list;
    }
}

/// <summary>Stable ids of the detectors (used in logs, the report and the remedy table).</summary>
public static class DetectorIds
{
    public const string DOverpowersG = "d-overpowers-g";
    public const string GWins = "g-wins";
    public const string ExplodingGradients = "exploding-gradients";
    public const string GFallsDRises = "g-falls-d-rises";
    public const string NonFinite = "non-finite";
    public const string ModeCollapse = "mode-collapse";
    public const string PerceptualOverfit = "perceptual-overfit";
    public const string DMemorising = "d-memorising";
    public const string BeganMStalled = "began-m-stalled";
    public const string WganCritic = "wgan-critic";
    public const string MetricJump = "metric-jump";
}
