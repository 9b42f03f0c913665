using System.CommandLine;
using System.Globalization;
using GanSharp.Cli.Options;
using GanSharp.Distributed;
using GanSharp.Models.Spade;
using GanSharp.Runs;
using GanSharp.Training;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp train</c>: trains GauGAN/SPADE on a custom data set (label, image and instance folders).</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var cmd = new Command("train", "Train GauGAN/SPADE on label maps and photos; --continue-train resumes a run exactly.");
        var spade = new SpadeOptionsBinder(training: true);
        spade.AddTo(cmd);
        var tricks = new TricksOptionsBinder();
        tricks.AddTo(cmd);
        var reference = new ReferenceCompatBinder(isTrain: true);
        reference.AddTo(cmd);
        cmd.SetGuardedAction((parse, outer) =>
        {
            var (options, given) = BindSpade(parse, spade, reference, Note);
            options = tricks.BindInto(parse, options, given);
            options.Run.ValidateNames();
            using var cancel = new UserCancel(outer);
            var result = RunWithProgress(options, given, cancel.Token);
            var folder = new RunFolder(options.Run.RunDir);
            // Under mpirun rank 0 speaks for the run.
            if (!DistributedRun.IsRank0) return result.Interrupted ? ExitCodes.Interrupted : ExitCodes.Ok;
            if (result.Interrupted)
            {
                AnsiConsole.MarkupLineInterpolated(
                    $"[yellow]Stopped at iteration {result.Position.Iteration}; resume with --continue-train --name {options.Run.Name}.[/]");
                return ExitCodes.Interrupted;
            }
            AnsiConsole.MarkupLineInterpolated(
                $"Checkpoints: [green]{folder.Dir}[/]  samples: [green]{Path.Combine(folder.WebDir, "index.html")}[/]");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// The SPADE options and the reference-compatibility options into one record, with the flat names the user typed;
    /// shared by train and test.
    /// </summary>
    internal static (SpadeRunOptions Options, HashSet<string> Given) BindSpade(ParseResult parse, SpadeOptionsBinder spade,
        ReferenceCompatBinder reference, Action<string> notice)
    {
        var (options, given) = spade.Bind(parse);
        return (reference.Apply(parse, options, given, notice), given);
    }

    internal static void Note(string message) => AnsiConsole.MarkupLineInterpolated($"[blue]note:[/] {message}");

    /// <summary>
    /// Trains with a progress bar. With a <paramref name="budget"/> (the demo) training stops on time rather than after
    /// its epochs, so the bar and its remaining time follow the clock instead of the iteration count.
    /// </summary>
    internal static TrainResult RunWithProgress(SpadeRunOptions options, HashSet<string> given, CancellationToken token, TimeSpan? budget = null)
    {
        // Ranks other than 0 of an mpirun job train silently: rank 0 speaks for the run.
        if (!DistributedRun.IsRank0) return SpadeRunner.Train(options, given, token, notice: _ => { });
        var latest = new LatestStatsSink();
        var doctor = new GanSharp.Diagnostics.LiveDoctor(Path.Combine(options.Run.RunDir, GanSharp.Diagnostics.LiveDoctor.LogFileName));
        if (!string.IsNullOrEmpty(options.Data.LabelDir))
        {
            var (audit, _) = GanSharp.Data.Tools.AuditDiscovery.FindFor([options.Data.LabelDir]);
            doctor.Audit = audit;
            if (audit is not null) AnsiConsole.MarkupLineInterpolated(
                $"[blue]note:[/] dataset audit {audit.Source}: its data remedies join the live doctor's advice.");
        }
        DoctorConsole.Attach(doctor);
        TrainResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", autoStart: true, maxValue: budget?.TotalSeconds ?? 1);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                result = SpadeRunner.Train(options, given, token,
                    notice: n => AnsiConsole.MarkupLineInterpolated($"[blue]note:[/] {n}"),
                    progress: p =>
                    {
                        if (budget is null)
                        {
                            task.MaxValue = Math.Max(1, p.TotalIterations);
                            task.Value = p.Iteration;
                        }
                        else task.Value = Math.Min(clock.Elapsed.TotalSeconds, task.MaxValue);
                        task.Description = Markup.Escape(Describe(p, latest, budget is null));
                    },
                    sinks: [latest, doctor]);
                if (budget is not null) task.Value = task.MaxValue;
            });
        return result!;
    }

    private static string Describe(TrainProgress p, LatestStatsSink latest, bool epochsBound = true)
    {
        string losses = latest.Latest is null
            ? ""
            : " " + string.Join(" ", latest.Latest.Values.Where(kv => SpadeRecipe.IsLossName(kv.Key))
                .Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F3}")));
        return epochsBound ? $"epoch {p.Epoch}/{p.TotalEpochs} it {p.Iteration}{losses}" : $"epoch {p.Epoch} it {p.Iteration}{losses}";
    }
}
