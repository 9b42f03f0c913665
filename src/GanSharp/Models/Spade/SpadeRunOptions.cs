using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using GanSharp.Data;
using GanSharp.Losses;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Models.Spade;

/// <summary>
/// Every option of a SPADE run, one record per concern. Written to <c>options.json</c> and <c>opt.txt</c> in the run
/// folder and into every training state, so test and resume use the options the networks were built with.
/// </summary>
public sealed record SpadeRunOptions
{
    public required DataOptions Data { get; init; }
    public required SpadeModelOptions Model { get; init; }
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
            throw new GanSharpException(ErrorKind.Checkpoint, $"{source} has options GanSharp cannot read ({e.Message}): was it written by another version? Start a new --name.");
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
    /// section, plus the data options it is derived from.
    /// </summary>
    public static bool IsStructural(string flatName) =>
        flatName.StartsWith("model.", StringComparison.Ordinal) || flatName is "data.label_nc" or "data.contain_dontcare_label" or "data.crop_size" or "data.aspect_ratio";

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
    public static SpadeRunOptions Merge(SpadeRunOptions cli, IReadOnlySet<string> given, SpadeRunOptions saved, string source, Func<string, bool> keepFromCli)
    {
        var c = cli.Flatten();
        var s = saved.Flatten();
        foreach (var name in given)
        {
            if (!IsStructural(name) || !c.TryGetValue(name, out var cv) || !s.TryGetValue(name, out var sv) || cv == sv) continue;
            string flag = "--" + name[(name.IndexOf('.', StringComparison.Ordinal) + 1)..].Replace('_', '-');
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{flag} is {cv} but {source} was trained with {sv}: drop {flag} (its value comes from the checkpoint) or train a new --name.");
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
