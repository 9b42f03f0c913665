namespace GanSharp.Diagnostics;

/// <summary>
/// Exploding gradients (ganhacks 10: "check norms of gradients: if they are over 100 things are screwing up"): any
/// logged gradient norm (<c>grad/…</c>) above the threshold that is also well above its own recent level. Some networks
/// run with large norms from the first step (SPADE's G with feature matching at λ 10 starts near 300) without anything
/// going wrong, so a norm counts as exploding only when it also exceeds <see cref="GrowthFactor"/> times the median of
/// its earlier values (the last 50 records); the first record has no history and never fires.
/// </summary>
internal sealed class ExplodingGradientsDetector(double threshold = 100.0) : Detector
{
    /// <summary>Gradient norm above which the detector fires (ganhacks: 100).</summary>
    public double Threshold { get; } = threshold;

    /// <summary>How far above its recent median a norm must be to count as exploding.</summary>
    public double GrowthFactor { get; init; } = 10.0;

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
            if (i == 0 || (v > Threshold && !AboveOwnLevel(s, i, k, v))) continue;
            if (worst is null || v > max)
            {
                worst = k;
                max = v;
            }
        }
        if (worst is null) return new Finding(false, i, "no gradient norm above its own recent level");
        return new Finding(max > Threshold, i, $"{worst} = {F(max)} (threshold {F(Threshold)})");
    }

    private bool AboveOwnLevel(StatsSeries s, int i, string key, double value)
    {
        var earlier = new List<double>();
        for (int j = i - 1; j >= 0 && earlier.Count < 50; j--)
            if (s.Get(j, key) is double e && double.IsFinite(e)) earlier.Add(e);
        if (earlier.Count == 0) return true;
        earlier.Sort();
        return value > GrowthFactor * earlier[earlier.Count / 2];
    }
}
