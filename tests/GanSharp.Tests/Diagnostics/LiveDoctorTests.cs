using GanSharp.Cli;
using GanSharp.Diagnostics;
using Spectre.Console;
using static GanSharp.Tests.Diagnostics.Synthetic;

namespace GanSharp.Tests.Diagnostics;

public class LiveDoctorTests
{
    [Fact]
    public void WarnsOncePerEpisodeAndLogsStartAndEnd()
    {
        using var tmp = Fixtures.TempDir();
        string logPath = Path.Combine(tmp.Root, "r", LiveDoctor.LogFileName);
        var doctor = new LiveDoctor(logPath, [new DOverpowersGDetector(), new ExplodingGradientsDetector()]);
        var raised = new List<DoctorWarning>();
        doctor.Warning += raised.Add;
        // D wins in records 20–39 and 70–89; gradients spike at 10, flicker back at 12–13 (within the quiet
        // period, so no second warning) and spike again at 60.
        var run = Build(100, (i, r) =>
        {
            var v = Healthy(i, r);
            if (i is >= 20 and < 40 or >= 70 and < 90) v["D_acc"] = 0.95;
            if (i is 10 or 12 or 13 or 60) v["grad/D"] = 150;
            return v;
        });
        foreach (var rec in run) doctor.OnStats(rec);

        // Window of 5 for D overpowering G: records 24 and 74 are the first that fire.
        Assert.Equal([(110L, DetectorIds.ExplodingGradients), (250L, DetectorIds.DOverpowersG), (610L, DetectorIds.ExplodingGradients),
            (750L, DetectorIds.DOverpowersG)],
            raised.Select(w => (w.Iteration, w.DetectorId)).ToArray());
        Assert.Equal("--ngf", raised[1].Prescription[0].Flag);
        Assert.Equal(raised, doctor.Warnings);
        string log = File.ReadAllText(logPath);
        Assert.Equal(2, log.Split("D overpowering G: D accuracy").Length - 1);
        Assert.Equal(5, log.Split("episode ended").Length - 1);
        Assert.StartsWith("[doctor] (epoch: 1, iteration: 110) Exploding gradients: grad/D = 150 (threshold 100).\n    1. --lr 0.0001 — ", log);
        Assert.Contains("[doctor] (epoch: 1, iteration: 250) D overpowering G: D accuracy ≥ 0.85 for 5 records", log);
        Assert.Contains("\n    1. --ngf 128 — ", log);
        Assert.Contains("\n    7. --ndf 128 — ", log);
    }

    [Fact]
    public void DoctorVerbNeedsARunOrEnvAndWritesTheReport()
    {
        Assert.Equal(ExitCodes.Usage, GanSharp.Tests.Reliability.Cli.Run(["doctor"]).Code);
        using var tmp = Fixtures.TempDir();
        Assert.Equal(ExitCodes.BadInput, GanSharp.Tests.Reliability.Cli.Run(["doctor", tmp.File("missing")]).Code);
        File.WriteAllText(tmp.File("loss_log.txt"), "(epoch: 1, iters: 100, time: 0.500) GAN: 0.700 D_Fake: 0.900 D_real: 0.900 \n");
        string outDir = tmp.File("out");
        Assert.Equal(ExitCodes.Ok, GanSharp.Tests.Reliability.Cli.Run(["doctor", tmp.Root, "--out", outDir]).Code);
        Assert.True(File.Exists(Path.Combine(outDir, "doctor.html")));
        Assert.True(File.Exists(Path.Combine(outDir, "losses.png")));
    }

    [Fact]
    public void TheCliPrintsLiveWarningsWithTheirRemediesAndEscapesMarkup()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(writer)
        });
        console.Profile.Width = 400;
        var doctor = new LiveDoctor(null, [new ExplodingGradientsDetector()]);
        DoctorConsole.Attach(doctor, console);
        foreach (var rec in Build(3, (i, r) => new Dictionary<string, double> { ["grad/[red]D"] = i == 1 ? 500 : 1 })) doctor.OnStats(rec);
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("doctor (epoch 1, iteration 20) Exploding gradients: grad/[red]D = 500 (threshold 100).", lines[0]);
        Assert.StartsWith("    1. --lr 0.0001 — Halving the base learning rate", lines[1]);
        Assert.Equal(1 + Remedies.For(DetectorIds.ExplodingGradients).Count, lines.Length);
    }
}
