using System.Text.Json;
using System.Text.Json.Nodes;

namespace GanSharp.Data.Tools;

/// <summary>
/// What the doctor needs of a dataset audit: the numbers behind its data-side advice, and which folder was audited
/// (so that an audit is only applied to runs trained on that folder).
/// </summary>
public sealed record DataAuditSummary
{
    /// <summary>The file it was read from (null when built in memory).</summary>
    public string? Source { get; init; }

    /// <summary>Full path of the audited label folder (null when the file does not say).</summary>
    public string? LabelDir { get; init; }

    /// <summary>Training pairs audited.</summary>
    public required int Pairs { get; init; }

    /// <summary>Pairs with near-duplicate clusters counted once.</summary>
    public required int EffectiveSize { get; init; }

    /// <summary>Photos that are near-duplicates of another one (pairs − effective size).</summary>
    public int NearDuplicateImages => Pairs - EffectiveSize;

    /// <summary>Near-duplicate clusters.</summary>
    public int NearDuplicateClusters { get; init; }

    /// <summary>Photos in the largest cluster (0 without clusters).</summary>
    public int LargestCluster { get; init; }

    /// <summary>Held-out photos checked for leakage (0 = not checked).</summary>
    public int TestImages { get; init; }

    /// <summary>Held-out photos with a near-duplicate in training.</summary>
    public int LeakedTestImages { get; init; }

    /// <summary>The scene kind of the size guidance.</summary>
    public SceneKind Scene { get; init; } = SceneKind.Texture;

    /// <summary>Examples the guidance asks for (2,000 texture-like; 5,000 street scenes, up to 10,000).</summary>
    public int RecommendedSize { get; init; } = DataAudit.TextureGuidance;

    /// <summary>Classes present but rare (in few images or pixels).</summary>
    public IReadOnlyList<int> RareClasses { get; init; } = [];

    /// <summary>The guidance as people quote it: "2,000" or "5,000–10,000".</summary>
    public string Guidance => Scene == SceneKind.Street ? "5,000–10,000"
        : RecommendedSize.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The effective size is below the guidance.</summary>
    public bool TooSmall => EffectiveSize < RecommendedSize;

    /// <summary>The summary of an audit just run on <paramref name="labelDir"/>.</summary>
    public static DataAuditSummary From(AuditResult r, string labelDir) => new()
    {
        LabelDir = Path.GetFullPath(labelDir),
        Pairs = r.Pairs,
        EffectiveSize = r.EffectiveSize,
        NearDuplicateClusters = r.NearDuplicateClusters.Count,
        LargestCluster = r.NearDuplicateClusters.Count == 0 ? 0 : r.NearDuplicateClusters.Max(c => c.Count),
        TestImages = r.TestImages,
        LeakedTestImages = r.Leakage.Count,
        Scene = r.Scene,
        RecommendedSize = r.RecommendedSize,
        RareClasses = r.Classes.Where(c => c.Rare && c.Images > 0).Select(c => c.Class).ToList(),
    };
}

/// <summary>
/// The audit as JSON (<c>audit.json</c> next to <c>audit.html</c> by default): every finding with its numbers, for
/// the doctor's data-side advice and for scripts. Field names are snake_case; the format is versioned.
/// </summary>
public static class AuditJson
{
    /// <summary>The value of the <c>format</c> field.</summary>
    public const string Format = "gansharp-audit/1";

    /// <summary>The file name the doctor looks for.</summary>
    public const string FileName = "audit.json";

