using System.Diagnostics;
using System.Globalization;
using GanSharp.Data;
using GanSharp.Data.Tools;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Options;
using GanSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Planning;

/// <summary>
/// What <c>gansharp plan</c> is asked about: a SPADE training's data and network options (the same records, and the
/// same flags, as <c>gansharp train</c>), and the budget.
/// </summary>
public sealed record PlanOptions
{
    /// <summary>
    /// The options of <c>train</c> that set cost, by train's names: the folders to audit, the data facts that shape the
    /// networks, the batch size, and every network option.
    /// </summary>
    public static OptionCatalog<SpadeRunOptions> Catalog { get; } = new OptionCatalog<SpadeRunOptions>(
        new IOptionSpec<DataOptions>[]
        {
            DataOptionSpecs.LabelDir, DataOptionSpecs.ImageDir, DataOptionSpecs.LabelNc, DataOptionSpecs.ContainDontcareLabel,
            DataOptionSpecs.NoInstance, DataOptionSpecs.CropSize, DataOptionSpecs.AspectRatio, DataOptionSpecs.BatchSize,
        }.Select(s => SpadeOptionCatalog.Data.ByFlag(s.Flag)!)) + SpadeOptionCatalog.Model;

    /// <summary>The data options (crop width, aspect ratio, classes, batch size); its folders are audited when given.</summary>
    public DataOptions Data { get; init; } = DataOptions.Create("", "", isTrain: true);

    /// <summary>The networks (their data facts are <see cref="Data"/>'s).</summary>
    public SpadeModelOptions Model { get; init; } = new();

    /// <summary>Training crop width (the reference's crop_size); height follows from the aspect ratio.</summary>
    public int CropSize => Data.CropSize;

    public int BatchSize => Data.BatchSize;

    /// <summary>Training pairs (from --dataset-size or the audit); null leaves the whole-training time out.</summary>
    public int? DatasetSize { get; init; }

    /// <summary>Training epochs: the reference's niter + niter_decay.</summary>
    public int Epochs { get; init; } = new OptimOptions().TotalEpochs;

    /// <summary>Memory available for training, in GB (1e9 bytes); null skips the largest-batch answer.</summary>
    public double? MemoryGb { get; init; }

    /// <summary>Throws a one-sentence usage error for values no model can be built with.</summary>
    public void Validate()
    {
        string crop = DataOptionSpecs.CropSize.Flag;
        if (CropSize < 32 || CropSize % 32 != 0)
            throw new GanSharpException(ErrorKind.Usage,
                $"{crop} {CropSize} must be a multiple of 32 (the generator upsamples 5 times), at least 32.");
        if (!(Data.AspectRatio > 0))
            throw new GanSharpException(ErrorKind.Usage,
                $"{DataOptionSpecs.AspectRatio.Flag} {Data.AspectRatio} must be a positive number (width / height).");
        if (Model.Ngf < 1 || Model.Ndf < 1 || Model.NumD < 1 || Model.NLayersD < 1 || Data.LabelNc < 1 || BatchSize < 1 || Epochs < 1)
            throw new GanSharpException(ErrorKind.Usage,
                $"{ModelOptionSpecs.Ngf.Flag}, {ModelOptionSpecs.Ndf.Flag}, {ModelOptionSpecs.NumD.Flag}, {ModelOptionSpecs.NLayersD.Flag}, "
                + $"{DataOptionSpecs.LabelNc.Flag}, {DataOptionSpecs.BatchSize.Flag} and {FamilyOptionSpecs.Epochs.Flag} must all be at least 1.");
    }

    /// <summary>The model options at a given crop width (the probes use small crops of the same network).</summary>
    public SpadeModelOptions ModelOptions(int crop) => new SpadeRunOptions { Data = Data with { CropSize = crop }, Model = Model }.Model;

    /// <summary>Generator output (= training image) height for a crop width: the generator's own sh * 2^5.</summary>
    public int HeightFor(int crop) => Math.Max(1, (int)Math.Round(crop / 32 / Data.AspectRatio)) * 32;
}

/// <summary>
/// One measured training run: seconds per iteration (median), the process's peak resident memory while building the
/// model (<paramref name="BuildPeakMb"/>) and while training (<paramref name="PeakMb"/>, measured after resetting
/// the high-water mark, so it holds weights, gradients, Adam's moments and activations but not construction's
/// transient copies).
/// </summary>
public sealed record ProbeMeasurement(int Crop, int Height, double SecondsPerIteration, double PeakMb, double BuildPeakMb = 0)
{
    /// <summary>Pixels of one example.</summary>
    public double Pixels => (double)Crop * Height;
}

