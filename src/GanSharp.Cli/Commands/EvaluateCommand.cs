using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using GanSharp.Evaluation;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp evaluate</c>: score a folder of fakes against reals (FID, KID, IS, PR, SSIM, PSNR, mIoU).</summary>
public static class EvaluateCommand
{
    private static readonly Option<string?> Fake = new("--fake") { Description = "Folder of generated images (or give --results)." };
    private static readonly Option<string?> Results = new("--results")
    {
        Description = "A test page of `gansharp test` "
        + "(results/<name>/test_<epoch>): its synthesized_image folder is --fake and its real_image folder the default --real."
    };
    private static readonly Option<string?> Real = new("--real")
    {
        Description = "Folder of real images (FID, KID, PR; SSIM/PSNR pair with it by "
        + "file stem)."
    };
    private static readonly Option<string?> Metrics = new("--metrics")
    {
        Description = "Comma-separated: fid,kid,is,pr,ssim,psnr,miou. Default: fid,kid when Inception weights are given (option or "
            + InceptionWeights.EnvironmentVariable + "), else ssim,psnr; miou is added when --segmenter is given.",
    };
    private static readonly Option<string?> Weights = new("--inception-weights")
    {
        Description = $"Path of {InceptionWeights.FileName} (from the pytorch-fid GitHub release) or a .safetensors copy of it; default "
            + $"${InceptionWeights.EnvironmentVariable}.",
    };
    private static readonly Option<string> Resize = new("--resize")
    {
        Description = "Resize to 299: 'pytorch' (bilinear, as pytorch-fid) or 'tf1' (TF1 legacy bilinear, for TF-comparable numbers).",
        DefaultValueFactory = _ => "pytorch",
    };
    private static readonly Option<int> BatchSize = new("--batch-size") { Description = "Inception batch size.", DefaultValueFactory = _ => 32 };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seed of the KID subset draws.", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> KidSubsets = new("--kid-subsets") { Description = "Number of KID subsets.", DefaultValueFactory = _ => 100 };
    private static readonly Option<int> KidSubsetSize = new("--kid-subset-size")
    {
        Description = "KID subset size (capped by the image counts).",
        DefaultValueFactory = _ => 1000
    };
    private static readonly Option<string> Ssim = new("--ssim")
    {
        Description = "SSIM form: 'wang' (Gaussian σ=1.5, population covariance) or 'plain' (7x7 uniform, sample covariance; skimage's default).",
        DefaultValueFactory = _ => "wang",
    };
    private static readonly Option<string?> Segmenter = new("--segmenter") { Description = "ONNX segmentation model for mIoU." };
    private static readonly Option<string?> LabelDir = new("--label-dir")
    {
        Description = "Ground-truth label maps (gray or palette PNG, or .npy; "
        + "the value is the class), paired with the fakes by stem."
    };
    private static readonly Option<int> NumClasses = new("--num-classes") { Description = "Number of segmentation classes (mIoU)." };
    private static readonly Option<int> IgnoreIndex = new("--ignore-index")
    {
        Description = "Don't-care label value (mIoU).",
        DefaultValueFactory = _ => 255
    };
    private static readonly Option<string> SegLayout = new("--seg-layout")
    {
        Description = "Segmenter input layout: nchw or nhwc.",
        DefaultValueFactory = _ => "nchw"
    };
    private static readonly Option<string> SegOutput = new("--seg-output")
    {
        Description = "Segmenter output: 'logits' ([N,C,H,W], argmax taken) or "
        + "'labels' ([N,H,W] class indices).", DefaultValueFactory = _ => "logits"
    };
    private static readonly Option<string?> SegMean = new("--seg-mean")
    {
        Description = "Per-channel mean subtracted from [0,1] RGB, e.g. "
        + "0.485,0.456,0.406 (default 0,0,0)."
    };
    private static readonly Option<string?> SegStd = new("--seg-std")
    {
        Description = "Per-channel std divided by, e.g. 0.229,0.224,0.225 (default "
        + "1,1,1)."
    };
    private static readonly Option<string?> Json = new("--json")
    {
        Description = "Write all scores, protocols and per-image values to this JSON file "
        + "(atomically)."
    };
    private static readonly Option<string?> StatsCache = new("--stats-cache")
    {
        Description = "Folder caching real-image Inception statistics "
        + "(default ~/.cache/gansharp/fid-stats)."
    };
    private static readonly Option<bool> NoStatsCache = new("--no-stats-cache") { Description = "Always recompute the real-image statistics." };

