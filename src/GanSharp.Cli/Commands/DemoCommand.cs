using System.CommandLine;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp demo</c>: the main job on a data set it generates.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--dir") { Description = "Folder for the generated data set and run.", DefaultValueFactory = _ => "demo-run" };
        var cmd = new Command("demo", "Generate a synthetic label/photo data set and run GanSharp on it.");
        cmd.Options.Add(dir);
        cmd.SetGuardedAction((parse, _) =>
        {
            AnsiConsole.MarkupLine($"demo in {Markup.Escape(parse.GetValue(dir)!)}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
