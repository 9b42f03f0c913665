using System.CommandLine;
using GanSharp.Cli.Options;
using GanSharp.Options;
using GanSharp.Runs;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp train-family</c>: trains one of the stabilised GAN families with any tricks, on 2-D mixtures or shapes32.</summary>
public static class TrainFamilyCommand
{
    public static Command Create()
    {
        var family = new FamilyOptionsBinder();
        var tricks = new TricksOptionsBinder();
        var cmd = new Command("train-family",
            "Train a stabilised GAN family (mlp, dcgan, lsgan, wgan, wgan-gp, began, progan, acgan) with any of the tricks, on 2-D "
                + "mixtures or generated 32x32 shapes; resumable with --continue-train.");
        family.AddTo(cmd);
        tricks.AddTo(cmd);
        cmd.SetGuardedAction((parse, token) =>
        {
            var f = family.Bind(parse);
            var t = tricks.Bind(parse);
            var run = family.BindRun(parse);
            FamilyRunResult? result = null;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"{FamilyOptionSpecs.FamilyNames[(int)f.Family]} on {f.Data.ToString().ToLowerInvariant()}");
                    var doctor = new GanSharp.Diagnostics.LiveDoctor(Path.Combine(run.RunDir, GanSharp.Diagnostics.LiveDoctor.LogFileName))
                    {
                        Kind = GanSharp.Diagnostics.RunKind.Family,
                    };
                    DoctorConsole.Attach(doctor);
                    result = FamilyRunner.Train(f, t, run, token, p =>
                    {
                        task.MaxValue = Math.Max(1, p.TotalIterations);
                        task.Value = p.Iteration;
                    }, [doctor]);
                    task.Value = task.MaxValue;
                });
            var r = result!;
            if (f.IsImage)
                AnsiConsole.MarkupLineInterpolated($"feature distance to real shapes: [bold]{r.FeatureDistance:F3}[/]; run folder {run.RunDir}");
            else
                AnsiConsole.MarkupLineInterpolated(
                    $"modes covered: [bold]{r.Modes}[/], high-quality samples: [bold]{r.HighQuality:P1}[/]; run folder {run.RunDir}");
            return r.Train.Interrupted ? ExitCodes.Interrupted : ExitCodes.Ok;
        });
        return cmd;
    }
}
