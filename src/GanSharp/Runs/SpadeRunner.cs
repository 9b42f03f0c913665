using GanSharp.Options;
using GanSharp.Data;
using GanSharp.Diagnostics;
using GanSharp.Distributed;
using GanSharp.Interop;
using GanSharp.Interop.NVlabs;
using GanSharp.Kernels;
using GanSharp.Models.Spade;
using GanSharp.Reporting;
using GanSharp.Runtime;
using GanSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Runs;

/// <summary>What a SPADE test run wrote.</summary>
public sealed record SpadeTestOutcome(string PageDir, string IndexHtml, int Images, string NormMode);

/// <summary>The library entry points behind <c>gansharp train</c> and <c>gansharp test</c> for the SPADE family.</summary>
public static partial class SpadeRunner
{
    public const string VggEnvironmentVariable = "GANSHARP_VGG19_WEIGHTS";

    /// <summary>Trains (or continues) a SPADE run. Notices (inferred options, data findings) go to <paramref name="notice"/>.</summary>
    public static TrainResult Train(
        SpadeRunOptions options,
        IReadOnlySet<string> given,
        CancellationToken token,
        Action<string> notice,
        Action<TrainProgress>? progress = null,
        IEnumerable<IStatsSink>? sinks = null)
    {
        var ranks = Communicator.World;
        // Rank 0 owns the folder (lock, recovery, logs, checkpoints); the others read it once it has been recovered.
        using var runLock = ranks.IsRoot ? RunSetup.TakeFolder(options.Run, notice) : null;
        ranks.Barrier("the run folder's recovery by rank 0");
        options = PrepareOptions(options, given, out var state, out var reference);
        CheckRanks(options, ranks.Size);
        RunSetup.SetThreads(options.Threads, gemmConvolutions: true);
        notice($"SPADE convolutions: {GemmConvolution.Status}.");
        var dataset = OpenTrainingData(ref options, notice);
        NoticeStart(options, state, reference, notice);

        var vgg = LoadVgg(options);
        // Read before seeding: loading uses no torch randomness, but keeping it out of the seeded stretch makes that obvious.
        var diagnostics = SpadeDiagnostics.Create(options, notice);
        RunSetup.Seed(options.Run.Seed);
        var spade = new SpadeModel(options.Model, options.Loss, vgg);
        if (Float64Check.On) ToFloat64(spade, notice);
        var folder = new RunFolder(options.Run.RunDir);
        if (reference != null)
            ReferenceRun.LoadWeights([("G", spade.NetG), ("D", spade.NetD), ("E", spade.NetE)], folder, options.Run.WhichEpoch, notice);
        using var recipe = new SpadeRecipe(spade, options.Optim, options.Tricks) { Diagnostics = diagnostics };
        var (json, runFiles) = WriteRunFiles(folder, options, ranks.IsRoot);
        if (reference == null && ranks.IsRoot) folder.RewindLogs(state);
        // A resumed log goes on as if never stopped; continuing a run of the reference marks where ours begins.
        using var stats = !ranks.IsRoot ? new StatsCollector() : RunSetup.OpenStats(folder, options.Run.TfLog, SpadeRecipe.IsLossName,
            header: state == null, resumed: reference != null, sinks);

        var source = new SpadeBatchSource(new SpadeLoader(dataset) { Shard = (ranks.Rank, ranks.Size) }, token);
        using var trainer = new Trainer<SpadeBatch>(recipe, source, options.Run, options.Optim.TotalEpochs, json, stats)
        {
            DivergenceAdvice = RunSetup.DivergenceAdvice(RunKind.Spade),
            RunFiles = runFiles,
        };
        var start = state != null ? trainer.Resume(state)
            : reference != null ? ReferenceRun.Start(reference, source.BatchSize, source.BatchesPerEpoch)
            : new TrainPosition(1, 0, 0, 0, 0);
        using var evaluation = options.EvalEvery > 0 ? PeriodicEvaluation.Create(options, spade, notice) : null;
        if (evaluation != null) trainer.EpochEnd = evaluation.OnEpochEnd;
        try
        {
            return trainer.Run(start, token, progress);
        }
        finally
        {
            vgg?.Dispose();
        }
    }

