using GanSharp.Options;

namespace GanSharp.Data;

/// <summary>The files of one training pair.</summary>
/// <remarks><see cref="Image"/> is empty for a label map synthesized without a photo.</remarks>
public sealed record SamplePaths(string Stem, string Label, string Image, string? Instance)
{
    public bool HasPhoto => Image.Length > 0;
}

/// <summary>One preprocessed sample as plain arrays (built on loader threads; tensors come later).</summary>
public sealed class Sample
{
    internal Sample(int index, int width, int height, int[] label, int[]? instance, float[] image, float[] semantics, string imagePath,
        TransformPlan plan)
    {
        Semantics = semantics;
        // int64 copies made here, on the loader thread, so that collating a batch of one is free for the consumer.
        LabelInt64 = Array.ConvertAll(label, v => (long)v);
        InstanceInt64 = instance is null ? null : Array.ConvertAll(instance, v => (long)v);
        Index = index;
        Width = width;
        Height = height;
        Label = label;
        Instance = instance;
        Image = image;
        ImagePath = imagePath;
        Plan = plan;
    }

    /// <summary>Index of the pair in the data set.</summary>
    public int Index { get; }
    public int Width { get; }
    public int Height { get; }

    /// <summary>Class per pixel (255 already mapped to label_nc), H*W.</summary>
    public int[] Label { get; }

    /// <summary>Instance id per pixel, H*W; null without instance maps.</summary>
    public int[]? Instance { get; }

    /// <summary>Photo as planar float32 in [-1, 1], 3*H*W.</summary>
    public float[] Image { get; }

    internal long[] LabelInt64 { get; }
    internal long[]? InstanceInt64 { get; }

    /// <summary>Generator input as planar float32, semantic_nc*H*W: one-hot classes (+ don't-care) (+ instance edges).</summary>
    public float[] Semantics { get; }

    public string ImagePath { get; }

    /// <summary>The crop/flip geometry used (tests check alignment with it).</summary>
    public TransformPlan Plan { get; }
}

/// <summary>What the scan found, for the CLI to print.</summary>
public sealed record DatasetSummary(
    int Pairs,
    IReadOnlyList<int> ClassesPresent,
    bool UsesInstances,
    int SemanticNc,
    (int Width, int Height) SmallestSize,
    (int Width, int Height) LargestSize,
    IReadOnlyDictionary<LabelFileKind, int> LabelKinds,
    int CacheHits,
    IReadOnlyList<string> Notices);

