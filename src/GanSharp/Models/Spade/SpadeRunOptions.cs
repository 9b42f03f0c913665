using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using GanSharp.Data;
using GanSharp.Losses;
using GanSharp.Options;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Models.Spade;

/// <summary>
/// Every option of a SPADE run, one record per concern. Written to <c>options.json</c> and <c>opt.txt</c> in the run
/// folder and into every training state, so test and resume use the options the networks were built with.
/// </summary>
public sealed record SpadeRunOptions
{
    private readonly SpadeModelOptions _model = null!;

    public required DataOptions Data { get; init; }

    /// <summary>
    /// The networks' options. The facts they share with the data and the losses (label_nc, contain_dontcare_label,
    /// no_instance, crop_size, aspect_ratio; no_ganFeat_loss) are stored once, in <see cref="Data"/> and
    /// <see cref="Loss"/>, and read from there: whatever a model record given here holds for them is not used.
    /// </summary>
    public required SpadeModelOptions Model
    {
        get => _model with
        {
            LabelNc = Data.LabelNc,
            ContainDontcareLabel = Data.ContainDontcareLabel,
            NoInstance = Data.NoInstance,
            CropSize = Data.CropSize,
            AspectRatio = Data.AspectRatio,
            NoGanFeatLoss = Loss.NoGanFeatLoss,
        };
        init => _model = value;
    }

    public SpadeLossOptions Loss { get; init; } = new();
    public OptimOptions Optim { get; init; } = new();
    public RunOptions Run { get; init; } = new();

    /// <summary>Stabilisation tricks applied to SPADE's adversarial steps (all off by default: the reference's training).</summary>
    public TricksOptions Tricks { get; init; } = new();

    /// <summary>torchvision's <c>vgg19-dcbbb2b4.pth</c>, needed unless the VGG loss is off.</summary>
    public string? VggWeights { get; init; }

    /// <summary>Evaluate FID and KID every this many epochs on a fixed subset of the training set (0 = never).</summary>
    public int EvalEvery { get; init; }

    /// <summary>Images in the fixed evaluation subset.</summary>
    public int EvalSamples { get; init; } = 64;

    /// <summary>pytorch-fid's <c>pt_inception-2015-12-05-6726825d.pth</c>, needed for <see cref="EvalEvery"/>.</summary>
    public string? InceptionWeights { get; init; }

    /// <summary>
    /// Held-out label maps (e.g. the reference layout's <c>val_label</c>) for validation losses and D's held-out
    /// accuracy; null: no validation.
    /// </summary>
    public string? ValLabelDir { get; init; }

    /// <summary>The photos paired with <see cref="ValLabelDir"/> (<c>val_img</c>).</summary>
    public string? ValImageDir { get; init; }

    /// <summary>Instance maps of the held-out split (<c>val_inst</c>), needed when training uses instance maps.</summary>
    public string? ValInstanceDir { get; init; }

    /// <summary>
    /// Iterations between validations, each taken at the first log step after the period (and at the first log step
    /// of the run); 0 = never. Only used when <see cref="ValLabelDir"/> is given.
    /// </summary>
    public int ValEvery { get; init; } = DefaultValEvery;

    /// <summary>Held-out pairs validated (the first ones in file order); as many training pairs give D's training-side accuracy.</summary>
    public int ValSamples { get; init; } = 16;

    /// <summary>
    /// Fixed training label maps whose fakes' spread is logged as <c>diversity</c> at every log step (0 = off); with
    /// the VAE, also this many z for one map (<c>diversity_z</c>).
    /// </summary>
    public int DiversitySamples { get; init; } = 8;

    /// <summary>Default of <see cref="ValEvery"/>: a few percent of the iteration time at the reference's settings.</summary>
    public const int DefaultValEvery = 500;

    /// <summary>Whether a held-out split is configured and due to be evaluated at all.</summary>
    [JsonIgnore]
    public bool Validates => ValLabelDir is not null && ValEvery > 0;

    /// <summary>
    /// Checks the validation and diversity options (one sentence naming the option); <paramref name="valEveryGiven"/>
    /// says whether the user typed --val-every, which without a held-out split would silently do nothing.
    /// </summary>
    public void ValidateDiagnostics(bool valEveryGiven)
    {
        if ((ValLabelDir is null) != (ValImageDir is null))
            throw new GanSharpException(ErrorKind.Usage,
                $"{SpadeOptionCatalog.ValLabelDir.Flag} and {SpadeOptionCatalog.ValImageDir.Flag} go together: give both (e.g. val_label "
                    + "and val_img), or neither to train without validation.");
        if (ValInstanceDir is not null && ValLabelDir is null)
            throw new GanSharpException(ErrorKind.Usage, $"{SpadeOptionCatalog.ValInstanceDir.Flag} needs "
                + $"{SpadeOptionCatalog.ValLabelDir.Flag} and {SpadeOptionCatalog.ValImageDir.Flag}.");
        if (valEveryGiven && ValEvery > 0 && ValLabelDir is null)
            throw new GanSharpException(ErrorKind.Usage,
                $"{SpadeOptionCatalog.ValEvery.Flag} {ValEvery} needs a held-out split: pass {SpadeOptionCatalog.ValLabelDir.Flag} and "
                    + $"{SpadeOptionCatalog.ValImageDir.Flag} (gansharp data split makes one).");
        if (ValEvery < 0) throw new GanSharpException(ErrorKind.Usage, $"{SpadeOptionCatalog.ValEvery.Flag} {ValEvery} must be 0 (off) or "
            + "a number of iterations.");
        if (ValSamples < 1) throw new GanSharpException(ErrorKind.Usage, $"{SpadeOptionCatalog.ValSamples.Flag} {ValSamples} must be at "
            + "least 1 (16 is sensible).");
        if (Threads < 0) throw new GanSharpException(ErrorKind.Usage, $"{SpadeOptionCatalog.Threads.Flag} {Threads} must not be negative "
            + "(0 = one per core).");
        if (DiversitySamples is < 0 or 1)
            throw new GanSharpException(ErrorKind.Usage, $"{SpadeOptionCatalog.DiversitySamples.Flag} {DiversitySamples} must be 0 (off) "
                + "or at least 2: "
                + "diversity is a distance between samples.");
    }