    private static void ToFloat64(SpadeModel spade, Action<string> notice)
    {
        spade.NetG.to(ScalarType.Float64);
        spade.NetD?.to(ScalarType.Float64);
        spade.NetE?.to(ScalarType.Float64);
        notice($"{Float64Check.Variable}=1: G, D and E train in float64 (a verification mode, not for real runs).");
    }

    // --batch-size is the global batch: each of the ranks trains on an equal contiguous part of it.
    private static void CheckRanks(SpadeRunOptions options, int ranks)
    {
        int batch = options.Data.BatchSize;
        if (ranks > 1 && batch % ranks != 0)
            throw new GanSharpException(ErrorKind.Usage,
                $"--batch-size {batch} is the global batch and must divide by the {ranks} ranks of mpirun: use a multiple of {ranks}, " +
                    $"such as {Math.Max(1, batch / ranks) * ranks}.");
    }

    // The options as resolved for training, checked: --seed covers data order, crops and flips too, and a resumed
    // run keeps the seeds it was saved with.
    private static SpadeRunOptions PrepareOptions(
        SpadeRunOptions options, IReadOnlySet<string> given, out LoadedState? state, out ReferenceResume? reference)
    {
        options = ResolveForTraining(options, given, out state, out reference);
        if (state is null && reference is null) options = options with { Data = options.Data with { Seed = options.Run.Seed } };
        options.Run.Validate();
        options.Optim.Validate();
        SpadeRecipe.CheckTricks(options.Tricks);
        options.ValidateDiagnostics(valEveryGiven: given.Contains("val_every"));
        return options;
    }

    // The training data set; the model options take their sizes from it (instance use inferred from the data).
    private static SpadeDataset OpenTrainingData(ref SpadeRunOptions options, Action<string> notice)
    {
        var dataset = SpadeDataset.Open(options.Data with { IsTrain = true });
        foreach (var n in dataset.Notices) notice(n);
        if (!dataset.UsesInstances && !options.Model.NoInstance)
            options = options with { Model = options.Model with { NoInstance = true }, Data = options.Data with { NoInstance = true } };
        var model = options.Model with
        {
            LabelNc = options.Data.LabelNc,
            ContainDontcareLabel = options.Data.ContainDontcareLabel,
            CropSize = options.Data.CropSize,
            AspectRatio = options.Data.AspectRatio,
            NoGanFeatLoss = options.Loss.NoGanFeatLoss,
        };
        options = options with { Model = model };
        if (dataset.SemanticNc != model.SemanticNc)
            throw new GanSharpException(ErrorKind.Data,
                $"the data set gives {dataset.SemanticNc} semantic channels but the model expects {model.SemanticNc}: " +
                $"check {DataOptionSpecs.LabelNc.Flag}, {DataOptionSpecs.ContainDontcareLabel.Flag} and {DataOptionSpecs.NoInstance.Flag}.");
        return dataset;
    }

    // Where the run starts, when it is not a new one.
    private static void NoticeStart(SpadeRunOptions options, LoadedState? state, ReferenceResume? reference, Action<string> notice)
    {
        if (state != null)
            notice($"Resuming {state.Path} at epoch {state.Position.Epoch}, batch {state.Position.BatchIndex} (iteration " +
                $"{state.Position.Iteration}).");
        if (reference is { FromNVlabs: true })
            notice($"Continuing the NVlabs run in {options.Run.RunDir} at epoch {reference.Epoch} from its {options.Run.WhichEpoch}_net_* weights. " +
                   "Adam starts afresh, as in the reference's own --continue_train; from here on the run keeps GanSharp's full state, so later " +
                       "resumes are exact.");
        else if (reference != null)
            notice($"{options.Run.RunDir} has no {options.Run.WhichEpoch}_state.pth: continuing at epoch {reference.Epoch} " +
                   $"from its {options.Run.WhichEpoch}_net_* weights with fresh optimizer moments.");
    }

