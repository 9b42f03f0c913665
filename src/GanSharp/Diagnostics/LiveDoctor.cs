using System.Globalization;
using System.Text;
using GanSharp.Training;

namespace GanSharp.Diagnostics;

/// <summary>A detector's warning during training: raised once at the start of each episode.</summary>
/// <param name="DetectorId">See <see cref="DetectorIds"/>.</param>
/// <param name="Title">The detector's title.</param>
/// <param name="Epoch">Epoch of the record that started the episode.</param>
/// <param name="Iteration">Iteration of that record.</param>
/// <param name="Evidence">The numbers behind it.</param>
/// <param name="Prescription">Remedies in the order to try them.</param>
public sealed record DoctorWarning(string DetectorId, string Title, int Epoch, long Iteration, string Evidence, IReadOnlyList<Remedy> Prescription)
{
    /// <summary>The warning as log lines: the finding, then the remedies numbered in order.</summary>
    public string Format()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"[doctor] (epoch: {Epoch}, iteration: {Iteration}) {Title}: {Evidence}.");
        int n = 1;
        foreach (var r in Prescription)
            sb.Append(CultureInfo.InvariantCulture, $"\n    {n++}. {r.CommandLine} — {r.Why} ({r.Source})");
        return sb.ToString();
    }
}

/// <summary>Options of <see cref="LiveDoctor"/>.</summary>
public sealed record LiveDoctorOptions
{
    /// <summary>
    /// Records a detector must stay quiet after an episode before a new episode warns again; a condition that
    /// flickers at its threshold would otherwise warn on every other record.
    /// </summary>
    public int QuietRecordsBetweenEpisodes { get; init; } = 3;

    /// <summary>Records kept in memory for the detectors' windows (the oldest are dropped beyond it).</summary>
    public int MaxHistory { get; init; } = 10_000;
}

/// <summary>
/// Runs the failure detectors on every statistics record while training (it is a stats sink, so it sees exactly
/// what is logged, at log intervals only). A detector warns once when an episode starts, through
/// <see cref="Warning"/> (the CLI prints it; the library does no console I/O) and by appending to the run's
/// <c>doctor_log.txt</c>; the end of an episode is logged too.
/// </summary>
public sealed class LiveDoctor : IStatsSink
{
    private readonly string? _logPath;
    private readonly IReadOnlyList<Detector> _detectors;
    private readonly LiveDoctorOptions _o;
    private readonly List<StatsRecord> _history = [];
    private readonly Dictionary<string, (bool Active, int QuietFor, int StartIndex)> _state = new(StringComparer.Ordinal);
    private readonly List<DoctorWarning> _warnings = [];

    /// <summary>Creates the doctor; <paramref name="logPath"/> (usually <c>checkpoints/&lt;name&gt;/doctor_log.txt</c>) may be null.</summary>
    public LiveDoctor(string? logPath, IReadOnlyList<Detector>? detectors = null, LiveDoctorOptions? options = null)
    {
        _logPath = logPath;
        _detectors = detectors ?? Detector.Defaults();
        _o = options ?? new();
    }

    /// <summary>The file name of the live log inside a run folder.</summary>
    public const string LogFileName = "doctor_log.txt";

    /// <summary>Raised once per episode, when a detector starts firing.</summary>
    public event Action<DoctorWarning>? Warning;

    /// <summary>
    /// The dataset audit of the training folder, when there is one: its data remedies then lead the prescriptions of
    /// the failures data explains, as in the report.
    /// </summary>
    public GanSharp.Data.Tools.DataAuditSummary? Audit { get; set; }

    /// <summary>Whose flags the prescriptions name: SPADE's (<c>gansharp train</c>) or the families'.</summary>
    public RunKind Kind { get; set; } = RunKind.Spade;

    /// <summary>Every warning raised so far.</summary>
    public IReadOnlyList<DoctorWarning> Warnings => _warnings;

    /// <summary>Ids of the detectors that are firing at the latest record.</summary>
    public IEnumerable<string> Active => _state.Where(kv => kv.Value.Active).Select(kv => kv.Key);

    public void OnStats(StatsRecord record)
    {
        _history.Add(record);
        if (_history.Count > _o.MaxHistory) _history.RemoveRange(0, _history.Count - _o.MaxHistory);
        var series = new StatsSeries(_history);
        int i = _history.Count - 1;
        foreach (var d in _detectors)
        {
            var f = d.At(series, i);
            var st = _state.TryGetValue(d.Id, out var prev) ? prev : (Active: false, QuietFor: int.MaxValue, StartIndex: -1);
            bool fires = f is { Fires: true };
            if (fires && !st.Active)
            {
                if (st.QuietFor >= _o.QuietRecordsBetweenEpisodes)
                {
                    var w = new DoctorWarning(d.Id, d.Title, record.Epoch, record.Iteration, f!.Value.Evidence, Remedies.For(d.Id, Audit, Kind));
                    _warnings.Add(w);
                    Append(w.Format());
                    Warning?.Invoke(w);
                }
                st = (true, 0, i);
            }
            else if (!fires && st.Active)
            {
                Append(string.Create(CultureInfo.InvariantCulture,
                    $"[doctor] (epoch: {record.Epoch}, iteration: {record.Iteration}) {d.Title}: episode ended."));
                st = (false, 1, -1);
            }
            else if (!fires && st.QuietFor != int.MaxValue)
            {
                st = (false, st.QuietFor + 1, -1);
            }
            _state[d.Id] = st;
        }
    }

    private void Append(string text)
    {
        if (_logPath != null)
        {
            // Created on the first warning, not up front: a command refused before training leaves no folder behind.
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_logPath))!);
            File.AppendAllText(_logPath, text + "\n");
        }
    }
}
