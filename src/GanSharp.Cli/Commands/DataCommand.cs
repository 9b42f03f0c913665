using System.CommandLine;
using GanSharp.Cli.Options;
using GanSharp.Data;
using GanSharp.Data.Tools;
using GanSharp.Reporting;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp data validate | convert | split | audit</c>: data set checks and label tools.</summary>
public static class DataCommand
{
    public static Command Create()
    {
        var cmd = new Command("data", "Check a data set before training, and convert label files.");
        cmd.Subcommands.Add(Validate());
        cmd.Subcommands.Add(Convert());
        cmd.Subcommands.Add(Split());
        cmd.Subcommands.Add(Audit());
        return cmd;
    }

    private static Command Validate()
    {
        var binder = new DataOptionsBinder();
        var test = new Option<bool>("--test") { Description = "Validate with the test-time defaults (load size 256, no flip, file order)." };
        var cmd = new Command("validate", "Pair the label, photo and instance folders and check every file once, as training would before it "
            + "starts.");
        binder.AddTo(cmd);
        cmd.Options.Add(test);
        cmd.SetGuardedAction((parse, _) =>
        {
            var options = binder.Bind(parse, isTrain: !parse.GetValue(test));
            SpadeDataset dataset = null!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("Scanning files");
                    dataset = SpadeDataset.Open(options, progress: (done, total) =>
                    {
                        task.MaxValue = total;
                        task.Value = done;
                    });
                    task.Value = task.MaxValue;
                });
            DemoCommand.PrintSummary(dataset);
            var loader = new SpadeLoader(dataset);
            string batches = $"{loader.BatchesPerEpoch} batches of {options.BatchSize} per epoch";
            AnsiConsole.MarkupLineInterpolated($"[green]ok:[/] {dataset.Count} pairs, {batches}, generator input {dataset.SemanticNc} channels.");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Convert()
    {
        var input = new Option<string>("--input")
        {
            Description = "Folder of colour-coded label PNGs (one RGB colour per class).", Required = true,
            HelpName = "dir"
        };
        var output = new Option<string>("--output")
        {
            Description = "Folder for the index label maps (gray PNG, same file names) and classes.csv.",
            Required = true, HelpName = "dir"
        };
        var colormap = new Option<string?>("--colormap", "--class-table")
        {
            Description = "Class table: CSV `name,r,g,b` (CamVid's class_dict.csv), JSON, or `index r g b` lines. Without it, the colours found are "
                + "numbered in (r, g, b) order and the table is written to <output>/colormap.txt.",
            HelpName = "file",
        };
        var unknown = new Option<bool>("--unknown-to-255")
        {
            Description = "Map colours missing from the table to 255 (don't care) instead of "
            + "stopping."
        };
        var instIn = new Option<string?>("--instance-input")
        {
            Description = "Folder of colour instance images (one colour per object) to turn into "
            + "id maps.", HelpName = "dir"
        };
        var instOut = new Option<string?>("--instance-output") { Description = "Folder for the instance id maps.", HelpName = "dir" };
        var cmd = new Command("convert", "Convert colour-coded label images into index label maps that training reads (and colour instance images "
            + "into id maps).");
        foreach (var o in new Option[] { input, output, colormap, unknown, instIn, instOut }) cmd.Options.Add(o);
        cmd.SetGuardedAction((parse, _) =>
        {
            if ((parse.GetValue(instIn) is null) != (parse.GetValue(instOut) is null))
                throw new GanSharpException(ErrorKind.Usage, "--instance-input and --instance-output go together: pass both or neither.");
            var options = new ConversionOptions
            {
                InputDir = parse.GetValue(input)!, OutputDir = parse.GetValue(output)!, ClassTable = parse.GetValue(colormap),
                UnknownTo255 = parse.GetValue(unknown),
            };
            var (result, instances) = ConvertWithProgress(options, parse.GetValue(instIn), parse.GetValue(instOut));
            foreach (var u in result.Unknown.Take(10))
            {
                string files = string.Join(", ", u.FirstFiles.Select(f => Path.GetFileName(f.File)));
                string rgb = $"({u.Rgb.R}, {u.Rgb.G}, {u.Rgb.B})";
                AnsiConsole.MarkupLineInterpolated($"[yellow]unknown colour[/] {rgb}: {u.Pixels:N0} pixels, in {files} -> 255");
            }
            string converted = $"Converted {result.Files - result.Skipped} files ({result.Skipped} already done)"
                + (instances > 0 ? $" and {instances} instance maps" : "");
            string mapNote = $"colormap {(result.ColormapWritten ? "written to" : "read from")} {result.ColormapPath}";
            string train = $"--label-nc {result.LabelNc}{(result.Unknown.Count > 0 ? " --contain-dontcare-label" : "")}";
            AnsiConsole.MarkupLineInterpolated($"{converted}; class table {result.ClassesPath}; {mapNote}; train with {train}.");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Split()
    {
        var labelDir = new Option<string>("--label-dir")
        {
            Description = "Folder of label maps (subfolders are searched).", Required = true,
            HelpName = "dir"
        };
        var imageDir = new Option<string>("--image-dir")
        {
            Description = "Folder of photos, paired with labels by file stem.", Required = true,
            HelpName = "dir"
        };
        var instDir = new Option<string?>("--instance-dir") { Description = "Folder of instance maps, split with their labels.", HelpName = "dir" };
        var output = new Option<string>("--output")
        {
            Description = "Root for train_label, train_img, val_label, ... and split.json.",
            Required = true, HelpName = "dir"
        };
        var mode = new Option<string>("--mode")
        {
            Description = "random, stratified (every class on each side when possible) or grouped (whole "
            + "sequences per side).", DefaultValueFactory = _ => "random"
        };
        mode.AcceptOnlyFromAmong("random", "stratified", "grouped");
        var val = new Option<double>("--val") { Description = "Fraction for validation.", DefaultValueFactory = _ => 0.0, HelpName = "fraction" };
        var test = new Option<double>("--test") { Description = "Fraction for test.", DefaultValueFactory = _ => 0.2, HelpName = "fraction" };
        var seed = new Option<int>("--seed") { Description = "Shuffle seed; the same seed gives the same split.", DefaultValueFactory = _ => 0 };
        var pattern = new Option<string?>("--group-pattern")
        {
            Description = "Grouped mode: regex over the file stem whose first group names the sequence (CamVid: \"^(\\w+?)_\"); without it the "
                + "label's subfolder is the group.",
            HelpName = "regex",
        };
        var copy = new Option<bool>("--copy") { Description = "Copy files instead of hard-linking them." };
        var cmd = new Command("split", "Split a paired data set into train/val/test folders (the reference layout) and write split.json.");
        foreach (var o in new Option[] { labelDir, imageDir, instDir, output, mode, val, test, seed, pattern, copy }) cmd.Options.Add(o);
        cmd.SetGuardedAction((parse, _) =>
        {
            var options = new SplitOptions
            {
                LabelDir = parse.GetValue(labelDir)!,
                ImageDir = parse.GetValue(imageDir)!,
                InstanceDir = parse.GetValue(instDir),
                OutputDir = parse.GetValue(output)!,
                Mode = Enum.Parse<SplitMode>(parse.GetValue(mode)!, ignoreCase: true),
                ValFraction = parse.GetValue(val),
                TestFraction = parse.GetValue(test),
                Seed = parse.GetValue(seed),
                GroupPattern = parse.GetValue(pattern),
                Copy = parse.GetValue(copy),
            };
            SplitResult result = null!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("Splitting");
                    result = DataSplit.Run(options, (done, total) =>
                    {
                        task.MaxValue = total;
                        task.Value = done;
                    });
                });
            string copied = result.CopiedAny ? ", some files copied (hard links impossible)" : "";
            string sizes = $"train {result.Train}, val {result.Val}, test {result.Test} pairs ({result.Groups} groups)";
            AnsiConsole.MarkupLineInterpolated($"{sizes}{copied}; manifest {result.ManifestPath}.");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Audit()
    {
        var binder = new DataOptionsBinder();
        var testDir = new Option<string?>("--test-image-dir")
        {
            Description = "Folder of test photos to check for near-duplicates in training "
            + "(leakage).", HelpName = "dir"
        };
        var report = new Option<string>("--report")
        {
            Description = "Where to write the HTML report.", DefaultValueFactory = _ => "audit.html",
            HelpName = "file"
        };
        var json = new Option<string?>("--json")
        {
            Description = $"Where to write the findings as JSON (default: next to --report, e.g. {AuditJson.FileName}); gansharp doctor reads it for "
                + $"its data-side advice.",
            HelpName = "file",
        };
        var threshold = new Option<int>("--hash-threshold")
        {
            Description = "Largest Hamming distance (of 64 bits) between perceptual hashes that "
            + "counts as a near-duplicate.", DefaultValueFactory = _ => 6, HelpName = "bits"
        };
        var scene = new Option<string>("--scene")
        {
            Description = "auto, texture (about 2,000 examples needed) or street (5,000-10,000).",
            DefaultValueFactory = _ => "auto"
        };
        scene.AcceptOnlyFromAmong("auto", "texture", "street");
        var strict = new Option<bool>("--strict") { Description = $"Exit with code {ExitCodes.CheckFailed} when any problem is found." };
        var cmd = new Command("audit", "Audit a data set before training: classes, sizes, near-duplicates, train/test leakage and whether there is "
            + "enough data.");
        binder.AddTo(cmd);
        foreach (var o in new Option[] { testDir, report, json, threshold, scene, strict }) cmd.Options.Add(o);
        cmd.SetGuardedAction((parse, _) =>
        {
            int bits = parse.GetValue(threshold);
            if (bits is < 0 or > 32)
                throw new GanSharpException(ErrorKind.Usage, $"--hash-threshold {bits} is outside 0..32: use a small number of bits such as 6.");
            var options = new AuditOptions
            {
                Data = binder.Bind(parse, isTrain: true),
                TestImageDir = parse.GetValue(testDir),
                HashThreshold = bits,
                Scene = Enum.Parse<SceneKind>(parse.GetValue(scene)!, ignoreCase: true),
            };
            var result = AuditWithProgress(options);
            string path = parse.GetValue(report)!;
            AuditReport.Write(result, path, null, options.Data.LabelDir);
            string jsonPath = parse.GetValue(json) ?? Path.ChangeExtension(path, ".json");
            AuditJson.Write(result, options, jsonPath);
            AnsiConsole.Write(AuditTable(result));
            foreach (var p in result.Problems) AnsiConsole.MarkupLineInterpolated($"[yellow]{p.Kind}:[/] {p.Message}");
            if (result.Problems.Count == 0) AnsiConsole.MarkupLine("[green]No problems found.[/]");
            AnsiConsole.MarkupLineInterpolated($"Report: {path}  findings: {jsonPath}");
            return parse.GetValue(strict) && result.Problems.Count > 0 ? ExitCodes.CheckFailed : ExitCodes.Ok;
        });
        return cmd;
    }

    // Runs the audit with one progress bar per stage (validating, hashing, checking test photos).
    private static AuditResult AuditWithProgress(AuditOptions options)
    {
        AuditResult result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                result = DataAudit.Run(options, (stage, done, total) =>
                {
                    lock (tasks)
                    {
                        if (!tasks.TryGetValue(stage, out var task)) tasks[stage] = task = ctx.AddTask(stage);
                        task.MaxValue = total;
                        task.Value = done;
                    }
                });
            });
        return result;
    }

    private static Table AuditTable(AuditResult result)
    {
        var table = new Table().AddColumns("check", "result");
        table.AddRow("pairs", result.Pairs.ToString("N0"));
        table.AddRow("effective size", $"{result.EffectiveSize:N0} ({result.NearDuplicateClusters.Count} near-duplicate clusters)");
        table.AddRow("guidance", $"{result.RecommendedSize:N0}{(result.Scene == SceneKind.Street ? "-10,000" : "")} "
            + $"({(result.Scene == SceneKind.Street ? "dense street scenes" : "texture-like")}, {result.MeanClassesPerImage:F1} classes per "
                + $"image)");
        table.AddRow("leakage", result.TestImages == 0 ? "not checked (no --test-image-dir)"
            : $"{result.Leakage.Count} of {result.TestImages} test photos");
        table.AddRow("rare classes", Markup.Escape(string.Join(", ", result.Classes.Where(c => c.Rare)
            .Select(c => c.Images == 0 ? $"{c.Class} (absent)" : c.Class.ToString()))));
        table.AddRow("sizes", Markup.Escape(string.Join(", ", result.Sizes.Take(4).Select(s => $"{s.Width}x{s.Height} ({s.Count})"))));
        return table;
    }

    // Converts the labels (and the instance maps when asked) with one progress bar each.
    private static (ConversionResult Result, int Instances) ConvertWithProgress(ConversionOptions options, string? instanceInput,
        string? instanceOutput)
    {
        ConversionResult result = null!;
        int instances = 0;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("Converting labels");
                result = LabelConversion.Convert(options, (done, total) =>
                {
                    task.MaxValue = total;
                    task.Value = done;
                });
                if (instanceInput is not null)
                {
                    var it = ctx.AddTask("Converting instances");
                    instances = LabelConversion.ConvertInstanceFolder(instanceInput, instanceOutput!, (done, total) =>
                    {
                        it.MaxValue = total;
                        it.Value = done;
                    });
                }
            });
        return (result, instances);
    }
}
