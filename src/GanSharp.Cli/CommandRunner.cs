using System.CommandLine;
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
            return ExitCodes.For(e.Kind);
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("[yellow]stopped by the user[/]");
            return ExitCodes.Interrupted;
        }
    }
}
