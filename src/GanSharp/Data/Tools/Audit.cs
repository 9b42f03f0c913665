using System.Collections.Concurrent;
using System.Numerics;

namespace GanSharp.Data.Tools;

/// <summary>What kind of scenes the data holds, which sets how many examples the seed's guidance asks for.</summary>
public enum SceneKind
{
    /// <summary>Decide from the labels: few classes per image reads as texture-like, many as a dense scene.</summary>
    Auto,

    /// <summary>Texture-like content (landscapes, stains): about 2,000 examples.</summary>
    Texture,

    /// <summary>Dense structured scenes (street traffic): 5,000 to 10,000 examples.</summary>
    Street,
}

/// <summary>Settings of <see cref="DataAudit.Run"/>.</summary>
public sealed record AuditOptions
{
    /// <summary>The training folders and label settings (pairing and label range are validated as training would).</summary>
    public required DataOptions Data { get; init; }

    /// <summary>A folder of test photos checked for near-duplicates in the training photos; null skips the leakage check.</summary>
    public string? TestImageDir { get; init; }

    /// <summary>Largest Hamming distance (of 64 bits) at which two perceptual hashes count as near-duplicates.</summary>
    public int HashThreshold { get; init; } = 6;

    /// <summary>A class in fewer than this share of the images is flagged as rare.</summary>
    public double RareImageShare { get; init; } = 0.02;

    /// <summary>A class below this share of all pixels is flagged as rare.</summary>
    public double RarePixelShare { get; init; } = 0.001;

    public SceneKind Scene { get; init; } = SceneKind.Auto;

    /// <summary>Scan cache folder passed to the dataset scan (null: user cache; "": none).</summary>
    public string? CacheDirectory { get; init; }
}

/// <summary>Pixel and image share of one class.</summary>
/// <param name="Class">Label value (label_nc stands for don't-care 255).</param>
/// <param name="PixelShare">Fraction of all label pixels.</param>
/// <param name="ImageShare">Fraction of label maps holding at least one pixel of the class.</param>
/// <param name="Images">Label maps holding the class.</param>
/// <param name="Rare">Below the rarity thresholds while present, or absent altogether.</param>
public sealed record ClassShare(int Class, double PixelShare, double ImageShare, int Images, bool Rare);

/// <summary>A test photo whose perceptual hash is within the threshold of a training photo.</summary>
public sealed record LeakagePair(string TestImage, string TrainStem, int Distance);

/// <summary>A finding that <c>--strict</c> turns into a failing exit code.</summary>
/// <param name="Kind">Short key: duplicates, leakage, rare-classes, size, aspect.</param>
/// <param name="Message">One plain sentence for the user.</param>
public sealed record AuditProblem(string Kind, string Message);

/// <summary>
/// The audit's findings, also read by the first-aid kit (near-duplicate clusters, leakage, effective size) and by
/// <c>plan</c> (effective size and scene kind).
/// </summary>
public sealed record AuditResult
{
    public required int Pairs { get; init; }

    /// <summary>Near-duplicate clusters (file stems, two or more each), largest first.</summary>
    public required IReadOnlyList<IReadOnlyList<string>> NearDuplicateClusters { get; init; }

    /// <summary>Clusters of near-identical photos counted once: what the data is really worth.</summary>
    public required int EffectiveSize { get; init; }

    public required IReadOnlyList<LeakagePair> Leakage { get; init; }

    /// <summary>Test photos checked for leakage (0 without a test folder).</summary>
    public required int TestImages { get; init; }

    public required IReadOnlyList<ClassShare> Classes { get; init; }

    /// <summary>Image sizes (width, height) and how many pairs have each, most common first.</summary>
    public required IReadOnlyList<(int Width, int Height, int Count)> Sizes { get; init; }

    /// <summary>Mean number of classes present per label map.</summary>
    public required double MeanClassesPerImage { get; init; }

    /// <summary>The scene kind used for the size guidance (decided from the labels when asked for Auto).</summary>
    public required SceneKind Scene { get; init; }

    /// <summary>Examples the guidance asks for this scene kind (2,000 texture; 5,000 street).</summary>
    public required int RecommendedSize { get; init; }

    public required int HashThreshold { get; init; }

    public required IReadOnlyList<AuditProblem> Problems { get; init; }

    public required IReadOnlyList<string> Notices { get; init; }
}

