using System.CommandLine;
using System.Diagnostics;
using GanSharp.Data;
using GanSharp.Models.Spade;
using GanSharp.Runs;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp demo</c>: generates the synthetic data set, validates it and runs the loader over one epoch.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--dir") { Description = "Folder for the generated data set and run.", DefaultValueFactory = _ => "demo-run" };
        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the generated scenes and of the loader's shuffling and crops.",
            DefaultValueFactory = _ => 1,
        };
        var count = new Option<int>("--count")
        {
            Description = "Number of training scenes to generate (a quarter as many validation "
            + "scenes).", DefaultValueFactory = _ => 64
        };
        var minutes = new Option<double>("--minutes")
        {
            Description = "Training time budget; the run stops resumably when it is spent.",
            DefaultValueFactory = _ => 4.0,
        };
        var cmd = new Command("demo", "Generate a synthetic label/photo data set and run GanSharp on it.");
        cmd.Options.Add(dir);
        cmd.Options.Add(seed);
        cmd.Options.Add(count);
        cmd.Options.Add(minutes);
        cmd.SetGuardedAction((parse, token) =>
            Run(parse.GetValue(dir)!, parse.GetValue(seed), parse.GetValue(count), parse.GetValue(minutes), token));
        return cmd;
    }

    private static int Run(string dir, int seed, int count, double minutes, CancellationToken outer)
    {
        using var cancel = new UserCancel(outer);
        var token = cancel.Token;
        if (!(minutes > 0))
            throw new GanSharpException(ErrorKind.Usage, $"--minutes {minutes} must be positive, e.g. 4.");
        if (count < 1)
            throw new GanSharpException(ErrorKind.Usage, $"--count {count} is too small: generate at least 1 training scene.");
        var synth = new SyntheticOptions { TrainCount = count, ValCount = Math.Max(1, count / 4), Seed = seed };
        string root = Path.Combine(dir, "data");
        SyntheticDatasetInfo info = null!;
        var sw = Stopwatch.StartNew();
        AnsiConsole.Status().Start($"Generating {synth.TrainCount} + {synth.ValCount} scenes of {synth.Width}x{synth.Height}...",
            _ => info = SyntheticDataset.Generate(root, synth));
        AnsiConsole.MarkupLineInterpolated($"Generated the data set in [bold]{root}[/] ({sw.Elapsed.TotalSeconds:F1} s).");

        var options = info.TrainOptions() with { BatchSize = 4, Seed = seed, LoadSize = 72, CropSize = 64 };
        SpadeDataset dataset = null!;
        AnsiConsole.Status().Start("Validating label maps, photos and instance maps...", _ => dataset = SpadeDataset.Open(options));
        PrintSummary(dataset, SyntheticDataset.ClassNames);

        var loader = new SpadeLoader(dataset);
        int batches = 0, images = 0;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("Loading epoch 1", maxValue: loader.BatchesPerEpoch);
                foreach (var batch in loader.ReadEpoch(new LoaderPosition(1, 0), token))
                {
                    using (batch)
                    {
                        batches++;
                        images += (int)batch.Image.shape[0];
                    }
                    task.Increment(1);
                }
            });
        var stats = loader.LastStats;
        AnsiConsole.MarkupInterpolated($"Loaded [bold]{batches}[/] batches of {options.BatchSize} ({images} images, crop {options.CropSize}) ");
        AnsiConsole.MarkupLineInterpolated($"at [bold]{stats.SamplesPerSecond:F1} images/s[/] with {options.NumWorkers} workers.");
        return TrainAndSynthesize(dir, info, seed, minutes, token);
    }

    // A small SPADE (crop 64, ngf/ndf 16, no VGG weights needed) learns the synthetic scenes' class colours and
    // textures within minutes on 2 cores; a time budget, not an epoch count, bounds the demo on slower machines.
    private static int TrainAndSynthesize(string dir, SyntheticDatasetInfo info, int seed, double minutes, CancellationToken token)
    {
        string checkpoints = Path.Combine(dir, "checkpoints");
        if (Directory.Exists(Path.Combine(checkpoints, "demo")))
            Directory.Delete(Path.Combine(checkpoints, "demo"), recursive: true);
        var data = info.TrainOptions() with { BatchSize = 4, Seed = seed, LoadSize = 72, CropSize = 64 };
        var options = new SpadeRunOptions
        {
            Data = data,
            Model = new SpadeModelOptions { Ngf = 16, Ndf = 16 },
            Loss = new Losses.SpadeLossOptions { NoVggLoss = true },
            Optim = new Training.OptimOptions { Niter = 10_000 },
            Run = new Training.RunOptions
            {
                Name = "demo", CheckpointsDir = checkpoints, Seed = seed,
                PrintFreq = 40, DisplayFreq = 200, SaveLatestFreq = 400, SaveEpochFreq = 10_000,
            },
            // The generated validation scenes give `gansharp doctor` validation curves and D's held-out accuracy;
            // 8 pairs every 50 iterations cost a few percent of the budget.
            ValLabelDir = info.ValLabelDir,
            ValImageDir = info.ValImageDir,
            ValInstanceDir = info.ValInstanceDir,
            ValEvery = 50,
            ValSamples = 8,
        };
        AnsiConsole.MarkupLineInterpolated($"Training GauGAN/SPADE (crop 64, ngf 16, ndf 16, batch 4) for {minutes:F1} minutes...");
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(token);
        budget.CancelAfter(TimeSpan.FromMinutes(minutes));
        var result = TrainCommand.RunWithProgress(options, [], budget.Token, TimeSpan.FromMinutes(minutes));
        if (token.IsCancellationRequested) return ExitCodes.Interrupted;
        AnsiConsole.MarkupLineInterpolated(
            $"Trained {result.Position.Iteration} iterations ({result.Position.Iteration * 4} images) in {result.Position.ElapsedSeconds:F0} s.");

        var test = options with { Data = info.ValOptions() with { LoadSize = 64, CropSize = 64 } };
        SpadeTestOutcome outcome = null!;
        AnsiConsole.Status().Start("Synthesizing the validation label maps...", _ =>
            outcome = SpadeRunner.Test(test, new HashSet<string>(), Path.Combine(dir, "results"), batchStatistics: false, token,
                n => AnsiConsole.MarkupLineInterpolated($"[blue]note:[/] {n}")));
        AnsiConsole.MarkupLineInterpolated($"Synthesized {outcome.Images} validation images. Open [green]{Path.GetFullPath(outcome.IndexHtml)}[/]");
        AnsiConsole.MarkupLineInterpolated($"Training samples: [green]{Path.GetFullPath(Path.Combine(checkpoints, "demo", "web", "index.html"))}[/]");
        return ExitCodes.Ok;
    }

    /// <summary>Prints what the scan found; <paramref name="classNames"/> labels the class numbers when known.</summary>
    internal static void PrintSummary(SpadeDataset dataset, IReadOnlyList<string>? classNames = null)
    {
        var s = dataset.Summary;
        var table = new Table().AddColumn("data set").AddColumn("found");
        table.AddRow("pairs", s.Pairs.ToString());
        table.AddRow("label files", Markup.Escape(string.Join(", ", s.LabelKinds.Select(kv => $"{kv.Value} {kv.Key}"))));
        table.AddRow("classes present", Markup.Escape(string.Join(", ", s.ClassesPresent.Select(c => ClassName(dataset.Options, classNames, c)))));
        table.AddRow("instance maps", s.UsesInstances ? "yes (edges as the last input channel)" : "no");
        table.AddRow("semantic_nc", s.SemanticNc.ToString());
        table.AddRow("image sizes", s.SmallestSize == s.LargestSize
            ? $"{s.SmallestSize.Width}x{s.SmallestSize.Height}"
            : $"{s.SmallestSize.Width}x{s.SmallestSize.Height} .. {s.LargestSize.Width}x{s.LargestSize.Height}");
        table.AddRow("scan cache", s.CacheHits > 0 ? $"{s.CacheHits} files unchanged since the last scan" : "all files scanned");
        AnsiConsole.Write(table);
        foreach (var n in s.Notices)
            AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] {n}");
    }

    private static string ClassName(DataOptions o, IReadOnlyList<string>? names, int c)
    {
        if (c == o.LabelNc) return $"{c} (don't care)";
        return names is not null && c < names.Count ? $"{c} {names[c]}" : c.ToString();
    }
}
