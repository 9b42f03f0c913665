using System.Globalization;
using GanSharp.Data.Tools;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Options;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Diagnostics;

/// <summary>One change to try: a GanSharp flag with a suggested value, why it helps, and where the advice comes from.</summary>
/// <param name="Flag">The command-line flag (or a data-side action when the remedy is not a flag).</param>
/// <param name="Value">The suggested value, e.g. <c>0.9</c>; empty for a switch.</param>
/// <param name="Why">One or two sentences on why it helps.</param>
/// <param name="Source">The advice's origin: "first-aid kit #n" (the GauGAN first-aid kit's ordered list), "ganhacks n", or
/// "GanSharp" for remedies outside those sources.</param>
public sealed record Remedy(string Flag, string Value, string Why, string Source)
{
    /// <summary>
    /// The same advice in the flags of <c>gansharp train --family</c> when they differ from SPADE's; null when SPADE's
    /// flag also works there. <see cref="NotForFamilies"/> marks advice that has no family equivalent.
    /// </summary>
    public Remedy? Family { get; init; }

    /// <summary>SPADE-only advice (e.g. the VGG loss weight).</summary>
    public bool NotForFamilies { get; init; }

    /// <summary>Advice that only the families can follow (e.g. BEGAN's γ).</summary>
    public bool NotForSpade { get; init; }

    /// <summary>A remedy that sets one option, its flag and value as the option's description renders them.</summary>
    public static Remedy Set<TRecord, T>(OptionSpec<TRecord, T> option, T value, string why, string source) =>
        new(option.Flag, ValueOf(option, value), why, source);

    /// <summary>This remedy with one more option to set alongside (e.g. the trick's strength).</summary>
    public Remedy And<TRecord, T>(OptionSpec<TRecord, T> option, T value) =>
        this with { Value = string.Join(' ', new[] { Value, option.Render(value) }.Where(v => v.Length > 0)) };

    /// <summary>This advice with another option for the families (the same source, and the same reason unless given).</summary>
    public Remedy ForFamiliesAs<TRecord, T>(OptionSpec<TRecord, T> option, T value, string? why = null) =>
        ForFamiliesAs(option.Flag, ValueOf(option, value), why);

    /// <summary>A default as the remedies quote it (<c>10</c>, <c>0.0002</c>): the value the options record holds.</summary>
    public static string DefaultOf<TRecord, T>(OptionSpec<TRecord, T> option, TRecord defaults) => option.Text.Format(option.DefaultIn(defaults));

    private static string ValueOf<TRecord, T>(OptionSpec<TRecord, T> option, T value) => value is true ? "" : option.Text.Format(value);

    /// <summary>This advice with other flags for the families (the same source, and the same reason unless given).</summary>
    public Remedy ForFamiliesAs(string flag, string value, string? why = null) =>
        this with { Family = this with { Flag = flag, Value = value, Why = why ?? Why } };

    /// <summary>The advice as a run of <paramref name="kind"/> takes it; null when it does not apply there.</summary>
    public Remedy? For(RunKind kind) => kind switch
    {
        RunKind.Family when NotForFamilies => null,
        RunKind.Family => Family ?? this,
        _ => NotForSpade ? null : this,
    };

    /// <summary>The flag and value as a user types them (or "action: what" for a remedy that is not a flag).</summary>
    public string CommandLine => Value.Length == 0 ? Flag : Flag.StartsWith("--", StringComparison.Ordinal) ? $"{Flag} {Value}" : $"{Flag}: {Value}";
}

/// <summary>Which trainer a run used: flags differ between <c>gansharp train</c> (SPADE) and <c>--family</c> runs.</summary>
public enum RunKind
{
    Spade,
    Family,
}

/// <summary>
/// The one table of prescriptions: for each detector, the remedies in the order the sources give them (the GauGAN
/// first-aid kit's list first, then ganhacks by number, then GanSharp's own). Flag names live only here, so a renamed
/// flag is corrected in one place.
/// </summary>
internal static class Remedies
{
    // DiffAugment's full policy, the one the remedies suggest.
    private const string AugmentAll = "color,translation,cutout";

