using System.CommandLine;
using GanSharp.Cli.Studio;
using GanSharp.Studio;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp studio</c>: paint a label map in the browser and watch a trained SPADE run synthesize it.</summary>
public static class StudioCommand
{
    public static Command Create()
    {
        var cmd = new Command("studio", "Paint label maps in the browser and watch a trained SPADE run synthesize them live.");
        var name = new Option<string>("--name") { Description = "The run to paint with.", Required = true };
        var checkpoints = new Option<string>("--checkpoints-dir", "--checkpoints_dir")
        {
            Description = "Where the run's folder is.",
            DefaultValueFactory = _ => "./checkpoints",
        };
        var which = new Option<string>("--which-epoch", "--which_epoch")
        {
            Description = "Checkpoint to load (latest or an epoch).",
            DefaultValueFactory = _ => "latest",
        };
        var port = new Option<int>("--port") { Description = "TCP port of the page.", DefaultValueFactory = _ => 7860 };
        var host = new Option<string>("--host")
        {
            Description = "Address to listen on; 0.0.0.0 opens the studio to the network.",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var classes = new Option<string?>("--classes")
        {
            Description = "Class table (CSV name,r,g,b; JSON; or index r g b) for the palette's names and colours; by default the "
                + "classes.csv that gansharp data convert wrote next to the run's label maps.",
        };
        cmd.Options.Add(name);
        cmd.Options.Add(classes);
        cmd.Options.Add(checkpoints);
        cmd.Options.Add(which);
        cmd.Options.Add(port);
        cmd.Options.Add(host);
        cmd.SetGuardedAction((parse, outer) =>
        {
            string address = parse.GetValue(host)!;
            if (address is not ("127.0.0.1" or "::1"))
                AnsiConsole.MarkupLineInterpolated(
                    $"[yellow]warning:[/] --host {address} lets other machines paint with your model; the studio has no login.");
            using var session = StudioSession.Open(parse.GetValue(name)!, parse.GetValue(checkpoints)!, parse.GetValue(which)!,
                n => AnsiConsole.MarkupLineInterpolated($"[blue]note:[/] {n}"), parse.GetValue(classes));
            using var cancel = new UserCancel(outer);
            var server = StudioServer.StartAsync(session, address, parse.GetValue(port)).GetAwaiter().GetResult();
            try
            {
                AnsiConsole.MarkupLineInterpolated($"Studio for {session.Name}: [green]{server.Address}[/] (Ctrl+C stops)");
                server.WaitForShutdownAsync(cancel.Token).GetAwaiter().GetResult();
            }
            finally
            {
                server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
