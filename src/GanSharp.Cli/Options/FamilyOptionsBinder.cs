using System.CommandLine;
using GanSharp.Losses;
using GanSharp.Models;
using GanSharp.Training;

namespace GanSharp.Cli.Options;

/// <summary>
/// The options of a family run (<see cref="FamilyRunOptions"/>) and of its run folder (<see cref="RunOptions"/>) as
/// System.CommandLine options; <c>train-family</c> uses them, and <c>train --family X</c> can reuse them.
/// </summary>
public sealed class FamilyOptionsBinder
{
    /// <summary>Family names on the command line, in the order of <see cref="GanFamily"/>.</summary>
    public static readonly string[] FamilyNames = [.. FamilyRegistry.Names];

    public Option<string> Family { get; } = Choice("--family", "wgan-gp", FamilyNames,
        "The GAN family: mlp (plain GAN), dcgan, lsgan (least squares), wgan (weight clipping), wgan-gp (gradient penalty; on 2-D data its defaults are the WGAN-GP toy code's lambda 0.1 and Adam betas (0.5, 0.9), with Adam 2e-3 and samples from an EMA 0.99 of G), began (auto-encoder D), progan (progressive growing, images), acgan (class-conditional).");

    public Option<string> Data { get; } = Choice("--data", "ring8", ["ring8", "grid25", "shapes32"],
        "Training data: ring8 (8 Gaussians on a ring), grid25 (5x5 Gaussian grid), shapes32 (generated 32x32 coloured shapes, 4 classes).");

    public Option<int> BatchSize { get; } = Int("--batch-size", 64, "Samples per batch.");

    public Option<int> BatchesPerEpoch { get; } = Int("--batches-per-epoch", 100, "Batches per epoch (the data are generated, so an epoch is a count).");

    public Option<int> Epochs { get; } = Int("--epochs", 10, "Epochs to train.");

    public Option<int?> ZDim { get; } = new("--z-dim") { Description = "Latent size (default 2 on 2-D data, 64 on images)." };

    public Option<int?> Width { get; } = new("--width") { Description = "Hidden width of the MLPs or base channel count of the conv nets (default 128 / 32)." };

    public Option<int> Layers { get; } = Int("--layers", 3, "Hidden layers of the MLPs on 2-D data.");

    public Option<string?> Loss { get; } = new("--loss")
    {
        Description = "Adversarial loss instead of the family's: original (non-saturating), ls, w, hinge.",
    };

    public Option<bool> Saturating { get; } = new("--saturating") { Description = "Use the saturating minimax G loss log(1 - D(G(z))) with the original loss (ganhacks 2 says don't)." };

    public Option<string?> Norm { get; } = new("--norm")
    {
        Description = "D's normalisation: batch, instance, layer or none (default batch for dcgan/lsgan/wgan/acgan on images, layer for wgan-gp on images, none on 2-D data).",
    };

    public Option<double> WeightClip { get; } = new("--weight-clip") { Description = "WGAN: clamp critic weights to [-c, c] after each critic step (0 = off).", DefaultValueFactory = _ => 0.01 };

    public Option<double> BeganGamma { get; } = new("--began-gamma") { Description = "BEGAN diversity ratio gamma = E[L(G(z))] / E[L(x)].", DefaultValueFactory = _ => 0.5 };

    public Option<double> BeganLambdaK { get; } = new("--began-lambda-k") { Description = "BEGAN proportional gain lambda_k of k_t.", DefaultValueFactory = _ => 0.05 };

    public Option<int> ProGanPhaseImages { get; } = Int("--progan-phase-images", 6000, "ProGAN: images per fade-in phase and per stabilisation phase.");

    public Option<int> ProGanStartResolution { get; } = Int("--progan-start-resolution", 4, "ProGAN: starting resolution (4, 8 or 16), doubled up to 32.");

    public Option<int> Threads { get; } = Int("--threads", 0, "Threads for libtorch's parallel ops (0 = one per core); the small 2-D networks train fastest with 1, especially on a busy machine.");

    public Option<string> Name { get; } = new("--name") { Description = "Name of the run: its folder under --checkpoints-dir.", DefaultValueFactory = _ => "family" };

    public Option<string> CheckpointsDir { get; } = new("--checkpoints-dir") { Description = "Folder that holds run folders.", DefaultValueFactory = _ => "./checkpoints" };

    public Option<int> Seed { get; } = Int("--seed", 0, "Seed of initialisation, noise and data.");

    public Option<int> PrintFreq { get; } = Int("--print-freq", 6400, "Images between statistics lines in loss_log.txt and stats.jsonl.");

    public Option<int> DisplayFreq { get; } = Int("--display-freq", 64000, "Images between sample pages in web/.");

    public Option<int> SaveLatestFreq { get; } = Int("--save-latest-freq", 64000, "Images between saves of the latest state.");

