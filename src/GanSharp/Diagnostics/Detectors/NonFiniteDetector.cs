using System.Globalization;

namespace GanSharp.Diagnostics;

/// <summary>
/// NaN or infinity in any loss, gradient norm or other statistic. The trainer stops at the flush that sees it and
/// keeps the last good checkpoint; this detector names the term that diverged first.
/// </summary>
public sealed class NonFiniteDetector : Detector
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
        long since = index > 0 ? series[index - 1].Iteration : 0;
        int others = r.Values.Count(kv => !double.IsFinite(kv.Value)) - 1;
        string rest = others > 0 ? $"; {others} more statistics followed" : "";
        return new Finding(true, index, Describe(term, r.Values[term], since, r.Iteration) + rest);
    }

    /// <summary>"GAN became NaN first, between iterations 40 and 50".</summary>
    public static string Describe(string term, double value, long sinceIteration, long iteration) =>
        string.Create(CultureInfo.InvariantCulture, $"{term} became {value} first, between iterations {sinceIteration} and {iteration}");
}
