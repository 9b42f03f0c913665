using System.Globalization;
using GanSharp.Training;

namespace GanSharp.Diagnostics;

/// <summary>What a detector concludes at one record: whether it fires, since which record, and the evidence.</summary>
/// <param name="Fires">The failure condition holds at this record.</param>
/// <param name="WindowStart">Index of the first record the judgement looked at (episodes are shaded from there).</param>
/// <param name="Evidence">One sentence with the numbers behind the judgement.</param>
public readonly record struct Finding(bool Fires, int WindowStart, string Evidence);

/// <summary>A stretch of records over which a detector fired.</summary>
public sealed record Episode(long StartIteration, long EndIteration, int StartIndex, int EndIndex, string Evidence);

/// <summary>Whether a detector could judge the run, and what it found.</summary>
public enum VerdictStatus
{
    /// <summary>The statistics it needs were never logged.</summary>
    NotApplicable,
    /// <summary>It looked and found nothing.</summary>
    Healthy,
    /// <summary>At least one episode.</summary>
    Fired,
}

/// <summary>A detector's judgement over a whole run.</summary>
public sealed record Verdict(Detector Detector, VerdictStatus Status, IReadOnlyList<Episode> Episodes, IReadOnlyList<Remedy> Prescription);

/// <summary>
/// A failure detector over a series of statistics records. It judges one record at a time from the records up to
/// it (usually a window), so the live doctor asks about the newest record only and the report asks about each.
/// </summary>
public abstract class Detector
{
    /// <summary>Stable id (see <see cref="DetectorIds"/>).</summary>
    public abstract string Id { get; }

    /// <summary>Short human title.</summary>
    public abstract string Title { get; }

    /// <summary>Which report plots show this failure (shaded there): losses, accuracy, dx, grads, validation, other.</summary>
    public abstract IReadOnlyList<string> Plots { get; }

    /// <summary>The judgement at record <paramref name="index"/>; null when the needed statistics are missing there.</summary>
    public abstract Finding? At(StatsSeries series, int index);

    /// <summary>Judges every record and groups consecutive firing records into episodes.</summary>
    public Verdict Evaluate(StatsSeries series)
    {
        var episodes = new List<Episode>();
        bool applicable = false;
        int start = -1, last = -1;
        string evidence = "";
        for (int i = 0; i < series.Count; i++)
        {
            var f = At(series, i);
            if (f is null) continue;
            applicable = true;
            if (f.Value.Fires)
            {
                if (start < 0)
                {
                    start = Math.Max(0, f.Value.WindowStart);
                    evidence = f.Value.Evidence;
                }
                last = i;
            }
            else if (start >= 0)
            {
                episodes.Add(MakeEpisode(series, start, last, evidence));
                start = -1;
            }
        }
        if (start >= 0) episodes.Add(MakeEpisode(series, start, last, evidence));
        var status = episodes.Count > 0 ? VerdictStatus.Fired : applicable ? VerdictStatus.Healthy : VerdictStatus.NotApplicable;
        return new Verdict(this, status, episodes, Remedies.For(Id));
    }

    private static Episode MakeEpisode(StatsSeries s, int start, int end, string evidence) =>
        new(s[start].Iteration, s[end].Iteration, start, end, evidence);

    /// <summary>Formats a statistic for evidence sentences.</summary>
    protected static string F(double v) => v.ToString(Math.Abs(v) is >= 1000 or (< 0.001 and > 0) ? "0.###e+0" : "0.###",
        CultureInfo.InvariantCulture);

    /// <summary>The detectors with default thresholds, in the order the report lists them.</summary>
    public static IReadOnlyList<Detector> Defaults() =>
    [
        new NonFiniteDetector(),
        new DOverpowersGDetector(),
        new GWinsDetector(),
        new ExplodingGradientsDetector(),
        new GFallsDRisesDetector(),
        new ModeCollapseDetector(),
        new PerceptualOverfitDetector(),
        new DMemorisingDetector(),
        new BeganMDetector(),
        new WganCriticDetector(),
        new MetricJumpDetector(),
    ];
}