    // options.json and the reference's opt.txt, written now and saved with every checkpoint unit.
    private static (string Json, Dictionary<string, string> RunFiles) WriteRunFiles(RunFolder folder, SpadeRunOptions options, bool write)
    {
        Directory.CreateDirectory(folder.Dir);
        string json = options.ToJson();
        var runFiles = new Dictionary<string, string>
        {
            [Path.GetFileName(folder.OptionsJsonPath)] = json,
            [Path.GetFileName(folder.OptTxtPath)] = options.ToOptText(Defaults(options)),
        };
        if (write) foreach (var (file, text) in runFiles) AtomicFile.WriteAllText(Path.Combine(folder.Dir, file), text);
        return (json, runFiles);
    }

    /// <summary>VGG19 for the perceptual loss, from torchvision's weights file; null when the VGG loss is off.</summary>
    public static Vgg19? LoadVgg(SpadeRunOptions options)
    {
        if (options.Loss.NoVggLoss) return null;
        string? path = options.VggWeights ?? Environment.GetEnvironmentVariable(VggEnvironmentVariable);
        if (string.IsNullOrEmpty(path))
            throw new GanSharpException(ErrorKind.Usage,
                "The VGG perceptual loss needs torchvision's VGG19 weights (vgg19-dcbbb2b4.pth from the torchvision model zoo): pass " +
                    $"{SpadeOptionCatalog.VggWeights.Flag} PATH or set {VggEnvironmentVariable}, or train without it with "
                        + $"{LossOptionSpecs.NoVggLoss.Flag}.");
        var vgg = new Vgg19();
        using var sd = WeightsFile.ReadStateDict(path);
        using var features = new StateDict();
        foreach (var (k, v) in sd.Entries)
            if (k.StartsWith("features.", StringComparison.Ordinal)) features.Add(k, v.alias());
        ModuleState.Load(vgg, features, path, "VGG19");
        vgg.eval();
        return vgg;
    }

    /// <summary>Synthesizes every label map of the data folders with a trained run's generator.</summary>
    public static SpadeTestOutcome Test(
        SpadeRunOptions cli,
        IReadOnlySet<string> given,
        string resultsDir,
        bool batchStatistics,
        CancellationToken token,
        Action<string> notice,
        Action<int, int>? progress = null,
        string? styleImage = null)
    {
        var (options, folder, _) = ResolveForInference(cli, given, notice);
        string which = options.Run.WhichEpoch;
        using var style = styleImage is null ? null : ReadStyle(styleImage, options, folder);
        var dataset = OpenTestData(options, folder, notice);
        var (model, mode) = LoadForInference(options, folder, batchStatistics, notice);
        try
        {
            string pageDir = Path.Combine(resultsDir, options.Run.Name, $"test_{which}");
            var rows = WriteTestImages(model, dataset, options.Run.Seed, style, pageDir, token, progress);
            string index = Path.Combine(pageDir, "index.html");
            AtomicFile.WriteAllText(index, TestPage(options.Run.Name, which, mode, rows));
            return new SpadeTestOutcome(pageDir, index, rows.Count, batchStatistics ? "train" : "eval");
        }
        finally
        {
            model.Dispose();
        }
    }

