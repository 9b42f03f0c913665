using System.CommandLine;
using GanSharp.Distributed;
using Spectre.Console;

namespace GanSharp.Cli;

/// <summary>Runs a verb's body and turns a <see cref="GanSharpException"/> into one sentence and an exit code.</summary>
public static class CommandRunner
{
    public static void SetGuardedAction(this Command command, Func<ParseResult, CancellationToken, int> body)
    {
        command.SetAction((ParseResult parse, CancellationToken token) => Task.FromResult(Run(() => body(parse, token))));
    }

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (GanSharpException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            // Under mpirun the other ranks would otherwise wait for this one until their watchdog fires.
            DistributedRun.AbortOthers(ExitCodes.For(e.Kind));
            return ExitCodes.For(e.Kind);
        }
        catch (IOException e) when (AtomicFile.IsDiskFull(e))
        {
            // A write outside AtomicFile (a log line, a page) ran out of space: still one sentence and its own code.
            const string Then = "then run the command again (--continue-train resumes from the last checkpoint)";
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the disk is full ({e.Message}): free some space or write to another disk, {Then}.");
            return ExitCodes.DiskFull;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("[yellow]stopped by the user[/]");
            return ExitCodes.Interrupted;
        }
    }
}
