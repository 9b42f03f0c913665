using System.Text.Json;
using System.Text.RegularExpressions;

namespace GanSharp.Data.Tools;

/// <summary>How <see cref="DataSplit"/> assigns pairs to train / val / test.</summary>
public enum SplitMode
{
    /// <summary>Each pair independently (after a seeded shuffle).</summary>
    Random,

    /// <summary>Pairs ordered so every class present in the data lands in each split when it occurs often enough.</summary>
    Stratified,

    /// <summary>Whole groups (sequences) go to one split, so near-identical frames never straddle train and test.</summary>
    Grouped,
}

/// <summary>Settings of <see cref="DataSplit.Run"/>, validated by <see cref="Validate"/>.</summary>
public sealed record SplitOptions
{
    /// <summary>Folder of label maps.</summary>
    public required string LabelDir { get; init; }

    /// <summary>Folder of photos (paired with labels by file stem).</summary>
    public required string ImageDir { get; init; }

    /// <summary>Optional folder of instance maps.</summary>
    public string? InstanceDir { get; init; }

    /// <summary>Root under which <c>train_label</c>, <c>train_img</c>, … are written.</summary>
    public required string OutputDir { get; init; }

    public SplitMode Mode { get; init; } = SplitMode.Random;

    /// <summary>Fraction of pairs (or groups) for validation.</summary>
    public double ValFraction { get; init; }

    /// <summary>Fraction of pairs (or groups) for test.</summary>
    public double TestFraction { get; init; } = 0.2;

    public int Seed { get; init; }

    /// <summary>
    /// Grouped mode: a regex matched against the file stem whose first capture group (or whole match) names the
    /// group; null groups by the parent folder of the label file relative to <see cref="LabelDir"/>.
    /// </summary>
    public string? GroupPattern { get; init; }

    /// <summary>Copy files instead of hard-linking them.</summary>
    public bool Copy { get; init; }

    /// <summary>Throws a one-sentence usage error for impossible settings.</summary>
    public void Validate()
    {
        if (ValFraction is < 0 or >= 1 || TestFraction is < 0 or >= 1 || ValFraction + TestFraction >= 1)
            throw new GanSharpException(ErrorKind.Usage,
                $"--val {ValFraction} and --test {TestFraction} must each be in [0, 1) and leave some data for training (sum below 1).");
        if (Mode == SplitMode.Grouped && GroupPattern is not null)
        {
            try
            {
                _ = new Regex(GroupPattern);
            }
            catch (ArgumentException e)
            {
                throw new GanSharpException(ErrorKind.Usage, $"--group-pattern \"{GroupPattern}\" is not a valid regular expression ({e.Message}).");
            }
        }
        foreach (var dir in new[] { LabelDir, ImageDir, InstanceDir })
            if (dir is not null && Path.GetFullPath(OutputDir).TrimEnd('/') == Path.GetFullPath(dir).TrimEnd('/'))
                throw new GanSharpException(ErrorKind.Usage,
                    $"--output {OutputDir} is an input folder: write the split to a new folder so inputs are never touched.");
    }
}

/// <summary>One pair's place in the split, as written to the manifest.</summary>
/// <param name="Stem">File stem shared by label, photo and instance map.</param>
/// <param name="Split">"train", "val" or "test".</param>
/// <param name="Group">The group (sequence) the pair belongs to; the stem itself outside grouped mode.</param>
public sealed record SplitEntry(string Stem, string Split, string Group);

/// <summary>What <see cref="DataSplit.Run"/> did.</summary>
public sealed record SplitResult(IReadOnlyList<SplitEntry> Entries, int Train, int Val, int Test, int Groups, string ManifestPath, bool CopiedAny);

/// <summary>
/// Splits a paired data set into the reference's folder layout (<c>train_label</c>, <c>train_img</c>,
/// <c>train_inst</c>, <c>val_*</c>, <c>test_*</c>) with hard links (copies across file systems) and a JSON manifest.
/// Random splits of video frames leak: a test frame next to its neighbour in train looks solved. Grouped mode keeps
/// every sequence on one side.
/// </summary>
public static class DataSplit
{
    /// <summary>Split names in manifest order.</summary>
    public static readonly IReadOnlyList<string> SplitNames = ["train", "val", "test"];

