namespace GanSharp.Diagnostics;

/// <summary>
/// Mode collapse: the diversity of fakes from a fixed batch of inputs (<c>diversity</c>: fixed z, or for SPADE fixed
/// different label maps) below a fraction of the real data's (<c>diversity_real</c>) over a window. A freshly
/// initialised G maps every input to nearly the same point, so the detector waits until the fakes have once been
/// diverse, or until a warm-up has passed without them ever spreading out. Needs a recipe that implements
/// <see cref="Training.IDiagnosticRecipe{TBatch}"/>.
/// </summary>
/// <remarks>
/// A conditional G with a latent (SPADE with the VAE) can also collapse by ignoring z: <c>diversity_z</c>, the spread
/// of G(one fixed map, several z), then falls to a sliver of <c>diversity</c> (fakes of different maps). No real
/// statistic matches it (one map has one photo), so it is judged against the fakes' own spread across maps, with the
/// same window and warm-up; the threshold is low (5 %) because a healthy G changes much less with z than with the
/// map, and only a G that has stopped listening to z gets that close to zero.
/// </remarks>
internal sealed class ModeCollapseDetector(double fraction = 0.5, int window = 3, int warmupRecords = 20, double zFraction = 0.05) : Detector
{
    /// <summary>Share of the real data's diversity below which the fakes count as collapsed.</summary>
    public double Fraction { get; } = fraction;

    /// <summary>Records the condition must hold for.</summary>
    public int Window { get; } = window;

    /// <summary>Records with diversity after which low diversity counts even if it was never high.</summary>
    public int WarmupRecords { get; } = warmupRecords;

    /// <summary>Share of the fakes' spread across inputs below which their spread across z counts as collapsed.</summary>
    public double ZFraction { get; } = zFraction;

    public override string Id => DetectorIds.ModeCollapse;

    public override string Title => "Mode collapse (low sample diversity)";

    public override IReadOnlyList<string> Plots { get; } = ["other"];

    private static double? Ratio(StatsSeries s, int j) =>
        s.Get(j, "diversity") is double d && s.Get(j, "diversity_real") is double r && r > 0 ? d / r : null;

    private static double? ZRatio(StatsSeries s, int j) =>
        s.Get(j, "diversity_z") is double z && s.Get(j, "diversity") is double d && d > 0 ? z / d : null;

    public override Finding? At(StatsSeries s, int i)
    {
        var across = Judge(s, i, "diversity", Ratio, Fraction);
        var overZ = Judge(s, i, "diversity_z", ZRatio, ZFraction);
        if (across is null && overZ is null) return null;
        int start = i - Window + 1;
        var parts = new List<string>();
        if (across is { Fires: true } a)
            parts.Add($"fake diversity is {F(a.Last * 100)} % of the real data's (threshold {F(Fraction * 100)} % over {Window} " +
                $"records{(a.WasAbove ? ", after having been above it" : "")})");
        if (overZ is { Fires: true } z)
            parts.Add($"G ignores z: for one label map the fakes spread {F(z.Last * 100)} % as much as across maps (threshold {F(ZFraction * 100)} " +
                $"% over {Window} records{(z.WasAbove ? ", after having been above it" : "")})");
        return new Finding(parts.Count > 0, start, string.Join("; ", parts));
    }

    // One ratio over the window ending at i: null when it is not logged at i.
    private (bool Fires, double Last, bool WasAbove)? Judge(StatsSeries s, int i, string name, Func<StatsSeries, int, double?> ratio,
        double threshold)
    {
        if (ratio(s, i) is null) return null;
        var values = s.Window(i, Window, j => ratio(s, j));
        if (values is null) return (false, 0, false);
        var seen = s.IndicesWith(name, i);
        bool wasAbove = seen.Any(j => ratio(s, j) >= threshold);
        bool pastWarmup = seen.Count >= WarmupRecords;
        return (values.All(x => x < threshold) && (wasAbove || pastWarmup), values[^1], wasAbove);
    }
}
