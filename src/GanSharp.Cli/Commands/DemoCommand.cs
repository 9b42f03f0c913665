using System.CommandLine;
using System.Diagnostics;
using GanSharp.Data;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp demo</c>: generates the synthetic data set, validates it and runs the loader over one epoch.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--dir") { Description = "Folder for the generated data set and run.", DefaultValueFactory = _ => "demo-run" };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated scenes and of the loader's shuffling and crops.", DefaultValueFactory = _ => 1 };
        var count = new Option<int>("--count") { Description = "Number of training scenes to generate (a quarter as many validation scenes).", DefaultValueFactory = _ => 64 };
        var cmd = new Command("demo", "Generate a synthetic label/photo data set and run GanSharp on it.");
        cmd.Options.Add(dir);
        cmd.Options.Add(seed);
        cmd.Options.Add(count);
        cmd.SetGuardedAction((parse, token) => Run(parse.GetValue(dir)!, parse.GetValue(seed), parse.GetValue(count), token));
        return cmd;
    }

    private static int Run(string dir, int seed, int count, CancellationToken token)
    {
        if (count < 1)
            throw new GanSharpException(ErrorKind.Usage, $"--count {count} is too small: generate at least 1 training scene.");
        var synth = new SyntheticOptions { TrainCount = count, ValCount = Math.Max(1, count / 4), Seed = seed };
        string root = Path.Combine(dir, "data");
        SyntheticDatasetInfo info = null!;
        var sw = Stopwatch.StartNew();
        AnsiConsole.Status().Start($"Generating {synth.TrainCount} + {synth.ValCount} scenes of {synth.Width}x{synth.Height}...",
            _ => info = SyntheticDataset.Generate(root, synth));
        AnsiConsole.MarkupLineInterpolated($"Generated the data set in [bold]{root}[/] ({sw.Elapsed.TotalSeconds:F1} s).");

        var options = info.TrainOptions() with { BatchSize = 4, Seed = seed };
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
        AnsiConsole.MarkupLineInterpolated(
            $"Loaded [bold]{batches}[/] batches of {options.BatchSize} ({images} images, crop {options.CropSize}) at [bold]{stats.SamplesPerSecond:F1} images/s[/] with {options.NumWorkers} workers.");
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