/// <summary>Parameter counts of the three networks.</summary>
public sealed record ParameterCounts(long Generator, long Discriminator, long Encoder)
{
    public long Total => Generator + Discriminator + Encoder;
}

/// <summary>
/// The estimate, from two probes of the same network at two small crops. The model: peak memory = max(B, M0 + m *
/// pixels * batch), where B is the peak while building the networks (size-independent: initialisation makes
/// transient copies of the weights), and M0 (runtime, libtorch, weights, gradients and Adam's two moments) does not depend on the image size
/// and m is the bytes of activations kept for backward per pixel, which every layer of a fully convolutional network
/// has in proportion to its feature-map area. Time per iteration = T0 + t * pixels * batch likewise: convolution
/// FLOPs are proportional to the feature-map area, and T0 is per-step overhead (optimizer, spectral-norm power
/// iterations, dispatch). Two probes give both lines exactly.
/// </summary>
public sealed record PlanEstimate
{
    public required PlanOptions Options { get; init; }
    public required ParameterCounts Parameters { get; init; }
    public required ProbeMeasurement Small { get; init; }
    public required ProbeMeasurement Large { get; init; }

    /// <summary>Size-independent memory, MB.</summary>
    public required double FixedMb { get; init; }

    /// <summary>Activation memory per megapixel of one example, MB.</summary>
    public required double MbPerMegapixel { get; init; }

    public required double FixedSeconds { get; init; }
    public required double SecondsPerMegapixel { get; init; }

    /// <summary>Pixels of one example at the requested size.</summary>
    public double Pixels => (double)Options.CropSize * Options.HeightFor(Options.CropSize);

    /// <summary>Activation memory of one example at the requested size, MB.</summary>
    public double MbPerExample => MbPerMegapixel * Pixels / 1e6;

    /// <summary>Peak memory of training at the requested size and batch, MB.</summary>
    public double PeakMb => Math.Max(BuildPeakMb, FixedMb + MbPerExample * Options.BatchSize);

    /// <summary>Peak while building the networks, MB (the larger of the two probes').</summary>
    public double BuildPeakMb { get; init; }

    public double SecondsPerIteration => FixedSeconds + SecondsPerMegapixel * Pixels / 1e6 * Options.BatchSize;

    /// <summary>Iterations of the whole training (the loader drops the incomplete last batch); null without a data set size.</summary>
    public long? Iterations => Options.DatasetSize is int n ? (long)(n / Options.BatchSize) * Options.Epochs : null;

    public double? TotalHours => Iterations is long it ? it * SecondsPerIteration / 3600 : null;

    /// <summary>
    /// Largest batch whose peak fits in <see cref="PlanOptions.MemoryGb"/>; 0 when not even one example fits; null without
    /// a budget.
    /// </summary>
    /// <remarks>Null too when the probes showed no growth with size (allocator noise at small crops): no batch limit can be read from them.</remarks>
    public int? LargestBatch => Options.MemoryGb is double gb && MbPerExample > 0
        ? gb * 1000 < BuildPeakMb ? 0 : (int)Math.Clamp(Math.Floor((gb * 1000 - FixedMb) / MbPerExample), 0, int.MaxValue)
        : null;
}

/// <summary>Builds <see cref="PlanEstimate"/>s from measured probes and words the verdict.</summary>
public static class Planner
{
    /// <summary>The largest probe crop: a crop-256 network of default width takes seconds per iteration here.</summary>
    public const int MaxProbeCrop = 128;

    /// <summary>
    /// Probe crop widths for a plan: the larger is the requested crop itself up to <see cref="MaxProbeCrop"/>, the
    /// smaller half of it (at least 32). Extrapolating from probes at 32 and 64 overestimated crop 256 by 37 %: the
    /// activation memory per pixel is not quite constant (small maps carry more per-pixel overhead), so the probes
    /// are kept as close to the target as a short run allows.
    /// </summary>
    public static (int Small, int Large) ProbeCropsFor(PlanOptions options)
    {
        int large = Math.Max(64, Math.Min(MaxProbeCrop, options.CropSize));
        return (Math.Max(32, large / 2 / 32 * 32), large);
    }

    /// <summary>Iterations per probe: the first ones allocate and warm caches, so the median of the rest is used.</summary>
    public const int WarmupIterations = 4, TimedIterations = 5;