/// <summary>
/// Read access to a run's records by statistic name, with the conventions of GanSharp's (and the reference's) loss
/// names: G terms GAN, GAN_Feat, VGG, KLD; D terms D_Fake and D_real.
/// </summary>
public sealed class StatsSeries(IReadOnlyList<StatsRecord> records)
{
    private readonly Dictionary<string, List<int>> _indices = new(StringComparer.Ordinal);
    private List<string>? _names;

    /// <summary>The D loss terms whose sum is "the D loss".</summary>
    public static readonly string[] DTerms = ["D_Fake", "D_real"];

    public int Count => records.Count;

    public StatsRecord this[int index] => records[index];

    public IReadOnlyList<StatsRecord> Records => records;

    /// <summary>The value of a statistic at a record; null when it was not logged there.</summary>
    public double? Get(int index, string name) =>
        records[index].Values.TryGetValue(name, out double v) ? v : null;

    /// <summary>D_Fake + D_real at a record; null unless both were logged.</summary>
    public double? DLoss(int index)
    {
        double sum = 0;
        foreach (var t in DTerms)
        {
            var v = Get(index, t);
            if (v is null) return null;
            sum += v.Value;
        }
        return sum;
    }

    /// <summary>G's adversarial term (GAN) at a record.</summary>
    public double? GLoss(int index) => Get(index, "GAN");

    /// <summary>
    /// The values of <paramref name="pick"/> over the <paramref name="length"/> records ending at
    /// <paramref name="end"/>; null when the window does not fit or a value is missing.
    /// </summary>
    public double[]? Window(int end, int length, Func<int, double?> pick)
    {
        if (length < 1 || end - length + 1 < 0) return null;
        var values = new double[length];
        for (int k = 0; k < length; k++)
        {
            var v = pick(end - length + 1 + k);
            if (v is null) return null;
            values[k] = v.Value;
        }
        return values;
    }

    /// <summary>Indices up to <paramref name="end"/> (inclusive) of records that logged <paramref name="name"/>.</summary>
    public IReadOnlyList<int> IndicesWith(string name, int end)
    {
        // Sparse statistics (validation losses, FID) are looked up at every record: index each name once.
        if (!_indices.TryGetValue(name, out var all))
        {
            all = [];
            for (int i = 0; i < records.Count; i++)
                if (records[i].Values.ContainsKey(name)) all.Add(i);
            _indices[name] = all;
        }
        int count = all.BinarySearch(end);
        count = count >= 0 ? count + 1 : ~count;
        return all.GetRange(0, count);
    }

    /// <summary>Names of all statistics logged anywhere in the series, in first-seen order.</summary>
    public IReadOnlyList<string> Names()
    {
        if (_names is null)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            _names = [];
            foreach (var r in records)
                foreach (var k in r.Values.Keys)
                    if (seen.Add(k)) _names.Add(k);
        }
        return _names;
    }

    /// <summary>Whether any record up to <paramref name="end"/> logged <paramref name="name"/>.</summary>
    public bool Has(string name, int end)
    {
        for (int i = Math.Min(end, records.Count - 1); i >= 0; i--)
            if (records[i].Values.ContainsKey(name)) return true;
        return false;
    }

    /// <summary>Least-squares slope of values against their position (0, 1, 2, ...).</summary>
    public static double Slope(IReadOnlyList<double> y)
    {
        int n = y.Count;
        if (n < 2) return 0;
        double mx = (n - 1) / 2.0, my = y.Average(), num = 0, den = 0;
        for (int i = 0; i < n; i++)
        {
            num += (i - mx) * (y[i] - my);
            den += (i - mx) * (i - mx);
        }
        return num / den;
    }
}
