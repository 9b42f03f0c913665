using GanSharp.Data.Tools;

namespace GanSharp.Diagnostics;

/// <summary>
/// The doctor's analysis of one run: its statistics, a verdict per detector whose prescriptions include the dataset
/// audit's data remedies where they bear on the failure, and everything the audit advises. Rendering it is
/// <c>GanSharp.Reporting.DoctorReport</c>'s job.
/// </summary>
/// <param name="Log">The statistics read.</param>
/// <param name="Series">The same records, as the detectors read them.</param>
/// <param name="Verdicts">One per detector.</param>
/// <param name="DataAdvice">Everything the dataset audit advises (empty without an audit or when it found nothing).</param>
/// <param name="Audit">The dataset audit applied, if one was given or found.</param>
/// <param name="AuditNote">Where the audit came from, or where the doctor looked for one.</param>
internal sealed record Diagnosis(RunLog Log, StatsSeries Series, IReadOnlyList<Verdict> Verdicts, IReadOnlyList<Remedy> DataAdvice,
    DataAuditSummary? Audit, string AuditNote)
{
    /// <summary>
    /// Reads the run at <paramref name="runPath"/> and runs every detector over it. The dataset audit is
    /// <paramref name="auditPath"/> when given, else the one <see cref="AuditDiscovery.FindForRun"/> finds for the
    /// label folder recorded in the run's <c>options.json</c>.
    /// </summary>
    public static Diagnosis Of(string runPath, string? auditPath = null, IReadOnlyList<Detector>? detectors = null)
    {
        var log = RunLogReader.Read(runPath);
        var options = RunFolderOptions.Read(log.RunDir);
        var (audit, note) = AuditDiscovery.ForRun(log.RunDir, options.LabelDirs, auditPath);
        var series = new StatsSeries(log.Records);
        var verdicts = (detectors ?? Detector.Defaults())
            .Select(d => d.Evaluate(series))
            .Select(v => v with { Prescription = Remedies.For(v.Detector.Id, audit, options.Kind) })
            .ToList();
        var dataAdvice = audit is null ? [] : Remedies.ForDataAudit(audit);
        return new Diagnosis(log, series, verdicts, dataAdvice, audit, note);
    }
}