    /// <summary>Fits both lines through the two probes.</summary>
    public static PlanEstimate Estimate(PlanOptions options, ParameterCounts parameters, ProbeMeasurement small, ProbeMeasurement large)
    {
        double dp = (large.Pixels - small.Pixels) / 1e6;
        if (dp <= 0) throw new ArgumentException("the large probe must have more pixels than the small one", nameof(large));
        // Peak RSS never shrinks with size; noise on a loaded machine can invert the times, so slopes are clamped at 0.
        double memSlope = Math.Max(0, (large.PeakMb - small.PeakMb) / dp);
        double timeSlope = Math.Max(0, (large.SecondsPerIteration - small.SecondsPerIteration) / dp);
        return new PlanEstimate
        {
            Options = options,
            Parameters = parameters,
            Small = small,
            Large = large,
            FixedMb = small.PeakMb - memSlope * small.Pixels / 1e6,
            MbPerMegapixel = memSlope,
            FixedSeconds = Math.Max(0, small.SecondsPerIteration - timeSlope * small.Pixels / 1e6),
            SecondsPerMegapixel = timeSlope,
            BuildPeakMb = Math.Max(small.BuildPeakMb, large.BuildPeakMb),
        };
    }

    /// <summary>Counts parameters of the networks at the requested size (a VAE generator's first layer depends on it).</summary>
    public static ParameterCounts CountParameters(PlanOptions options)
    {
        using var scope = NewDisposeScope();
        using var model = new SpadeModel(options.ModelOptions(options.CropSize), new SpadeLossOptions { NoVggLoss = true });
        return new ParameterCounts(
            model.NetG.parameters().Sum(p => p.numel()),
            model.NetD?.parameters().Sum(p => p.numel()) ?? 0,
            model.NetE?.parameters().Sum(p => p.numel()) ?? 0);
    }

    /// <summary>
    /// One probe in this process: the training step of the SPADE benchmark (G step then D step, Adam, no VGG loss)
    /// at crop <paramref name="crop"/> and the requested batch of one. Peak RSS is the process's, so callers run each
    /// probe in a fresh child process (<see cref="ProbeInChild"/>).
    /// </summary>
    public static ProbeMeasurement Probe(PlanOptions options, int crop)
    {
        torch.manual_seed(0);
        var mo = options.ModelOptions(crop);
        int h = options.HeightFor(crop);
        using var model = new SpadeModel(mo, new SpadeLossOptions { NoVggLoss = true });
        using var label = randint(0, options.Data.LabelNc, [1, 1, h, crop]);
        using var sem = zeros(1, mo.SemanticNc, h, crop).scatter_(1, label, ones(1, 1, h, crop));
        using var image = rand(1, 3, h, crop) * 2 - 1;
        model.Train(true);
        double buildPeak = PeakRssMb();
        GanSharp.Runtime.NativeSetup.TrimAllocator();
        ResetPeakRss();
        using var optG = new FusedAdam(model.GeneratorParameters(), 0.0001, 0.0, 0.9);
        using var optD = new FusedAdam(model.DiscriminatorParameters(), 0.0004, 0.0, 0.9);
        var times = new List<double>();
        for (int i = 0; i < WarmupIterations + TimedIterations; i++)
        {
            var sw = Stopwatch.StartNew();
            model.ReferenceIteration(optG, optD, sem, image);
            if (i >= WarmupIterations) times.Add(sw.Elapsed.TotalSeconds);
        }
        return new ProbeMeasurement(crop, h, Median(times), PeakRssMb(), buildPeak);
    }

