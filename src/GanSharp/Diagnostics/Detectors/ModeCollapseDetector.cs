namespace GanSharp.Diagnostics;

/// <summary>
/// Mode collapse: the diversity of fakes from a fixed batch of z (<c>diversity</c>) below a fraction of the real
/// data's (<c>diversity_real</c>) over a window. Needs a recipe that implements <see cref="IDiagnosticRecipe{TBatch}"/>.
/// </summary>
public sealed class ModeCollapseDetector(double fraction = 0.5, int window = 3) : Detector
{
    /// <summary>Share of the real data's diversity below which the fakes count as collapsed.</summary>
    public double Fraction { get; } = fraction;

    /// <summary>Records the condition must hold for.</summary>
    public int Window { get; } = window;

    public override string Id => DetectorIds.ModeCollapse;

    public override string Title => "Mode collapse (low sample diversity)";

    public override IReadOnlyList<string> Plots { get; } = ["other"];

    public override Finding? At(StatsSeries s, int i)
    {
        if (s.Get(i, "diversity") is null || s.Get(i, "diversity_real") is null) return null;
        int start = i - Window + 1;
        var ratio = s.Window(i, Window, j => s.Get(j, "diversity") is double d && s.Get(j, "diversity_real") is double r && r > 0 ? d / r : null);
        if (ratio is null) return new Finding(false, start, "");
        return new Finding(ratio.All(x => x < Fraction), start,
            $"fake diversity is {F(ratio[^1] * 100)} % of the real data's (threshold {F(Fraction * 100)} % over {Window} records)");
    }
}