/// <summary>
/// Audits a paired data set before training: validation, class balance, near-duplicates (perceptual hashes),
/// train/test leakage and size adequacy, the failure causes seed 000 lists for GauGAN projects.
/// </summary>
public static class DataAudit
{
    /// <summary>Examples for texture-like data (seed 000: "bacterial stains, only about 2,000").</summary>
    public const int TextureGuidance = 2000;

    /// <summary>Examples for complex street scenes (seed 000: "about 5,000-10,000").</summary>
    public const int StreetGuidance = 5000;

    // Landscapes show sky, ground, water and a few more classes per image; Cityscapes/CamVid frames show 12-20 (road,
    // cars, people, signs, poles...).
    // Above this mean count of classes per label map the data reads as a dense structured scene.
    private const double StreetClassesPerImage = 10;

    // What one pass over the training pairs gathers: pixel and image counts per class, hashes and sizes per pair.
    private sealed record PairScan(long[] PixelCounts, int[] ImageCounts, ulong[] Hashes, (int W, int H)[] Sizes, long TotalPixels,
        long ClassSlots);

    /// <summary>Runs every check; throws the dataset's validation error (one sentence) when pairing or labels are wrong.</summary>
    public static AuditResult Run(AuditOptions options, Action<string, int, int>? progress = null)
    {
        var data = options.Data with { IsTrain = false, BatchSize = 1 };
        var dataset = SpadeDataset.Open(data, options.CacheDirectory, progress is null ? null : (d, t) => progress("Validating", d, t));
        int n = dataset.Count;
        var scan = ScanPairs(dataset, data, progress);
        var stems = dataset.Pairs.Select(p => p.Stem).ToArray();
        var clusters = Clusters(scan.Hashes, options.HashThreshold)
            .Select(c => (IReadOnlyList<string>)c.Select(i => stems[i]).ToList()).ToList();
        int effective = n - clusters.Sum(c => c.Count - 1);
        var (leakage, testCount) = FindLeakage(options, scan.Hashes, stems, progress);
        var classes = ClassShares(options, scan, n);
        double meanClasses = n == 0 ? 0 : scan.ClassSlots / (double)n;
        var scene = options.Scene != SceneKind.Auto ? options.Scene
            : meanClasses > StreetClassesPerImage ? SceneKind.Street : SceneKind.Texture;
        int recommended = scene == SceneKind.Street ? StreetGuidance : TextureGuidance;
        var sizeTable = scan.Sizes.GroupBy(s => s).Select(g => (g.Key.W, g.Key.H, g.Count()))
            .OrderByDescending(s => s.Item3).ThenBy(s => s.W).ToList();
        return new AuditResult
        {
            Pairs = n,
            NearDuplicateClusters = clusters,
            EffectiveSize = effective,
            Leakage = leakage,
            TestImages = testCount,
            Classes = classes,
            Sizes = sizeTable,
            MeanClassesPerImage = meanClasses,
            Scene = scene,
            RecommendedSize = recommended,
            HashThreshold = options.HashThreshold,
            Problems = Problems(options, n, effective, clusters.Count, leakage, testCount, classes, scene, recommended, sizeTable),
            Notices = dataset.Notices,
        };
    }

