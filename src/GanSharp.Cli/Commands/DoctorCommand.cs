using System.CommandLine;
using GanSharp.Diagnostics;
using GanSharp.Reporting;
using GanSharp.Runtime;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp doctor</c>: the environment check (<c>--env</c>) and the training report of a run folder.</summary>
public static class DoctorCommand
{
    public static Command Create()
    {
        var run = new Argument<string?>("run")
        {
            Description = "A run folder (checkpoints/<name>) with stats.jsonl, or a reference SPADE folder with only loss_log.txt; it may still be "
                + "training or have crashed.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var env = new Option<bool>("--env")
        {
            Description = "Print the TorchSharp/libtorch versions, threads, device and allocator settings, and "
            + "check that a convolution runs."
        };
        var output = new Option<string?>("--out") { Description = "Folder for doctor.html and the PNG curves (default: <run>/report)." };
        var audit = new Option<string?>("--audit")
        {
            Description = "The audit.json of the training data (gansharp data audit): its near-duplicates, effective size and leakage join the "
                + "prescriptions. "
                + "Default: the one found in the run folder or next to the run's --label-dir, or in the current folder, if it audited that folder.",
            HelpName = "file",
        };
        var cmd = new Command("doctor", "Check the machine (--env), or diagnose a training run: failure episodes, prescriptions and an HTML report.");
        cmd.Arguments.Add(run);
        cmd.Options.Add(env);
        cmd.Options.Add(output);
        cmd.Options.Add(audit);
        cmd.SetGuardedAction((parse, _) =>
        {
            string? runPath = parse.GetValue(run);
            bool checkEnv = parse.GetValue(env);
            if (!checkEnv && runPath is null)
                throw new GanSharpException(ErrorKind.Usage, "doctor needs a run folder (gansharp doctor checkpoints/<name>) or --env.");
            if (checkEnv) PrintEnvironment();
            if (runPath is not null) return Diagnose(runPath, parse.GetValue(output), parse.GetValue(audit));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static void PrintEnvironment()
    {
        var e = TorchEnvironment.Probe();
        var table = new Table().AddColumn("what").AddColumn("value");
        table.AddRow("TorchSharp", Markup.Escape(e.TorchSharpVersion));
        table.AddRow("libtorch", Markup.Escape(e.LibTorchVersion));
        table.AddRow("device", Markup.Escape(e.Device));
        table.AddRow("intra-op threads", e.IntraOpThreads.ToString());
        table.AddRow("inter-op threads", e.InteropThreads.ToString());
        table.AddRow("malloc", Markup.Escape(NativeAllocator.Current()));
        table.AddRow("native library", Markup.Escape(e.NativeLibraryPath));
        table.AddRow("conv forward+backward", SelfCheck.ConvRoundTrip() ? "ok" : "FAILED");
        table.AddRow("SPADE convolutions", Markup.Escape(GanSharp.Kernels.GemmConvolution.Status));
        AnsiConsole.Write(table);
    }

    private static int Diagnose(string runPath, string? outDir, string? auditPath)
    {
        var result = DoctorReport.Write(runPath, outDir, auditPath);
        AnsiConsole.Write(SummaryTable(result));
        foreach (var v in result.Verdicts.Where(v => v.Status == VerdictStatus.Fired))
        {
            AnsiConsole.MarkupLineInterpolated($"[bold]{v.Detector.Title}[/] — try in order:");
            int n = 1;
            foreach (var r in v.Prescription) AnsiConsole.MarkupLineInterpolated($"  {n++}. [green]{r.CommandLine}[/] [grey]({r.Source})[/]");
        }
        AnsiConsole.MarkupLineInterpolated($"[grey]{result.AuditNote}.[/]");
        if (result.DataAdvice.Count > 0)
        {
            AnsiConsole.MarkupLine("[bold]Data[/] (from the dataset audit):");
            foreach (var r in result.DataAdvice) AnsiConsole.MarkupLineInterpolated($"  - [green]{r.CommandLine}[/]: {r.Why}");
        }
        if (result.Log.SkippedLines > 0)
        {
            string skipped = $"{result.Log.SkippedLines} unreadable lines skipped in {result.Log.Source}";
            AnsiConsole.MarkupLineInterpolated($"[yellow]{skipped} (a run still writing, or cut by a crash).[/]");
        }
        AnsiConsole.MarkupLineInterpolated($"report: {result.HtmlPath}");
        return ExitCodes.Ok;
    }

    /// <summary>The console summary: one row per detector (kept separate so tests can render it).</summary>
    internal static Table SummaryTable(DoctorReportResult result)
    {
        var table = new Table().AddColumn("detector").AddColumn("verdict").AddColumn("episodes").AddColumn("first remedy");
        foreach (var v in result.Verdicts)
        {
            string verdict = v.Status switch
            {
                VerdictStatus.Fired => "[red]fired[/]",
                VerdictStatus.Healthy => "[green]healthy[/]",
                _ => "[grey]not logged[/]",
            };
            string episodes = v.Episodes.Count == 0 ? "" : string.Join(", ", v.Episodes.Take(3).Select(e => $"{e.StartIteration}–{e.EndIteration}"))
                + (v.Episodes.Count > 3 ? ", …" : "");
            string remedy = v.Status == VerdictStatus.Fired && v.Prescription.Count > 0 ? v.Prescription[0].CommandLine : "";
            table.AddRow(Markup.Escape(v.Detector.Title), verdict, Markup.Escape(episodes), Markup.Escape(remedy));
        }
        return table;
    }
}