    /// <summary>
    /// Runs <see cref="Probe"/> in a child process (<paramref name="executable"/> with <paramref name="arguments"/>) and
    /// parses its PROBE line.
    /// </summary>
    public static ProbeMeasurement ProbeInChild(string executable, IEnumerable<string> arguments)
    {
        var psi = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new GanSharpException(ErrorKind.BadInput, $"{executable} could not be started for the "
            + "measured run: check the installation.");
        // libtorch writes warnings to stderr; drain it so the child never blocks on a full pipe.
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        _ = err.Result;
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("PROBE ", StringComparison.Ordinal))
            ?? throw new GanSharpException(ErrorKind.TrainingFailed, $"the measured training run exited with code {p.ExitCode} without a "
                + "result: run `gansharp doctor` to check libtorch.");
        return ParseProbeLine(line);
    }

    /// <summary>The line a probe child prints.</summary>
    public static string FormatProbeLine(ProbeMeasurement m) =>
        string.Create(CultureInfo.InvariantCulture, $"PROBE {m.Crop} {m.Height} {m.SecondsPerIteration:R} {m.PeakMb:R} {m.BuildPeakMb:R}");

    /// <summary>Parses <see cref="FormatProbeLine"/>.</summary>
    public static ProbeMeasurement ParseProbeLine(string line)
    {
        var f = line.Trim().Split(' ');
        return new ProbeMeasurement(int.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture),
            double.Parse(f[3], CultureInfo.InvariantCulture), double.Parse(f[4], CultureInfo.InvariantCulture),
            double.Parse(f[5], CultureInfo.InvariantCulture));
    }

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2;
    }

    /// <summary>
    /// Resets this process's VmHWM (Linux 4.0+: writing 5 to clear_refs), so the next peak excludes what came before.
    /// Without permission the peak keeps counting from process start, which only makes estimates conservative.
    /// </summary>
    public static void ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Peak resident set of this process (VmHWM), MB.</summary>
    public static double PeakRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }

    /// <summary>
    /// Plain-language verdict in the spirit of seed 000's "Is GauGAN right for you?": the problem (texture-like vs
    /// dense structured scenes), the data (size against the guidance, near-duplicates) and the compute (memory,
    /// batch, time). Each sentence stands alone so the CLI can list them.
    /// </summary>
    public static IReadOnlyList<string> Verdict(PlanEstimate e, AuditResult? audit, SceneKind scene)
    {
        var lines = new List<string>();
        var o = e.Options;
        var kind = audit?.Scene ?? scene;
        if (kind == SceneKind.Street)
            lines.Add("Dense structured scenes (many small objects, e.g. traffic) are GauGAN's weak spot: expect blurry cars and people "
                + "where details crowd a small area; texture-like data (landscapes, stains) or sparse large objects suit it better.");
        else if (kind == SceneKind.Texture)
            lines.Add("Texture-like scenes are what GauGAN does best.");
        else
            lines.Add("GauGAN paints textures (landscapes, stains) and sparse large objects well, and crowded small objects (dense "
                + "traffic) poorly: judge your data against that.");

        int need = kind == SceneKind.Street ? DataAudit.StreetGuidance : DataAudit.TextureGuidance;
        if (audit is not null)
        {
            if (audit.EffectiveSize < audit.Pairs)
                lines.Add($"Your {audit.Pairs:N0} pairs are worth about {audit.EffectiveSize:N0} distinct examples "
                    + $"({audit.Pairs - audit.EffectiveSize:N0} near-duplicates).");
            if (audit.EffectiveSize < need)
                lines.Add($"That is below the {need:N0} examples the guidance asks "
                    + $"for{(kind == SceneKind.Street ? " (5,000-10,000 for street scenes)" : "")}: collect more before spending on compute.");
            else lines.Add($"The data size meets the guidance ({need:N0}+ examples).");
            if (audit.Leakage.Count > 0) lines.Add($"{audit.Leakage.Count} test photos have a near-duplicate in training: split by "
                + "sequence before trusting test scores.");
        }
        else if (o.DatasetSize is int n)
        {
            lines.Add(n < (kind == SceneKind.Street ? DataAudit.StreetGuidance : DataAudit.TextureGuidance)
                ? $"{n:N0} examples is below the guidance (about 2,000 for texture-like data, 5,000-10,000 for street scenes); run "
                    + "`gansharp data audit` to see how many are really distinct."
                : $"{n:N0} examples meets the size guidance; run `gansharp data audit` to check they are not near-duplicate frames.");
        }

        if (o.MemoryGb is double gb && e.LargestBatch is not null)
        {
            int fit = e.LargestBatch!.Value;
            if (fit == 0) lines.Add($"Not even one example fits in {gb:G} GB (one needs about {(e.FixedMb + e.MbPerExample) / 1000:F1} "
                + $"GB): lower {DataOptionSpecs.CropSize.Flag} or {ModelOptionSpecs.Ngf.Flag}/{ModelOptionSpecs.Ndf.Flag}.");
            else if (fit < o.BatchSize) lines.Add($"Batch {o.BatchSize} needs about {e.PeakMb / 1000:F1} GB, more than {gb:G} GB: the "
                + $"largest batch that fits is {fit}.");
            else lines.Add($"Batch {o.BatchSize} fits in {gb:G} GB (up to {fit}).");
            if (fit is > 0 and < 8)
                lines.Add("Small batches give noisy statistics (the authors trained with batch 128 on eight 16 GB GPUs): expect longer "
                    + "training and more tuning.");
        }
        if (e.TotalHours is double hours)
            lines.Add(hours > 24 * 7
                ? $"Training would take about {hours / 24:F0} days on this machine: reduce the size, the filters "
                    + $"({ModelOptionSpecs.Ngf.Flag}/{ModelOptionSpecs.Ndf.Flag}) or the "
                    + "epochs, or use bigger hardware."
                : $"Training would take about {(hours >= 48 ? $"{hours / 24:F1} days" : $"{hours:F1} hours")} on this machine.");
        return lines;
    }
}