    // Reads every label map and photo once, in parallel: per-thread pixel counts are merged under a lock at the end.
    private static PairScan ScanPairs(SpadeDataset dataset, DataOptions data, Action<string, int, int>? progress)
    {
        int n = dataset.Count;
        int nc = data.LabelNc + (data.ContainDontcareLabel ? 1 : 0);
        var pixelCounts = new long[nc];
        var imageCounts = new int[nc];
        var hashes = new ulong[n];
        var sizes = new (int W, int H)[n];
        long totalPixels = 0, classSlots = 0;
        int done = 0;
        object gate = new();
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => (Pixels: new long[nc], Total: 0L),
            (i, _, local) =>
            {
                var pair = dataset.Pairs[i];
                var label = LabelIO.Read(pair.Label);
                sizes[i] = (label.Width, label.Height);
                foreach (int v in label.Values) local.Pixels[v == 255 ? data.LabelNc : v]++;
                local.Total += label.Values.Length;
                var present = label.Values.Select(v => v == 255 ? data.LabelNc : v).Distinct().ToArray();
                lock (gate)
                {
                    foreach (int c in present) imageCounts[c]++;
                    classSlots += present.Length;
                }
                hashes[i] = PerceptualHash.Compute(ImageIO.ReadRgb(pair.Image));
                progress?.Invoke("Hashing", Interlocked.Increment(ref done), n);
                return local;
            },
            local =>
            {
                lock (gate)
                {
                    for (int c = 0; c < nc; c++) pixelCounts[c] += local.Pixels[c];
                    totalPixels += local.Total;
                }
            });
        return new PairScan(pixelCounts, imageCounts, hashes, sizes, totalPixels, classSlots);
    }

    // The test photos with a near-duplicate among the training photos, in file order, and how many test photos there are.
    private static (List<LeakagePair> Leakage, int TestCount) FindLeakage(AuditOptions options, ulong[] hashes, string[] stems,
        Action<string, int, int>? progress)
    {
        if (options.TestImageDir is null) return ([], 0);
        if (!Directory.Exists(options.TestImageDir))
            throw new GanSharpException(ErrorKind.BadInput,
                $"--test-image-dir {options.TestImageDir} does not exist: pass the folder of test photos.");
        var tests = Directory.EnumerateFiles(options.TestImageDir)
            .Where(f => Path.GetExtension(f).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg" or ".bmp" or ".webp")
            .OrderBy(Path.GetFileName, NaturalSort.Instance).ToList();
        var found = new ConcurrentBag<LeakagePair>();
        int tdone = 0;
        Parallel.ForEach(tests, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, t =>
        {
            ulong h = PerceptualHash.Compute(ImageIO.ReadRgb(t));
            int best = int.MaxValue, bestIndex = -1;
            for (int i = 0; i < hashes.Length; i++)
            {
                int d = PerceptualHash.Distance(h, hashes[i]);
                if (d < best) (best, bestIndex) = (d, i);
            }
            if (best <= options.HashThreshold) found.Add(new LeakagePair(t, stems[bestIndex], best));
            progress?.Invoke("Checking test photos", Interlocked.Increment(ref tdone), tests.Count);
        });
        return (found.OrderBy(l => Path.GetFileName(l.TestImage), NaturalSort.Instance).ToList(), tests.Count);
    }

    private static List<ClassShare> ClassShares(AuditOptions options, PairScan scan, int n) =>
        Enumerable.Range(0, scan.PixelCounts.Length).Select(c =>
        {
            double ps = scan.TotalPixels == 0 ? 0 : scan.PixelCounts[c] / (double)scan.TotalPixels;
            double imgs = n == 0 ? 0 : scan.ImageCounts[c] / (double)n;
            bool rare = scan.ImageCounts[c] == 0 || imgs < options.RareImageShare || ps < options.RarePixelShare;
            return new ClassShare(c, ps, imgs, scan.ImageCounts[c], rare);
        }).ToList();

    // One sentence per problem found, each with what to do about it.
    private static List<AuditProblem> Problems(AuditOptions options, int n, int effective, int clusterCount, List<LeakagePair> leakage,
        int testCount, List<ClassShare> classes, SceneKind scene, int recommended, List<(int W, int H, int)> sizeTable)
    {
        var problems = new List<AuditProblem>();
        if (clusterCount > 0)
            problems.Add(new AuditProblem("duplicates",
                $"{n - effective} of {n} photos are near-duplicates of another ({clusterCount} clusters): the data is worth about "
                + $"{effective} distinct examples, and consecutive video frames teach little new."));
        if (leakage.Count > 0)
            problems.Add(new AuditProblem("leakage",
                $"{leakage.Count} of {testCount} test photos have a near-duplicate in training (first: {Path.GetFileName(leakage[0].TestImage)} "
                + $"~ {leakage[0].TrainStem}): test scores will look better than they are; split by sequence (gansharp data split --mode grouped)."));
        var rareClasses = classes.Where(c => c.Rare && c.Images > 0).ToList();
        if (rareClasses.Count > 0)
            problems.Add(new AuditProblem("rare-classes",
                $"classes {string.Join(", ", rareClasses.Select(c => c.Class))} are rare (in under {options.RareImageShare:P0} of images or "
                + $"{options.RarePixelShare:P1} of pixels): GauGAN will paint them poorly; add examples that show them."));
        if (effective < recommended)
            problems.Add(new AuditProblem("size",
                $"{effective} effective examples is below the {recommended:N0} the guidance asks for "
                + $"{(scene == SceneKind.Street ? "dense street scenes (5,000-10,000)" : "texture-like data")}: expect blurry or repetitive "
                + "results, or collect more data."));
        int aspects = sizeTable.Select(s => Math.Round(s.W / (double)s.H, 2)).Distinct().Count();
        if (aspects > 1)
            problems.Add(new AuditProblem("aspect",
                $"the photos come in {aspects} aspect ratios: GauGAN trains at one size and aspect ratio, so crop or pad them to one."));
        return problems;
    }

    /// <summary>Near-duplicate groups (indices, two or more each) by union-find over pairs within the threshold.</summary>
    public static List<List<int>> Clusters(IReadOnlyList<ulong> hashes, int threshold)
    {
        int n = hashes.Count;
        var parent = Enumerable.Range(0, n).ToArray();
        int Find(int x)
        {
            while (parent[x] != x) x = parent[x] = parent[parent[x]];
            return x;
        }
        // All pairs: 10,000 photos are 5e7 popcounts, well under a second, so no index structure is needed.
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (PerceptualHash.Distance(hashes[i], hashes[j]) <= threshold)
                {
                    int a = Find(i), b = Find(j);
                    if (a != b) parent[Math.Max(a, b)] = Math.Min(a, b);
                }
        return Enumerable.Range(0, n).GroupBy(Find).Where(g => g.Count() > 1)
            .Select(g => g.ToList()).OrderByDescending(g => g.Count).ThenBy(g => g[0]).ToList();
    }
}