    /// <summary>Writes the audit of <paramref name="options"/>' folders atomically to <paramref name="path"/>.</summary>
    public static void Write(AuditResult r, AuditOptions options, string path)
    {
        static JsonArray Strings(IEnumerable<string> xs) => new(xs.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());
        var root = new JsonObject
        {
            ["format"] = Format,
            ["label_dir"] = Path.GetFullPath(options.Data.LabelDir),
            ["image_dir"] = Path.GetFullPath(options.Data.ImageDir),
            ["test_image_dir"] = options.TestImageDir is null ? null : Path.GetFullPath(options.TestImageDir),
            ["hash_threshold"] = r.HashThreshold,
            ["pairs"] = r.Pairs,
            ["effective_size"] = r.EffectiveSize,
            ["near_duplicate_images"] = r.Pairs - r.EffectiveSize,
            ["near_duplicate_clusters"] = new JsonArray(r.NearDuplicateClusters.Select(c => (JsonNode?)Strings(c)).ToArray()),
            ["test_images"] = r.TestImages,
            ["leaked_test_images"] = r.Leakage.Count,
            ["leakage"] = new JsonArray(r.Leakage.Select(l => (JsonNode?)new JsonObject
            {
                ["test_image"] = l.TestImage,
                ["train_stem"] = l.TrainStem,
                ["distance"] = l.Distance,
            }).ToArray()),
            ["scene"] = r.Scene == SceneKind.Street ? "street" : "texture",
            ["recommended_size"] = r.RecommendedSize,
            ["mean_classes_per_image"] = r.MeanClassesPerImage,
            ["classes"] = new JsonArray(r.Classes.Select(c => (JsonNode?)new JsonObject
            {
                ["class"] = c.Class,
                ["pixel_share"] = c.PixelShare,
                ["image_share"] = c.ImageShare,
                ["images"] = c.Images,
                ["rare"] = c.Rare,
            }).ToArray()),
            ["problems"] = new JsonArray(r.Problems.Select(p => (JsonNode?)new JsonObject { ["kind"] = p.Kind, ["message"] = p.Message }).ToArray()),
        };
        AtomicFile.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads an audit file; a file that is not an audit is a <see cref="ErrorKind.BadInput"/> error naming it.</summary>
    public static DataAuditSummary Read(string path)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new GanSharpException(ErrorKind.BadInput, $"{path} is not a GanSharp audit (no JSON object): re-run gansharp data audit.");
        }
        catch (JsonException e)
        {
            throw new GanSharpException(ErrorKind.BadInput, $"{path} is not valid JSON ({e.Message}): re-run gansharp data audit or delete the file.",
                e);
        }
        int Int(string name) => root[name] is JsonValue v && v.TryGetValue(out int i) ? i : 0;
        if (root["pairs"] is null || root["effective_size"] is null)
            throw new GanSharpException(ErrorKind.BadInput,
                $"{path} has no pairs/effective_size: it is not a GanSharp audit; re-run gansharp data audit.");
        var clusters = (root["near_duplicate_clusters"] as JsonArray)?.OfType<JsonArray>().Select(c => c.Count).ToList() ?? [];
        var rare = (root["classes"] as JsonArray)?.OfType<JsonObject>()
            .Where(c => c["rare"] is JsonValue r && r.TryGetValue(out bool b) && b && c["images"] is JsonValue n && n.TryGetValue(out int k) && k > 0)
            .Select(c => c["class"] is JsonValue v && v.TryGetValue(out int i) ? i : -1).Where(i => i >= 0).ToList() ?? [];
        string? labelDir = root["label_dir"] is JsonValue ld && ld.TryGetValue(out string? s) ? s : null;
        bool street = root["scene"] is JsonValue sc && sc.TryGetValue(out string? scene) && scene == "street";
        int recommended = Int("recommended_size");
        return new DataAuditSummary
        {
            Source = Path.GetFullPath(path),
            LabelDir = labelDir,
            Pairs = Int("pairs"),
            EffectiveSize = Int("effective_size"),
            NearDuplicateClusters = clusters.Count,
            LargestCluster = clusters.Count == 0 ? 0 : clusters.Max(),
            TestImages = Int("test_images"),
            LeakedTestImages = Int("leaked_test_images"),
            Scene = street ? SceneKind.Street : SceneKind.Texture,
            RecommendedSize = recommended > 0 ? recommended : street ? DataAudit.StreetGuidance : DataAudit.TextureGuidance,
            RareClasses = rare,
        };
    }
}
