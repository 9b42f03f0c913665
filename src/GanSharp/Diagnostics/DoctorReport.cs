using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using GanSharp.Data.Tools;
using GanSharp.Training;

namespace GanSharp.Diagnostics;

/// <summary>A curve plot of the report, written as PNG.</summary>
/// <param name="Group">losses, accuracy, dx, grads, spectral, validation or other (detectors name the groups they shade).</param>
/// <param name="Title">Plot title.</param>
/// <param name="Path">The PNG file.</param>
/// <param name="Series">Statistic names drawn.</param>
public sealed record ReportPlot(string Group, string Title, string Path, IReadOnlyList<string> Series);

/// <summary>What <see cref="DoctorReport.Write"/> produced.</summary>
/// <param name="HtmlPath">The report page.</param>
/// <param name="Log">The statistics read.</param>
/// <param name="Verdicts">One per detector; prescriptions include the audit's data remedies where they bear on the failure.</param>
/// <param name="Plots">The curves drawn.</param>
/// <param name="DataAdvice">Everything the dataset audit advises (empty without an audit or when it found nothing).</param>
/// <param name="Audit">The dataset audit applied, if one was given or found.</param>
/// <param name="AuditNote">Where the audit came from, or where the doctor looked for one.</param>
public sealed record DoctorReportResult(string HtmlPath, RunLog Log, IReadOnlyList<Verdict> Verdicts, IReadOnlyList<ReportPlot> Plots, IReadOnlyList<Remedy> DataAdvice,
    DataAuditSummary? Audit = null, string AuditNote = "")
{
    /// <summary>Whether the last record has a NaN/Inf (the run diverged and stopped there).</summary>
    public bool Diverged => Log.Records.Count > 0 && Log.Records[^1].Values.Values.Any(v => !double.IsFinite(v));
}

/// <summary>
/// <c>gansharp doctor &lt;run&gt;</c>'s report: reads the run's statistics, runs every detector over them, and writes
/// <c>report/doctor.html</c>, a self-contained page (curves embedded as PNG data, episodes shaded, a verdict per
/// detector, the prescriptions in order, samples over time, the live doctor's log) plus the PNG curves beside it.
/// Every string that comes from the run (statistic names, file names, evidence) is HTML-escaped.
/// </summary>
public static class DoctorReport
{
    private const int PlotWidth = 1000;
    private const int PlotHeight = 320;
    private const int MaxSampleGroups = 6;

    private static readonly HashSet<string> NonLossScalars = new(StringComparer.Ordinal)
    {
        "D_acc", "D_acc_real", "D_acc_fake", "D_acc_heldout", "D(x)", "D(G(z))", "r_t", "r_t_heldout", "D_chance",
        "W_dist", "diversity", "diversity_real", "diversity_z", "D_acc_train", "r_t_train", "M", "k",
    };

    /// <summary>
    /// Reads the run at <paramref name="runPath"/>, diagnoses it and writes the report into <paramref name="outDir"/>
    /// (default: <c>&lt;run&gt;/report</c>). The dataset audit is <paramref name="auditPath"/> when given, else the one
    /// <see cref="FindAudit"/> finds for the run's training folder.
    /// </summary>
    public static DoctorReportResult Write(string runPath, string? outDir = null, string? auditPath = null, IReadOnlyList<Detector>? detectors = null)
    {
        var log = RunLogReader.Read(runPath);
        outDir ??= Path.Combine(log.RunDir, "report");
        var (audit, note) = LoadAudit(log.RunDir, auditPath);
        Directory.CreateDirectory(outDir);
        var series = new StatsSeries(log.Records);
        var verdicts = (detectors ?? Detector.Defaults())
            .Select(d => d.Evaluate(series))
            .Select(v => v with { Prescription = Remedies.For(v.Detector.Id, audit, KindOf(log.RunDir)) })
            .ToList();
        var plots = RenderPlots(series, verdicts, log.XLabel, outDir);
        var dataAdvice = audit is null ? [] : Remedies.ForDataAudit(audit);
        var result = new DoctorReportResult(Path.Combine(outDir, "doctor.html"), log, verdicts, plots, dataAdvice, audit, note);
        AtomicFile.WriteAllText(result.HtmlPath, Html(result, audit));
        return result;
    }