    // The first-aid kit's "restore the balance" list, in its order (try them one after another).
    private static readonly Remedy LargerG = Remedy.Set(ModelOptionSpecs.Ngf, 128,
        $"A generator with more filters ({Remedy.DefaultOf(ModelOptionSpecs.Ngf, new SpadeModelOptions())} → 128), or more G layers where "
        + "the family has a depth option, can fit what D has learnt to detect.",
        "first-aid kit #1")
        .ForFamiliesAs(FamilyOptionSpecs.Layers, 4,
            $"A deeper generator (one more hidden layer; on images a larger {FamilyOptionSpecs.Width.Flag}, which widens both networks) "
                + "can fit what D has learnt "
                + "to detect.");
    private static readonly Remedy SlowerG = Remedy.Set(OptimOptionSpecs.LrScaleG, 0.5,
        "A lower G learning rate explores the loss surface more carefully instead of overshooting; combine it with "
            + $"{TricksOptionSpecs.GSteps.Flag} 2 (two G "
            + "updates per D update).",
        "first-aid kit #2")
        .ForFamiliesAs(TricksOptionSpecs.LrG.Flag, "(half the family's default)");
    private static readonly Remedy MoreGSteps = Remedy.Set(TricksOptionSpecs.GSteps, 2,
        "Updating G twice per D update gives the slower G a chance to catch up with D.",
        "first-aid kit #2");
    private static readonly Remedy SoftLabels = Remedy.Set(TricksOptionSpecs.Smoothing, LabelSmoothing.Fixed,
        "With hard real labels D becomes over-confident and relies on a few features that G then exploits; 0.9, or a random label in "
            + $"[0.7, 1.2] ({TricksOptionSpecs.Smoothing.Flag} uniform), keeps it calibrated.",
        "first-aid kit #3, ganhacks 6")
        .And(TricksOptionSpecs.RealTarget, 0.9);
    private static readonly Remedy SpectralNormD = Remedy.Set(ModelOptionSpecs.NormD, "spectralinstance",
        "Spectral normalisation bounds D's Lipschitz constant so its gradients to G stay informative; the reference GauGAN uses it in "
            + "both networks (its default norm-D).",
        "first-aid kit #4")
        .ForFamiliesAs(TricksOptionSpecs.SpectralNormD, true,
            "Spectral normalisation bounds D's Lipschitz constant so its gradients to G stay informative; the reference GauGAN uses it in "
                + "both networks.");
    private static readonly Remedy InstanceNoise = Remedy.Set(TricksOptionSpecs.InstanceNoise, 0.1,
        "Real and fake data lie on low-dimensional manifolds that D separates perfectly; Gaussian noise on both D inputs (decayed over "
            + "training) makes them overlap.",
        "first-aid kit #5, ganhacks 13");
    private static readonly Remedy LargerD = Remedy.Set(ModelOptionSpecs.Ndf, 128,
        "Only once G has stopped improving: a stronger D gives better supervision, since G learns only from D's gradients.",
        "first-aid kit #6")
        .ForFamiliesAs(TricksOptionSpecs.DSteps, 2,
            "Only once G has stopped improving: a stronger D (here more D updates per G update, as the families share one "
                + $"{FamilyOptionSpecs.Width.Flag}) gives "
                + "better supervision, since G learns only from D's gradients.");
    private static readonly Remedy LowerVgg = Remedy.Set(LossOptionSpecs.LambdaVgg, 5.0,
        "The perceptual loss keeps falling on training images while the adversarial loss is flat, so the net loss is reduced by over-fitting "
        + $"it; lower its weight (default {Remedy.DefaultOf(LossOptionSpecs.LambdaVgg, new SpadeLossOptions())}).",
        "first-aid kit, other losses") with
    { NotForFamilies = true };
    private static readonly Remedy MoreData = new("data", "more and more varied images",
        "A small or repetitive data set (consecutive video frames) is memorised; the first-aid kit suggests thousands of varied examples "
            + "for complex scenes.",
        "first-aid kit, data");
    private static readonly Remedy SplitByScene = new("data", "split train/test by scene or sequence",
        "Near-identical frames on both sides of the split make validation look good while the model over-fits.",
        "first-aid kit, data");
    private static readonly Remedy LowerLr = Remedy.Set(OptimOptionSpecs.Lr, 0.0001,
        $"Halving the base learning rate (default {Remedy.DefaultOf(OptimOptionSpecs.Lr, new OptimOptions())}) keeps updates from "
        + "overshooting into huge weights.",
        "first-aid kit #2")
        .ForFamiliesAs($"{TricksOptionSpecs.LrG.Flag}, {TricksOptionSpecs.LrD.Flag}", "(half the family's defaults)",
            "Halving both learning rates keeps updates from overshooting into huge weights.");
    private static readonly Remedy NormalizeInputs = new("data", "images in [-1, 1], tanh output",
        "Inputs outside the generator's output range make D's job trivial and gradients large.",
        "ganhacks 1");
    private static readonly Remedy LabelFlip = Remedy.Set(TricksOptionSpecs.FlipFraction, 0.05,
        "Occasionally swapping real and fake labels for D keeps it from becoming certain.",
        "ganhacks 6");
    private static readonly Remedy StopAndCheck = new("stop the run", "",
        "A D loss stuck at zero means something is broken: check the models and hyper-parameters before spending more compute.",
        "ganhacks 10");
    private static readonly Remedy NoLossGating = new("no loss-threshold gating", "",
        "Do not skip D updates when its loss is below a threshold (\"while lossD > A: train D\"); it rarely balances the game.",
        "ganhacks 11");
    private static readonly Remedy TrainDMore = Remedy.Set(TricksOptionSpecs.DSteps, 2,
        "More D updates per G update restore supervision when D has fallen behind.",
        "ganhacks 14");
    private static readonly Remedy CriticSteps = Remedy.Set(TricksOptionSpecs.DSteps, 5,
        "A WGAN critic must be near-optimal for its output to estimate the distance; 5 critic steps per G step is the paper's setting.",
        "GanSharp (WGAN paper)");
    private static readonly Remedy GradientPenalty = Remedy.Set(TricksOptionSpecs.Penalty, PenaltyKind.WganGp,
        "A gradient penalty keeps D (or the critic) 1-Lipschitz without clipping, so gradients and outputs cannot blow up.",
        "GanSharp (WGAN-GP)")
        .And(TricksOptionSpecs.PenaltyWeight, 10.0);
    private static readonly Remedy R1 = Remedy.Set(TricksOptionSpecs.Penalty, PenaltyKind.R1,
        "An R1 penalty on real images keeps D's gradients small where the data is.",
        "GanSharp (Mescheder et al.)")
        .And(TricksOptionSpecs.PenaltyWeight, 10.0);
    private static readonly Remedy DiffAugment = Remedy.Set(TricksOptionSpecs.DiffAugment, AugmentAll,
        "Differentiable augmentation of real and fake images stops D from memorising a small training set.",
        "GanSharp (DiffAugment)");
    private static readonly Remedy Ada = Remedy.Set(TricksOptionSpecs.AdaTarget, 0.6,
        "Adaptive augmentation raises the augmentation strength until r_t falls back to 0.6.",
        "GanSharp (StyleGAN2-ADA)")
        .And(TricksOptionSpecs.DiffAugment, AugmentAll);
    private static readonly Remedy ResumeEarlier = new($"{RunOptionSpecs.ContinueTrain.Flag} {RunOptionSpecs.WhichEpoch.Flag}",
        "the last epoch before the episode",
        "Resume from a checkpoint saved before the collapse rather than from the latest one.",
        "GanSharp");
    private static readonly Remedy BeganGamma = Remedy.Set(FamilyOptionSpecs.BeganGamma, 0.5,
        "A lower diversity ratio γ asks less of G's reconstruction and lets the equilibrium term k settle.",
        "GanSharp (BEGAN)") with
    { NotForSpade = true };

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
    public static IReadOnlyList<Remedy> For(string detectorId, RunKind kind = RunKind.Spade) =>
        Table.TryGetValue(detectorId, out var list) ? list.Select(r => r.For(kind)).OfType<Remedy>().ToList() : [];