    public static Command Create()
    {
        var cmd = new Command("evaluate", "Score generated images against real ones: FID, KID, IS, precision/recall, SSIM, PSNR, mIoU.");
        foreach (var o in new Option[] { Fake, Results, Real, Metrics, Weights, Resize, BatchSize, Seed, KidSubsets, KidSubsetSize, Ssim, Segmenter,
                     LabelDir, NumClasses, IgnoreIndex, SegLayout, SegOutput, SegMean, SegStd, Json, StatsCache, NoStatsCache })
            cmd.Options.Add(o);
        cmd.SetGuardedAction((parse, token) =>
        {
            var (req, why) = BuildRequest(parse);
            AnsiConsole.MarkupLineInterpolated($"metrics: [bold]{string.Join(",", req.Metrics).ToLowerInvariant()}[/] ({why})");
            EvaluationResult result = null!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var tasks = new Dictionary<string, ProgressTask>();
                    var progress = new SyncProgress(p =>
                    {
                        if (!tasks.TryGetValue(p.Stage, out var t))
                            tasks[p.Stage] = t = ctx.AddTask(p.Stage, maxValue: p.Total);
                        t.Value = p.Done;
                    });
                    result = Evaluator.Run(req, progress, token);
                });
            var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned())
                .AddColumn(new TableColumn("std").RightAligned());
            foreach (var s in result.Scores)
                table.AddRow(Markup.Escape(s.Name), Format(s.Value), s.Std is { } sd ? Format(sd) : "");
            AnsiConsole.Write(table);
            foreach (var s in result.Scores)
                AnsiConsole.MarkupLineInterpolated($"[grey]{s.Name}: {s.Protocol}[/]");
            if (result.RealStatsFromCache) AnsiConsole.MarkupLine("[grey]real-image features reused from the statistics cache[/]");
            if (parse.GetValue(Json) is { } jsonPath)
            {
                AtomicFile.WriteAllText(jsonPath, ToJson(result));
                AnsiConsole.MarkupLineInterpolated($"wrote {jsonPath}");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The library request for a parsed command line, and why those metrics were chosen; runs nothing.</summary>
    public static (EvaluationRequest Request, string Why) BuildRequest(ParseResult parse)
    {
        string? weights = InceptionWeights.Resolve(parse.GetValue(Weights));
        string? segmenter = parse.GetValue(Segmenter);
        var (metrics, why) = ChooseMetrics(parse, weights, segmenter);
        string? cache = parse.GetValue(NoStatsCache) ? null : parse.GetValue(StatsCache) ?? RealStatsCache.DefaultDirectory;
        var req = new EvaluationRequest(
            FakeDir: FakeFolder(parse),
            RealDir: parse.GetValue(Real) ?? (parse.GetValue(Results) is { } r ? Path.Combine(r, "images", "real_image") : null),
            Metrics: metrics,
            InceptionWeights: weights,
            Resize: parse.GetValue(Resize)!.ToLowerInvariant() switch
            {
                "pytorch" => ResizeMode.PyTorchBilinear,
                "tf1" => ResizeMode.Tf1LegacyBilinear,
                var v => throw new GanSharpException(ErrorKind.Usage, $"--resize {v} is not known: use pytorch or tf1."),
            },
            BatchSize: Positive(parse.GetValue(BatchSize), "--batch-size"),
            Seed: parse.GetValue(Seed),
            KidSubsets: Positive(parse.GetValue(KidSubsets), "--kid-subsets"),
            KidSubsetSize: Positive(parse.GetValue(KidSubsetSize), "--kid-subset-size"),
            Ssim: parse.GetValue(Ssim)!.ToLowerInvariant() switch
            {
                "wang" => SsimOptions.Wang,
                "plain" => SsimOptions.Plain,
                var v => throw new GanSharpException(ErrorKind.Usage, $"--ssim {v} is not known: use wang or plain."),
            },
            Segmenter: segmenter,
            SegmenterOptions: SegmenterOptionsOf(parse),
            LabelDir: parse.GetValue(LabelDir),
            NumClasses: parse.GetValue(NumClasses),
            IgnoreIndex: parse.GetValue(IgnoreIndex),
            StatsCacheDir: cache);
        return (req, why);
    }

    // The metrics asked for, or the defaults the inputs allow, and a note on why.
    private static (List<Metric> Metrics, string Why) ChooseMetrics(ParseResult parse, string? weights, string? segmenter)
    {
        if (parse.GetValue(Metrics) is { } list)
            return (list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseMetric).Distinct().ToList(),
                "as requested");
        List<Metric> metrics = weights is not null ? [Metric.Fid, Metric.Kid] : [Metric.Ssim, Metric.Psnr];
        if (segmenter is not null) metrics.Add(Metric.MIoU);
        return (metrics,
            weights is not null ? "default with Inception weights" : "default without Inception weights; pass --inception-weights for FID/KID");
    }

