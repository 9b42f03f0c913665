namespace GanSharp.Diagnostics;

/// <summary>Thresholds of <see cref="GFallsDRisesDetector"/>.</summary>
internal sealed record GFallsDRisesOptions
{
    /// <summary>
    /// Records over which the trends are fitted: long enough that a healthy run's oscillation (which falls for
    /// half its period) averages out.
    /// </summary>
    public int Window { get; init; } = 30;

    /// <summary>Fitted change over the window, as a fraction of the mean, that counts as a trend.</summary>
    public double MinRelativeChange { get; init; } = 0.25;

    /// <summary>Share of record-to-record steps in which G's loss falls ("steadily").</summary>
    public double MinFallingSteps { get; init; } = 0.7;
}

/// <summary>
/// G's loss falling steadily while D's loss rises (ganhacks 10: G may be fooling D with garbage). A healthy run
/// oscillates, so neither trend lasts a window.
/// </summary>
internal sealed class GFallsDRisesDetector(GFallsDRisesOptions? options = null) : Detector
{
    private readonly GFallsDRisesOptions _o = options ?? new();

    public override string Id => DetectorIds.GFallsDRises;

    public override string Title => "G loss falling steadily while D loss rises";

    public override IReadOnlyList<string> Plots { get; } = ["losses"];

    public override Finding? At(StatsSeries s, int i)
    {
        if (s.DLoss(i) is null || s.GLoss(i) is null) return null;
        int start = i - _o.Window + 1;
        var g = s.Window(i, _o.Window, s.GLoss);
        var d = s.Window(i, _o.Window, s.DLoss);
        if (g is null || d is null) return new Finding(false, start, "");
        double gChange = StatsSeries.Slope(g) * (g.Length - 1);
        double dChange = StatsSeries.Slope(d) * (d.Length - 1);
        double gScale = Math.Max(Math.Abs(g.Average()), 1e-8);
        double dScale = Math.Max(Math.Abs(d.Average()), 1e-8);
        int falling = 0;
        for (int k = 1; k < g.Length; k++) if (g[k] < g[k - 1]) falling++;
        bool fires = gChange <= -_o.MinRelativeChange * gScale
            && dChange >= _o.MinRelativeChange * dScale
            && falling >= _o.MinFallingSteps * (g.Length - 1);
        return new Finding(fires, start,
            $"over {_o.Window} records G loss went {F(g[0])} → {F(g[^1])} (falling in {falling} of {g.Length - 1} steps) while D loss went " +
                $"{F(d[0])} → {F(d[^1])}");
    }
}