    /// <summary>The first few remedies as a short clause for one-sentence messages.</summary>
    public static string Summary(string detectorId, int count = 3, RunKind kind = RunKind.Spade)
    {
        var list = For(detectorId, kind).Take(count).Select(r => r.CommandLine).ToList();
        return list.Count == 0 ? "see gansharp doctor" : "try " + string.Join(", then ", list);
    }

    /// <summary>
    /// The remedies for a detector when the run's data set has been audited: the audit's concrete data remedies that
    /// bear on this failure first (fixing the data before tuning, or the tuning chases a data problem), then the
    /// table's, without the generic ones the audit's numbers replace. Without an audit, or for detectors data does
    /// not explain, the table's list.
    /// </summary>
    public static IReadOnlyList<Remedy> For(string detectorId, DataAuditSummary? audit, RunKind kind = RunKind.Spade)
    {
        var table = For(detectorId, kind);
        if (audit is null) return table;
        var data = DataRemediesFor(detectorId, audit);
        // The generic "more data" and "split by scene" give way to the audit's numbers on the same subject: its
        // duplicate or size finding, or its leakage check (which, when it found nothing, makes the advice moot).
        bool replacesMoreData = data.Any(d => d.Key is "duplicates" or "size");
        bool replacesSplit = audit.TestImages > 0;
        var rest = table.Where(r =>
            !(r == MoreData && replacesMoreData)
            && !(r == SplitByScene && replacesSplit)
            && !data.Any(d => d.Remedy.Flag.StartsWith("--", StringComparison.Ordinal) && d.Remedy.Flag == r.Flag));
        return [.. data.Select(d => d.Remedy), .. rest];
    }

