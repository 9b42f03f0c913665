namespace GanSharp.Data.Tools;

/// <summary>
/// Finds the <c>audit.json</c> that <c>gansharp data audit</c> wrote for a data set, so training and the doctor can
/// use what the audit found without being told where it is.
/// </summary>
public static class AuditDiscovery
{
    /// <summary>
    /// The audit a run uses: <paramref name="auditPath"/> when given (it must exist), else the one
    /// <see cref="FindForRun"/> finds. The note says where it came from, or where it was looked for and how to get one.
    /// </summary>
    /// <param name="runDir">The run folder.</param>
    /// <param name="labelDirs">The full paths of the label folder the run trained on (none when it has none).</param>
    /// <param name="auditPath">The user's <c>--audit</c>, or null.</param>
    public static (DataAuditSummary? Audit, string Note) ForRun(string runDir, IReadOnlyList<string> labelDirs, string? auditPath)
    {
        if (auditPath is not null)
        {
            if (!File.Exists(auditPath))
                throw new GanSharpException(ErrorKind.BadInput,
                    $"--audit {auditPath} does not exist: pass the audit.json that gansharp data audit wrote.");
            var given = AuditJson.Read(auditPath);
            return (given, $"dataset audit {given.Source}");
        }
        var (found, looked) = FindForRun(runDir, labelDirs);
        if (found is not null) return (found, $"dataset audit {found.Source} (found for the run's label folder {found.LabelDir})");
        return (null, looked.Count == 0
            ? "no dataset audit: pass --audit <audit.json> (gansharp data audit writes it)"
            : $"no dataset audit of the run's training folder in {string.Join(", ", looked)}: "
              + "run gansharp data audit on it, or pass --audit <audit.json>");
    }

    /// <summary>
    /// Looks for the <c>audit.json</c> of the folder a run was trained on: in the run folder, then as
    /// <see cref="FindFor"/> does for its label folder (next to it, in it, in the current folder).
    /// </summary>
    /// <returns>The audit, or null with the places looked at.</returns>
    public static (DataAuditSummary? Audit, IReadOnlyList<string> Looked) FindForRun(string runDir, IReadOnlyList<string> labelDirs)
    {
        var looked = new List<string>();
        string inRun = Path.Combine(runDir, AuditJson.FileName);
        looked.Add(inRun);
        if (File.Exists(inRun)) return (AuditJson.Read(inRun), looked);
        var (audit, more) = FindFor(labelDirs);
        looked.AddRange(more);
        return (audit, looked);
    }

    /// <summary>
    /// The <c>audit.json</c> of a label folder (given as the full paths it may stand for): next to it (its parent, the
    /// data root of the reference layout), in it, or in the current folder (where <c>data audit</c> writes by
    /// default), counting only an audit of that folder.
    /// </summary>
    public static (DataAuditSummary? Audit, IReadOnlyList<string> Looked) FindFor(IReadOnlyList<string> labelDirs)
    {
        var looked = new List<string>();
        if (labelDirs.Count == 0) return (null, looked);
        labelDirs = labelDirs.Select(FullFolder).ToList();
        foreach (var path in Candidates(labelDirs))
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
            if (audit.LabelDir is not null && labelDirs.Contains(FullFolder(audit.LabelDir))) return (audit, looked);
        }
        return (null, looked);
    }

    private static IEnumerable<string> Candidates(IReadOnlyList<string> labelDirs) =>
        labelDirs.SelectMany(d => new[]
            {
                Path.Combine(Path.GetDirectoryName(d) ?? d, AuditJson.FileName),
                Path.Combine(d, AuditJson.FileName),
            })
            .Append(Path.GetFullPath(AuditJson.FileName))
            .Distinct(StringComparer.Ordinal);

    private static string FullFolder(string dir) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
}
