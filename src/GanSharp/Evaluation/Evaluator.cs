using System.Globalization;
using GanSharp.Data;

namespace GanSharp.Evaluation;

/// <summary>The metrics <c>gansharp evaluate</c> and <see cref="Evaluator"/> compute.</summary>
public enum Metric
{
    /// <summary>Fréchet Inception Distance (needs Inception weights).</summary>
    Fid,
    /// <summary>Kernel Inception Distance (needs Inception weights).</summary>
    Kid,
    /// <summary>Inception Score of the fakes (needs Inception weights).</summary>
    Is,
    /// <summary>Improved precision and recall, k = 3 (needs Inception weights).</summary>
    Pr,
    /// <summary>SSIM, paired by file stem.</summary>
    Ssim,
    /// <summary>PSNR, paired by file stem.</summary>
    Psnr,
    /// <summary>mIoU and pixel accuracy of an ONNX segmenter's output on the fakes against label maps.</summary>
    MIoU,
}

/// <summary>Everything one folder evaluation needs; validated by <see cref="Evaluator.Run"/>.</summary>
/// <param name="FakeDir">Folder of generated images.</param>
/// <param name="RealDir">Folder of real images (FID/KID/PR and paired SSIM/PSNR).</param>
/// <param name="Metrics">Metrics to compute.</param>
/// <param name="InceptionWeights">Path of pt_inception-2015-12-05-6726825d.pth (feature metrics).</param>
/// <param name="Resize">Resize rule to 299 (part of the protocol).</param>
/// <param name="BatchSize">Inception batch size.</param>
/// <param name="Seed">Seed of KID's subset draws.</param>
/// <param name="KidSubsets">Number of KID subsets.</param>
/// <param name="KidSubsetSize">Upper bound of the KID subset size.</param>
/// <param name="IsSplits">Inception Score splits.</param>
/// <param name="PrK">k of precision/recall.</param>
/// <param name="Ssim">SSIM settings (Wang et al. by default).</param>
/// <param name="Segmenter">ONNX segmenter for mIoU.</param>
/// <param name="SegmenterOptions">Segmenter input/output conventions.</param>
/// <param name="LabelDir">Ground-truth label maps (gray/palette PNG or .npy, read by LabelIO) paired with the fakes by stem.</param>
/// <param name="NumClasses">Number of classes for mIoU.</param>
/// <param name="IgnoreIndex">Don't-care label value.</param>
/// <param name="StatsCacheDir">Where real-image statistics are cached (null: no cache).</param>
public sealed record EvaluationRequest(
    string FakeDir,
    string? RealDir,
    IReadOnlyList<Metric> Metrics,
    string? InceptionWeights = null,
    ResizeMode Resize = ResizeMode.PyTorchBilinear,
    int BatchSize = 32,
    int Seed = 0,
    int KidSubsets = 100,
    int KidSubsetSize = 1000,
    int IsSplits = 10,
    int PrK = 3,
    SsimOptions? Ssim = null,
    string? Segmenter = null,
    SegmenterOptions? SegmenterOptions = null,
    string? LabelDir = null,
    int NumClasses = 0,
    int IgnoreIndex = 255,
    string? StatsCacheDir = null);

/// <summary>Progress of a long stage: <paramref name="Stage"/> has done <paramref name="Done"/> of <paramref name="Total"/>.</summary>
public readonly record struct EvaluationProgress(string Stage, int Done, int Total);

/// <summary>One score with the protocol that produced it (the protocol changes the number, so they travel together).</summary>
public sealed record Score(string Name, double Value, double? Std, string Protocol);

/// <summary>All scores of one evaluation, plus per-image values of the paired metrics.</summary>
public sealed record EvaluationResult(
    IReadOnlyList<Score> Scores,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> PerImage,
    IReadOnlyList<double>? ClassIoU,
    bool RealStatsFromCache);

