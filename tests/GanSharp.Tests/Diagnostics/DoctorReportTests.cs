using System.Globalization;
using GanSharp.Diagnostics;
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
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"(epoch: {1 + (i - 1) / 10}, iters: {(1 + (i - 1) % 10) * 100}, time: 0.500) GAN: {g:F3} GAN_Feat: 1.500 VGG: 2.000 D_Fake: {d:F3} D_real: {d:F3} "));
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
        Assert.True(html.IndexOf("--ngf 128", StringComparison.Ordinal) < html.IndexOf("--spectral-norm-d", StringComparison.Ordinal));
        Assert.Contains("data:image/png;base64,iVBORw0KGgo", html);
    }

    [Fact]
    public void EveryUserStringInTheReportIsEscaped()
    {
        using var tmp = Fixtures.TempDir();
        string run = Path.Combine(tmp.Root, "run<b>1</b>");
        Directory.CreateDirectory(Path.Combine(run, "web", "images"));
        var lines = Enumerable.Range(1, 12).Select(i => string.Create(CultureInfo.InvariantCulture,
            $"{{\"epoch\":1,\"epoch_iter\":{i * 8},\"iteration\":{i},\"time\":{i},\"GAN\":0.9,\"<b onmouseover=alert(1)>GAN\":{i},\"D_Fake\":0.6,\"D_real\":0.6}}"));
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
            $"{{\"epoch\":1,\"epoch_iter\":{i * 8},\"iteration\":{i * 10},\"time\":{i},\"GAN\":{0.9 + i * 0.001},\"D_Fake\":0.6,\"D_real\":0.6,\"grad/D\":\"Infinity\"}}")).ToList();
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

    [Fact]
    public void DataAuditFindingsBecomeDataSideAdvice()
    {
        var advice = Remedies.ForDataAudit(new DataAuditSummary(630, 41, 7));
        Assert.Equal(["remove near-duplicates", "split by scene or sequence"], advice.Select(a => a.Value).ToArray());
        Assert.Contains("41 near-duplicate pairs among 630 images", advice[0].Why);
        Assert.Empty(Remedies.ForDataAudit(new DataAuditSummary(630, 0, 0)));

        using var tmp = Fixtures.TempDir();
        File.WriteAllText(tmp.File("loss_log.txt"), "(epoch: 1, iters: 100, time: 0.500) GAN: 0.700 D_Fake: 0.900 D_real: 0.900 \n");
        File.WriteAllText(tmp.File(DoctorReport.AuditFileName), "{\"images\": 630, \"near_duplicate_pairs\": 41, \"leaked_pairs\": 0}");
        var result = DoctorReport.Write(tmp.Root);
        Assert.Equal("remove near-duplicates", Assert.Single(result.DataAdvice).Value);
        Assert.Contains("41 near-duplicate pairs", File.ReadAllText(result.HtmlPath));
    }

    private static byte[] OnePixelPng() => Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");
}
