using System.Globalization;
using GanSharp.Training;

namespace GanSharp.Diagnostics;

/// <summary>
/// NaN or infinity in any loss, gradient norm or other statistic. The trainer stops at the flush that sees it and
/// keeps the last good checkpoint; this detector names the term that diverged first.
/// </summary>
internal sealed class NonFiniteDetector : Detector
{
    /// <summary>Same as <see cref="DetectorIds.NonFinite"/> (the trainer's message uses it).</summary>
    public const string DetectorId = DetectorIds.NonFinite;

    public override string Id => DetectorId;

    public override string Title => "NaN/Inf in a loss or gradient";

    public override IReadOnlyList<string> Plots { get; } = ["losses", "grads"];

    public override Finding? At(StatsSeries series, int index)
    {
        var r = series[index];
        string? term = r.FirstNonFinite;
        if (term is null || !r.Values.ContainsKey(term))
            term = r.Values.FirstOrDefault(kv => !double.IsFinite(kv.Value)).Key;
        if (term is null) return new Finding(false, index, "");
        var (since, until) = Interval(r, index > 0 ? series[index - 1].Iteration : 0);
        int others = r.Values.Count(kv => !double.IsFinite(kv.Value)) - 1;
        string rest = others > 0 ? $"; {others} more statistics followed" : "";
        return new Finding(true, index, Describe(term, r.Values[term], since, until) + rest);
    }

    /// <summary>
    /// The last iteration whose statistics were finite and the first whose were not, for a record that holds a
    /// non-finite value. The trainer's error and this detector both use it, so they name the same iterations.
    /// </summary>
    /// <param name="record">The record that holds the non-finite value.</param>
    /// <param name="previousRecordIteration">
    /// The iteration of the last finite record: the interval when the record does not say in which iteration the value
    /// appeared (logs of older versions).
    /// </param>
    public static (long Since, long Until) Interval(StatsRecord record, long previousRecordIteration) =>
        record.FirstNonFiniteIteration is long first ? (first - 1, first) : (previousRecordIteration, record.Iteration);

    /// <summary>"GAN became NaN first, between iterations 40 and 50".</summary>
    public static string Describe(string term, double value, long sinceIteration, long iteration) =>
        string.Create(CultureInfo.InvariantCulture, $"{term} became {value} first, between iterations {sinceIteration} and {iteration}");
}