    // Which of the audit's findings explain which failure: a small or repetitive set lets D win by memorising it
    // (D overpowering G, D memorising, perceptual over-fitting); leakage hides memorisation and over-fitting from the
    // held-out measurements those two detectors rest on.
    private static List<(string Key, Remedy Remedy)> DataRemediesFor(string detectorId, DataAuditSummary audit)
    {
        var a = DataRemedies(audit);
        var keys = detectorId switch
        {
            DetectorIds.DOverpowersG => ["duplicates", "size", "diffaugment", "ada"],
            DetectorIds.DMemorising => ["duplicates", "size", "diffaugment", "ada", "leakage"],
            DetectorIds.PerceptualOverfit => ["duplicates", "size", "leakage"],
            _ => Array.Empty<string>(),
        };
        return keys.Where(a.ContainsKey).Select(k => (k, a[k])).ToList();
    }

    /// <summary>Data-side advice for everything a dataset audit found, with its numbers; empty when it found nothing.</summary>
    public static IReadOnlyList<Remedy> ForDataAudit(DataAuditSummary audit)
    {
        var a = DataRemedies(audit);
        return new[] { "duplicates", "size", "leakage", "diffaugment", "ada", "rare" }.Where(a.ContainsKey).Select(k => a[k]).ToList();
    }

    private static Dictionary<string, Remedy> DataRemedies(DataAuditSummary audit)
    {
        static string N(int n) => n.ToString("N0", CultureInfo.InvariantCulture);
        var list = new Dictionary<string, Remedy>(StringComparer.Ordinal);
        if (audit.NearDuplicateImages > 0)
            list["duplicates"] = new Remedy("data", $"remove {N(audit.NearDuplicateImages)} near-duplicates",
                $"{N(audit.NearDuplicateImages)} of {N(audit.Pairs)} training photos are near-duplicates of another "
                    + $"({N(audit.NearDuplicateClusters)} clusters, the largest of {N(audit.LargestCluster)}): "
                + $"the set is worth about {N(audit.EffectiveSize)} distinct examples and D memorises the repeats. Keep one photo per "
                    + "cluster (audit.html lists them), or fewer frames per video sequence.",
                "data audit: duplicates");
        if (audit.TooSmall)
        {
            list["size"] = new Remedy("data", $"more varied examples ({N(audit.EffectiveSize)} effective vs the guidance of {audit.Guidance})",
                "The guidance asks for about 2,000 examples of texture-like data and 5,000–10,000 of dense street scenes; this "
                    + $"{(audit.Scene == SceneKind.Street ? "street-scene" : "texture-like")} set has {N(audit.EffectiveSize)} distinct "
                        + "examples, few enough for D to learn by heart.",
                "first-aid kit, data; data audit: size");
            list["diffaugment"] = Remedy.Set(TricksOptionSpecs.DiffAugment, AugmentAll,
                $"With {N(audit.EffectiveSize)} effective examples (guidance {audit.Guidance}), differentiable augmentation of D's real "
                    + "and fake inputs keeps D from memorising them.",
                "GanSharp (DiffAugment); data audit: size");
            list["ada"] = Remedy.Set(TricksOptionSpecs.AdaTarget, 0.6,
                $"Or adaptive augmentation, made for a few thousand images ({N(audit.EffectiveSize)} here): the augmentation probability "
                    + "rises until r_t = E[sign(D(real))] is back at 0.6.",
                "GanSharp (StyleGAN2-ADA); data audit: size")
                .And(TricksOptionSpecs.DiffAugment, AugmentAll);
        }
        if (audit.LeakedTestImages > 0)
            list["leakage"] = new Remedy("data", "re-split by scene or sequence (gansharp data split --mode grouped)",
                $"{N(audit.LeakedTestImages)} of {N(audit.TestImages)} held-out photos have a near-duplicate in training, so validation "
                    + "losses and D's held-out accuracy look better than they are and hide over-fitting; "
                + "put each scene or sequence on one side only.",
                "first-aid kit, data; data audit: leakage");
        if (audit.RareClasses.Count > 0)
            list["rare"] = new Remedy("data", "more examples of rare classes "
                + $"{string.Join(", ", audit.RareClasses.Take(12))}{(audit.RareClasses.Count > 12 ? ", …" : "")}",
                "Classes that appear in few images or pixels are painted poorly; add photos that show them, or merge them into a related "
                    + "class (gansharp data convert).",
                "data audit: rare classes");
        return list;
    }
}

/// <summary>Stable ids of the detectors (used in logs, the report and the remedy table).</summary>
internal static class DetectorIds
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
