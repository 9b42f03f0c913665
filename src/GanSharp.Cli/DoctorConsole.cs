using GanSharp.Diagnostics;
using Spectre.Console;

namespace GanSharp.Cli;

/// <summary>
/// Prints the live doctor's warnings while a verb trains: the library raises them through
/// <see cref="LiveDoctor.Warning"/> and does no console I/O itself.
/// </summary>
public static class DoctorConsole
{
    /// <summary>Prints every warning of <paramref name="doctor"/> to <paramref name="console"/> (default: the process console).</summary>
    public static void Attach(LiveDoctor doctor, IAnsiConsole? console = null) =>
        doctor.Warning += w => Print(w, console ?? AnsiConsole.Console);

    /// <summary>One warning: the finding in yellow, then the remedies numbered in the order to try them.</summary>
    public static void Print(DoctorWarning warning, IAnsiConsole console)
    {
        string when = $"(epoch {warning.Epoch}, iteration {warning.Iteration})";
        console.MarkupLineInterpolated($"[yellow]doctor[/] {when} [bold]{warning.Title}[/]: {warning.Evidence}.");
        int n = 1;
        foreach (var r in warning.Prescription)
            console.MarkupLineInterpolated($"    {n++}. [green]{r.CommandLine}[/] — {r.Why} [grey]({r.Source})[/]");
    }
}
