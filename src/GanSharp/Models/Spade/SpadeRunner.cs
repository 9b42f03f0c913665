using System.Net;
using System.Text;
using GanSharp.Data;
using GanSharp.Interop;
using GanSharp.Interop.NVlabs;
using GanSharp.Runtime;
using GanSharp.Reporting;
using GanSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Models.Spade;

/// <summary>What a SPADE test run wrote.</summary>
public sealed record SpadeTestOutcome(string PageDir, string IndexHtml, int Images, string NormMode);

/// <summary>The library entry points behind <c>gansharp train</c> and <c>gansharp test</c> for the SPADE family.</summary>
public static class SpadeRunner
{
    public const string VggEnvironmentVariable = "GANSHARP_VGG19_WEIGHTS";

    /// <summary>Where a run of the NVlabs code stopped (its iter.txt): the epoch and the images already seen in it.</summary>
    /// <remarks><paramref name="FromNVlabs"/> is false for one of our runs whose state was deleted to continue from its
    /// weights-only files (e.g. a generator swapped in).</remarks>
    public sealed record ReferenceResume(int Epoch, int EpochImages, bool FromNVlabs = true);

    /// <summary>
    /// Options as they will be used: merged with a checkpoint when continuing, with instance use inferred from the data.
    /// Continuing a run folder of the NVlabs code (its opt.txt and weights, no state of ours) gives
    /// <paramref name="reference"/>.
    /// </summary>
    public static SpadeRunOptions ResolveForTraining(SpadeRunOptions options, IReadOnlySet<string> given, out LoadedState? state, out ReferenceResume? reference)
    {
        state = null;
        reference = null;
        var folder = new RunFolder(options.Run.RunDir);
        if (options.Run.ContinueTrain)
        {
            string which = options.Run.WhichEpoch;
            state = folder.TryLoad(which);
            SpadeRunOptions saved;
            string source;
            if (state is not null)
            {
                saved = SpadeRunOptions.FromJson(state.OptionsJson, state.Path);
                source = state.Path;
                CheckStateBelongs(folder, saved, state.Path);
                state.CheckWeightFiles(folder, which);
            }
            else if (File.Exists(folder.NetPath(which, "G")) && ReferenceOptions.TryReadRunFolder(folder.OptTxtPath) is { } referenceRun)
            {
                saved = referenceRun.ToRunOptions();
                source = folder.OptTxtPath;
                reference = ReadIterTxt(Path.Combine(folder.Dir, "iter.txt"));
            }
            else if (File.Exists(folder.NetPath(which, "G")) && File.Exists(folder.OptionsJsonPath))
            {
                // One of our runs without its state (deleted to continue from weights put in its place): like the
                // reference's own continue, the weights and the epoch carry over and Adam starts afresh.
                saved = SpadeRunOptions.FromJson(File.ReadAllText(folder.OptionsJsonPath), folder.OptionsJsonPath);
                source = folder.OptionsJsonPath;
                reference = ReadIterTxt(Path.Combine(folder.Dir, "iter.txt")) with { FromNVlabs = false };
            }
            else
                throw new GanSharpException(ErrorKind.Checkpoint,
                    $"--continue-train found no {folder.StatePath(which)}: check --name/--checkpoints-dir/--which-epoch, or start without --continue-train.");
            // The folder is where the command line found it (it may have moved since it was written); other run
            // options come from the checkpoint unless typed.
            options = SpadeRunOptions.Merge(options, given, saved, source,
                flat => flat is "run.name" or "run.checkpoints_dir" || (flat.StartsWith("run.", StringComparison.Ordinal) && given.Contains(flat)));
            options = options with { Run = options.Run with { ContinueTrain = true } };
        }
        else if (folder.HasState("latest"))
            throw folder.HoldsARun();
        else if (File.Exists(folder.NetPath("latest", "G")) && ReferenceOptions.TryReadRunFolder(folder.OptTxtPath) is not null)
        {
            // A new run would overwrite the reference's weights.
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{folder.Dir} holds a run of the NVlabs reference: pass --continue-train to continue it from its weights, or choose another --name.");
        }
        else if (File.Exists(folder.NetPath("latest", "G")) && File.Exists(folder.OptionsJsonPath))
        {
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{folder.Dir} holds the weights of a run: pass --continue-train to continue from them, or choose another --name.");
        }
        if (string.IsNullOrEmpty(options.Data.LabelDir) || string.IsNullOrEmpty(options.Data.ImageDir))
            throw new GanSharpException(ErrorKind.Usage, "--label-dir and --image-dir are required: point them at the folders of label maps and photos.");
        return options;
    }

