using System.CommandLine;
using GanSharp.Cli.Options;
using GanSharp.Data;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp data validate | convert</c>: data set checks and label tools.</summary>
public static class DataCommand
{
    public static Command Create()
    {
        var cmd = new Command("data", "Check a data set before training, and convert label files.");
        cmd.Subcommands.Add(Validate());
        cmd.Subcommands.Add(Convert());
        return cmd;
    }

    private static Command Validate()
    {
        var binder = new DataOptionsBinder();
        var test = new Option<bool>("--test") { Description = "Validate with the test-time defaults (load size 256, no flip, file order)." };
        var cmd = new Command("validate", "Pair the label, photo and instance folders and check every file once, as training would before it starts.");
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
            AnsiConsole.MarkupLineInterpolated(
                $"[green]ok:[/] {dataset.Count} pairs, {loader.BatchesPerEpoch} batches of {options.BatchSize} per epoch, generator input {dataset.SemanticNc} channels.");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Convert()
    {
        var input = new Option<string>("--input") { Description = "Folder of colour-coded label PNGs (one RGB colour per class).", Required = true, HelpName = "dir" };
        var output = new Option<string>("--output") { Description = "Folder for the index label maps (gray PNG, same file names).", Required = true, HelpName = "dir" };
        var colormap = new Option<string?>("--colormap")
        {
            Description = "Text file with one `index r g b` line per class. Without it, the colours found are numbered in (r, g, b) order and the table is written to <output>/colormap.txt.",
            HelpName = "file",
        };
        var cmd = new Command("convert", "Convert colour-coded label images into index label maps that training reads.");
        cmd.Options.Add(input);
        cmd.Options.Add(output);
        cmd.Options.Add(colormap);
        cmd.SetGuardedAction((parse, _) =>
        {
            ConversionResult result = null!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("Converting");
                    result = LabelConversion.ConvertFolder(parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(colormap), (done, total) =>
                    {
                        task.MaxValue = total;
                        task.Value = done;
                    });
                });
            AnsiConsole.MarkupLineInterpolated(
                $"Converted {result.Files} files; colormap {(result.ColormapWritten ? "written to" : "read from")} {result.ColormapPath}; train with --label-nc {result.LabelNc}.");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
