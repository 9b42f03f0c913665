namespace GanSharp.Diagnostics;

/// <summary>
/// Mode collapse: the diversity of fakes from a fixed batch of z (<c>diversity</c>) below a fraction of the real
/// data's (<c>diversity_real</c>) over a window. A freshly initialised G maps every z to nearly the same point, so the
/// detector waits until the fakes have once been diverse, or until a warm-up has passed without them ever spreading
/// out. Needs a recipe that implements <see cref="IDiagnosticRecipe{TBatch}"/>.
/// </summary>
public sealed class ModeCollapseDetector(double fraction = 0.5, int window = 3, int warmupRecords = 20) : Detector
{
    /// <summary>Share of the real data's diversity below which the fakes count as collapsed.</summary>
    public double Fraction { get; } = fraction;

    /// <summary>Records the condition must hold for.</summary>
    public int Window { get; } = window;

    /// <summary>Records with diversity after which low diversity counts even if it was never high.</summary>
    public int WarmupRecords { get; } = warmupRecords;

    public override string Id => DetectorIds.ModeCollapse;

    public override string Title => "Mode collapse (low sample diversity)";

    public override IReadOnlyList<string> Plots { get; } = ["other"];

    private static double? Ratio(StatsSeries s, int j) =>
        s.Get(j, "diversity") is double d && s.Get(j, "diversity_real") is double r && r > 0 ? d / r : null;

    public override Finding? At(StatsSeries s, int i)
    {
        if (Ratio(s, i) is null) return null;
        int start = i - Window + 1;
        var ratio = s.Window(i, Window, j => Ratio(s, j));
        if (ratio is null) return new Finding(false, start, "");
        var seen = s.IndicesWith("diversity", i);
        bool wasDiverse = seen.Any(j => Ratio(s, j) >= Fraction);
        bool pastWarmup = seen.Count >= WarmupRecords;
        bool fires = ratio.All(x => x < Fraction) && (wasDiverse || pastWarmup);
        return new Finding(fires, start,
            $"fake diversity is {F(ratio[^1] * 100)} % of the real data's (threshold {F(Fraction * 100)} % over {Window} records{(wasDiverse ? ", after having been above it" : "")})");
    }
}
