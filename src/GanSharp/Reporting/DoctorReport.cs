using GanSharp.Data.Tools;
using GanSharp.Diagnostics;

namespace GanSharp.Reporting;

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
public sealed record DoctorReportResult(string HtmlPath, RunLog Log, IReadOnlyList<Verdict> Verdicts, IReadOnlyList<ReportPlot> Plots,
    IReadOnlyList<Remedy> DataAdvice, DataAuditSummary? Audit = null, string AuditNote = "")
{
    /// <summary>Whether the last record has a NaN/Inf (the run diverged and stopped there).</summary>
    public bool Diverged => Log.Records.Count > 0 && Log.Records[^1].Values.Values.Any(v => !double.IsFinite(v));
}

/// <summary>
/// <c>gansharp doctor &lt;run&gt;</c>'s report: diagnoses the run (<see cref="Diagnosis"/>) and writes
/// <c>report/doctor.html</c>, a self-contained page (curves embedded as PNG data, episodes shaded, a verdict per
/// detector, the prescriptions in order, samples over time, the live doctor's log) plus the PNG curves beside it.
/// Every string that comes from the run (statistic names, file names, evidence) is HTML-escaped.
/// </summary>
public static class DoctorReport
{
    /// <summary>
    /// Reads the run at <paramref name="runPath"/>, diagnoses it and writes the report into <paramref name="outDir"/>
    /// (default: <c>&lt;run&gt;/report</c>). The dataset audit is <paramref name="auditPath"/> when given, else the one
    /// <see cref="AuditDiscovery.FindForRun"/> finds for the run's training folder.
    /// </summary>
    public static DoctorReportResult Write(string runPath, string? outDir = null, string? auditPath = null,
        IReadOnlyList<Detector>? detectors = null)
    {
        var diagnosis = Diagnosis.Of(runPath, auditPath, detectors);
        outDir ??= Path.Combine(diagnosis.Log.RunDir, "report");
        Directory.CreateDirectory(outDir);
        var plots = DoctorPlots.Render(diagnosis.Series, diagnosis.Verdicts, diagnosis.Log.XLabel, outDir);
        var result = new DoctorReportResult(Path.Combine(outDir, "doctor.html"), diagnosis.Log, diagnosis.Verdicts, plots,
            diagnosis.DataAdvice, diagnosis.Audit, diagnosis.AuditNote);
        DoctorPage.Build(result).Write(result.HtmlPath);
        return result;
    }
}