/// <summary>
/// The SPADE "custom" data set: label/photo/instance folders paired by file stem after natural sort, validated up
/// front (label values, colour labels, sizes, unpaired files), each sample preprocessed as the reference does.
/// </summary>
public sealed class SpadeDataset
{
    private static readonly string[] LabelExtensions = [".png", ".npy", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"];
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"];
    private static readonly string[] InstanceExtensions = [".png", ".npy"];
    private const int ListedStems = 10;

    private SpadeDataset(DataOptions options, IReadOnlyList<SamplePaths> pairs, bool usesInstances, DatasetSummary summary)
    {
        Options = options;
        Pairs = pairs;
        UsesInstances = usesInstances;
        Summary = summary;
    }

    public DataOptions Options { get; }
    public IReadOnlyList<SamplePaths> Pairs { get; }
    public int Count => Pairs.Count;

    /// <summary>Whether instance edges are part of the input (false when off, or inferred off).</summary>
    public bool UsesInstances { get; }

    /// <summary>Generator input channels: label_nc + don't-care + instance edge.</summary>
    public int SemanticNc => Options.SemanticNc(UsesInstances);

    public DatasetSummary Summary { get; }

    /// <summary>Sentences about decisions the scan made for the user (e.g. "no instance maps: ..."), to print.</summary>
    public IReadOnlyList<string> Notices => Summary.Notices;

    /// <summary>
    /// Lists, pairs and validates the folders. Throws a <see cref="GanSharpException"/> of kind Data whose message
    /// names the first bad file, the bad value and the fix.
    /// </summary>
    /// <param name="options">Folders and preprocessing.</param>
    /// <param name="cacheDirectory">Where the scan cache lives; null for the user cache, "" for no cache.</param>
    /// <param name="progress">Called with the number of files scanned so far.</param>
    public static SpadeDataset Open(DataOptions options, string? cacheDirectory = null, Action<int, int>? progress = null)
    {
        options.Validate();
        var notices = new List<string>();
        var labels = ListFolder(options.LabelDir, DataOptionSpecs.LabelDir.Flag, LabelExtensions);
        // Inference needs no photo: without --image-dir (only allowed outside training) every pair is a label map alone.
        bool labelsOnly = string.IsNullOrEmpty(options.ImageDir) && !options.IsTrain;
        List<(string Stem, string Path)> images = labelsOnly ? [] : ListFolder(options.ImageDir, DataOptionSpecs.ImageDir.Flag, ImageExtensions);
        if (labels.Count == 0)
            throw new GanSharpException(ErrorKind.Data,
                $"{options.LabelDir} holds no label maps (.png): point {DataOptionSpecs.LabelDir.Flag} at the folder of label PNGs.");
        if (images.Count == 0 && !labelsOnly)
            throw new GanSharpException(ErrorKind.Data,
                $"{options.ImageDir} holds no photos (.png, .jpg, ...): point {DataOptionSpecs.ImageDir.Flag} at the folder of photos.");

        List<(string Stem, string Path)>? instances = null;
        if (!options.NoInstance)
        {
            if (string.IsNullOrEmpty(options.InstanceDir))
                notices.Add($"No {DataOptionSpecs.InstanceDir.Flag} given: training without instance edges, as with "
                    + $"{DataOptionSpecs.NoInstance.Flag}.");
            else if (!Directory.Exists(options.InstanceDir))
                notices.Add($"Instance folder {options.InstanceDir} does not exist: training without instance edges, as with "
                    + $"{DataOptionSpecs.NoInstance.Flag}.");
            else
            {
                instances = ListFolder(options.InstanceDir, DataOptionSpecs.InstanceDir.Flag, InstanceExtensions);
                if (instances.Count == 0)
                {
                    notices.Add($"Instance folder {options.InstanceDir} holds no .png or .npy files: training without instance edges, as with "
                        + $"{DataOptionSpecs.NoInstance.Flag}.");
                    instances = null;
                }
            }
        }

        var pairs = labelsOnly
            ? PairByOrder(options, labels, labels.Select(l => (l.Stem, Path: "")).ToList(), instances, notices)
            : options.NoPairingCheck
            ? PairByOrder(options, labels, images, instances, notices)
            : PairByStem(options, labels, images, instances, notices);
        if (options.MaxDatasetSize is int max && pairs.Count > max)
            pairs = pairs.Take(max).ToList();
        bool usesInstances = pairs.Count > 0 && pairs[0].Instance is not null;

        var summary = Validate(options, pairs, usesInstances, cacheDirectory, notices, progress);
        return new SpadeDataset(options, pairs, usesInstances, summary);
    }

    private static List<(string Stem, string Path)> ListFolder(string dir, string option, string[] extensions)
    {
        if (!Directory.Exists(dir))
            throw new GanSharpException(ErrorKind.BadInput, $"{option} {dir} does not exist: pass the folder that holds the files.");
        var files = Directory.EnumerateFiles(dir)
            .Where(p => !Path.GetFileName(p).StartsWith('.'))
            .Where(p => extensions.Contains(Path.GetExtension(p).ToLowerInvariant()))
            .Select(p => (Stem: Path.GetFileNameWithoutExtension(p), Path: p))
            .OrderBy(f => Path.GetFileName(f.Path), NaturalSort.Instance)
            .ToList();
        var dup = files.GroupBy(f => f.Stem).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
            throw new GanSharpException(ErrorKind.Data,
                $"{dir} holds {string.Join(" and ", dup.Select(d => Path.GetFileName(d.Path)))} with the same name stem '{dup.Key}': keep one of "
                    + "them, pairs are matched by stem.");
        return files;
    }

    private static List<SamplePaths> PairByStem(DataOptions options, List<(string Stem, string Path)> labels, List<(string Stem, string Path)> images,
        List<(string Stem, string Path)>? instances, List<string> notices)
    {
        var imageByStem = images.ToDictionary(i => i.Stem, i => i.Path, StringComparer.Ordinal);
        var labelStems = labels.Select(l => l.Stem).ToHashSet(StringComparer.Ordinal);
        var labelOnly = labels.Where(l => !imageByStem.ContainsKey(l.Stem)).Select(l => l.Stem).ToList();
        var imageOnly = images.Where(i => !labelStems.Contains(i.Stem)).Select(i => i.Stem).ToList();
        if (labelOnly.Count > 0 || imageOnly.Count > 0)
        {
            var parts = new List<string>();
            if (labelOnly.Count > 0) parts.Add($"{labelOnly.Count} in {options.LabelDir} have no photo ({ListStems(labelOnly)})");
            if (imageOnly.Count > 0) parts.Add($"{imageOnly.Count} in {options.ImageDir} have no label map ({ListStems(imageOnly)})");
            throw new GanSharpException(ErrorKind.Data,
                $"Unpaired files: {string.Join("; ", parts)}: add or remove files so every label map has a photo with the same name stem, or pass "
                    + $"{DataOptionSpecs.NoPairingCheck.Flag} to pair by sorted position.");
        }

        Dictionary<string, string>? instByStem = instances?.ToDictionary(i => i.Stem, i => i.Path, StringComparer.Ordinal);
        if (instByStem is not null)
        {
            var missing = labels.Where(l => !instByStem.ContainsKey(l.Stem)).Select(l => l.Stem).ToList();
            if (missing.Count > 0)
            {
                notices.Add($"{missing.Count} of {labels.Count} label maps have no instance map in {options.InstanceDir} ({ListStems(missing)}): "
                    + $"training without instance edges, as with {DataOptionSpecs.NoInstance.Flag}.");
                instByStem = null;
            }
        }
        return labels.Select(l => new SamplePaths(l.Stem, l.Path, imageByStem[l.Stem], instByStem?[l.Stem])).ToList();
    }

    private static List<SamplePaths> PairByOrder(DataOptions options, List<(string Stem, string Path)> labels,
        List<(string Stem, string Path)> images,
        List<(string Stem, string Path)>? instances, List<string> notices)
    {
        if (labels.Count != images.Count)
            throw new GanSharpException(ErrorKind.Data,
                $"{options.LabelDir} holds {labels.Count} label maps but {options.ImageDir} holds {images.Count} photos, so pairing by position "
                    + $"({DataOptionSpecs.NoPairingCheck.Flag}) is impossible: make the counts equal.");
        if (instances is not null && instances.Count != labels.Count)
        {
            notices.Add($"{options.InstanceDir} holds {instances.Count} instance maps for {labels.Count} label maps: training without instance "
                + $"edges, as with {DataOptionSpecs.NoInstance.Flag}.");
            instances = null;
        }
        return labels.Select((l, i) => new SamplePaths(l.Stem, l.Path, images[i].Path, instances?[i].Path)).ToList();
    }

    private static string ListStems(List<string> stems) =>
        string.Join(", ", stems.Take(ListedStems)) + (stems.Count > ListedStems ? $" and {stems.Count - ListedStems} more" : "");

    private static DatasetSummary Validate(DataOptions options, List<SamplePaths> pairs, bool usesInstances, string? cacheDirectory,
        List<string> notices, Action<int, int>? progress)
    {
        var scan = DatasetScan.Open(options.LabelDir, cacheDirectory);
        var files = new List<(string, DatasetScan.Role)>(pairs.Count * 3);
        foreach (var p in pairs)
        {
            files.Add((p.Label, DatasetScan.Role.Label));
            if (p.HasPhoto) files.Add((p.Image, DatasetScan.Role.Image));
            if (usesInstances) files.Add((p.Instance!, DatasetScan.Role.Instance));
        }
        var facts = scan.Run(files, progress);

        var present = new SortedSet<int>();
        var kinds = new Dictionary<LabelFileKind, int>();
        (int W, int H) smallest = (int.MaxValue, int.MaxValue), largest = (0, 0);
        // Natural order, so the error names the first bad file a user would look at.
        foreach (var p in pairs)
        {
            var lf = facts[p.Label];
            kinds[lf.Kind!.Value] = kinds.GetValueOrDefault(lf.Kind!.Value) + 1;
            foreach (int v in lf.Values!)
            {
                bool ok = v == 255 ? options.ContainDontcareLabel : v >= 0 && v < options.LabelNc;
                if (!ok) throw LabelValueError(options, p.Label, v);
                present.Add(v == 255 ? options.LabelNc : v);
            }
            var imf = p.HasPhoto ? facts[p.Image] : lf;
            if (imf.Width != lf.Width || imf.Height != lf.Height)
                throw new GanSharpException(ErrorKind.Data,
                    $"{p.Label} is {lf.Width}x{lf.Height} but its photo {p.Image} is {imf.Width}x{imf.Height}: resize one of them (labels with "
                        + "nearest) so the pair matches.");
            if (usesInstances)
            {
                var inf = facts[p.Instance!];
                if (inf.Width != lf.Width || inf.Height != lf.Height)
                    throw new GanSharpException(ErrorKind.Data,
                        $"{p.Label} is {lf.Width}x{lf.Height} but its instance map {p.Instance} is {inf.Width}x{inf.Height}: resize the instance map "
                            + $"(nearest) to match, or pass {DataOptionSpecs.NoInstance.Flag}.");
            }
            if ((long)lf.Width * lf.Height < (long)smallest.W * smallest.H) smallest = (lf.Width, lf.Height);
            if ((long)lf.Width * lf.Height > (long)largest.W * largest.H) largest = (lf.Width, lf.Height);
            // Raises the size error now, not on a loader thread hours later.
            Transforms.ResizeTarget(options, lf.Width, lf.Height, p.Label);
        }
        if (options.IsTrain && pairs.Count < options.BatchSize)
            throw new GanSharpException(ErrorKind.Data,
                $"{options.LabelDir} yields {pairs.Count} pairs, fewer than {DataOptionSpecs.BatchSize.Flag} {options.BatchSize}, and "
                    + "training drops incomplete batches: "
                    + $"lower {DataOptionSpecs.BatchSize.Flag} or add data.");
        return new DatasetSummary(pairs.Count, present.ToArray(), usesInstances, options.SemanticNc(usesInstances),
            smallest, largest, kinds, scan.CacheHits, notices);
    }

    private static GanSharpException LabelValueError(DataOptions o, string file, int v)
    {
        string fix = v == 255
            ? $"pass {DataOptionSpecs.ContainDontcareLabel.Flag} if 255 means \"don't care\", or map the value to a class"
            : $"raise {DataOptionSpecs.LabelNc.Flag}, map the value to a class, or pass {DataOptionSpecs.ContainDontcareLabel.Flag} for 255";
        return new GanSharpException(ErrorKind.Data,
            $"{file} has value {v} but {DataOptionSpecs.LabelNc.Flag} is "
                + $"{o.LabelNc}{(o.ContainDontcareLabel ? " (with don't-care 255)" : "")}: {fix}.");
    }

    /// <summary>
    /// Loads and preprocesses pair <paramref name="index"/> for <paramref name="epoch"/>. The crop and flip come from
    /// a generator seeded by (seed, epoch, index), so a sample looks the same whichever thread loads it and when.
    /// </summary>
    public Sample Load(int index, int epoch)
    {
        var p = Pairs[index];
        var label = LabelIO.Read(p.Label);
        LabelMap? instance = null;
        if (UsesInstances)
        {
            instance = LabelIO.Read(p.Instance!);
            if (instance.Width != label.Width || instance.Height != label.Height)
                throw new GanSharpException(ErrorKind.Data,
                    $"{p.Label} is {label.Width}x{label.Height} but its instance map {p.Instance} is {instance.Width}x{instance.Height}: resize the "
                        + "instance map (nearest) to match.");
        }
        if (!p.HasPhoto) return FromLabelMap(Options, label, instance, index, epoch, p.Label);
        var (lv, inst, plan) = PrepareLabels(Options, label, instance, index, epoch, p.Label);
        var photo = ImageIO.ReadRgb(p.Image);
        if (photo.Width != label.Width || photo.Height != label.Height)
            throw new GanSharpException(ErrorKind.Data,
                $"{p.Label} is {label.Width}x{label.Height} but its photo {p.Image} is {photo.Width}x{photo.Height}: resize one of them so the pair "
                    + "matches.");
        var photoOut = Transforms.ApplyBicubic(photo, plan);
        var img = new float[3 * plan.OutputWidth * plan.OutputHeight];
        Transforms.ToNormalizedChw(photoOut, img);
        var sem = SemanticMaps.Build(lv, inst, plan.OutputWidth, plan.OutputHeight, Options.LabelNc + (Options.ContainDontcareLabel ? 1 : 0));
        return new Sample(index, plan.OutputWidth, plan.OutputHeight, lv, inst, img, sem, p.Image, plan);
    }

    /// <summary>
    /// A label map without a photo, preprocessed exactly as <see cref="Load"/> does pair <paramref name="index"/>
    /// (the studio's path to the same pictures as <c>gansharp test</c>); the photo is all zeros and never reaches G's input.
    /// </summary>
    internal static Sample FromLabelMap(DataOptions options, LabelMap label, LabelMap? instance, int index, int epoch, string name)
    {
        var (lv, inst, plan) = PrepareLabels(options, label, instance, index, epoch, name);
        var img = new float[3 * plan.OutputWidth * plan.OutputHeight];
        var sem = SemanticMaps.Build(lv, inst, plan.OutputWidth, plan.OutputHeight, options.LabelNc + (options.ContainDontcareLabel ? 1 : 0));
        return new Sample(index, plan.OutputWidth, plan.OutputHeight, lv, inst, img, sem, name, plan);
    }

    private static (int[] Labels, int[]? Instances, TransformPlan Plan) PrepareLabels(
        DataOptions options, LabelMap label, LabelMap? instance, int index, int epoch, string name)
    {
        var rng = DeterministicRng.For(options.Seed, stream: 0xA11CE, epoch, index);
        var plan = Transforms.Plan(options, label.Width, label.Height, rng, name);
        var labelOut = Transforms.ApplyNearest(label, plan);
        int[] lv = ReferenceEquals(labelOut, label) ? (int[])label.Values.Clone() : labelOut.Values;
        for (int i = 0; i < lv.Length; i++)
        {
            // The reference maps 255 to label_nc whether or not don't-care is on; validation ensured it is legal.
            if (lv[i] == 255) lv[i] = options.LabelNc;
        }
        int[]? inst = instance is null ? null : Transforms.ApplyNearest(instance, plan).Values;
        return (lv, inst, plan);
    }
}
