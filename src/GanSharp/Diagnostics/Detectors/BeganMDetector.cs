namespace GanSharp.Diagnostics;

/// <summary>
/// BEGAN's convergence measure <c>M</c> not decreasing: over a window its later half is not lower than its earlier
/// half, and either it has risen above its best value so far or it never fell from where the run started.
/// </summary>
internal sealed class BeganMDetector(int window = 10, double minDecrease = 0.02, double riseOverBest = 0.1) : Detector
{
    /// <summary>Records judged.</summary>
    public int Window { get; } = window;

    /// <summary>Relative fall of the later half's mean needed to count as decreasing.</summary>
    public double MinDecrease { get; } = minDecrease;

    /// <summary>How far above the run's best M (relative) counts as having risen off it.</summary>
    public double RiseOverBest { get; } = riseOverBest;

    public override string Id => DetectorIds.BeganMStalled;

    public override string Title => "BEGAN convergence measure M not decreasing";

    public override IReadOnlyList<string> Plots { get; } = ["other"];

    public override Finding? At(StatsSeries s, int i)
    {
        if (s.Get(i, "M") is null) return null;
        int start = i - Window + 1;
        var m = s.Window(i, Window, j => s.Get(j, "M"));
        if (m is null) return new Finding(false, start, "");
        int h = Window / 2;
        double early = m.Take(h).Average(), late = m.Skip(Window - h).Average();
        var all = s.IndicesWith("M", i).Select(j => s.Get(j, "M")!.Value).ToList();
        double best = all.Min(), first = all[0];
        bool notDecreasing = late > (1 - MinDecrease) * early;
        bool roseOffBest = late > (1 + RiseOverBest) * best;
        bool neverFell = best >= (1 - RiseOverBest) * first;
        return new Finding(notDecreasing && (roseOffBest || neverFell), start,
            $"M averaged {F(early)} then {F(late)} over {Window} records (best so far {F(best)}, first {F(first)})");
    }
}
