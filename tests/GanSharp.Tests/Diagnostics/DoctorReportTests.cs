using System.Globalization;
using GanSharp.Data.Tools;
using GanSharp.Diagnostics;
using GanSharp.Reporting;
using GanSharp.Training;

namespace GanSharp.Tests.Diagnostics;

public class DoctorReportTests
{
    private static readonly string[] ReferenceLog =
    [
        "================ Training Loss (Wed Nov 25 10:00:00 2026) ================",
        "(epoch: 1, iters: 100, time: 0.512) GAN: 1.234 GAN_Feat: 2.345 VGG: 3.456 D_Fake: 0.456 D_real: 0.567 ",
        "(epoch: 1, iters: 200, time: 0.498) GAN: 0.987 GAN_Feat: 2.100 VGG: 3.300 D_Fake: 0.500 D_real: 0.444 ",
        "(epoch: 2, iters: 100, time: 0.501) GAN: nan GAN_Feat: 2.000 VGG: 3.100 D_Fake: 0.400 D_real: 0.300 ",
        "(epoch: 2, iters: 2",
    ];

    [Fact]
    public void AReferenceLossLogParsesExactly()
    {
        var records = RunLogReader.ParseLossLog(ReferenceLog, out int skipped);
        Assert.Equal(1, skipped);   // the cut last line of a run still writing
        Assert.Equal(3, records.Count);
        var r0 = records[0];
        Assert.Equal((1, 100L, 100L, 0.512), (r0.Epoch, r0.EpochImages, r0.Iteration, r0.Seconds));
        Assert.Equal(["GAN", "GAN_Feat", "VGG", "D_Fake", "D_real"], r0.Values.Keys.ToArray());
        Assert.Equal([1.234, 2.345, 3.456, 0.456, 0.567], r0.Values.Values.ToArray());
        Assert.Equal(0.444, records[1].Values["D_real"]);
        // Epoch 2 continues after epoch 1's 200 images.
        Assert.Equal(300, records[2].Iteration);
        Assert.True(double.IsNaN(records[2].Values["GAN"]));
        Assert.Equal(2.0, records[2].Values["GAN_Feat"]);
    }

    [Fact]
    public void OurLossLogLinesRoundTripThroughTheReader()
    {
        var values = new Dictionary<string, double> { ["GAN"] = 0.6931, ["D_Fake"] = 0.25, ["D_real"] = 1.5, ["D(x)"] = 0.7 };
        string line = LossLogSink.Format(new StatsRecord(3, 640, 99, 12.5, values), k => !k.Contains('('));
        var r = Assert.Single(RunLogReader.ParseLossLog([line], out int skipped));
        Assert.Equal(0, skipped);
        Assert.Equal(0.693, r.Values["GAN"]);
        Assert.Equal(1.5, r.Values["D_real"]);
        Assert.False(r.Values.ContainsKey("D(x)"));
    }