    // The options of a test (or the studio): the networks' from the run, data preprocessing from the command line.
    // TrainedLabelDir: the label folder the run trained on (the studio's class table lives beside it); the inference
    // options carry the command line's data folders instead.
    internal static (SpadeRunOptions Options, RunFolder Folder, string TrainedLabelDir) ResolveForInference(SpadeRunOptions cli,
        IReadOnlySet<string> given, Action<string> notice)
    {
        cli.Run.ValidateNames();
        var folder = new RunFolder(cli.Run.RunDir);
        // A trainer may be renaming a checkpoint's files right now: read the set it commits, not half of it.
        folder.SettleForReading(TimeSpan.FromSeconds(60));
        var saved = SavedOptions(cli, folder, cli.Run.WhichEpoch, notice);
        var options = SpadeRunOptions.Merge(cli, given, saved, folder.Dir,
            flat => flat.StartsWith("data.", StringComparison.Ordinal) && !SpadeRunOptions.IsStructural(flat)
                || flat.StartsWith("run.", StringComparison.Ordinal));
        return (options, folder, saved.Data.LabelDir);
    }

    // G (and E) loaded and put in inference mode; torch seeded so that z and the encoder's sampling repeat.
    internal static (SpadeModel Model, string Mode) LoadForInference(SpadeRunOptions options, RunFolder folder, bool batchStatistics,
        Action<string> notice)
    {
        var model = new SpadeModel(options.Model, options.Loss with { NoVggLoss = true }, vgg: null, buildDiscriminator: false);
        try
        {
            LoadTestNetworks(model, folder, options.Run.WhichEpoch, notice);
            string mode = SetInferenceMode(model, batchStatistics, notice);
            RunSetup.Seed(options.Run.Seed);
            return (model, mode);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    // The options the networks were built with: options.json, the state's copy, the reference's opt.txt, or (weights
    // alone) the command line's.
    private static SpadeRunOptions SavedOptions(SpadeRunOptions cli, RunFolder folder, string which, Action<string> notice)
    {
        string optionsPath = folder.OptionsJsonPath;
        if (File.Exists(optionsPath))
            return SpadeRunOptions.FromJson(File.ReadAllText(optionsPath), optionsPath);
        if (folder.TryLoad(which) is { } state)
            return SpadeRunOptions.FromJson(state.OptionsJson, folder.StatePath(which));
        if (ReferenceOptions.TryReadRunFolder(folder.OptTxtPath) is { } referenceRun)
        {
            // A run folder of the NVlabs code: its opt.txt names every option the networks were built with.
            notice($"{folder.Dir} is a run of the NVlabs reference: its options come from opt.txt.");
            return referenceRun.ToRunOptions();
        }
        if (File.Exists(WeightsFile.NetPath(folder, which, "G")))
        {
            // Weights alone (e.g. a generator copied out of its run): the command line must describe the networks;
            // a wrong option shows up as the mismatching keys and shapes when the weights load.
            notice($"{folder.Dir} has no options (options.json, or the reference's opt.txt): the generator is built from the command " +
                "line's options.");
            return cli;
        }
        throw new GanSharpException(ErrorKind.Checkpoint,
            $"{folder.Dir} has neither {which}_net_G.pth (or .safetensors) nor options (options.json, {which}_state.pth, the reference's opt.txt): " +
            $"is {RunOptionSpecs.Name.Flag}/{RunOptionSpecs.CheckpointsDir.Flag} the training run?");
    }

    // The test data in file order, without flips, checked against the channels the run was trained with.
    private static SpadeDataset OpenTestData(SpadeRunOptions options, RunFolder folder, Action<string> notice)
    {
        var data = options.Data with { IsTrain = false, NoFlip = true, SerialBatches = true, NoInstance = options.Model.NoInstance };
        var dataset = SpadeDataset.Open(data);
        foreach (var n in dataset.Notices) notice(n);
        if (dataset.SemanticNc != options.Model.SemanticNc)
            throw new GanSharpException(ErrorKind.Data,
                $"{data.LabelDir} gives {dataset.SemanticNc} semantic channels but {folder.Dir} was trained with {options.Model.SemanticNc}: " +
                $"give the test set the same instance maps ({(options.Model.NoInstance ? "none" : "--instance-dir")}) and labels.");
        return dataset;
    }

    // G (its EMA copy when the run kept one, as the other families sample) and the VAE's encoder.
    private static void LoadTestNetworks(SpadeModel model, RunFolder folder, string which, Action<string> notice)
    {
        string gPath = WeightsFile.NetPath(folder, which, "G_ema");
        if (File.Exists(gPath)) notice("Sampling with the exponential moving average of the generator's weights (G_ema).");
        else gPath = WeightsFile.NetPath(folder, which, "G");
        if (folder.CheckpointPosition(which) is { } at)
            notice($"Synthesizing with {Path.GetFileName(gPath)} of iteration {at.Iteration} (epoch {at.Epoch}), " +
                   $"the checkpoint that {RunOptionSpecs.ContinueTrain.Flag} {RunOptionSpecs.WhichEpoch.Flag} {which} resumes from.");
        using (var sd = WeightsFile.ReadStateDict(gPath)) ModuleState.Load(model.NetG, sd, gPath, "netG");
        if (model.NetE != null)
        {
            string ePath = WeightsFile.NetPath(folder, which, "E");
            using var sd = WeightsFile.ReadStateDict(ePath);
            ModuleState.Load(model.NetE, sd, ePath, "netE");
        }
    }

    // Train or eval mode for inference; returns its description for the notice and the page.
    private static string SetInferenceMode(SpadeModel model, bool batchStatistics, Action<string> notice)
    {
        // Train mode updates the weights' u/v on every forward, so only eval mode may keep derived weights.
        if (batchStatistics) model.Train(true);
        else model.FreezeForInference();
        string mode = batchStatistics
            ? "train mode: batch-norm statistics of each test batch and one spectral-norm power iteration per forward"
            : "eval mode: running batch-norm statistics from training and spectral norms as saved (as the reference's test.py)";
        notice("Inference runs the generator in " + mode + ".");
        return mode;
    }

    // input_label, synthesized_image and real_image PNGs of every test sample; one page row each.
    private static List<(string Stem, bool HasReal)> WriteTestImages(
        SpadeModel model, SpadeDataset dataset, int seed, Tensor? style, string pageDir, CancellationToken token,
        Action<int, int>? progress)
    {
        bool useVae = model.Options.UseVae;
        using var noise = new Generator().manual_seed(seed);
        var rows = new List<(string Stem, bool HasReal)>();
        var loader = new SpadeLoader(dataset);
        int done = 0, total = loader.SamplesPerEpoch;
        foreach (var batch in loader.ReadEpoch(new LoaderPosition(1, 0), token))
        {
            using (batch)
            using (GcQuiet.Iteration())
            using (var scope = NewDisposeScope())
            {
                var fake = model.Generate(batch.Semantics, image: StyleFor(batch, useVae, style, dataset), noise: noise);
                for (int i = 0; i < batch.Paths.Count; i++)
                {
                    var pair = dataset.Pairs[batch.Indices[i]];
                    string stem = Path.GetFileNameWithoutExtension(batch.Paths[i]);
                    WritePng(batch.Label[i], pageDir, "input_label", stem);
                    WritePng(fake[i], pageDir, "synthesized_image", stem);
                    if (pair.HasPhoto) WritePng(batch.Image[i], pageDir, "real_image", stem);
                    rows.Add((stem, pair.HasPhoto));
                }
                done += batch.Paths.Count;
                progress?.Invoke(done, total);
            }
        }
        return rows;
    }

    private static void WritePng(Tensor image, string pageDir, string kind, string stem) =>
        ImageIO.WritePng(Visuals.ToRgb(image.unsqueeze(0)), Path.Combine(pageDir, "images", kind, stem + ".png"));

    private static string TestPage(string name, string which, string mode, List<(string Stem, bool HasReal)> rows) =>
        Reporting.TestPage.Html(name, which, mode, rows);
}