/// <summary>
/// A 64-bit DCT perceptual hash: the photo shrunk to a 32x32 gray thumbnail by area averaging, its 8x8
/// lowest-frequency DCT coefficients compared with their median. Resizing, re-encoding and shifts of a few pixels
/// move few bits; different scenes differ in about half.
/// </summary>
internal static class PerceptualHash
{
    private const int Thumb = 32, Low = 8;

    // cos((2x+1) u pi / 64) for the 8 lowest frequencies u.
    private static readonly double[,] Cos = BuildCos();

    private static double[,] BuildCos()
    {
        var c = new double[Low, Thumb];
        for (int u = 0; u < Low; u++)
            for (int x = 0; x < Thumb; x++)
                c[u, x] = Math.Cos((2 * x + 1) * u * Math.PI / (2 * Thumb));
        return c;
    }

    /// <summary>Hamming distance between two hashes (0..64).</summary>
    public static int Distance(ulong a, ulong b) => BitOperations.PopCount(a ^ b);

    /// <summary>Hashes a photo.</summary>
    public static ulong Compute(RgbImage image)
    {
        var g = GrayThumbnail(image);
        var t = new double[Low, Thumb];
        for (int u = 0; u < Low; u++)
            for (int y = 0; y < Thumb; y++)
            {
                double s = 0;
                for (int x = 0; x < Thumb; x++) s += Cos[u, x] * g[y * Thumb + x];
                t[u, y] = s;
            }
        var coef = new double[Low * Low];
        for (int u = 0; u < Low; u++)
            for (int v = 0; v < Low; v++)
            {
                double s = 0;
                for (int y = 0; y < Thumb; y++) s += Cos[v, y] * t[u, y];
                coef[v * Low + u] = s;
            }
        // The DC term measures brightness, not structure: leave it out of the median.
        var sorted = coef.Skip(1).Order().ToArray();
        double median = (sorted[31] + sorted[32]) / 2;
        ulong hash = 0;
        for (int k = 0; k < 64; k++)
            if (coef[k] > median) hash |= 1UL << k;
        return hash;
    }

    /// <summary>Luma thumbnail by area averaging: every source pixel contributes, so resized copies shrink alike.</summary>
    private static double[] GrayThumbnail(RgbImage image)
    {
        var sum = new double[Thumb * Thumb];
        var weight = new double[Thumb * Thumb];
        int w = image.Width, h = image.Height;
        var px = image.Pixels;
        for (int y = 0; y < h; y++)
        {
            int ty = (int)((long)y * Thumb / h);
            for (int x = 0; x < w; x++)
            {
                int tx = (int)((long)x * Thumb / w);
                int i = (y * w + x) * 3;
                sum[ty * Thumb + tx] += 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
                weight[ty * Thumb + tx]++;
            }
        }
        for (int k = 0; k < sum.Length; k++) sum[k] = weight[k] > 0 ? sum[k] / weight[k] : 0;
        return sum;
    }
}
