namespace GanSharp.Diagnostics;

/// <summary>
/// Exploding gradients (ganhacks 10: "check norms of gradients: if they are over 100 things are screwing up"): any
/// logged gradient norm (<c>grad/…</c>) above the threshold.
/// </summary>
public sealed class ExplodingGradientsDetector(double threshold = 100.0) : Detector
{
    /// <summary>Gradient norm above which the detector fires (ganhacks: 100).</summary>
    public double Threshold { get; } = threshold;

    public override string Id => DetectorIds.ExplodingGradients;

    public override string Title => "Exploding gradients";

    public override IReadOnlyList<string> Plots { get; } = ["grads"];

    public override Finding? At(StatsSeries s, int i)
    {
        string? worst = null;
        double max = double.NegativeInfinity;
        foreach (var (k, v) in s[i].Values)
        {
            if (!k.StartsWith("grad/", StringComparison.Ordinal) || !double.IsFinite(v)) continue;
            if (worst is null || v > max)
            {
                worst = k;
                max = v;
            }
        }
        if (worst is null) return null;
        return new Finding(max > Threshold, i, $"{worst} = {F(max)} (threshold {F(Threshold)})");
    }
}