    /// <summary>Lists and pairs the folders, assigns splits and writes the layout and manifest.</summary>
    public static SplitResult Run(SplitOptions options, Action<int, int>? progress = null)
    {
        options.Validate();
        var pairs = ListPairs(options);
        var entries = Assign(options, pairs);
        bool copied = false;
        int done = 0;
        var byStem = pairs.ToDictionary(p => p.Stem, StringComparer.Ordinal);
        foreach (var e in entries)
        {
            var p = byStem[e.Stem];
            copied |= Place(p.Label, Path.Combine(options.OutputDir, e.Split + "_label"), options.Copy);
            copied |= Place(p.Image, Path.Combine(options.OutputDir, e.Split + "_img"), options.Copy);
            if (p.Instance is not null) copied |= Place(p.Instance, Path.Combine(options.OutputDir, e.Split + "_inst"), options.Copy);
            progress?.Invoke(++done, entries.Count);
        }
        string manifest = Path.Combine(options.OutputDir, "split.json");
        var doc = new
        {
            mode = options.Mode.ToString().ToLowerInvariant(),
            seed = options.Seed,
            val_fraction = options.ValFraction,
            test_fraction = options.TestFraction,
            group_pattern = options.GroupPattern,
            files = entries.Select(e => new { stem = e.Stem, split = e.Split, group = e.Group }),
        };
        Directory.CreateDirectory(options.OutputDir);
        AtomicFile.WriteAllText(manifest, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
        return new SplitResult(entries, entries.Count(e => e.Split == "train"), entries.Count(e => e.Split == "val"),
            entries.Count(e => e.Split == "test"), entries.Select(e => e.Group).Distinct().Count(), manifest, copied);
    }

    /// <summary>One pair of input files and the label file's folder relative to the label root (the sequence, when stored one per folder).</summary>
    public sealed record Pair(string Stem, string Label, string Image, string? Instance, string RelativeFolder);

    /// <summary>
    /// Assigns each pair a split without touching the disk: deterministic for a seed, independent of file-system
    /// listing order (pairs are sorted by stem first).
    /// </summary>
    public static List<SplitEntry> Assign(SplitOptions options, IReadOnlyList<Pair> pairs)
    {
        var sorted = pairs.OrderBy(p => p.Stem, NaturalSort.Instance).ToList();
        var rng = new DeterministicRng(0x5B117UL ^ (ulong)(uint)options.Seed * 0x9E3779B97F4A7C15UL);
        return options.Mode switch
        {
            SplitMode.Grouped => AssignGrouped(options, sorted, rng),
            SplitMode.Stratified => AssignStratified(options, sorted, rng),
            _ => AssignRandom(options, sorted, rng),
        };
    }

    private static List<SplitEntry> AssignGrouped(SplitOptions options, List<Pair> sorted, DeterministicRng rng)
    {
        var regex = options.GroupPattern is null ? null : new Regex(options.GroupPattern);
        var groupOf = sorted.ToDictionary(p => p.Stem, p => GroupName(p, regex), StringComparer.Ordinal);
        var groups = groupOf.Values.Distinct().OrderBy(g => g, NaturalSort.Instance).ToList();
        if (groups.Count < 2)
            throw new GanSharpException(ErrorKind.Data,
                $"grouping found a single group '{groups.FirstOrDefault()}' for {sorted.Count} pairs, so no test set can be held out: check "
                    + $"--group-pattern against the file names.");
        var perm = rng.Permutation(groups.Count);
        var sizes = groups.ToDictionary(g => g, g => groupOf.Values.Count(v => v == g));
        // Fill test, then val, with whole groups in shuffled order until each reaches its share of pairs;
        // groups are uneven, so fractions are met as closely as whole groups allow, never by splitting one.
        var splitOf = new Dictionary<string, string>();
        int total = sorted.Count, test = 0, val = 0;
        int testTarget = (int)Math.Round(options.TestFraction * total), valTarget = (int)Math.Round(options.ValFraction * total);
        // A group joins test (then val) while that keeps the split within half a group of its target, so one
        // huge sequence never swallows the test set.
        foreach (int gi in perm)
        {
            string g = groups[gi];
            int n = sizes[g];
            string s;
            if (options.TestFraction > 0 && test + n / 2.0 <= testTarget) { s = "test"; test += n; }
            else if (options.ValFraction > 0 && val + n / 2.0 <= valTarget) { s = "val"; val += n; }
            else s = "train";
            splitOf[g] = s;
        }
        KeepEverySplit(options, splitOf, sizes);
        return sorted.Select(p => new SplitEntry(p.Stem, splitOf[groupOf[p.Stem]], groupOf[p.Stem])).ToList();
    }

    // Every group larger than twice a target: hold out the smallest one rather than nothing, as long as training keeps
    // a group; and training always keeps one.
    private static void KeepEverySplit(SplitOptions options, Dictionary<string, string> splitOf, Dictionary<string, int> sizes)
    {
        foreach (var (name, fraction) in new[] { ("test", options.TestFraction), ("val", options.ValFraction) })
        {
            if (fraction <= 0 || splitOf.ContainsValue(name)) continue;
            var trainGroups = splitOf.Where(kv => kv.Value == "train").Select(kv => kv.Key).ToList();
            if (trainGroups.Count < 2) continue;
            splitOf[trainGroups.OrderBy(g => sizes[g]).ThenBy(g => g, NaturalSort.Instance).First()] = name;
        }
        if (!splitOf.ContainsValue("train"))
            splitOf[splitOf.Keys.OrderByDescending(g => sizes[g]).ThenBy(g => g, NaturalSort.Instance).First()] = "train";
    }

    private static List<SplitEntry> AssignStratified(SplitOptions options, List<Pair> sorted, DeterministicRng rng)
    {
        var classes = sorted.ToDictionary(p => p.Stem, p => LabelIO.Read(p.Label).Values.Distinct().ToHashSet(), StringComparer.Ordinal);
        var perm = rng.Permutation(sorted.Count).Select(i => sorted[i]).ToList();
        int total = sorted.Count;
        var target = new Dictionary<string, int>
        {
            ["test"] = (int)Math.Round(options.TestFraction * total),
            ["val"] = (int)Math.Round(options.ValFraction * total),
        };
        target["train"] = total - target["test"] - target["val"];
        var count = SplitNames.ToDictionary(s => s, _ => 0);
        var seen = SplitNames.ToDictionary(s => s, _ => new Dictionary<int, int>());
        var splitOf = new Dictionary<string, string>();
        // Rarest classes first: a pair holding a rare class picks the split that has seen that class least
        // (relative to its size), so a class in few images reaches every split before common ones fill them.
        var freq = classes.Values.SelectMany(c => c).GroupBy(c => c).ToDictionary(g => g.Key, g => g.Count());
        foreach (var p in perm.OrderBy(p => classes[p.Stem].Count == 0 ? int.MaxValue : classes[p.Stem].Min(c => freq[c])))
        {
            int rare = classes[p.Stem].Count == 0 ? -1 : classes[p.Stem].MinBy(c => (freq[c], c));
            string best = SplitNames.Where(s => count[s] < target[s])
                .OrderBy(s => rare < 0 ? 0 : seen[s].GetValueOrDefault(rare) / (double)Math.Max(1, target[s]))
                .ThenBy(s => count[s] / (double)Math.Max(1, target[s]))
                .First();
            splitOf[p.Stem] = best;
            count[best]++;
            foreach (int c in classes[p.Stem]) seen[best][c] = seen[best].GetValueOrDefault(c) + 1;
        }
        return sorted.Select(p => new SplitEntry(p.Stem, splitOf[p.Stem], p.Stem)).ToList();
    }

    private static List<SplitEntry> AssignRandom(SplitOptions options, List<Pair> sorted, DeterministicRng rng)
    {
        var perm = rng.Permutation(sorted.Count);
        int total = sorted.Count;
        int nTest = (int)Math.Round(options.TestFraction * total), nVal = (int)Math.Round(options.ValFraction * total);
        var splitOf = new string[total];
        for (int k = 0; k < total; k++)
            splitOf[perm[k]] = k < nTest ? "test" : k < nTest + nVal ? "val" : "train";
        return sorted.Select((p, i) => new SplitEntry(p.Stem, splitOf[i], p.Stem)).ToList();
    }

    private static string GroupName(Pair p, Regex? regex)
    {
        if (regex is null)
            return p.RelativeFolder.Length == 0
                ? throw new GanSharpException(ErrorKind.Usage,
                    $"{p.Label} is not inside a sequence folder, so grouping by folder cannot work: pass --group-pattern (e.g. \"^(\\w+?)_\").")
                : p.RelativeFolder;
        var m = regex.Match(p.Stem);
        if (!m.Success)
            throw new GanSharpException(ErrorKind.Data,
                $"--group-pattern \"{regex}\" does not match the file name '{p.Stem}': adjust it so every file names its group.");
        return m.Groups.Count > 1 && m.Groups[1].Success ? m.Groups[1].Value : m.Value;
    }

    /// <summary>
    /// Pairs label and photo files by stem, searching subfolders so sequences stored one per folder can be grouped
    /// by folder. A stem must be unique across the whole tree because the output layout is flat.
    /// </summary>
    public static List<Pair> ListPairs(SplitOptions options)
    {
        var labels = List(options.LabelDir, "--label-dir", [".png", ".npy"]);
        var images = List(options.ImageDir, "--image-dir", [".png", ".jpg", ".jpeg", ".bmp", ".webp"]);
        var insts = options.InstanceDir is null ? null : List(options.InstanceDir, "--instance-dir", [".png", ".npy"]);
        var missing = labels.Keys.Where(s => !images.ContainsKey(s)).Concat(images.Keys.Where(s => !labels.ContainsKey(s)))
            .OrderBy(s => s, NaturalSort.Instance).ToList();
        if (missing.Count > 0)
            throw new GanSharpException(ErrorKind.Data,
                $"{missing.Count} files have no partner with the same stem in the other folder (first: {missing[0]}): pair every label map with a "
                    + $"photo before splitting.");
        if (insts is not null && labels.Keys.FirstOrDefault(s => !insts.ContainsKey(s)) is string noInst)
            throw new GanSharpException(ErrorKind.Data,
                $"label {noInst} has no instance map in {options.InstanceDir}: add it or leave out --instance-dir.");
        if (labels.Count == 0)
            throw new GanSharpException(ErrorKind.Data, $"{options.LabelDir} holds no label maps (.png, .npy): point --label-dir at them.");
        return labels.Select(kv => new Pair(kv.Key, kv.Value, images[kv.Key], insts?[kv.Key],
            Path.GetDirectoryName(Path.GetRelativePath(options.LabelDir, kv.Value)) ?? "")).ToList();
    }

    private static Dictionary<string, string> List(string dir, string option, string[] extensions)
    {
        if (!Directory.Exists(dir))
            throw new GanSharpException(ErrorKind.BadInput, $"{option} {dir} does not exist: pass the folder that holds the files.");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(f).StartsWith('.') || !extensions.Contains(Path.GetExtension(f).ToLowerInvariant())) continue;
            string stem = Path.GetFileNameWithoutExtension(f);
            if (!result.TryAdd(stem, f))
                throw new GanSharpException(ErrorKind.Data,
                    $"{result[stem]} and {f} share the stem '{stem}': rename one, the split layout is flat and pairs files by stem.");
        }
        return result;
    }

    /// <summary>Hard-links <paramref name="source"/> into <paramref name="dir"/>; copies when linking fails. Returns whether it copied.</summary>
    private static bool Place(string source, string dir, bool copy)
    {
        Directory.CreateDirectory(dir);
        string target = Path.Combine(dir, Path.GetFileName(source));
        if (Path.GetFullPath(target) == Path.GetFullPath(source))
            throw new GanSharpException(ErrorKind.Usage,
                $"{source} would be overwritten by the split: choose an --output outside the input folders.");
        // A rerun replaces what an earlier split wrote, so the layout always matches the manifest.
        if (File.Exists(target)) File.Delete(target);
        if (!copy && link(source, target) == 0) return false;
        File.Copy(source, target);
        return true;
    }

    // Hard links cost no space and keep one copy of a large data set; link(2) fails with EXDEV across file
    // systems, and then the caller copies.
    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true, CharSet = System.Runtime.InteropServices.CharSet.Ansi,
        BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int link(string oldpath, string newpath);
}