    [Fact]
    public void AReferenceRunFolderWithOnlyALossLogIsDiagnosed()
    {
        using var tmp = Fixtures.TempDir();
        var lines = new List<string> { "================ Training Loss (Wed Nov 25 10:00:00 2026) ================" };
        for (int i = 1; i <= 40; i++)
        {
            // A hinge D whose loss sinks to zero from line 21 while G's adversarial loss climbs.
            double d = i <= 20 ? 0.9 : 0.02;
            double g = i <= 20 ? 0.7 : 2.5;
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"(epoch: {1 + (i - 1) / 10}, iters: {(1 + (i - 1) % 10) * 100}, time: 0.500) GAN: {g:F3} GAN_Feat: 1.500 VGG: 2.000 D_Fake: " +
                    $"{d:F3} D_real: {d:F3} "));
        }
        File.WriteAllLines(tmp.File("loss_log.txt"), lines);
        var result = DoctorReport.Write(tmp.Root);
        Assert.Equal("images seen", result.Log.XLabel);
        Assert.Equal(40, result.Log.Records.Count);
        var v = result.Verdicts.Single(x => x.Detector.Id == DetectorIds.DOverpowersG);
        var e = Assert.Single(v.Episodes);
        Assert.Equal(2100, e.StartIteration);
        Assert.Equal(4000, e.EndIteration);
        Assert.Equal(VerdictStatus.NotApplicable, result.Verdicts.Single(x => x.Detector.Id == DetectorIds.ModeCollapse).Status);
        Assert.Equal(["losses"], result.Plots.Select(p => p.Group).ToArray());
        Assert.True(new FileInfo(result.Plots[0].Path).Length > 5000);
        string html = File.ReadAllText(result.HtmlPath);
        Assert.Contains("<code>--ngf 128</code>", html);
        Assert.True(html.IndexOf("--ngf 128", StringComparison.Ordinal) < html.IndexOf("--norm-D spectralinstance", StringComparison.Ordinal));
        Assert.Contains("data:image/png;base64,iVBORw0KGgo", html);
    }

    [Fact]
    public void EveryUserStringInTheReportIsEscaped()
    {
        using var tmp = Fixtures.TempDir();
        string run = Path.Combine(tmp.Root, "run<b>1</b>");
        Directory.CreateDirectory(Path.Combine(run, "web", "images"));
        var lines = Enumerable.Range(1, 12).Select(i => string.Create(CultureInfo.InvariantCulture,
            $"{{\"epoch\":1,\"epoch_iter\":{i * 8},\"iteration\":{i},\"time\":{i},\"GAN\":0.9,\"<b onmouseover=alert(1)>GAN\":{i},\"D_Fake\":0.6," +
                $"\"D_real\":0.6}}"));
        File.WriteAllLines(Path.Combine(run, "stats.jsonl"), lines);
        File.WriteAllBytes(Path.Combine(run, "web", "images", "epoch001_iter8_<script>.png"), OnePixelPng());
        File.WriteAllText(Path.Combine(run, LiveDoctor.LogFileName), "[doctor] <iframe> warning\n");
        var result = DoctorReport.Write(run);
        string html = File.ReadAllText(result.HtmlPath);
        Assert.DoesNotContain("<script>", html);
        Assert.DoesNotContain("<b>1</b>", html);
        Assert.DoesNotContain("<b onmouseover", html);
        Assert.DoesNotContain("<iframe>", html);
        Assert.Contains("&lt;b onmouseover=alert(1)&gt;GAN", html);
        Assert.Contains("run&lt;b&gt;1&lt;/b&gt;", html);
        Assert.Contains("<figcaption>&lt;script&gt;</figcaption>", html);
        Assert.Contains("[doctor] &lt;iframe&gt; warning", html);
    }

    [Fact]
    public void ARunStillBeingWrittenIsReadUpToItsLastCompleteLine()
    {
        using var tmp = Fixtures.TempDir();
        var lines = Enumerable.Range(1, 30).Select(i => string.Create(CultureInfo.InvariantCulture,
            $"{{\"epoch\":1,\"epoch_iter\":{i * 8},\"iteration\":{i * 10},\"time\":{i},\"GAN\":{0.9 + i * 0.001},\"D_Fake\":0.6,\"D_real\":0.6," +
                $"\"grad/D\":\"Infinity\"}}")).ToList();
        string path = tmp.File("stats.jsonl");
        File.WriteAllText(path, string.Join("\n", lines) + "\n{\"epoch\":1,\"epoch_it");
        // Keep the file open for writing, as the trainer does between appends.
        using (var writer = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
        {
            var log = RunLogReader.Read(tmp.Root);
            Assert.Equal(30, log.Records.Count);
            Assert.Equal(1, log.SkippedLines);
            Assert.Equal(300, log.Records[^1].Iteration);
            Assert.Equal(0.93, log.Records[^1].Values["GAN"], 12);
            Assert.True(double.IsPositiveInfinity(log.Records[0].Values["grad/D"]));
        }
        var report = DoctorReport.Write(tmp.Root);
        Assert.Equal(VerdictStatus.Fired, report.Verdicts.Single(v => v.Detector.Id == DetectorIds.NonFinite).Status);
    }

    [Fact]
    public void AFolderWithoutLogsIsAUserError()
    {
        using var tmp = Fixtures.TempDir();
        var e = Assert.Throws<GanSharpException>(() => DoctorReport.Write(tmp.Root));
        Assert.Equal(ErrorKind.BadInput, e.Kind);
        Assert.Contains("has neither stats.jsonl nor loss_log.txt", e.Message);
    }

    // A run trained from <root>/ck/r1 on <root>/data/lab<b>els whose D wins from the start (D_acc 0.95).
    private static string RunWithLabelDir(TempDir tmp, string name, string labelDir)
    {
        string run = Path.Combine(tmp.Root, "ck", name);
        Directory.CreateDirectory(run);
        File.WriteAllLines(Path.Combine(run, "stats.jsonl"), Enumerable.Range(1, 12).Select(i => string.Create(CultureInfo.InvariantCulture,
            $"{{\"epoch\":1,\"epoch_iter\":{i * 8},\"iteration\":{i * 10},\"time\":{i},\"GAN\":3.5,\"D_Fake\":0.02,\"D_real\":0.03,\"D_acc\":0.95," +
                $"\"r_t\":0.97}}")));
        File.WriteAllText(Path.Combine(run, "options.json"),
            $"{{\"data\": {{\"label_dir\": \"{labelDir}\"}}, \"run\": {{\"checkpoints_dir\": \"ck\", \"name\": \"{name}\"}}}}");
        return run;
    }

    private static string PlantedAudit(string labelDirFull) =>
        "{\"format\": \"gansharp-audit/1\", \"label_dir\": " + System.Text.Json.JsonSerializer.Serialize(labelDirFull)
        + ", \"pairs\": 630, \"effective_size\": 589, \"near_duplicate_images\": 41,"
        + " \"near_duplicate_clusters\": [[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\"], [\"h\",\"i\"]],"
        + " \"test_images\": 60, \"leaked_test_images\": 7, \"scene\": \"texture\", \"recommended_size\": 2000,"
        + " \"classes\": [{\"class\": 0, \"images\": 630, \"rare\": false}, {\"class\": 5, \"images\": 3, \"rare\": true}, {\"class\": 6, " +
            "\"images\": 0, \"rare\": true}]}";

    [Fact]
    public void APlantedAuditPutsItsNumbersFirstInThePrescriptionsOfDataFailures()
    {
        using var tmp = Fixtures.TempDir();
        string labelDir = Path.Combine(tmp.Root, "data", "lab<b>els");
        Directory.CreateDirectory(labelDir);
        // The data root of the reference layout (the label folder's parent), where the doctor looks.
        File.WriteAllText(Path.Combine(tmp.Root, "data", "audit.json"), PlantedAudit(labelDir));
        string run = RunWithLabelDir(tmp, "r1", "data/lab<b>els");

        var result = DoctorReport.Write(run);
        Assert.NotNull(result.Audit);
        Assert.Equal(Path.Combine(tmp.Root, "data", "audit.json"), result.Audit.Source);
        var overpowers = result.Verdicts.Single(v => v.Detector.Id == DetectorIds.DOverpowersG);
        Assert.Equal(VerdictStatus.Fired, overpowers.Status);
        Assert.Equal(
            ["data: remove 41 near-duplicates", "data: more varied examples (589 effective vs the guidance of 2,000)",
                "--diff-augment color,translation,cutout", "--ada-target 0.6 --diff-augment color,translation,cutout", "--ngf 128"],
            overpowers.Prescription.Take(5).Select(r => r.CommandLine).ToArray());
        Assert.Equal("41 of 630 training photos are near-duplicates of another (2 clusters, the largest of 7): the set is worth about 589 distinct " +
            "examples and D memorises the repeats. "
            + "Keep one photo per cluster (audit.html lists them), or fewer frames per video sequence.", overpowers.Prescription[0].Why);
        Assert.Contains("589 effective examples (guidance 2,000)", overpowers.Prescription[2].Why);

        // The live doctor, given the same audit (train finds it for its --label-dir), warns with the same list.
        var live = new LiveDoctor(null, [new DOverpowersGDetector()]) { Audit = AuditDiscovery.FindFor([labelDir]).Audit };
        foreach (var rec in result.Log.Records) live.OnStats(rec);
        Assert.Equal(overpowers.Prescription, Assert.Single(live.Warnings).Prescription);

        // D memorising also gets the leakage finding, and the generic "more data"/"split by scene" give way to the numbers.
        var memorising = result.Verdicts.Single(v => v.Detector.Id == DetectorIds.DMemorising);
        Assert.Equal(VerdictStatus.Fired, memorising.Status);
        var lines = memorising.Prescription.Select(r => r.CommandLine).ToList();
        Assert.Equal("data: re-split by scene or sequence (gansharp data split --mode grouped)", lines[4]);
        Assert.StartsWith("7 of 60 held-out photos have a near-duplicate in training", memorising.Prescription[4].Why, StringComparison.Ordinal);
        Assert.DoesNotContain("data: more and more varied images", lines);
        Assert.Equal(1, lines.Count(l => l.StartsWith("--diff-augment", StringComparison.Ordinal)));
        Assert.Equal(["--soft-labels fixed --real-target 0.9", "--instance-noise 0.1"], lines.Skip(5).ToArray());
        Assert.Equal("--lambda-vgg 5", Remedies.For(DetectorIds.PerceptualOverfit, result.Audit)[3].CommandLine);

        // Everything the audit advises, rare class 5 included (absent class 6 is not "rare"); all of it escaped.
        Assert.Equal(6, result.DataAdvice.Count);
        Assert.Equal("data: more examples of rare classes 5", result.DataAdvice[^1].CommandLine);
        string html = File.ReadAllText(result.HtmlPath);
        Assert.Contains("lab&lt;b&gt;els", html);
        Assert.DoesNotContain("lab<b>els", html);
        Assert.Contains("630 training pairs, effective size 589 (41 near-duplicates in 2 clusters) against the guidance of 2,000; 7 of 60 held-out " +
            "photos leaked.", html);
        Assert.Contains("<code>data: remove 41 near-duplicates</code>", html);

        // A run on another folder ignores that audit, and says where it looked; --audit applies one explicitly.
        string other = RunWithLabelDir(tmp, "r2", "elsewhere/labels");
        Directory.CreateDirectory(Path.Combine(tmp.Root, "elsewhere"));
        File.WriteAllText(Path.Combine(tmp.Root, "elsewhere", "audit.json"), "{\"some other tool\": true}");
        var none = DoctorReport.Write(other);
        Assert.Null(none.Audit);
        Assert.StartsWith("no dataset audit of the run's training folder in ", none.AuditNote, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(tmp.Root, "elsewhere", "audit.json") + " (not a GanSharp audit)", none.AuditNote);
        Assert.Equal("--ngf 128", none.Verdicts.Single(v => v.Detector.Id == DetectorIds.DOverpowersG).Prescription[0].CommandLine);
        var given = DoctorReport.Write(other, auditPath: Path.Combine(tmp.Root, "data", "audit.json"));
        Assert.Equal("data: remove 41 near-duplicates",
            given.Verdicts.Single(v => v.Detector.Id == DetectorIds.DOverpowersG).Prescription[0].CommandLine);
        Assert.Equal(ErrorKind.BadInput, Assert.Throws<GanSharpException>(() => DoctorReport.Write(other, auditPath: tmp.File("missing.json"))).Kind);
    }

    [Fact]
    public void AnAuditThatFoundNothingLeavesTheTableAsItIs()
    {
        var clean = new GanSharp.Data.Tools.DataAuditSummary { Pairs = 6000, EffectiveSize = 6000 };
        Assert.Empty(Remedies.ForDataAudit(clean));
        Assert.Equal(Remedies.For(DetectorIds.DOverpowersG), Remedies.For(DetectorIds.DOverpowersG, clean));
        // Leakage was checked and found nothing: the generic "split by scene" advice is moot.
        var checkedSplit = clean with { TestImages = 500 };
        Assert.DoesNotContain(Remedies.For(DetectorIds.PerceptualOverfit, checkedSplit), r => r.Value == "split train/test by scene or sequence");
        Assert.Contains(Remedies.For(DetectorIds.PerceptualOverfit, clean), r => r.Value == "split train/test by scene or sequence");
    }

    private static byte[] OnePixelPng() => Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");
}
