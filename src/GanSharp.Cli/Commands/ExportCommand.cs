using System.CommandLine;
using GanSharp.Interop;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp export</c>: a run's network weights as safetensors (or .pth) in a folder of the user's choice.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "The run to export (its folder inside --checkpoints-dir).", Required = true };
        var checkpoints = new Option<string>("--checkpoints-dir", "--checkpoints_dir")
        {
            Description = "Where the runs are.",
            DefaultValueFactory = _ => "./checkpoints"
        };
        var which = new Option<string>("--which-epoch", "--which_epoch")
        {
            Description = "Which checkpoint: latest or an epoch number.",
            DefaultValueFactory = _ => "latest"
        };
        var format = new Option<string>("--format")
        {
            Description = "safetensors (no pickle: readable by any safetensors tool) or pth (torch.load).",
            DefaultValueFactory = _ => "safetensors"
        };
        format.AcceptOnlyFromAmong("safetensors", "pth");
        var output = new Option<string>("--out")
        {
            Description = "The folder to write {which}_net_{G,E,D,...} into (created if missing).",
            Required = true, HelpName = "dir"
        };
        var cmd = new Command("export", "Write a run's network weights (G, and E, D, G_ema when present) as .safetensors or .pth files into a "
            + "folder.");
        foreach (var o in new Option[] { name, checkpoints, which, format, output })
            cmd.Options.Add(o);
        cmd.SetGuardedAction((parse, _) =>
        {
            var f = parse.GetValue(format) == "pth" ? ExportFormat.Pth : ExportFormat.SafeTensors;
            var written = WeightsExport.Export(parse.GetValue(checkpoints)!, parse.GetValue(name)!, parse.GetValue(which)!, f,
                parse.GetValue(output)!);
            foreach (var file in written) AnsiConsole.MarkupLineInterpolated($"wrote {file}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