    private static SegmenterOptions SegmenterOptionsOf(ParseResult parse) => new(
        parse.GetValue(SegLayout)!.ToLowerInvariant() switch
        {
            "nchw" => SegmenterLayout.Nchw,
            "nhwc" => SegmenterLayout.Nhwc,
            var v => throw new GanSharpException(ErrorKind.Usage, $"--seg-layout {v} is not known: use nchw or nhwc."),
        },
        parse.GetValue(SegOutput)!.ToLowerInvariant() switch
        {
            "logits" => SegmenterOutput.LogitsNchw,
            "labels" => SegmenterOutput.LabelMap,
            var v => throw new GanSharpException(ErrorKind.Usage, $"--seg-output {v} is not known: use logits or labels."),
        },
        Triple(parse.GetValue(SegMean), "--seg-mean"),
        Triple(parse.GetValue(SegStd), "--seg-std"));

    private static Metric ParseMetric(string s) => s.ToLowerInvariant() switch
    {
        "fid" => Metric.Fid,
        "kid" => Metric.Kid,
        "is" => Metric.Is,
        "pr" => Metric.Pr,
        "ssim" => Metric.Ssim,
        "psnr" => Metric.Psnr,
        "miou" => Metric.MIoU,
        _ => throw new GanSharpException(ErrorKind.Usage, $"--metrics has the unknown metric '{s}': choose from fid,kid,is,pr,ssim,psnr,miou."),
    };

    private static int Positive(int v, string name) =>
        v >= 1 ? v : throw new GanSharpException(ErrorKind.Usage, $"{name} must be at least 1, got {v}.");

    private static double[]? Triple(string? v, string name)
    {
        if (v is null) return null;
        var parts = v.Split(',', StringSplitOptions.TrimEntries);
        var result = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out result[i]))
                throw new GanSharpException(ErrorKind.Usage, $"{name} {v} is not a list of numbers: write three values like 0.485,0.456,0.406.");
        if (result.Length != 3)
            throw new GanSharpException(ErrorKind.Usage, $"{name} needs three comma-separated values (R,G,B), got {result.Length}.");
        return result;
    }

    private static string Format(double v) => v.ToString(Math.Abs(v) >= 0.01 || v == 0 ? "F4" : "G4", CultureInfo.InvariantCulture);

    internal static string ToJson(EvaluationResult r) => JsonSerializer.Serialize(new
    {
        scores = r.Scores.Select(s => new { name = s.Name, value = s.Value, std = s.Std, protocol = s.Protocol }),
        per_image = r.PerImage,
        class_iou = r.ClassIoU,
        real_stats_from_cache = r.RealStatsFromCache,
    }, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        // NaN (a class never present) and +∞ (PSNR of identical images) are honest values, not errors
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and race the bar).</summary>
    private sealed class SyncProgress(Action<EvaluationProgress> report) : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress value) => report(value);
    }

    /// <summary>The fakes: --fake, or the synthesized_image folder of a --results page; exactly one of them.</summary>
    internal static string FakeFolder(ParseResult parse)
    {
        string? fake = parse.GetValue(Fake), results = parse.GetValue(Results);
        if (fake is null == results is null)
            throw new GanSharpException(ErrorKind.Usage,
                "Give either --fake DIR (generated images) or --results DIR (a page of gansharp test), not both or neither.");
        return fake ?? Path.Combine(results!, "images", "synthesized_image");
    }
}