    /// <summary>A run of <c>--family</c> records its family in options.json; everything else is a SPADE run.</summary>
    public static RunKind KindOf(string runDir)
    {
        string optionsPath = Path.Combine(runDir, "options.json");
        if (!File.Exists(optionsPath)) return RunKind.Spade;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(optionsPath));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("family", out _) ? RunKind.Family : RunKind.Spade;
        }
        catch (JsonException)
        {
            return RunKind.Spade;
        }
    }

    private static (DataAuditSummary? Audit, string Note) LoadAudit(string runDir, string? auditPath)
    {
        if (auditPath is not null)
        {
            if (!File.Exists(auditPath))
                throw new GanSharpException(ErrorKind.BadInput, $"--audit {auditPath} does not exist: pass the audit.json that gansharp data audit wrote.");
            var given = AuditJson.Read(auditPath);
            return (given, $"dataset audit {given.Source}");
        }
        var (found, looked) = FindAudit(runDir);
        if (found is not null) return (found, $"dataset audit {found.Source} (found for the run's label folder {found.LabelDir})");
        return (null, looked.Count == 0
            ? "no dataset audit: pass --audit <audit.json> (gansharp data audit writes it)"
            : $"no dataset audit of the run's training folder in {string.Join(", ", looked)}: run gansharp data audit on it, or pass --audit <audit.json>");
    }

    /// <summary>
    /// Looks for the <c>audit.json</c> of the folder a run was trained on: in the run folder, then next to the label
    /// folder recorded in its <c>options.json</c> (its parent, the data root of the reference layout, and the folder
    /// itself), then in the current folder (where <c>data audit</c> writes by default). Outside the run folder a file
    /// counts only if it audited that same label folder. Relative folders in the options are resolved against the
    /// folder training ran in (worked out from the relative checkpoints folder) and against the current one.
    /// </summary>
    /// <returns>The audit, or null with the places looked at.</returns>
    public static (DataAuditSummary? Audit, IReadOnlyList<string> Looked) FindAudit(string runDir)
    {
        var looked = new List<string>();
        string inRun = Path.Combine(runDir, AuditJson.FileName);
        looked.Add(inRun);
        if (File.Exists(inRun)) return (AuditJson.Read(inRun), looked);
        var (audit, more) = FindAuditFor(TrainingLabelDirs(runDir));
        looked.AddRange(more);
        return (audit, looked);
    }

    /// <summary>
    /// The <c>audit.json</c> of a label folder (given as the full paths it may stand for): next to it (its parent, the
    /// data root of the reference layout), in it, or in the current folder, counting only an audit of that folder.
    /// </summary>
    public static (DataAuditSummary? Audit, IReadOnlyList<string> Looked) FindAuditFor(IReadOnlyList<string> labelDirs)
    {
        var looked = new List<string>();
        if (labelDirs.Count == 0) return (null, looked);
        labelDirs = labelDirs.Select(d => Path.TrimEndingDirectorySeparator(Path.GetFullPath(d))).ToList();
        var candidates = labelDirs.SelectMany(d => new[] { Path.Combine(Path.GetDirectoryName(d) ?? d, AuditJson.FileName), Path.Combine(d, AuditJson.FileName) })
            .Append(Path.GetFullPath(AuditJson.FileName))
            .Distinct(StringComparer.Ordinal);
        foreach (var path in candidates)
        {
            looked.Add(path);
            if (!File.Exists(path)) continue;
            DataAuditSummary audit;
            try
            {
                audit = AuditJson.Read(path);
            }
            catch (GanSharpException)
            {
                // An audit.json that is not ours (or is broken) is not this run's audit; --audit reports why.
                looked[^1] += " (not a GanSharp audit)";
                continue;
            }
            if (audit.LabelDir is not null && labelDirs.Contains(Path.TrimEndingDirectorySeparator(Path.GetFullPath(audit.LabelDir)))) return (audit, looked);
        }
        return (null, looked);
    }

    // The full paths the run's data.label_dir may stand for (none for runs without one, e.g. the 2-D families).
    private static List<string> TrainingLabelDirs(string runDir)
    {
        string optionsPath = Path.Combine(runDir, "options.json");
        if (!File.Exists(optionsPath)) return [];
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(optionsPath));
            var root = doc.RootElement;
            if (!root.TryGetProperty("data", out var data) || !data.TryGetProperty("label_dir", out var ld) || ld.ValueKind != JsonValueKind.String) return [];
            string label = ld.GetString()!;
            var dirs = new List<string>();
            if (Path.IsPathRooted(label)) dirs.Add(label);
            else
            {
                if (TrainingWorkingDirectory(runDir, root) is { } cwd) dirs.Add(Path.GetFullPath(label, cwd));
                dirs.Add(Path.GetFullPath(label));
            }
            return dirs.Select(Path.TrimEndingDirectorySeparator).Distinct(StringComparer.Ordinal).ToList();
        }
        catch (JsonException)
        {
            return [];
        }
    }

    // The folder training ran in, when the run folder was given relative to it (run.checkpoints_dir/run.name).
    private static string? TrainingWorkingDirectory(string runDir, JsonElement options)
    {
        if (!options.TryGetProperty("run", out var run) || !run.TryGetProperty("checkpoints_dir", out var cd) || cd.ValueKind != JsonValueKind.String
            || !run.TryGetProperty("name", out var nm) || nm.ValueKind != JsonValueKind.String) return null;
        string rel = Path.Combine(cd.GetString()!, nm.GetString()!);
        if (Path.IsPathRooted(rel)) return null;
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(runDir));
        string? candidate = full;
        foreach (var part in rel.Split(['/', '\\'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..") return null;
            candidate = Path.GetDirectoryName(candidate!);
            if (candidate is null) return null;
        }
        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(rel, candidate!)) == full ? candidate : null;
    }

    /// <summary>Which statistics each plot group draws, from the names the run logged.</summary>
    public static IReadOnlyList<(string Group, string Title, string YLabel, List<string> Names, bool Log10)> PlotGroups(IReadOnlyList<string> names)
    {
        bool IsLoss(string n) => !n.Contains('/') && !NonLossScalars.Contains(n) && !MetricJumpDetector.IsMetric(n);
        var groups = new List<(string, string, string, List<string>, bool)>
        {
            ("losses", "Losses", "loss", names.Where(IsLoss).ToList(), false),
            ("accuracy", "D accuracy", "accuracy", names.Where(n => n.StartsWith("D_acc", StringComparison.Ordinal)).ToList(), false),
            ("dx", "D(x) and D(G(z))", "D output", names.Where(n => n is "D(x)" or "D(G(z))" or "W_dist").ToList(), false),
            ("grads", "Gradient norms (log10; ganhacks' alarm at 100 = 2)", "log10 norm", names.Where(n => n.StartsWith("grad/", StringComparison.Ordinal) && n.Count(c => c == '/') == 1).ToList(), true),
            ("spectral", "Largest singular value and weight norm per network", "value", names.Where(n => n.StartsWith("sigma_max/", StringComparison.Ordinal) || n.StartsWith("weight/", StringComparison.Ordinal)).ToList(), false),
            ("validation", "Validation losses (and their training terms)", "loss", ValidationNames(names), false),
            ("other", "Diversity, r_t, BEGAN M, evaluation metrics", "value", names.Where(n => n is "diversity" or "diversity_real" or "diversity_z" or "r_t" or "r_t_heldout" or "r_t_train" or "M" || MetricJumpDetector.IsMetric(n)).ToList(), false),
        };
        return groups.Where(g => g.Item4.Count > 0).ToList();
    }

    private static List<string> ValidationNames(IReadOnlyList<string> names)
    {
        var val = names.Where(n => n.StartsWith("val/", StringComparison.Ordinal)).ToList();
        var train = val.Select(v => v[4..]).Where(names.Contains).ToList();
        return [.. val, .. train];
    }

    private static List<ReportPlot> RenderPlots(StatsSeries s, List<Verdict> verdicts, string xLabel, string outDir)
    {
        var plots = new List<ReportPlot>();
        var palette = new ScottPlot.Palettes.Category10();
        var detectorColors = new ScottPlot.Palettes.Dark();
        foreach (var (group, title, yLabel, names, log10) in PlotGroups(s.Names()))
        {
            var plt = new ScottPlot.Plot();
            int drawn = 0;
            double step = MedianStep(s);
            for (int vi = 0; vi < verdicts.Count; vi++)
            {
                var v = verdicts[vi];
                if (v.Status != VerdictStatus.Fired || !v.Detector.Plots.Contains(group)) continue;
                var color = detectorColors.GetColor(vi).WithAlpha(0.22);
                bool first = true;
                foreach (var e in v.Episodes)
                {
                    double x1 = s[e.StartIndex].Iteration - step / 2, x2 = s[e.EndIndex].Iteration + step / 2;
                    var span = plt.Add.HorizontalSpan(x1, x2, color);
                    if (first) span.LegendText = v.Detector.Title;
                    first = false;
                }
            }
            for (int k = 0; k < names.Count; k++)
            {
                var xs = new List<double>();
                var ys = new List<double>();
                for (int i = 0; i < s.Count; i++)
                {
                    if (s.Get(i, names[k]) is not double y || !double.IsFinite(y)) continue;
                    if (log10)
                    {
                        if (y <= 0) continue;
                        y = Math.Log10(y);
                    }
                    xs.Add(s[i].Iteration);
                    ys.Add(y);
                }
                if (xs.Count == 0) continue;
                var sc = plt.Add.Scatter(xs.ToArray(), ys.ToArray(), palette.GetColor(k));
                sc.LegendText = names[k];
                sc.LineWidth = 1.5f;
                // Sparse statistics (validation, FID) need markers to be seen; dense curves do not.
                sc.MarkerSize = xs.Count < 40 ? 5 : 0;
                drawn++;
            }
            if (drawn == 0) continue;
            if (group == "grads") plt.Add.HorizontalLine(2.0, 1, ScottPlot.Colors.Red, ScottPlot.LinePattern.Dashed);
            if (group == "accuracy") plt.Add.HorizontalLine(0.85, 1, ScottPlot.Colors.Gray, ScottPlot.LinePattern.Dashed);
            plt.Title(title);
            plt.XLabel(xLabel);
            plt.YLabel(yLabel);
            plt.ShowLegend(ScottPlot.Alignment.UpperRight);
            string path = Path.Combine(outDir, $"{group}.png");
            plt.SavePng(path, PlotWidth, PlotHeight);
            plots.Add(new ReportPlot(group, title, path, names));
        }
        return plots;
    }

    private static double MedianStep(StatsSeries s)
    {
        if (s.Count < 2) return 1;
        var steps = Enumerable.Range(1, s.Count - 1).Select(i => (double)(s[i].Iteration - s[i - 1].Iteration)).Where(d => d > 0).OrderBy(d => d).ToList();
        return steps.Count == 0 ? 1 : steps[steps.Count / 2];
    }

    private static string H(string? s) => WebUtility.HtmlEncode(s ?? "");

    private static string Html(DoctorReportResult r, DataAuditSummary? audit)
    {
        var log = r.Log;
        var sb = new StringBuilder();
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(log.RunDir)));
        sb.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>doctor: ").Append(H(name)).Append("</title><style>")
          .Append("body{font-family:sans-serif;max-width:1040px;margin:auto;color:#222}table{border-collapse:collapse;margin:8px 0}")
          .Append("td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}th{background:#f3f3f3}")
          .Append(".Fired{color:#b00;font-weight:bold}.Healthy{color:#080}.NotApplicable{color:#888}code{background:#f3f3f3;padding:1px 4px}")
          .Append("img.plot{width:100%;border:1px solid #ddd;margin:6px 0}.samples img{width:160px;image-rendering:pixelated;margin:2px}")
          .Append("pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px}</style></head><body>");
        sb.Append("<h1>gansharp doctor: ").Append(H(name)).Append("</h1>");

        // Run summary: what was read and in which state the run is.
        var info = new FileInfo(log.Source);
        var last = log.Records.Count > 0 ? log.Records[^1] : null;
        sb.Append("<table>");
        Row(sb, "statistics", $"{log.Source} ({log.Records.Count} records{(log.SkippedLines > 0 ? $", {log.SkippedLines} unreadable lines skipped" : "")})");
        if (last != null) Row(sb, "last record", string.Create(CultureInfo.InvariantCulture, $"epoch {last.Epoch}, {log.XLabel} {last.Iteration}, {last.Seconds:F0} s of training"));
        Row(sb, "file last written", info.Exists ? info.LastWriteTimeUtc.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "?");
        if (r.Diverged) Row(sb, "state", "diverged: the last record has NaN/Inf (the trainer stopped and kept the last good checkpoint)");
        sb.Append("</table>");

        sb.Append("<h2>Verdicts</h2><table><tr><th>detector</th><th>verdict</th><th>episodes (").Append(H(log.XLabel)).Append(")</th><th>evidence</th></tr>");
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
            sb.Append("<tr><td>").Append(H(v.Detector.Title)).Append("</td><td class=\"").Append(v.Status).Append("\">").Append(H(verdict))
              .Append("</td><td>").Append(H(episodes)).Append("</td><td>").Append(H(v.Episodes.Count > 0 ? v.Episodes[^1].Evidence : "")).Append("</td></tr>");
        }
        sb.Append("</table>");

        var fired = r.Verdicts.Where(v => v.Status == VerdictStatus.Fired).ToList();
        sb.Append("<h2>Prescriptions</h2>");
        if (fired.Count == 0 && r.DataAdvice.Count == 0) sb.Append("<p>No detector fired: nothing to prescribe.</p>");
        foreach (var v in fired)
        {
            sb.Append("<h3>").Append(H(v.Detector.Title)).Append("</h3><p>Try these in order, one at a time:</p><ol>");
            foreach (var rem in v.Prescription) AppendRemedy(sb, rem);
            sb.Append("</ol>");
        }
        if (audit != null)
        {
            sb.Append("<h3>Data (from the dataset audit)</h3><p>").Append(H(r.AuditNote)).Append(": ")
              .Append(H(string.Create(CultureInfo.InvariantCulture,
                  $"{audit.Pairs:N0} training pairs, effective size {audit.EffectiveSize:N0} ({audit.NearDuplicateImages:N0} near-duplicates in {audit.NearDuplicateClusters:N0} clusters) against the guidance of {audit.Guidance}; ")
                  + (audit.TestImages == 0 ? "leakage not checked." : string.Create(CultureInfo.InvariantCulture, $"{audit.LeakedTestImages:N0} of {audit.TestImages:N0} held-out photos leaked."))))
              .Append("</p>");
            if (r.DataAdvice.Count == 0) sb.Append("<p>The audit found no near-duplicates, leakage, size or class problem.</p>");
            else
            {
                sb.Append("<p>Data-side remedies (those that bear on a fired detector are also in its list above):</p><ol>");
                foreach (var rem in r.DataAdvice) AppendRemedy(sb, rem);
                sb.Append("</ol>");
            }
        }
        else
        {
            sb.Append("<p><small>").Append(H(r.AuditNote)).Append(".</small></p>");
        }

        sb.Append("<h2>Curves</h2>");
        if (r.Plots.Count == 0) sb.Append("<p>No finite values to plot yet.</p>");
        foreach (var p in r.Plots)
        {
            sb.Append("<img class=\"plot\" alt=\"").Append(H(p.Title)).Append("\" src=\"data:image/png;base64,")
              .Append(Convert.ToBase64String(File.ReadAllBytes(p.Path))).Append("\">")
              .Append("<p><small>").Append(H(Path.GetFileName(p.Path))).Append(": ").Append(H(string.Join(", ", p.Series))).Append("</small></p>");
        }

        AppendSamples(sb, Path.Combine(log.RunDir, "web", "images"));

        string doctorLog = Path.Combine(log.RunDir, LiveDoctor.LogFileName);
        if (File.Exists(doctorLog))
        {
            var lines = File.ReadAllLines(doctorLog);
            sb.Append("<h2>Live warnings (").Append(H(LiveDoctor.LogFileName)).Append(")</h2><pre>")
              .Append(H(string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 200))))).Append("</pre>");
        }
        sb.Append("</body></html>");
        return sb.ToString();
    }

    private static void Row(StringBuilder sb, string key, string value) =>
        sb.Append("<tr><th>").Append(H(key)).Append("</th><td>").Append(H(value)).Append("</td></tr>");

    private static void AppendRemedy(StringBuilder sb, Remedy rem) =>
        sb.Append("<li><code>").Append(H(rem.CommandLine)).Append("</code> — ").Append(H(rem.Why))
          .Append(" <small>(").Append(H(rem.Source)).Append(")</small></li>");

    // Samples over time: a few evenly spaced display points from the run's web page images, newest last.
    private static void AppendSamples(StringBuilder sb, string imagesDir)
    {
        sb.Append("<h2>Samples over time</h2>");
        var files = Directory.Exists(imagesDir) ? Directory.GetFiles(imagesDir, "epoch*_iter*_*.png") : [];
        var groups = files
            .Select(f => (File: f, Key: SampleKey(Path.GetFileName(f))))
            .Where(x => x.Key != null)
            .GroupBy(x => x.Key!.Value)
            .OrderBy(g => g.Key.Epoch).ThenBy(g => g.Key.Iter)
            .ToList();
        if (groups.Count == 0)
        {
            sb.Append("<p>No sample images in web/images (this family shows none, or no display step was reached).</p>");
            return;
        }
        var picked = groups.Count <= MaxSampleGroups
            ? groups
            : Enumerable.Range(0, MaxSampleGroups).Select(k => groups[(int)Math.Round(k * (groups.Count - 1) / (double)(MaxSampleGroups - 1))]).Distinct().ToList();
        sb.Append("<table class=\"samples\">");
        foreach (var g in picked)
        {
            sb.Append("<tr><th>epoch ").Append(g.Key.Epoch).Append(", iter ").Append(g.Key.Iter).Append("</th><td>");
            foreach (var (file, _) in g.OrderBy(x => x.File, StringComparer.Ordinal))
            {
                string label = Path.GetFileNameWithoutExtension(file);
                label = label[(label.IndexOf('_', label.IndexOf("_iter", StringComparison.Ordinal) + 1) + 1)..];
                sb.Append("<figure style=\"display:inline-block;margin:2px\"><img alt=\"").Append(H(label)).Append("\" src=\"data:image/png;base64,")
                  .Append(Convert.ToBase64String(File.ReadAllBytes(file))).Append("\"><figcaption>").Append(H(label)).Append("</figcaption></figure>");
            }
            sb.Append("</td></tr>");
        }
        sb.Append("</table>");
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
}