    // A state copied in from another run would be adopted whole (and rewrite options.json); the folder's own
    // options.json says which networks this run has.
    private static void CheckStateBelongs(RunFolder folder, SpadeRunOptions saved, string statePath)
    {
        if (!File.Exists(folder.OptionsJsonPath)) return;
        var own = SpadeRunOptions.FromJson(File.ReadAllText(folder.OptionsJsonPath), folder.OptionsJsonPath).Flatten();
        foreach (var (name, value) in saved.Flatten())
        {
            if (!SpadeRunOptions.IsStructural(name) || !own.TryGetValue(name, out var mine) || mine == value) continue;
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{statePath} was saved by a run with {name} {value}, but this run's {Path.GetFileName(folder.OptionsJsonPath)} has {mine}: " +
                "the state belongs to another run; put this run's own state back, or continue the other run under its own --name.");
        }
    }

    /// <summary>Trains (or continues) a SPADE run. Notices (inferred options, data findings) go to <paramref name="notice"/>.</summary>
    public static TrainResult Train(
        SpadeRunOptions options,
        IReadOnlySet<string> given,
        CancellationToken token,
        Action<string> notice,
        Action<TrainProgress>? progress = null,
        IEnumerable<IStatsSink>? sinks = null)
    {
        options.Run.ValidateNames();
        // Held for the whole run: a second trainer (or a --continue-train while this one runs) is refused by name.
        using var runLock = new RunFolder(options.Run.RunDir).TakeForTraining(notice);
        options = ResolveForTraining(options, given, out var state, out var reference);
        // --seed covers data order, crops and flips too; a resumed run keeps the seeds it was saved with.
        if (state is null && reference is null) options = options with { Data = options.Data with { Seed = options.Run.Seed } };
        options.Run.Validate();
        options.Optim.Validate();
        SpadeRecipe.CheckTricks(options.Tricks);
        options.ValidateDiagnostics(valEveryGiven: given.Contains("val_every"));
        if (options.Threads > 0) {
            torch.set_num_threads(options.Threads);
            OneDnnGemm.SetThreads(options.Threads);
        }
        notice($"SPADE convolutions: {Nn.GemmConvolution.Status}.");

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
            throw new GanSharpException(ErrorKind.Data, $"the data set gives {dataset.SemanticNc} semantic channels but the model expects {model.SemanticNc}: check --label-nc, --contain-dontcare-label and --no-instance.");
        if (state != null) notice($"Resuming {state.Path} at epoch {state.Position.Epoch}, batch {state.Position.BatchIndex} (iteration {state.Position.Iteration}).");
        if (reference is { FromNVlabs: true })
            notice($"Continuing the NVlabs run in {options.Run.RunDir} at epoch {reference.Epoch} from its {options.Run.WhichEpoch}_net_* weights. " +
                   "Adam starts afresh, as in the reference's own --continue_train; from here on the run keeps GanSharp's full state, so later resumes are exact.");
        else if (reference != null)
            notice($"{options.Run.RunDir} has no {options.Run.WhichEpoch}_state.pth: continuing at epoch {reference.Epoch} from its {options.Run.WhichEpoch}_net_* weights with fresh optimizer moments.");

        var vgg = LoadVgg(options);
        // Read before seeding: loading uses no torch randomness, but keeping it out of the seeded stretch makes that obvious.
        var diagnostics = SpadeDiagnostics.Create(options, notice);
        torch.manual_seed(options.Run.Seed);
        var spade = new SpadeModel(model, options.Loss, vgg);
        if (reference != null) LoadReferenceWeights(spade, new RunFolder(options.Run.RunDir), options.Run.WhichEpoch, notice);
        using var recipe = new SpadeRecipe(spade, options.Optim, options.Tricks) { Diagnostics = diagnostics };
        var folder = new RunFolder(options.Run.RunDir);
        Directory.CreateDirectory(folder.Dir);
        string json = options.ToJson();
        var runFiles = new Dictionary<string, string>
        {
            [Path.GetFileName(folder.OptionsJsonPath)] = json,
            [Path.GetFileName(folder.OptTxtPath)] = options.ToOptText(Defaults(options)),
        };
        foreach (var (file, text) in runFiles) AtomicFile.WriteAllText(Path.Combine(folder.Dir, file), text);
        if (reference == null) folder.RewindLogs(state);

        using var stats = new StatsCollector();
        // A resumed log goes on as if never stopped; continuing a run of the reference marks where ours begins.
        stats.Subscribe(new LossLogSink(folder.LossLogPath, SpadeRecipe.IsLossName, header: state == null, resumed: reference != null));
        stats.Subscribe(new JsonlSink(folder.StatsPath));
        if (options.Run.TfLog) stats.Subscribe(new TensorBoardSink(Path.Combine(folder.Dir, "logs")));
        foreach (var s in sinks ?? []) stats.Subscribe(s);

        var loader = new SpadeLoader(dataset);
        var source = new SpadeBatchSource(loader, token);
        using var trainer = new Trainer<SpadeBatch>(recipe, source, options.Run, options.Optim.TotalEpochs, json, stats) { RunFiles = runFiles };
        var start = state != null ? trainer.Resume(state)
            : reference != null ? ReferenceStart(reference, source.BatchSize, source.BatchesPerEpoch)
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

    /// <summary>The reference's iter.txt: "epoch" and "images seen in it", one a line (np.savetxt); absent: epoch 1.</summary>
    internal static ReferenceResume ReadIterTxt(string path)
    {
        if (!File.Exists(path)) return new ReferenceResume(1, 0);
        // The reference's np.savetxt puts one number a line; ours writes "epoch,images" on one.
        var numbers = File.ReadAllText(path).Split([' ', '\t', '\r', '\n', ','], StringSplitOptions.RemoveEmptyEntries)
            .Select(t => int.TryParse(t, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : -1)
            .ToArray();
        if (numbers.Length != 2 || numbers[0] < 1 || numbers[1] < 0)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{path} should hold the epoch and the images seen in it (two whole numbers, as the reference writes it); delete it to continue from epoch 1.");
        return new ReferenceResume(numbers[0], numbers[1]);
    }

    // The reference counts images within the epoch; a count past this data set's epoch starts the next epoch.
    private static TrainPosition ReferenceStart(ReferenceResume r, int batchSize, int batchesPerEpoch)
    {
        int batch = r.EpochImages / batchSize;
        int epoch = r.Epoch;
        if (batch >= batchesPerEpoch)
        {
            epoch++;
            batch = 0;
        }
        return new TrainPosition(epoch, batch, (long)(epoch - 1) * batchesPerEpoch + batch, (long)batch * batchSize, 0);
    }

    private static void LoadReferenceWeights(SpadeModel model, RunFolder folder, string which, Action<string> notice)
    {
        foreach (var (net, module) in new (string, nn.Module?)[] { ("G", model.NetG), ("D", model.NetD), ("E", model.NetE) })
        {
            if (module is null) continue;
            string path = folder.NetPath(which, net);
            if (!File.Exists(path))
            {
                if (net == "G") throw new GanSharpException(ErrorKind.Checkpoint, $"{path} is missing: the run cannot continue without its generator.");
                notice($"{path} is missing: net{net} starts from a fresh initialisation.");
                continue;
            }
            using var sd = PthReader.ReadStateDict(path);
            ModuleState.Load(module, sd, path, "net" + net);
        }
    }

    private static SpadeRunOptions Defaults(SpadeRunOptions o) => new()
    {
        Data = DataOptions.Create(o.Data.LabelDir, o.Data.ImageDir, isTrain: true, o.Data.InstanceDir),
        Model = new SpadeModelOptions { LabelNc = 13 },
    };

    /// <summary>VGG19 for the perceptual loss, from torchvision's weights file; null when the VGG loss is off.</summary>
    public static Vgg19? LoadVgg(SpadeRunOptions options)
    {
        if (options.Loss.NoVggLoss) return null;
        string? path = options.VggWeights ?? Environment.GetEnvironmentVariable(VggEnvironmentVariable);
        if (string.IsNullOrEmpty(path))
            throw new GanSharpException(ErrorKind.Usage,
                $"The VGG perceptual loss needs torchvision's VGG19 weights (vgg19-dcbbb2b4.pth from the torchvision model zoo): pass --vgg-weights PATH or set {VggEnvironmentVariable}, or train without it with --no-vgg-loss.");
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
        Action<int, int>? progress = null)
    {
        cli.Run.ValidateNames();
        var folder = new RunFolder(cli.Run.RunDir);
        string which = cli.Run.WhichEpoch;
        // A trainer may be renaming a checkpoint's files right now: read the set it commits, not half of it.
        folder.SettleForReading(TimeSpan.FromSeconds(60));
        string optionsPath = folder.OptionsJsonPath;
        SpadeRunOptions saved;
        if (File.Exists(optionsPath))
            saved = SpadeRunOptions.FromJson(File.ReadAllText(optionsPath), optionsPath);
        else if (folder.TryLoad(which) is { } state)
            saved = SpadeRunOptions.FromJson(state.OptionsJson, folder.StatePath(which));
        else if (ReferenceOptions.TryReadRunFolder(folder.OptTxtPath) is { } referenceRun)
        {
            // A run folder of the NVlabs code: its opt.txt names every option the networks were built with.
            saved = referenceRun.ToRunOptions();
            notice($"{folder.Dir} is a run of the NVlabs reference: its options come from opt.txt.");
        }
        else if (File.Exists(WeightsFile.NetPath(folder, which, "G")))
        {
            // Weights alone (e.g. a generator copied out of its run): the command line must describe the networks;
            // a wrong option shows up as the mismatching keys and shapes when the weights load.
            saved = cli;
            notice($"{folder.Dir} has no options (options.json, or the reference's opt.txt): the generator is built from the command line's options.");
        }
        else
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{folder.Dir} has neither {which}_net_G.pth (or .safetensors) nor options (options.json, {which}_state.pth, the reference's opt.txt): is --name/--checkpoints-dir the training run?");
        var options = SpadeRunOptions.Merge(cli, given, saved, folder.Dir,
            flat => flat.StartsWith("data.", StringComparison.Ordinal) && !SpadeRunOptions.IsStructural(flat) || flat.StartsWith("run.", StringComparison.Ordinal));
        var data = options.Data with { IsTrain = false, NoFlip = true, SerialBatches = true, NoInstance = options.Model.NoInstance };
        var dataset = SpadeDataset.Open(data);
        foreach (var n in dataset.Notices) notice(n);
        if (dataset.SemanticNc != options.Model.SemanticNc)
            throw new GanSharpException(ErrorKind.Data,
                $"{data.LabelDir} gives {dataset.SemanticNc} semantic channels but {folder.Dir} was trained with {options.Model.SemanticNc}: give the test set the same instance maps ({(options.Model.NoInstance ? "none" : "--instance-dir")}) and labels.");

        var model = new SpadeModel(options.Model, options.Loss with { NoVggLoss = true }, vgg: null, buildDiscriminator: false);
        try
        {
            // The EMA copy of G, when the run kept one, is the generator to sample from (as the other families do).
            string gPath = WeightsFile.NetPath(folder, which, "G_ema");
            if (File.Exists(gPath)) notice("Sampling with the exponential moving average of the generator's weights (G_ema).");
            else gPath = WeightsFile.NetPath(folder, which, "G");
            if (folder.CheckpointPosition(which) is { } at)
                notice($"Synthesizing with {Path.GetFileName(gPath)} of iteration {at.Iteration} (epoch {at.Epoch}), the checkpoint that --continue-train --which-epoch {which} resumes from.");
            using (var sd = WeightsFile.ReadStateDict(gPath)) ModuleState.Load(model.NetG, sd, gPath, "netG");
            if (model.NetE != null)
            {
                string ePath = WeightsFile.NetPath(folder, which, "E");
                using var sd = WeightsFile.ReadStateDict(ePath);
                ModuleState.Load(model.NetE, sd, ePath, "netE");
            }
            model.Train(batchStatistics);
            string mode = batchStatistics
                ? "train mode: batch-norm statistics of each test batch and one spectral-norm power iteration per forward"
                : "eval mode: running batch-norm statistics from training and spectral norms as saved (as the reference's test.py)";
            notice("Inference runs the generator in " + mode + ".");

            string pageDir = Path.Combine(resultsDir, options.Run.Name, $"test_{which}");
            var rows = new List<(string Stem, bool HasReal)>();
            var loader = new SpadeLoader(dataset);
            int done = 0, total = loader.SamplesPerEpoch;
            foreach (var batch in loader.ReadEpoch(new LoaderPosition(1, 0), token))
            {
                using (batch)
                using (GcQuiet.Iteration())
                using (var scope = NewDisposeScope())
                {
                    var fake = model.Generate(batch.Semantics, image: options.Model.UseVae ? batch.Image : null);
                    for (int i = 0; i < batch.Paths.Count; i++)
                    {
                        string stem = Path.GetFileNameWithoutExtension(batch.Paths[i]);
                        ImageIO.WritePng(Visuals.ToRgb(batch.Label[i].unsqueeze(0)), Path.Combine(pageDir, "images", "input_label", stem + ".png"));
                        ImageIO.WritePng(Visuals.ToRgb(fake[i].unsqueeze(0)), Path.Combine(pageDir, "images", "synthesized_image", stem + ".png"));
                        ImageIO.WritePng(Visuals.ToRgb(batch.Image[i].unsqueeze(0)), Path.Combine(pageDir, "images", "real_image", stem + ".png"));
                        rows.Add((stem, true));
                    }
                    done += batch.Paths.Count;
                    progress?.Invoke(done, total);
                }
            }
            string index = Path.Combine(pageDir, "index.html");
            AtomicFile.WriteAllText(index, TestPage(options.Run.Name, which, mode, rows));
            return new SpadeTestOutcome(pageDir, index, rows.Count, batchStatistics ? "train" : "eval");
        }
        finally
        {
            model.Dispose();
        }
    }

    private static string TestPage(string name, string which, string mode, List<(string Stem, bool HasReal)> rows)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(E($"{name} test_{which}")).Append("</title>")
          .Append("<style>body{font-family:sans-serif}img{width:256px;image-rendering:pixelated}td{text-align:center}</style></head><body>")
          .Append("<h1>").Append(E($"Experiment = {name}, Phase = test, Epoch = {which}")).Append("</h1><p>")
          .Append(E("Generator ran in " + mode + ".")).Append("</p><table>");
        foreach (var (stem, hasReal) in rows)
        {
            string s = Uri.EscapeDataString(stem);
            sb.Append("<tr><td><img src=\"images/input_label/").Append(s).Append(".png\"><br>input_label</td>")
              .Append("<td><img src=\"images/synthesized_image/").Append(s).Append(".png\"><br>synthesized_image</td>");
            if (hasReal) sb.Append("<td><img src=\"images/real_image/").Append(s).Append(".png\"><br>real_image</td>");
            sb.Append("<td>").Append(E(stem)).Append("</td></tr>");
        }
        sb.Append("</table></body></html>");
        return sb.ToString();
    }
}
