using System.Globalization;
using GanSharp.Diagnostics;

namespace GanSharp.Reporting;

/// <summary>The doctor report's page, section by section: run summary, verdicts, prescriptions, curves, samples, live log.</summary>
internal static class DoctorPage
{
    private const int MaxSampleGroups = 6;

    private const string Style =
        "body{font-family:sans-serif;max-width:1040px;margin:auto;color:#222}table{border-collapse:collapse;margin:8px 0}"
        + "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}th{background:#f3f3f3}"
        + ".Fired{color:#b00;font-weight:bold}.Healthy{color:#080}.NotApplicable{color:#888}code{background:#f3f3f3;padding:1px 4px}"
        + "img.plot{width:100%;border:1px solid #ddd;margin:6px 0}.samples img{width:160px;image-rendering:pixelated;margin:2px}"
        + "pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px}";

    private static string H(string? s) => HtmlPage.Escape(s);

    /// <summary>The page for a written report (the curves are read back from their PNG files to embed them).</summary>
    public static HtmlPage Build(DoctorReportResult r)
    {
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(r.Log.RunDir)));
        var page = new HtmlPage("doctor: " + name, Style).Heading(1, "gansharp doctor: " + name);
        AppendSummary(page, r);
        AppendVerdicts(page, r);
        AppendPrescriptions(page, r);
        AppendDataAudit(page, r);
        AppendCurves(page, r.Plots);
        AppendSamples(page, Path.Combine(r.Log.RunDir, "web", "images"));
        AppendLiveLog(page, Path.Combine(r.Log.RunDir, LiveDoctor.LogFileName));
        return page;
    }

    // Run summary: what was read and in which state the run is.
    private static void AppendSummary(HtmlPage page, DoctorReportResult r)
    {
        var log = r.Log;
        var info = new FileInfo(log.Source);
        var last = log.Records.Count > 0 ? log.Records[^1] : null;
        string skipped = log.SkippedLines > 0 ? $", {log.SkippedLines} unreadable lines skipped" : "";
        page.Raw("<table>").KeyRow("statistics", $"{log.Source} ({log.Records.Count} records{skipped})");
        if (last != null)
            page.KeyRow("last record", string.Create(CultureInfo.InvariantCulture,
                $"epoch {last.Epoch}, {log.XLabel} {last.Iteration}, {last.Seconds:F0} s of training"));
        page.KeyRow("file last written",
            info.Exists ? info.LastWriteTimeUtc.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "?");
        if (r.Diverged) page.KeyRow("state", "diverged: the last record has NaN/Inf (the trainer stopped and kept the last good checkpoint)");
        page.Raw("</table>");
    }

    private static void AppendVerdicts(HtmlPage page, DoctorReportResult r)
    {
        page.Raw("<h2>Verdicts</h2><table><tr><th>detector</th><th>verdict</th><th>episodes (").Raw(H(r.Log.XLabel))
            .Raw(")</th><th>evidence</th></tr>");
        foreach (var v in r.Verdicts)
        {
            string verdict = v.Status switch
            {
                VerdictStatus.Fired => $"fired ({v.Episodes.Count})",
                VerdictStatus.Healthy => "healthy",
                _ => "not logged",
            };
            string episodes = string.Join(", ", v.Episodes.Take(8).Select(e => e.StartIteration == e.EndIteration
                ? e.StartIteration.ToString(CultureInfo.InvariantCulture)
                : string.Create(CultureInfo.InvariantCulture, $"{e.StartIteration}–{e.EndIteration}")));
            if (v.Episodes.Count > 8) episodes += $", … ({v.Episodes.Count - 8} more)";
            page.Raw("<tr><td>").Raw(H(v.Detector.Title)).Raw("</td><td class=\"").Raw(v.Status.ToString()).Raw("\">").Raw(H(verdict))
                .Raw("</td><td>").Raw(H(episodes)).Raw("</td><td>").Raw(H(v.Episodes.Count > 0 ? v.Episodes[^1].Evidence : ""))
                .Raw("</td></tr>");
        }
        page.Raw("</table>");
    }

    private static void AppendPrescriptions(HtmlPage page, DoctorReportResult r)
    {
        var fired = r.Verdicts.Where(v => v.Status == VerdictStatus.Fired).ToList();
        page.Raw("<h2>Prescriptions</h2>");
        if (fired.Count == 0 && r.DataAdvice.Count == 0) page.Raw("<p>No detector fired: nothing to prescribe.</p>");
        foreach (var v in fired)
        {
            page.Heading(3, v.Detector.Title).Raw("<p>Try these in order, one at a time:</p>");
            AppendRemedies(page, v.Prescription);
        }
    }

    private static void AppendDataAudit(HtmlPage page, DoctorReportResult r)
    {
        if (r.Audit is not { } audit)
        {
            page.Raw("<p><small>").Raw(H(r.AuditNote)).Raw(".</small></p>");
            return;
        }
        string size = string.Create(CultureInfo.InvariantCulture,
            $"{audit.Pairs:N0} training pairs, effective size {audit.EffectiveSize:N0} ({audit.NearDuplicateImages:N0} near-duplicates "
            + $"in {audit.NearDuplicateClusters:N0} clusters) against the guidance of {audit.Guidance}; ");
        string leakage = audit.TestImages == 0
            ? "leakage not checked."
            : string.Create(CultureInfo.InvariantCulture, $"{audit.LeakedTestImages:N0} of {audit.TestImages:N0} held-out photos leaked.");
        page.Raw("<h3>Data (from the dataset audit)</h3><p>").Raw(H(r.AuditNote)).Raw(": ").Raw(H(size + leakage)).Raw("</p>");
        if (r.DataAdvice.Count == 0)
        {
            page.Raw("<p>The audit found no near-duplicates, leakage, size or class problem.</p>");
            return;
        }
        page.Raw("<p>Data-side remedies (those that bear on a fired detector are also in its list above):</p>");
        AppendRemedies(page, r.DataAdvice);
    }

    private static void AppendRemedies(HtmlPage page, IEnumerable<Remedy> remedies)
    {
        page.Raw("<ol>");
        foreach (var rem in remedies)
            page.Raw("<li><code>").Raw(H(rem.CommandLine)).Raw("</code> — ").Raw(H(rem.Why))
                .Raw(" <small>(").Raw(H(rem.Source)).Raw(")</small></li>");
        page.Raw("</ol>");
    }

    private static void AppendCurves(HtmlPage page, IReadOnlyList<ReportPlot> plots)
    {
        page.Raw("<h2>Curves</h2>");
        if (plots.Count == 0) page.Raw("<p>No finite values to plot yet.</p>");
        foreach (var p in plots)
        {
            page.Image(p.Title, File.ReadAllBytes(p.Path), "plot")
                .Raw("<p><small>").Raw(H(Path.GetFileName(p.Path))).Raw(": ").Raw(H(string.Join(", ", p.Series))).Raw("</small></p>");
        }
    }

    // Samples over time: a few evenly spaced display points from the run's web page images, newest last.
    private static void AppendSamples(HtmlPage page, string imagesDir)
    {
        page.Raw("<h2>Samples over time</h2>");
        var files = Directory.Exists(imagesDir) ? Directory.GetFiles(imagesDir, "epoch*_iter*_*.png") : [];
        var groups = files
            .Select(f => (File: f, Key: SampleKey(Path.GetFileName(f))))
            .Where(x => x.Key != null)
            .GroupBy(x => x.Key!.Value)
            .OrderBy(g => g.Key.Epoch).ThenBy(g => g.Key.Iter)
            .ToList();
        if (groups.Count == 0)
        {
            page.Raw("<p>No sample images in web/images (this family shows none, or no display step was reached).</p>");
            return;
        }
        var picked = groups.Count <= MaxSampleGroups
            ? groups
            : Enumerable.Range(0, MaxSampleGroups)
                .Select(k => groups[(int)Math.Round(k * (groups.Count - 1) / (double)(MaxSampleGroups - 1))]).Distinct().ToList();
        page.Raw("<table class=\"samples\">");
        foreach (var g in picked)
        {
            page.Raw(string.Create(CultureInfo.InvariantCulture, $"<tr><th>epoch {g.Key.Epoch}, iter {g.Key.Iter}</th><td>"));
            foreach (var (file, _) in g.OrderBy(x => x.File, StringComparer.Ordinal))
            {
                string label = Path.GetFileNameWithoutExtension(file);
                label = label[(label.IndexOf('_', label.IndexOf("_iter", StringComparison.Ordinal) + 1) + 1)..];
                page.Raw("<figure style=\"display:inline-block;margin:2px\">").Image(label, File.ReadAllBytes(file))
                    .Raw("<figcaption>").Raw(H(label)).Raw("</figcaption></figure>");
            }
            page.Raw("</td></tr>");
        }
        page.Raw("</table>");
    }

    private static (int Epoch, long Iter)? SampleKey(string file)
    {
        int u = file.IndexOf("_iter", StringComparison.Ordinal);
        if (!file.StartsWith("epoch", StringComparison.Ordinal) || u < 5) return null;
        int end = file.IndexOf('_', u + 1);
        if (end < 0) return null;
        if (!int.TryParse(file.AsSpan(5, u - 5), NumberStyles.Integer, CultureInfo.InvariantCulture, out int e)) return null;
        if (!long.TryParse(file.AsSpan(u + 5, end - u - 5), NumberStyles.Integer, CultureInfo.InvariantCulture, out long i)) return null;
        return (e, i);
    }

    // The live doctor's warnings during training (its last 200 lines).
    private static void AppendLiveLog(HtmlPage page, string doctorLog)
    {
        if (!File.Exists(doctorLog)) return;
        var lines = File.ReadAllLines(doctorLog);
        page.Raw("<h2>Live warnings (").Raw(H(LiveDoctor.LogFileName)).Raw(")</h2><pre>")
            .Raw(H(string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 200))))).Raw("</pre>");
    }
}