    public Option<int> SaveEpochFreq { get; } = Int("--save-epoch-freq", 5, "Epochs between numbered checkpoints.");

    public Option<bool> ContinueTrain { get; } = new("--continue-train") { Description = "Resume the run from its saved state (exactly, including trick state)." };

    public Option<string> WhichEpoch { get; } = new("--which-epoch") { Description = "Which saved state --continue-train loads: latest or an epoch number.", DefaultValueFactory = _ => "latest" };

    public Option<long> MaxIterations { get; } = new("--max-iterations") { Description = "Stop after this many iterations, saving the state (0 = train all epochs)." };

    public Option<bool> TfLog { get; } = new("--tf-log") { Description = "Also write TensorBoard event files." };

    /// <summary>Every option, for adding to a command.</summary>
    public IReadOnlyList<Option> All =>
    [
        Family, Data, BatchSize, BatchesPerEpoch, Epochs, ZDim, Width, Layers, Loss, Saturating, Norm, WeightClip,
        BeganGamma, BeganLambdaK, ProGanPhaseImages, ProGanStartResolution, Threads,
        Name, CheckpointsDir, Seed, PrintFreq, DisplayFreq, SaveLatestFreq, SaveEpochFreq, ContinueTrain, WhichEpoch, MaxIterations, TfLog,
    ];

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>The family options of a parse.</summary>
    public FamilyRunOptions Bind(ParseResult p) => new()
    {
        Family = ParseFamily(p.GetValue(Family)!),
        Data = p.GetValue(Data) switch
        {
            "grid25" => FamilyData.Grid25,
            "shapes32" => FamilyData.Shapes32,
            _ => FamilyData.Ring8,
        },
        BatchSize = p.GetValue(BatchSize),
        BatchesPerEpoch = p.GetValue(BatchesPerEpoch),
        Epochs = p.GetValue(Epochs),
        ZDim = p.GetValue(ZDim),
        Width = p.GetValue(Width),
        Layers = p.GetValue(Layers),
        Loss = p.GetValue(Loss) is { } l ? ParseLoss(l) : null,
        Saturating = p.GetValue(Saturating),
        Norm = p.GetValue(Norm) is { } n ? ParseNorm(n) : null,
        WeightClip = p.GetValue(WeightClip),
        BeganGamma = p.GetValue(BeganGamma),
        BeganLambdaK = p.GetValue(BeganLambdaK),
        ProGanPhaseImages = p.GetValue(ProGanPhaseImages),
        ProGanStartResolution = p.GetValue(ProGanStartResolution),
        Threads = p.GetValue(Threads),
    };

    /// <summary>The run-folder options of a parse.</summary>
    public RunOptions BindRun(ParseResult p) => new()
    {
        Name = p.GetValue(Name)!,
        CheckpointsDir = p.GetValue(CheckpointsDir)!,
        Seed = p.GetValue(Seed),
        PrintFreq = p.GetValue(PrintFreq),
        DisplayFreq = p.GetValue(DisplayFreq),
        SaveLatestFreq = p.GetValue(SaveLatestFreq),
        SaveEpochFreq = p.GetValue(SaveEpochFreq),
        ContinueTrain = p.GetValue(ContinueTrain),
        WhichEpoch = p.GetValue(WhichEpoch)!,
        MaxIterations = p.GetValue(MaxIterations),
        TfLog = p.GetValue(TfLog),
    };

    /// <summary>A family from its command-line name.</summary>
    public static GanFamily ParseFamily(string name) => Array.IndexOf(FamilyNames, name) is var i and >= 0
        ? (GanFamily)i
        : throw new GanSharpException(ErrorKind.Usage, $"--family '{name}' is not a family: use one of {string.Join(", ", FamilyNames)}.");

    private static AdversarialLoss ParseLoss(string name) => name switch
    {
        "original" => AdversarialLoss.Original,
        "ls" => AdversarialLoss.Ls,
        "w" => AdversarialLoss.W,
        "hinge" => AdversarialLoss.Hinge,
        _ => throw new GanSharpException(ErrorKind.Usage, $"--loss '{name}' is not a loss: use original, ls, w or hinge."),
    };

    private static DNorm ParseNorm(string name) => name switch
    {
        "batch" => DNorm.Batch,
        "instance" => DNorm.Instance,
        "layer" => DNorm.Layer,
        "none" => DNorm.None,
        _ => throw new GanSharpException(ErrorKind.Usage, $"--norm '{name}' is not a normalisation: use batch, instance, layer or none."),
    };

    private static Option<int> Int(string name, int value, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => value };

    internal static Option<string> Choice(string name, string value, string[] choices, string description)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => value };
        o.AcceptOnlyFromAmong(choices);
        return o;
    }
}