/// <summary>
/// Evaluation of a folder of fakes against reals (and label maps), and a tensor-level API for the trainer.
/// </summary>
public static class Evaluator
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"];
    private static readonly string[] LabelExtensions = [".png", ".npy"];

    /// <summary>Metrics that need the Inception network.</summary>
    public static bool NeedsInception(Metric m) => m is Metric.Fid or Metric.Kid or Metric.Is or Metric.Pr;

    /// <summary>Image files of a folder (not recursive), sorted by name.</summary>
    public static IReadOnlyList<string> ListImages(string dir, string what) => ListFiles(dir, what, ImageExtensions);

    private static List<string> ListFiles(string dir, string what, string[] extensions)
    {
        if (!Directory.Exists(dir))
            throw new GanSharpException(ErrorKind.BadInput, $"the {what} folder {dir} does not exist: check the path.");
        var files = Directory.EnumerateFiles(dir)
            .Where(f => extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new GanSharpException(ErrorKind.Data, $"the {what} folder {dir} contains no {string.Join("/", extensions)} files.");
        return files;
    }

    /// <summary>
    /// Pairs every fake with the file of the same stem in <paramref name="others"/>; extra files there are ignored,
    /// a fake without a partner is an error that lists the first stems.
    /// </summary>
    public static IReadOnlyList<(string Stem, string Fake, string Other)> PairByStem(IReadOnlyList<string> fakes, IReadOnlyList<string> others,
        string otherWhat)
    {
        var byStem = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in others)
            if (!byStem.TryAdd(Path.GetFileNameWithoutExtension(o), o))
                throw new GanSharpException(ErrorKind.Data,
                    $"two {otherWhat} files share the stem {Path.GetFileNameWithoutExtension(o)}: keep one per stem so pairing is unambiguous.");
        var unpaired = fakes.Select(f => Path.GetFileNameWithoutExtension(f)).Where(s => !byStem.ContainsKey(s)).ToList();
        if (unpaired.Count > 0)
            throw new GanSharpException(ErrorKind.Data,
                $"{unpaired.Count} fake image(s) have no {otherWhat} file of the same stem "
                    + $"({string.Join(", ", unpaired.Take(10))}{(unpaired.Count > 10 ? ", ..." : "")}): paired metrics match files by name without "
                        + $"extension.");
        return fakes.Select(f => (Path.GetFileNameWithoutExtension(f), f, byStem[Path.GetFileNameWithoutExtension(f)])).ToList();
    }

    /// <summary>Runs the requested metrics on folders.</summary>
    public static EvaluationResult Run(EvaluationRequest req, IProgress<EvaluationProgress>? progress = null, CancellationToken token = default) =>
        RunWith(req, network: null, progress, token);

    // network builds the Inception network: tests pass deterministic weights, null loads the real file
    internal static EvaluationResult RunWith(EvaluationRequest req, Func<FidInceptionV3>? network,
        IProgress<EvaluationProgress>? progress, CancellationToken token)
    {
        var (fakes, reals, paired, labelPairs) = Inputs(req);
        var scores = new List<Score>();
        var perImage = new Dictionary<string, IReadOnlyDictionary<string, double>>();
        bool fromCache = req.Metrics.Any(NeedsInception) && InceptionScores(req, network, fakes, reals, scores, progress, token);
        if (paired is not null) PairedScores(req, paired, scores, perImage, progress, token);
        var classIoU = labelPairs is null ? null : SegmentationScores(req, labelPairs, scores, progress, token);
        return new EvaluationResult(scores, perImage, classIoU, fromCache);
    }

    // Lists and pairs the images, refusing a request that misses an input before any long computation.
    private static (IReadOnlyList<string> Fakes, IReadOnlyList<string> Reals, IReadOnlyList<(string Stem, string Fake, string Other)>? Paired,
        IReadOnlyList<(string Stem, string Fake, string Other)>? LabelPairs) Inputs(EvaluationRequest req)
    {
        if (req.Metrics.Count == 0)
            throw new GanSharpException(ErrorKind.Usage, "no metric was requested: pass --metrics, e.g. fid,kid or ssim,psnr.");
        var fakes = ListImages(req.FakeDir, "fake");
        bool needsReal = req.Metrics.Any(m => m is Metric.Fid or Metric.Kid or Metric.Pr or Metric.Ssim or Metric.Psnr);
        if (needsReal && req.RealDir is null)
            throw new GanSharpException(ErrorKind.Usage,
                $"{string.Join(", ", req.Metrics.Where(m => m != Metric.Is && m != Metric.MIoU))} need --real: pass the folder of real images.");
        var reals = needsReal ? ListImages(req.RealDir!, "real") : [];
        var paired = req.Metrics.Any(m => m is Metric.Ssim or Metric.Psnr) ? PairByStem(fakes, reals, "real") : null;
        if (!req.Metrics.Contains(Metric.MIoU)) return (fakes, reals, paired, null);
        if (req.Segmenter is null)
            throw new GanSharpException(ErrorKind.Usage, "mIoU needs --segmenter: pass an ONNX segmentation model.");
        if (req.LabelDir is null)
            throw new GanSharpException(ErrorKind.Usage, "mIoU needs --label-dir: pass the folder of ground-truth label maps.");
        if (req.NumClasses < 1)
            throw new GanSharpException(ErrorKind.Usage, "mIoU needs --num-classes: pass the segmenter's number of classes.");
        return (fakes, reals, paired, PairByStem(fakes, ListFiles(req.LabelDir, "label", LabelExtensions), "label"));
    }

    // The Inception network and a description of its weights for the protocol line.
    private static (Func<FidInceptionV3> Network, string WeightsTag) Inception(EvaluationRequest req, Func<FidInceptionV3>? network)
    {
        if (network is not null) return (network, "caller-supplied network");
        string weights = InceptionWeights.Resolve(req.InceptionWeights)
            ?? throw new GanSharpException(ErrorKind.BadInput,
                $"FID, KID, IS and precision/recall need the Inception weights: download {InceptionWeights.FileName} from "
                + $"{InceptionWeights.DownloadUrl} and pass it with --inception-weights or {InceptionWeights.EnvironmentVariable}.");
        string tag = File.Exists(weights) ? $"{Path.GetFileName(weights)} ({new FileInfo(weights).Length} bytes)" : weights;
        return (() => InceptionWeights.LoadPretrained(weights), tag);
    }

    // FID, KID, IS and precision/recall on Inception features; returns whether the real features came from the cache.
    private static bool InceptionScores(EvaluationRequest req, Func<FidInceptionV3>? network, IReadOnlyList<string> fakes,
        IReadOnlyList<string> reals, List<Score> scores, IProgress<EvaluationProgress>? progress, CancellationToken token)
    {
        var (build, weightsTag) = Inception(req, network);
        using var extractor = new InceptionFeatureExtractor(build(), req.Resize);
        string protocol = $"pool3 2048-d, resize 299 {req.Resize}, uint8 input, weights {weightsTag}";
        var fakeOut = Extract(extractor, fakes, "fake features", req.BatchSize, progress, token);
        InceptionOutputs? realOut = null;
        bool fromCache = false;
        if (req.Metrics.Any(m => m is Metric.Fid or Metric.Kid or Metric.Pr))
            (realOut, fromCache) = RealFeatures(extractor, reals, req, protocol, progress, token);
        string counts = $"{fakes.Count} fakes from {req.FakeDir} vs {reals.Count} reals from {req.RealDir} (all files)";
        if (req.Metrics.Contains(Metric.Fid))
        {
            double fid = Frechet.Distance(GaussianStats.FromFeatures(fakeOut.Pool3), GaussianStats.FromFeatures(realOut!.Pool3));
            scores.Add(new Score("FID", fid, null, $"pytorch-fid: {protocol}; {counts}"));
        }
        if (req.Metrics.Contains(Metric.Kid))
        {
            var kid = FeatureMetrics.Kid(realOut!.Pool3, fakeOut.Pool3, req.KidSubsets, req.KidSubsetSize, req.Seed);
            scores.Add(new Score("KID", kid.Mean, kid.Std,
                $"unbiased MMD², cubic kernel, {kid.Subsets} subsets of {kid.SubsetSize}, seed {kid.Seed}; {protocol}; {counts}"));
        }
        if (req.Metrics.Contains(Metric.Is))
        {
            var isr = FeatureMetrics.InceptionScore(fakeOut.Logits, req.IsSplits);
            scores.Add(new Score("IS", isr.Mean, isr.Std, "1008 logits without the fc bias (torch-fidelity's logits_unbiased), "
                + $"{isr.Splits} splits in file order; {protocol}; {fakes.Count} fakes"));
        }
        if (req.Metrics.Contains(Metric.Pr))
        {
            var pr = FeatureMetrics.PrecisionRecall(realOut!.Pool3, fakeOut.Pool3, req.PrK);
            string p = $"Kynkäänniemi et al., k = {pr.K}, Inception pool3 features; {protocol}; {counts}";
            scores.Add(new Score("precision", pr.Precision, null, p));
            scores.Add(new Score("recall", pr.Recall, null, p));
        }
        return fromCache;
    }

    // SSIM and PSNR of the fakes against the reals of the same stem.
    private static void PairedScores(EvaluationRequest req, IReadOnlyList<(string Stem, string Fake, string Other)> paired,
        List<Score> scores, Dictionary<string, IReadOnlyDictionary<string, double>> perImage, IProgress<EvaluationProgress>? progress,
        CancellationToken token)
    {
        var ssimOpt = req.Ssim ?? SsimOptions.Wang;
        var ssim = new Dictionary<string, double>();
        var psnr = new Dictionary<string, double>();
        int done = 0;
        foreach (var (stem, fake, real) in paired)
        {
            token.ThrowIfCancellationRequested();
            var a = ImageIO.ReadRgb(real);
            var b = ImageIO.ReadRgb(fake);
            if (a.Width != b.Width || a.Height != b.Height)
                throw new GanSharpException(ErrorKind.Data, $"the pair {stem} has sizes {b.Width}x{b.Height} (fake) and "
                    + $"{a.Width}x{a.Height} (real): paired metrics need equal sizes, so save fakes at the reals' size.");
            if (req.Metrics.Contains(Metric.Ssim)) ssim[stem] = ImageQuality.Ssim(a, b, ssimOpt);
            if (req.Metrics.Contains(Metric.Psnr)) psnr[stem] = ImageQuality.Psnr(a, b);
            progress?.Report(new EvaluationProgress("SSIM/PSNR pairs", ++done, paired.Count));
        }
        string pp = $"{paired.Count} pairs by stem, data range 255, grayscale pairs on one channel, RGB channel-averaged";
        if (ssim.Count > 0)
        {
            scores.Add(new Score("SSIM", ssim.Values.Average(), StdOf(ssim.Values),
                $"skimage structural_similarity ({SsimProtocol(ssimOpt)}); {pp}"));
            perImage["ssim"] = ssim;
        }
        if (psnr.Count > 0)
        {
            // mean of per-image PSNR (dB); identical pairs (+∞) would dominate, so report them and leave them out
            var finite = psnr.Values.Where(double.IsFinite).ToList();
            string left = finite.Count < psnr.Count ? $"; {psnr.Count - finite.Count} identical pairs (infinite) left out of the mean" : "";
            scores.Add(new Score("PSNR", finite.Count > 0 ? finite.Average() : double.PositiveInfinity, finite.Count > 0 ? StdOf(finite) : null,
                $"skimage peak_signal_noise_ratio, mean of per-image dB; {pp}{left}"));
            perImage["psnr"] = psnr;
        }
    }

    private static string SsimProtocol(SsimOptions o) =>
        (o.Window == SsimWindow.Gaussian ? $"Gaussian σ={o.Sigma.ToString(CultureInfo.InvariantCulture)}" : $"uniform {o.WinSize}x{o.WinSize}")
        + $", {(o.SampleCovariance ? "sample" : "population")} covariance";

    // mIoU and pixel accuracy of the segmenter on the fakes against the label maps; returns the IoU per class.
    private static double[] SegmentationScores(EvaluationRequest req, IReadOnlyList<(string Stem, string Fake, string Other)> labelPairs,
        List<Score> scores, IProgress<EvaluationProgress>? progress, CancellationToken token)
    {
        using var seg = new OnnxSegmenter(req.Segmenter!, req.SegmenterOptions);
        var cm = new ConfusionMatrix(req.NumClasses, req.IgnoreIndex);
        int done = 0;
        foreach (var (stem, fake, label) in labelPairs)
        {
            token.ThrowIfCancellationRequested();
            var img = ImageIO.ReadRgb(fake);
            var labels = LabelIO.Read(label);
            if (labels.Width != img.Width || labels.Height != img.Height)
                throw new GanSharpException(ErrorKind.Data, $"the pair {stem} has a {img.Width}x{img.Height} fake but a "
                    + $"{labels.Width}x{labels.Height} label map: paired metrics need equal sizes.");
            cm.Add(labels.Values, seg.Predict(img), stem);
            progress?.Report(new EvaluationProgress("segmentation", ++done, labelPairs.Count));
        }
        string p = $"ONNX segmenter {Path.GetFileName(req.Segmenter)} on {labelPairs.Count} fakes vs label maps in {req.LabelDir}, "
            + $"{req.NumClasses} classes, ignore label {req.IgnoreIndex}, classes absent from truth and prediction skipped";
        scores.Add(new Score("mIoU", cm.MeanIoU, null, p));
        scores.Add(new Score("pixel accuracy", cm.PixelAccuracy, null, p));
        return cm.ClassIoU();
    }

    private static InceptionOutputs Extract(InceptionFeatureExtractor ex, IReadOnlyList<string> files, string stage, int batch,
        IProgress<EvaluationProgress>? progress, CancellationToken token) =>
        ex.Extract(files.Count, i =>
        {
            token.ThrowIfCancellationRequested();
            return ImageIO.ReadRgb(files[i]);
        }, batch, done => progress?.Report(new EvaluationProgress(stage, done, files.Count)));

    private static (InceptionOutputs, bool FromCache) RealFeatures(InceptionFeatureExtractor ex, IReadOnlyList<string> reals,
        EvaluationRequest req, string protocol, IProgress<EvaluationProgress>? progress, CancellationToken token)
    {
        if (req.StatsCacheDir is null) return (Extract(ex, reals, "real features", req.BatchSize, progress, token), false);
        var cache = new RealStatsCache(req.StatsCacheDir);
        string hash = RealStatsCache.ContentHash(reals);
        var hit = cache.TryLoad(hash, protocol);
        if (hit is not null) return (new InceptionOutputs(hit.Pool3, hit.Logits), true);
        var outputs = Extract(ex, reals, "real features", req.BatchSize, progress, token);
        cache.Save(new RealStatsCache.Entry(Path.GetFullPath(req.RealDir!), reals.Count, hash, protocol,
            GaussianStats.FromFeatures(outputs.Pool3), outputs.Pool3, outputs.Logits));
        return (outputs, false);
    }

    private static double StdOf(IEnumerable<double> values)
    {
        var v = values.ToList();
        double mean = v.Average();
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Count);
    }
}
