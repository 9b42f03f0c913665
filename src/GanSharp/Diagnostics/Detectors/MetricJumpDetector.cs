namespace GanSharp.Diagnostics;

/// <summary>
/// A sudden jump of an evaluation metric logged during training (any statistic whose last name segment starts with
/// fid or kid, case-insensitive): after a good stretch of at least <see cref="MinGoodPoints"/> evaluations, a value
/// at least <see cref="JumpFactor"/> times the best so far (StyleGAN users report FID going from 8 to 300+).
/// </summary>
internal sealed class MetricJumpDetector(double jumpFactor = 2.0, int minGoodPoints = 3) : Detector
{
    /// <summary>Ratio to the best earlier value that counts as a jump.</summary>
    public double JumpFactor { get; } = jumpFactor;

    /// <summary>Evaluations before the jump that make up the good stretch.</summary>
    public int MinGoodPoints { get; } = minGoodPoints;

    public override string Id => DetectorIds.MetricJump;

    public override string Title => "Evaluation metric jump (late collapse)";

    public override IReadOnlyList<string> Plots { get; } = ["other"];

    /// <summary>Whether a statistic is a lower-is-better evaluation metric (FID, KID).</summary>
    public static bool IsMetric(string name)
    {
        string last = name[(name.LastIndexOf('/') + 1)..];
        return last.StartsWith("fid", StringComparison.OrdinalIgnoreCase) || last.StartsWith("kid", StringComparison.OrdinalIgnoreCase);
    }

    public override Finding? At(StatsSeries s, int i)
    {
        Finding? result = null;
        foreach (var name in s.Names().Where(IsMetric))
        {
            var points = s.IndicesWith(name, i);
            if (points.Count == 0) continue;
            result ??= new Finding(false, points[0], "");
            if (points.Count <= MinGoodPoints) continue;
            double now = s.Get(points[^1], name)!.Value;
            var before = points.Take(points.Count - 1).Select(j => s.Get(j, name)!.Value).Where(double.IsFinite).ToList();
            if (before.Count < MinGoodPoints) continue;
            double best = before.Min();
            if (best > 0 && now >= JumpFactor * best)
                return new Finding(true, points[^2] + 1, $"{name} jumped to {F(now)} after a best of {F(best)} (×{F(now / best)})");
        }
        return result;
    }
}