    /// <summary>Threads for libtorch's intra-op parallelism (0 = libtorch's default: one per core).</summary>
    public int Threads { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static SpadeRunOptions FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<SpadeRunOptions>(json, Json)
                ?? throw new GanSharpException(ErrorKind.Checkpoint, $"{source} holds no options.");
        }
        catch (JsonException e)
        {
            throw new GanSharpException(ErrorKind.Checkpoint, $"{source} has options GanSharp cannot read ({e.Message}): was it written "
                + $"by another version? Start a new {RunOptionSpecs.Name.Flag}.");
        }
    }

    /// <summary>
    /// The options as flat <c>section.name → value</c> pairs (<c>model.ngf</c>), the form used by opt.txt and by the
    /// mismatch messages.
    /// </summary>
    public SortedDictionary<string, string> Flatten()
    {
        var flat = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var root = JsonNode.Parse(ToJson())!.AsObject();
        foreach (var (section, node) in root)
        {
            if (node is JsonObject obj)
                foreach (var (k, v) in obj) flat[section + "." + k] = v?.ToJsonString().Trim('"') ?? "null";
            else
                flat[section] = node?.ToJsonString().Trim('"') ?? "null";
        }
        return flat;
    }

    /// <summary>The reference's opt.txt layout (name right-aligned, value, and the default where it differs).</summary>
    public string ToOptText(SpadeRunOptions defaults)
    {
        var mine = Flatten();
        var def = defaults.Flatten();
        var sb = new StringBuilder("----------------- Options ---------------\n");
        foreach (var (k, v) in mine)
        {
            string comment = def.TryGetValue(k, out var d) && d != v ? $"\t[default: {d}]" : "";
            sb.Append(CultureInfo.InvariantCulture, $"{k,25}: {v,-30}{comment}\n");
        }
        sb.Append("----------------- End -------------------\n");
        return sb.ToString();
    }

    /// <summary>
    /// Options that decide the networks' shapes: a checkpoint cannot be used with other values. Everything in the model
    /// section, plus the options described as structural (the data facts the networks are built from, no_ganFeat_loss).
    /// </summary>
    public static bool IsStructural(string flatName) =>
        flatName.StartsWith("model.", StringComparison.Ordinal) || SpadeOptionCatalog.All.ByFlatName(flatName) is { Structural: true };

    /// <summary>
    /// Combines options given on the command line with those a checkpoint was trained with: a structural option given
    /// with another value is refused with a sentence naming it and both values; options not given come from the
    /// checkpoint; the rest (paths, frequencies, epochs) are the command line's.
    /// </summary>
    /// <param name="cli">The command line's options (defaults where not given).</param>
    /// <param name="given">Flat names (<see cref="Flatten"/>) the user gave explicitly.</param>
    /// <param name="saved">The checkpoint's options.</param>
    /// <param name="source">Where the saved options come from, for messages.</param>
    /// <param name="keepFromCli">Flat names always taken from the command line (data folders, run name, mode).</param>
    public static SpadeRunOptions Merge(SpadeRunOptions cli, IReadOnlySet<string> given, SpadeRunOptions saved, string source,
        Func<string, bool> keepFromCli)
    {
        var c = cli.Flatten();
        var s = saved.Flatten();
        foreach (var name in given)
        {
            if (!IsStructural(name) || !c.TryGetValue(name, out var cv) || !s.TryGetValue(name, out var sv) || cv == sv) continue;
            string flag = SpadeOptionCatalog.All.ByFlatName(name)?.Flag ?? name;
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{flag} is {cv} but {source} was trained with {sv}: drop {flag} (its value comes from the checkpoint) or train a new "
                    + $"{RunOptionSpecs.Name.Flag}.");
        }
        var cliRoot = JsonNode.Parse(cli.ToJson())!.AsObject();
        var savedRoot = JsonNode.Parse(saved.ToJson())!.AsObject();
        foreach (var (section, node) in savedRoot)
        {
            if (node is JsonObject sObj && cliRoot[section] is JsonObject cObj)
            {
                foreach (var (k, v) in sObj)
                {
                    string flat = section + "." + k;
                    if (given.Contains(flat) || keepFromCli(flat)) continue;
                    cObj[k] = v?.DeepClone();
                }
            }
            else if (!given.Contains(section) && !keepFromCli(section))
            {
                cliRoot[section] = node?.DeepClone();
            }
        }
        return FromJson(cliRoot.ToJsonString(), source);
    }
}
