using System.CommandLine;
using GanSharp.Cli.Options;
using GanSharp.Runs;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp test</c>: synthesizes every label map of a folder with a trained run.</summary>
public static class TestCommand
{
    public static Command Create()
    {
        var cmd = new Command("test", "Synthesize photos for every label map of a folder with a trained run; writes "
            + "results/<name>/test_<epoch>/index.html.");
        // Folders may come from --dataset_mode coco --dataroot instead (checked once the options are bound).
        var spade = new SpadeOptionsBinder(training: false);
        spade.AddTo(cmd);
        var results = new Option<string>("--results-dir", "--results_dir")
        {
            Description = "Where result pages go.",
            DefaultValueFactory = _ => "./results",
        };
        var batchStats = new Option<bool>("--batch-norm-stats")
        {
            Description = "Run the generator in train mode (batch statistics of "
            + "each test batch) instead of eval mode; can help when training data was small."
        };
        var style = new Option<string?>("--style-image")
        {
            Description = "A photo whose style the VAE encoder gives every synthesized image (runs trained with --use-vae)."
        };
        cmd.Options.Add(results);
        cmd.Options.Add(style);
        cmd.Options.Add(batchStats);
        var reference = new ReferenceCompatBinder(isTrain: false);
        reference.AddTo(cmd);
        cmd.SetGuardedAction((parse, outer) =>
        {
            var (options, given) = TrainCommand.BindSpade(parse, spade, reference, TrainCommand.Note);
            if (options.Data.LabelDir.Length == 0)
                throw new GanSharpException(ErrorKind.Usage,
                    "gansharp test needs the label maps to synthesize: give --label-dir (photos in --image-dir are optional), or "
                    + "--dataset_mode coco --dataroot DIR.");
            using var cancel = new UserCancel(outer);
            SpadeTestOutcome? outcome = null;
            AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("synthesizing", maxValue: 1);
                outcome = SpadeRunner.Test(options, given, parse.GetValue(results)!, parse.GetValue(batchStats), cancel.Token,
                    n => AnsiConsole.MarkupLineInterpolated($"[blue]note:[/] {n}"),
                    (done, total) =>
                    {
                        task.MaxValue = total;
                        task.Value = done;
                    }, parse.GetValue(style));
            });
            AnsiConsole.MarkupLineInterpolated($"{outcome!.Images} images; page: [green]{outcome.IndexHtml}[/]");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
